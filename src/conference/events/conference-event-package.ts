import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../sip/transaction/clock';
import type { SipRequestAuthenticator } from '../../sip/auth/request-authenticator';
import type { SubscribeRequest, SubscriptionNotifier } from '../../sip/subscription';
import type { TypedEmitter } from '../../util/typed-emitter';
import { AppError } from '../../errors/app-error';
import type { ConferenceObserverEvents } from '../conference';
import type { Participant } from '../participant/participant';
import type { Room } from '../room/room';
import { CONFERENCE_INFO_TYPE } from './conference-info';
import { ConferenceSubscription } from './conference-subscription';
import { MOVED } from './participant-info';

/** What the package needs of the conference service. */
export interface ConferenceView {
  readonly observer: TypedEmitter<ConferenceObserverEvents>;
  /** throws CONF_ROOM_NOT_FOUND */
  getRoom(name: string): Room;
}

export interface ConferenceEventPackageOptions {
  conference: ConferenceView;
  notifier: SubscriptionNotifier;
  /** changes gathered into one partial NOTIFY per watcher for this long (ms; default 150) */
  coalesceMs?: number;
  /** subscription durations, seconds (RFC 6665 §4.2.1.1); defaults 3600 / 60 / 7200 */
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
  /**
   * Who may watch a PIN room: a SIP account (digest, RFC 3261 §22). Open rooms are open to any watcher, as to any
   * caller. Absent: nobody watches a PIN room (403).
   */
  authenticator?: SipRequestAuthenticator;
  /** the web page of a room (`http://host:8080/r/<room>`), listed among its conf-uris */
  webUrl?: (room: string) => string;
  clock?: Clock;
  log: Logger;
}

/**
 * The conference event package (RFC 4575) on the RFC 6665 notifier: `SUBSCRIBE sip:<room>@host` with
 * `Event: conference` gets the room's roster as `application/conference-info+xml`, full at first, then partial
 * documents fed by the conference observer (no polling); every watcher of a room gets `terminated;reason=noresource`
 * when the room ends. A room that does not exist (an on-demand room nobody is in) is 404.
 */
export class ConferenceEventPackage {
  /** every watcher; observer events go to those of the event's room */
  private readonly watchers = new Set<ConferenceSubscription>();
  private readonly unregister: () => void;
  private readonly detach: () => void;
  private readonly clock: Clock;
  private readonly coalesceMs: number;
  private closed = false;

  constructor(private readonly opts: ConferenceEventPackageOptions) {
    this.clock = opts.clock ?? systemClock;
    this.coalesceMs = opts.coalesceMs ?? 150;
    this.unregister = opts.notifier.register('conference', {
      contentTypes: [CONFERENCE_INFO_TYPE],
      defaultExpires: opts.defaultExpires ?? 3600,
      minExpires: opts.minExpires ?? 60,
      maxExpires: opts.maxExpires ?? 7200,
      subscribe: (s) => this.subscribe(s),
    });
    this.detach = this.watchConference(opts.conference.observer);
  }

  /** Watchers now (all rooms). */
  get size(): number {
    return this.watchers.size;
  }

  /** Stops serving `conference` and drops the watchers (their subscriptions are closed with the notifier). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    this.detach();
    for (const w of this.watchers) w.stop();
    this.watchers.clear();
  }

  private async subscribe(s: SubscribeRequest): Promise<void> {
    const uri = s.resource;
    const name = uri.user;
    let room: Room;
    try {
      room = await this.admit(s, name);
    } catch (err) {
      if (err instanceof AppError) {
        s.reject(err.sipStatus ?? 404, err.sipReason);
        return;
      }
      throw err;
    }
    if (s.replied) return; // challenged
    const host = uri.port !== undefined ? `${uri.host}:${uri.port}` : uri.host;
    const addr = {
      entity: `sip:${room.id}@${host}`,
      host,
      ...(this.opts.webUrl ? { webUrl: this.opts.webUrl(room.id) } : {}),
    };
    const w = new ConferenceSubscription(
      room,
      addr,
      this.clock,
      this.coalesceMs,
      this.opts.log.child({ roomId: room.id }),
    );
    const sub = s.accept({ state: () => w.full() });
    this.watchers.add(w);
    w.attach(sub, () => this.watchers.delete(w));
    this.opts.log.info(
      { roomId: room.id, subscriber: sub.subscriber.uri.toString(), expires: s.expires },
      'conference subscription',
    );
  }

  /**
   * The room to watch, if the watcher may: the room must exist (404), and a PIN room's roster is for those who may
   * enter it: an authenticated SIP account (401 challenge, 403). Answers the challenge itself (then `s.replied`).
   */
  private async admit(s: SubscribeRequest, name: string | undefined): Promise<Room> {
    if (!name) throw new AppError('CONF_NO_ROOM_IN_URI');
    const room = this.opts.conference.getRoom(name);
    if (!room.needsPin) return room;
    const auth = this.opts.authenticator;
    if (!auth) throw new AppError('CONF_EVENTS_FORBIDDEN');
    const r = await auth.check(s.request);
    if (!r.ok) {
      if (r.status === 403) throw new AppError('CONF_EVENTS_FORBIDDEN');
      s.reject(r.status, r.reason, r.headers);
      return room;
    }
    // the room may have ended while the credentials were checked
    return this.opts.conference.getRoom(name);
  }

  private inRoom(room: Room, fn: (w: ConferenceSubscription) => void): void {
    for (const w of [...this.watchers]) if (w.room === room) fn(w);
  }

  /** The watchers of the room `p` is in (events that do not name the room). */
  private withParticipant(p: Participant, fn: (w: ConferenceSubscription) => void): void {
    for (const w of [...this.watchers]) if (w.room.participant(p.id) === p) fn(w);
  }

  private watchConference(o: TypedEmitter<ConferenceObserverEvents>): () => void {
    const changed = (p: Participant): void => this.withParticipant(p, (w) => w.participantChanged(p));
    const handlers: { [K in keyof ConferenceObserverEvents]?: (...a: ConferenceObserverEvents[K]) => void } =
      {
        participantAdmitted: (p, room) => this.inRoom(room, (w) => w.participantChanged(p)),
        participantJoined: (p, room) => this.inRoom(room, (w) => w.participantChanged(p)),
        participantLeft: (p, reason, room) => this.inRoom(room, (w) => w.participantLeft(p, reason)),
        participantMoved: (p, from, to) => {
          this.inRoom(from, (w) => w.participantLeft(p, MOVED));
          this.inRoom(to, (w) => w.participantChanged(p));
        },
        participantMuted: (p) => changed(p),
        participantRole: (p) => changed(p),
        participantMedia: (p) => changed(p),
        participantWaiting: (p) => changed(p),
        roomLocked: (room) => this.inRoom(room, (w) => w.roomStateChanged()),
        roomClosed: (room) => this.inRoom(room, (w) => w.roomClosed()),
      };
    const entries = Object.entries(handlers) as Array<
      [keyof ConferenceObserverEvents, (...a: never[]) => void]
    >;
    for (const [event, fn] of entries) o.on(event, fn as never);
    return () => {
      for (const [event, fn] of entries) o.off(event, fn as never);
    };
  }
}
