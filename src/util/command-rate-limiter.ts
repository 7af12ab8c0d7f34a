/**
 * A token bucket per socket (the dashboard's and the browsers' socket.io connections): `burst` commands at once,
 * refilled at `perSecond`. A page bug (or a hostile client) looping on `muteAll` or `produce` must not turn into a
 * storm of SIP re-INVITEs, mediasoup requests and audit rows.
 */
export class CommandRateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond = 20,
    private readonly burst = perSecond,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty (the command is refused). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
