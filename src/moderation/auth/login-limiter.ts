/**
 * Counts failed sign-ins (and wrong moderator PINs) per key — `source:<address>`, `account:<username>`,
 * `pin-room:<room>` — in a sliding window, so a password can be guessed neither from one address nor, slowly, from
 * many addresses against one account. Once a key has `maxAttempts` failures within `windowMs`, every attempt on it
 * is refused (even with the right password) until the oldest failures leave the window: a correct guess during a
 * flood must not be told apart from a wrong one.
 *
 * Pure: the clock is injected (a fake one in the unit tests); memory is bounded by pruning expired keys.
 */
export interface LoginLimiterOptions {
  maxAttempts: number;
  windowMs: number;
  now?: () => number;
  /** Keys tracked before a sweep of the expired ones (default 10,000). */
  sweepAbove?: number;
}

export interface LimitVerdict {
  limited: boolean;
  /** Seconds until an attempt would be allowed again (0 when not limited). */
  retryAfterSeconds: number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly opts: LoginLimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Whether an attempt on any of `keys` is refused now, and for how long. */
  check(keys: readonly string[]): LimitVerdict {
    const now = this.now();
    let wait = 0;
    for (const k of keys) {
      const ts = this.live(k, now);
      if (ts.length >= this.opts.maxAttempts) {
        // Allowed again when the failure that keeps the count at the maximum leaves the window.
        const until = ts[ts.length - this.opts.maxAttempts]! + this.opts.windowMs;
        wait = Math.max(wait, until - now);
      }
    }
    return { limited: wait > 0, retryAfterSeconds: wait > 0 ? Math.max(1, Math.ceil(wait / 1000)) : 0 };
  }

  /** Records a failed attempt against every key. */
  fail(keys: readonly string[]): void {
    const now = this.now();
    for (const k of keys) {
      const ts = this.live(k, now);
      ts.push(now);
      this.failures.set(k, ts);
    }
    if (this.failures.size > (this.opts.sweepAbove ?? 10_000)) this.sweep(now);
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.failures.size;
  }

  private live(key: string, now: number): number[] {
    const ts = this.failures.get(key);
    if (!ts) return [];
    const from = now - this.opts.windowMs;
    const kept = ts.filter((t) => t > from);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== ts.length) this.failures.set(key, kept);
    return kept;
  }

  private sweep(now: number): void {
    for (const k of [...this.failures.keys()]) this.live(k, now);
  }
}
