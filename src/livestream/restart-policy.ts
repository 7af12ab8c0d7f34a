/** How ffmpeg runs are restarted: exponential back-off, reset by a run that lasted, and a limit. */
export interface RestartPolicyOptions {
  initialMs: number;
  maxMs: number;
  /** Consecutive failed runs after which the stream gives up. */
  maxRestarts: number;
  /** A run at least this long counts as healthy: the next failure starts the back-off from the beginning. */
  stableMs: number;
}

export type RestartDecision =
  { restart: true; delayMs: number; attempt: number } | { restart: false; attempt: number };

/**
 * Pure: told when each run started and ended, it says whether and when to start the next. An ingest that drops
 * the connection now and then (a YouTube edge restarting) costs one short pause each time, while an ffmpeg that
 * cannot start at all (bad URL, codec missing) gives up after `maxRestarts` tries instead of spinning.
 */
export class RestartPolicy {
  private failures = 0;

  constructor(private readonly opts: RestartPolicyOptions) {}

  /** Consecutive failed runs so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The run that started at `startedMs` ended at `endedMs` (not asked for): restart it, and after how long? */
  onExit(startedMs: number, endedMs: number): RestartDecision {
    if (endedMs - startedMs >= this.opts.stableMs) this.failures = 0;
    this.failures++;
    if (this.failures > this.opts.maxRestarts) return { restart: false, attempt: this.failures };
    return { restart: true, delayMs: backoffDelay(this.failures, this.opts), attempt: this.failures };
  }
}

/** initialMs · 2^(attempt-1), capped at maxMs (attempt counts from 1). */
export function backoffDelay(attempt: number, o: { initialMs: number; maxMs: number }): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(o.initialMs * 2 ** exp, o.maxMs);
}
