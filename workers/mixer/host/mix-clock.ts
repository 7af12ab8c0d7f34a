/**
 * The schedule of a 20 ms mix loop, without a timer inside (pure: the host passes `now` in and arms a timer for
 * `delay(now)`). Tick n is due at start + n·period, so timer lateness never accumulates (drift correction). A
 * late timer runs the ticks it missed back to back, up to `maxCatchUp`; beyond that (the thread stalled) the
 * rest are skipped: audio cannot be delivered late anyway, and the RTP timestamps of the outputs must still
 * advance with wall time (RtpOutputStream.skip()).
 */
export class MixClock {
  private nextAt: number;
  private lateMax = 0;
  private skipped = 0;
  private ran = 0;

  constructor(
    start: number,
    readonly periodMs = 20,
    readonly maxCatchUp = 3,
  ) {
    this.nextAt = start + periodMs;
  }

  /** ms until the next tick is due (0 when overdue). */
  delay(now: number): number {
    return Math.max(0, this.nextAt - now);
  }

  /** The ticks to run now and to skip; advances the schedule past both. */
  due(now: number): { run: number; skip: number } {
    if (now < this.nextAt) return { run: 0, skip: 0 };
    const late = now - this.nextAt;
    this.lateMax = Math.max(this.lateMax, late);
    const n = Math.floor(late / this.periodMs) + 1;
    this.nextAt += n * this.periodMs;
    const run = Math.min(n, this.maxCatchUp);
    this.ran += run;
    this.skipped += n - run;
    return { run, skip: n - run };
  }

  get stats(): { ticks: number; skipped: number; lateMaxMs: number } {
    return { ticks: this.ran, skipped: this.skipped, lateMaxMs: this.lateMax };
  }
}
