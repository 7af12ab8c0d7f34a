/** Keys beyond which stale ones are swept on the next add. */
const MAX_KEYS = 100_000;

/**
 * Counts events per key over a sliding window (timestamps kept, at most `max` per key, since a decision never
 * needs more than the limit). Pure: the caller passes the time. Used for rooms created on demand per source per
 * minute and for wrong PINs per source and per room.
 */
export class WindowCounter {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    /** Timestamps kept per key (the largest limit checked against this counter). */
    private readonly max: number,
  ) {}

  add(key: string, now: number): number {
    // keys are source addresses: an attacker with many of them must not grow the map without bound
    if (this.events.size >= MAX_KEYS) for (const k of [...this.events.keys()]) this.prune(k, now);
    const list = this.prune(key, now) ?? [];
    list.push(now);
    if (list.length > this.max) list.splice(0, list.length - this.max);
    this.events.set(key, list);
    return list.length;
  }

  count(key: string, now: number): number {
    return this.prune(key, now)?.length ?? 0;
  }

  /** The time at which the oldest counted event leaves the window (when a limit reached by `count` lifts). */
  oldest(key: string, now: number): number | undefined {
    return this.prune(key, now)?.[0];
  }

  clear(key: string): void {
    this.events.delete(key);
  }

  private prune(key: string, now: number): number[] | undefined {
    const list = this.events.get(key);
    if (!list) return undefined;
    let i = 0;
    while (i < list.length && (list[i] as number) <= now - this.windowMs) i++;
    if (i > 0) list.splice(0, i);
    if (list.length === 0) {
      this.events.delete(key);
      return undefined;
    }
    return list;
  }
}
