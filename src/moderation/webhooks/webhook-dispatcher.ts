import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Conference, ConferenceObserverEvents } from '../../conference/conference';
import type { Participant } from '../../conference/participant/participant';
import type { Room } from '../../conference/room/room';
import type { Config } from '../../config/schema';
import type { WebhookEvent, WebhookEventType } from './webhook-event';
import {
  DEFAULT_RETRY,
  WebhookTarget,
  type FetchLike,
  type RetryPolicy,
  type SleepLike,
  type WebhookCounters,
} from './webhook-target';

export interface WebhookDispatcherOptions {
  /** Its observer is the source of every event. */
  conference: Pick<Conference, 'observer'>;
  /** `config.webhooks`. */
  targets: Config['webhooks'];
  log: Logger;
  /** Milliseconds since the epoch (event times, signature timestamps). */
  now?: () => number;
  /** Default: Node's global fetch (undici). */
  fetch?: FetchLike;
  /** Back-off waits (default: a timer that close() aborts). */
  sleep?: SleepLike;
  /** Jitter source, 0..1 (default Math.random). */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Pending events per target (default 1000). */
  queueLimit?: number;
  /** How long close() lets the queues drain before aborting (default 2 s). */
  closeGraceMs?: number;
}

export interface WebhookTargetStats extends WebhookCounters {
  url: string;
  pending: number;
}

const defaultSleep: SleepLike = (ms, signal) => delay(ms, undefined, { signal, ref: false });

/**
 * Sends room and participant events from `conference.observer` to the configured webhook URLs as signed JSON
 * POSTs (see `webhook-signature.ts` for the scheme and how receivers verify it).
 *
 * A receiver that is slow, down or hung must never slow a call: the observer listeners only snapshot the event
 * (a few fields) and push it onto each interested target's bounded queue, in O(1); serialising, signing and every
 * network round trip happen later, in each target's own asynchronous loop. Targets are independent: a hung one
 * holds only its own queue (in order, bounded; the oldest dropped beyond the limit, with a warning).
 */
export class WebhookDispatcher {
  private readonly targets: WebhookTarget[];
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly unsubscribe: Array<() => void> = [];
  /** Where each joined participant is, so events that carry no room (muted, hand) still name it. */
  private readonly roomOf = new Map<string, Room>();
  private readonly closeGraceMs: number;
  private closing?: Promise<void>;

  constructor(opts: WebhookDispatcherOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log.child({ component: 'webhooks' });
    this.closeGraceMs = opts.closeGraceMs ?? 2000;
    const fetchImpl: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
    const retry: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    this.targets = opts.targets.map(
      (t) =>
        new WebhookTarget({
          url: t.url,
          secret: t.secret,
          ...(t.events ? { events: t.events } : {}),
          queueLimit: opts.queueLimit ?? 1000,
          timeoutMs: opts.timeoutMs ?? 10_000,
          retry,
          fetch: fetchImpl,
          sleep: opts.sleep ?? defaultSleep,
          now: this.now,
          random: opts.random ?? Math.random,
          log: this.log,
        }),
    );
    if (this.targets.length > 0) this.subscribe(opts.conference.observer);
  }

  /** Counters summed over every target (for metrics). */
  counters(): WebhookCounters {
    const sum: WebhookCounters = { delivered: 0, failed: 0, dropped: 0, retried: 0 };
    for (const t of this.targets)
      for (const k of Object.keys(sum) as (keyof WebhookCounters)[]) sum[k] += t.counters[k];
    return sum;
  }

  /** Counters and queue length of each target, in configuration order. */
  stats(): WebhookTargetStats[] {
    return this.targets.map((t) => ({ url: t.url, pending: t.pending, ...t.counters }));
  }

  /** Resolves once every target has nothing pending nor in flight (tests, graceful shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.idle()));
  }

  /**
   * Stops listening, gives the queues `closeGraceMs` to drain (shutdown events included: close the conference
   * first), then aborts requests in flight and back-off timers. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const off of this.unsubscribe.splice(0)) off();
      this.roomOf.clear();
      await Promise.all(this.targets.map((t) => t.close(this.closeGraceMs)));
      const c = this.counters();
      this.log.info(c, 'webhooks closed');
    })();
    return this.closing;
  }

  /**
   * A room's livestream went live, stopped or failed. The livestream is not a conference event: the composition
   * root forwards its service's events here (moderation does not know the livestream layer).
   */
  livestream(
    type: 'livestream.live' | 'livestream.stopped' | 'livestream.failed',
    room: Room,
    data: Record<string, unknown>,
  ): void {
    if (!this.closing) this.emit(type, room, undefined, data);
  }

  // ------------------------------------------------------------------ observer → events (synchronous, O(1))

  private subscribe(o: Conference['observer']): void {
    const on = <K extends keyof ConferenceObserverEvents & string>(
      event: K,
      listener: (...args: ConferenceObserverEvents[K]) => void,
    ): void => {
      o.on(event, listener);
      this.unsubscribe.push(() => o.off(event, listener));
    };
    on('roomCreated', (room) => this.emit('room.created', room));
    on('roomClosed', (room) => this.emit('room.closed', room));
    on('roomLocked', (room, locked) => this.emit(locked ? 'room.locked' : 'room.unlocked', room));
    on('participantJoined', (p, room) => {
      this.roomOf.set(p.id, room);
      this.emit('participant.joined', room, p, { role: p.role });
    });
    on('participantLeft', (p, reason, room) => {
      // Only participants that had joined are news: a caller refused in the PIN lobby never "joined".
      if (this.roomOf.delete(p.id)) this.emit('participant.left', room, p, { reason });
    });
    on('participantMuted', (p, muted, by) => {
      const room = this.roomOf.get(p.id);
      if (room) this.emit(muted ? 'participant.muted' : 'participant.unmuted', room, p, { by });
    });
    on('participantMoved', (p, from, to) => {
      this.roomOf.set(p.id, to);
      this.emit('participant.moved', to, p, { from: from.id, to: to.id });
    });
    on('participantHand', (p, raised) => {
      const room = this.roomOf.get(p.id);
      if (room) this.emit('participant.hand', room, p, { raised });
    });
  }

  private emit(
    type: WebhookEventType,
    room: Room,
    p?: Participant,
    data: Record<string, unknown> = {},
  ): void {
    let event: WebhookEvent | undefined;
    for (const t of this.targets) {
      if (!t.wants(type)) continue;
      event ??= {
        id: randomUUID(),
        type,
        at: new Date(this.now()).toISOString(),
        room: { id: room.id, displayName: room.settings.displayName },
        ...(p ? { participant: { id: p.id, displayName: p.displayName, uri: p.uri, kind: p.kind } } : {}),
        data,
      };
      t.enqueue(event);
    }
  }
}
