import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../sip/transaction/clock';
import {
  SubscriptionEndCause,
  TerminatedReason,
  type NotifyContent,
  type Subscription,
} from '../../sip/subscription';
import type { Participant } from '../participant/participant';
import type { Room } from '../room/room';
import {
  buildFullConferenceInfo,
  buildPartialConferenceInfo,
  CONFERENCE_INFO_TYPE,
  type EndpointInfo,
  type UserInfo,
} from './conference-info';
import {
  describeRoom,
  endpointInfo,
  roomState,
  userEntity,
  userInfo,
  usersOf,
  type ConferenceAddress,
  type Departure,
} from './participant-info';

/** Participants who left a user since the last document, by participant id. */
type Departed = Map<string, { p: Participant; reason: Departure; at: Date }>;

/**
 * One watcher of one room (RFC 4575): numbers its documents (`version`, one more per NOTIFY, RFC 4575 §4.6),
 * sends the full state first and after each refresh, and otherwise partial documents of what changed. Changes
 * are gathered for `coalesceMs` and sent as one partial NOTIFY: a room filling up, or a mute-all, costs each
 * watcher one NOTIFY rather than one per participant.
 */
export class ConferenceSubscription {
  private version = 0;
  /** user entities changed since the last document, with the participants that left them */
  private readonly changedUsers = new Map<string, Departed>();
  private roomChanged = false;
  private timer?: TimerHandle;
  private done = false;

  constructor(
    readonly room: Room,
    private readonly addr: ConferenceAddress,
    private readonly clock: Clock,
    private readonly coalesceMs: number,
    private readonly log: Logger,
  ) {}

  private sub?: Subscription;

  /** The subscription this watcher feeds; its end stops the watcher. */
  attach(sub: Subscription, onEnd: () => void): void {
    this.sub = sub;
    sub.on('terminated', (end) => {
      this.stop();
      this.log.debug({ roomId: this.room.id, cause: end.cause }, 'conference subscription ended');
      onEnd();
    });
    if (sub.terminated) {
      this.stop();
      onEnd();
    }
  }

  /** The full document (the notifier's state provider: first NOTIFY, after refreshes, the final one). */
  full(): NotifyContent {
    // a full document covers whatever was waiting to be sent
    this.changedUsers.clear();
    this.roomChanged = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const users = usersOf(this.room.participants(), this.addr);
    const body = buildFullConferenceInfo(
      {
        entity: this.addr.entity,
        description: describeRoom(this.room, this.addr),
        state: roomState(this.room, this.addr),
        users,
      },
      ++this.version,
    );
    return { body, contentType: CONFERENCE_INFO_TYPE };
  }

  /** A participant appeared, or its state changed (joined, muted, role, hold, media). */
  participantChanged(p: Participant): void {
    this.touch(userEntity(p, this.addr.host));
  }

  /** A participant left the room (hung up, kicked, moved away). */
  participantLeft(p: Participant, reason: Departure): void {
    this.touch(userEntity(p, this.addr.host)).set(p.id, { p, reason, at: new Date() });
  }

  /** The room's own state changed (locked). */
  roomStateChanged(): void {
    this.roomChanged = true;
    this.schedule();
  }

  /** The room ended: what is pending, then the final NOTIFY `terminated;reason=noresource` (RFC 6665 §4.2.2). */
  roomClosed(): void {
    if (this.done) return;
    this.flush();
    void this.sub?.terminate(TerminatedReason.NoResource);
  }

  /** Stops without NOTIFY (the package is closing; the subscription is closed by its notifier). */
  stop(): void {
    this.done = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private touch(entity: string): Departed {
    let departed = this.changedUsers.get(entity);
    if (!departed) {
      departed = new Map();
      this.changedUsers.set(entity, departed);
    }
    this.schedule();
    return departed;
  }

  private schedule(): void {
    if (this.done || this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.coalesceMs);
  }

  /** Sends one partial document of everything changed since the last one (RFC 4575 §4.6). */
  flush(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const sub = this.sub;
    if (this.done || !sub || sub.terminated) return;
    if (this.changedUsers.size === 0 && !this.roomChanged) return;
    const present = new Map<string, Participant[]>();
    for (const p of this.room.participants()) {
      const e = userEntity(p, this.addr.host);
      const list = present.get(e);
      if (list) list.push(p);
      else present.set(e, [p]);
    }
    const users: UserInfo[] = [];
    for (const [entity, departed] of this.changedUsers) {
      const ps = present.get(entity);
      if (ps) {
        // a full `user` element replaces what the watcher knew of it: endpoints no longer listed are gone
        users.push(userInfo(entity, ps, this.addr));
        continue;
      }
      if (departed.size === 0) continue; // appeared and left again between two documents
      const endpoints: EndpointInfo[] = [...departed.values()].map(({ p, reason, at }) => ({
        ...endpointInfo(p, this.addr, { reason, at }),
        state: 'deleted',
      }));
      // RFC 4575 §4.6: `state="deleted"` removes the user; the endpoint says how and when it left
      users.push({
        entity,
        displayText: endpoints[0]?.displayText,
        roles: [],
        endpoints,
        state: 'deleted',
      });
    }
    this.changedUsers.clear();
    this.roomChanged = false;
    const body = buildPartialConferenceInfo(
      { entity: this.addr.entity, state: roomState(this.room, this.addr), users },
      ++this.version,
    );
    void sub.notify({ body, contentType: CONFERENCE_INFO_TYPE }).then((res) => {
      if (res === undefined && sub.ended?.cause === SubscriptionEndCause.NotifyFailed)
        this.log.debug({ roomId: this.room.id }, 'conference NOTIFY failed, watcher gone');
    });
  }
}
