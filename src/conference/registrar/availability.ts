/**
 * "Checks others' availability": for each of our users, whether they are registered (their contacts and expiry)
 * and whether they are in a call (which room, as which participant). A participant is one of our users when its
 * URI (the From of a call it placed, the contact we dialled) is one of the user's bound contacts, or names the
 * user at one of our domains (`sip:alice@<our host>`). Computed on demand from the registrar and the rooms (no
 * second copy of either to keep in step); `changed` tells watchers (the dashboard) when to ask again.
 */
import type { Conference } from '../conference';
import type { Participant } from '../participant/participant';
import { SipUri } from '../../sip/message/uri';
import { TypedEmitter } from '../../util/typed-emitter';
import type { Logger } from 'pino';
import { contactKey, reachableContact } from './binding-table';
import type { RegisteredUser, Registrar } from './registrar';

export enum AvailabilityState {
  /** Not registered and in no call. */
  Offline = 'offline',
  /** Registered, in no call: can be invited. */
  Available = 'available',
  /** In a call in one of our rooms (registered or not). */
  InCall = 'in-call',
}

export interface UserAvailability {
  user: string;
  state: AvailabilityState;
  registered: boolean;
  contacts: RegisteredUser['contacts'];
  /** The rooms the user is in, with the participant there. */
  calls: Array<{ roomId: string; participantId: string; displayName: string }>;
}

export interface AvailabilityEvents {
  changed: [user: string];
}

export interface AvailabilityOptions {
  registrar: Pick<Registrar, 'list' | 'registration' | 'on' | 'off'>;
  conference: Pick<Conference, 'listRooms' | 'observer'>;
  /** Whether a host names this server (a participant `sip:alice@<ours>` is user alice). */
  isOurDomain: (host: string) => boolean;
  /** Whether a name is one of our users (an account): `sip:sipp@<our host>` from a stranger is nobody's call. */
  knowsUser: (user: string) => boolean;
  log: Logger;
}

/**
 * The keys a participant of this contact may carry: the contact itself (a call placed from it, a dial-out to it)
 * and the address it is reached at (dial-by-name behind a NAT calls `reachableContact`).
 */
function keysOf(c: { uri: string; source: string }): string[] {
  return [looseKey(c.uri), looseKey(reachableContact(c.uri, c.source))];
}

/**
 * A contact key for "is this participant that user?", looser than the binding comparison (RFC 3261 §19.1.4): an
 * explicit `transport=udp` (the default) counts as none, as phones write it in one header and not the other.
 */
function looseKey(uri: string): string {
  return contactKey(uri).replace(/;transport=udp(?=;|$)/, '');
}

export class Availability extends TypedEmitter<AvailabilityEvents> {
  private readonly detach: Array<() => void> = [];
  /**
   * Contact keys → user, for telling watchers whose availability a join/leave/move changed: built from the
   * registrar on first use and dropped whenever a registration changes (sweeps of expired bindings included), so
   * a busy room does not read every registration on each join. A binding that expired but is not swept yet may
   * name a user here for up to one sweep period: that only costs a spurious `changed`.
   */
  private contactIndex: Map<string, string> | undefined;

  constructor(private readonly opts: AvailabilityOptions) {
    super(opts.log);
    const onReg = (user: string): void => {
      this.contactIndex = undefined;
      this.safeEmit('changed', user);
    };
    opts.registrar.on('changed', onReg);
    this.detach.push(() => opts.registrar.off('changed', onReg));
    const onParticipant = (p: Participant): void => {
      for (const user of this.usersOf(p)) this.safeEmit('changed', user);
    };
    const o = opts.conference.observer;
    o.on('participantJoined', onParticipant);
    o.on('participantLeft', onParticipant);
    o.on('participantMoved', onParticipant);
    this.detach.push(() => {
      o.off('participantJoined', onParticipant);
      o.off('participantLeft', onParticipant);
      o.off('participantMoved', onParticipant);
    });
  }

  /** One user's availability (offline when unknown to the registrar and in no room). */
  of(user: string): UserAvailability {
    const reg = this.opts.registrar.registration(user);
    return this.build(user, reg.contacts, this.callsOf([user], new Map([[user, reg]])).get(user) ?? []);
  }

  /** Every registered user, and every user of ours in a call, by name. */
  list(): UserAvailability[] {
    const regs = new Map(this.opts.registrar.list().map((r) => [r.user, r]));
    const calls = this.callsOf(undefined, regs);
    const names = [...new Set([...regs.keys(), ...calls.keys()])].sort();
    return names.map((u) => this.build(u, regs.get(u)?.contacts ?? [], calls.get(u) ?? []));
  }

  close(): void {
    for (const d of this.detach.splice(0)) d();
  }

  private build(
    user: string,
    contacts: RegisteredUser['contacts'],
    calls: UserAvailability['calls'],
  ): UserAvailability {
    const registered = contacts.length > 0;
    const state =
      calls.length > 0
        ? AvailabilityState.InCall
        : registered
          ? AvailabilityState.Available
          : AvailabilityState.Offline;
    return { user, state, registered, contacts, calls };
  }

  /**
   * The calls of `only` (or of every user found) across the rooms. A participant matches a user by a bound
   * contact (compared as RFC 3261 §19.1.4 contact keys) or by `user@<our domain>`.
   */
  private callsOf(
    only: string[] | undefined,
    regs: ReadonlyMap<string, RegisteredUser>,
  ): Map<string, UserAvailability['calls']> {
    const byContact = new Map<string, string>();
    for (const [user, r] of regs)
      for (const c of r.contacts) for (const k of keysOf(c)) byContact.set(k, user);
    const out = new Map<string, UserAvailability['calls']>();
    for (const room of this.opts.conference.listRooms()) {
      for (const p of room.participants()) {
        for (const user of this.usersOf(p, byContact)) {
          if (only !== undefined && !only.includes(user)) continue;
          const list = out.get(user) ?? [];
          list.push({ roomId: room.id, participantId: p.id, displayName: p.displayName });
          out.set(user, list);
        }
      }
    }
    return out;
  }

  private indexContacts(): Map<string, string> {
    return new Map(
      this.opts.registrar
        .list()
        .flatMap((r) => r.contacts.flatMap((c) => keysOf(c).map((k) => [k, r.user] as const))),
    );
  }

  private usersOf(p: Participant, byContact?: ReadonlyMap<string, string>): string[] {
    const users = new Set<string>();
    const uri = SipUri.tryParse(p.uri);
    if (uri === undefined) return [];
    if (
      uri.user !== undefined &&
      uri.user !== '' &&
      this.opts.isOurDomain(uri.host) &&
      this.opts.knowsUser(uri.user)
    )
      users.add(uri.user);
    const map = byContact ?? (this.contactIndex ??= this.indexContacts());
    const byBinding = map.get(looseKey(p.uri));
    if (byBinding !== undefined) users.add(byBinding);
    return [...users];
  }
}
