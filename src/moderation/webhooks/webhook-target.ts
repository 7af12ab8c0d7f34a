import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BoundedQueue } from './bounded-queue';
import { eventFilter, type WebhookEvent, type WebhookEventType } from './webhook-event';
import { signPayload } from './webhook-signature';

/** The part of the global `fetch` a target uses (tests pass a fake). */
export type FetchLike = (url: string, init: RequestInit & { signal: AbortSignal }) => Promise<Response>;

/** Waits `ms`, or rejects when `signal` aborts (tests pass one that records the schedule). */
export type SleepLike = (ms: number, signal: AbortSignal) => Promise<void>;

export interface RetryPolicy {
  /** Attempts per event, the first included. */
  attempts: number;
  /** Back-off before the 2nd attempt; doubled for every further one (before jitter). */
  baseDelayMs: number;
  /** Upper bound of the exponential back-off. */
  maxDelayMs: number;
  /** Upper bound of a receiver's `Retry-After` (a receiver cannot park the queue for a day). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 300_000,
};

export interface WebhookCounters {
  /** Events a receiver accepted (2xx). */
  delivered: number;
  /** Events given up on (a 4xx other than 408/429, a redirect, or every attempt failed). */
  failed: number;
  /** Events evicted from a full queue (never attempted) or discarded at close. */
  dropped: number;
  /** Attempts after the first. */
  retried: number;
}

export interface WebhookTargetOptions {
  url: string;
  secret: string;
  events?: readonly string[];
  /** Pending events kept (the oldest is dropped beyond). */
  queueLimit: number;
  /** Per attempt, headers to end of body. */
  timeoutMs: number;
  retry: RetryPolicy;
  fetch: FetchLike;
  sleep: SleepLike;
  now: () => number;
  random: () => number;
  log: Logger;
}

type Outcome =
  { kind: 'ok' } | { kind: 'retry'; why: string; retryAfterMs?: number } | { kind: 'fail'; why: string };

/** Drops are logged at most this often (a receiver down for hours must not flood the log). */
const DROP_WARN_INTERVAL_MS = 10_000;

/**
 * The back-off before attempt `failed + 1` after `failed` failures: exponential (base × 2^(failed-1), capped), with
 * "equal jitter" (half fixed, half random) so that a crowd of Parleys retrying one receiver spreads out but never
 * retries at once; a receiver's Retry-After is honoured as a floor (capped by maxRetryAfterMs).
 */
export function backoffDelay(
  failed: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failed - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return Math.round(Math.max(jittered, floor));
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One configured receiver: its filter, its bounded queue and its delivery loop. Events are delivered one at a
 * time, in order (a retry holds the ones behind it). `enqueue()` is O(1) and never waits: all network work runs in
 * `pump()`, off the caller's path.
 */
export class WebhookTarget {
  readonly url: string;
  readonly counters: WebhookCounters = { delivered: 0, failed: 0, dropped: 0, retried: 0 };
  private readonly queue: BoundedQueue<WebhookEvent>;
  private readonly accepts: (type: WebhookEventType) => boolean;
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private running?: Promise<void>;
  private dropsUnreported = 0;
  private lastDropWarn = -Infinity;
  private closed = false;

  constructor(private readonly opts: WebhookTargetOptions) {
    this.url = opts.url;
    this.queue = new BoundedQueue(opts.queueLimit);
    this.log = opts.log.child({ webhook: redactUrl(opts.url) });
    const filter = eventFilter(opts.events);
    this.accepts = filter.accepts;
    if (filter.unknown.length > 0)
      this.log.warn({ unknown: filter.unknown }, 'webhook events filter names no known event');
  }

  /** Events waiting (the one being delivered not included). */
  get pending(): number {
    return this.queue.size;
  }

  /** True while an event is being delivered or waits for a retry. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  wants(type: WebhookEventType): boolean {
    return this.accepts(type);
  }

  /** Queues `event` for delivery (O(1)); the oldest pending event is dropped when the queue is full. */
  enqueue(event: WebhookEvent): void {
    if (this.closed) return;
    if (this.queue.push(event) !== undefined) this.dropped(1);
    this.running ??= this.start();
  }

  /** Resolves when nothing is pending nor in flight (or the target closed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Stops the target: waits up to `graceMs` for the queue to drain, then aborts the request in flight and any
   * back-off, and discards what is left (counted as dropped). Idempotent.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.closed) {
      await this.running;
      return;
    }
    this.closed = true;
    if (graceMs > 0 && this.running) {
      const timer = new AbortController();
      await Promise.race([
        this.idle(),
        delay(graceMs, undefined, { signal: timer.signal, ref: false }).catch(() => undefined),
      ]);
      timer.abort();
    }
    this.abort.abort();
    await this.idle();
    const left = this.queue.clear();
    if (left > 0) this.dropped(left);
    if (this.dropsUnreported > 0) this.reportDrops();
  }

  private dropped(n: number): void {
    this.counters.dropped += n;
    this.dropsUnreported += n;
    if (this.opts.now() - this.lastDropWarn >= DROP_WARN_INTERVAL_MS) this.reportDrops();
  }

  private reportDrops(): void {
    this.lastDropWarn = this.opts.now();
    this.log.warn(
      { dropped: this.dropsUnreported, droppedTotal: this.counters.dropped, queueLimit: this.queue.capacity },
      'webhook events dropped (queue full or closing)',
    );
    this.dropsUnreported = 0;
  }

  /** The loop starts on the next turn of the event loop: not even the first JSON/HMAC/connect runs in the caller. */
  private async start(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.abort.signal.aborted) {
        const ev = this.queue.shift();
        if (!ev) break;
        await this.deliver(ev);
      }
    } catch (err) {
      this.log.error({ err }, 'webhook delivery loop failed');
    } finally {
      this.running = undefined;
      // An event queued while the loop was finishing: start again (unless closed).
      if (this.queue.size > 0 && !this.abort.signal.aborted) this.running = this.pump();
    }
  }

  /** Every attempt of one event; counts the outcome. */
  private async deliver(ev: WebhookEvent): Promise<void> {
    const body = JSON.stringify(ev);
    const { retry } = this.opts;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(ev, body);
      if (this.abort.signal.aborted) {
        // Closed mid-attempt: the event was neither delivered nor refused.
        if (outcome.kind !== 'ok') this.counters.dropped++;
        else this.counters.delivered++;
        return;
      }
      if (outcome.kind === 'ok') {
        this.counters.delivered++;
        return;
      }
      if (outcome.kind === 'fail' || attempt >= retry.attempts) {
        this.counters.failed++;
        this.log.warn(
          { event: ev.type, delivery: ev.id, attempts: attempt, why: outcome.why },
          'webhook delivery failed',
        );
        return;
      }
      const wait = backoffDelay(attempt, retry, this.opts.random, outcome.retryAfterMs);
      this.log.debug(
        { event: ev.type, delivery: ev.id, attempt, why: outcome.why, wait },
        'webhook delivery retry',
      );
      this.counters.retried++;
      try {
        await this.opts.sleep(wait, this.abort.signal);
      } catch {
        this.counters.dropped++;
        return; // closed during the back-off
      }
    }
  }

  private async attempt(ev: WebhookEvent, body: string): Promise<Outcome> {
    const timestamp = Math.floor(this.opts.now() / 1000);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs)]);
    let res: Response;
    try {
      res = await this.opts.fetch(this.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Parley-Webhook/1',
          // A new connection per attempt: nothing pooled outlives close(), and a hung receiver holds no socket
          // that the next attempt would queue behind.
          Connection: 'close',
          'X-Parley-Event': ev.type,
          'X-Parley-Delivery': ev.id,
          'X-Parley-Timestamp': String(timestamp),
          'X-Parley-Signature': signPayload(this.opts.secret, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal,
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.cause?.message ?? e.message);
      return { kind: 'retry', why };
    }
    // The answer's body is not needed; read it off so the socket is released.
    await res.body?.cancel().catch(() => undefined);
    const s = res.status;
    if (s >= 200 && s < 300) return { kind: 'ok' };
    const why = `HTTP ${s}`;
    if (s === 408 || s === 429 || s >= 500) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.opts.now());
      return retryAfterMs === undefined ? { kind: 'retry', why } : { kind: 'retry', why, retryAfterMs };
    }
    return { kind: 'fail', why }; // 3xx (redirects are not followed) and the other 4xx: retrying will not help
  }
}

/** The URL without credentials or query (a receiver's URL may carry a key): for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
