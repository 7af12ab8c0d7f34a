import type { Clock, TimerHandle } from '../../src/sip/transaction/clock';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/** A manual clock for the RFC timers: `advance(ms)` fires due timers in time order. */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Pending[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.timers.push(p);
    return p.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((p) => p.id !== handle);
  }

  /** number of pending timers */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.timers)
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.id < next.id))) next = p;
      if (!next) break;
      this.timers = this.timers.filter((p) => p !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
