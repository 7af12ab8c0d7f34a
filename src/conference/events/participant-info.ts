import { LeaveReason } from '../participant/leave-reason';
import { ParticipantState, type Participant, type ParticipantRole } from '../participant/participant';
import { ParticipantKind } from '../participant/participant-kind';
import type { Room } from '../room/room';
import {
  DisconnectionMethod,
  EndpointStatus,
  JoiningMethod,
  type ConferenceDescription,
  type ConferenceStateInfo,
  type EndpointInfo,
  type EndpointMedia,
  type UserInfo,
} from './conference-info';

/**
 * RFC 4575 §5.6.6 disconnection-method for each way of leaving. Exhaustive: a new LeaveReason does not compile
 * until it is placed. `booted`: the focus ended the call (a moderator, the PIN, the room or the server);
 * `departed`: the participant hung up; `failed`: the call broke; `busy`: a dial-out the far end did not take.
 */
const DISCONNECTION: Record<LeaveReason, DisconnectionMethod> = {
  [LeaveReason.RemoteBye]: DisconnectionMethod.Departed,
  [LeaveReason.Cancelled]: DisconnectionMethod.Departed,
  [LeaveReason.LocalBye]: DisconnectionMethod.Booted,
  [LeaveReason.Kicked]: DisconnectionMethod.Booted,
  [LeaveReason.PinFailed]: DisconnectionMethod.Booted,
  [LeaveReason.RoomClosed]: DisconnectionMethod.Booted,
  [LeaveReason.ServerShutdown]: DisconnectionMethod.Booted,
  [LeaveReason.Draining]: DisconnectionMethod.Booted,
  // Turned away from a webinar's waiting room: RFC 4575 §5.6.5 counts an endpoint the focus refused by its local
  // policy when it tried to dial in as `booted` too (not `departed`: it did not leave by itself; not `failed`:
  // nothing broke).
  [LeaveReason.LobbyDenied]: DisconnectionMethod.Booted,
  [LeaveReason.RtpTimeout]: DisconnectionMethod.Failed,
  [LeaveReason.SessionExpired]: DisconnectionMethod.Failed,
  [LeaveReason.AckTimeout]: DisconnectionMethod.Failed,
  [LeaveReason.MediaFailed]: DisconnectionMethod.Failed,
  [LeaveReason.ConnectionLost]: DisconnectionMethod.Failed,
  [LeaveReason.NotAnswered]: DisconnectionMethod.Busy,
};

/**
 * The roles reported in RFC 4575 §5.6.1 `roles` entries, the strongest first: a room's moderator, a webinar's
 * host, panelist and attendee (webinar-policy.ts), a plain room's participant. Exhaustive over ParticipantRole.
 */
const ROLE_RANK: Record<ParticipantRole, number> = {
  moderator: 0,
  host: 1,
  panelist: 2,
  attendee: 3,
  participant: 4,
};
const ROLE_ORDER = (Object.keys(ROLE_RANK) as ParticipantRole[]).sort((a, b) => ROLE_RANK[a] - ROLE_RANK[b]);

/** Leaving one room for another (a move): not a LeaveReason, the participant goes on elsewhere. */
export const MOVED = 'moved';
/** Why an endpoint left a room's roster. */
export type Departure = LeaveReason | typeof MOVED;

export function disconnectionMethod(reason: Departure): DisconnectionMethod {
  // a move is the participant's departure from this conference (RFC 4575 §5.6.6 "departed")
  return reason === MOVED ? DisconnectionMethod.Departed : DISCONNECTION[reason];
}

/** Where the documents of one subscription point: the conference URI and the host of participants' URIs. */
export interface ConferenceAddress {
  /** `sip:<room>@<host>`: the documents' entity (RFC 4575 §5.1) */
  entity: string;
  /** host[:port] of the conference URI, for `sip:<participantId>@<host>` */
  host: string;
  /** the room's web page (a browser joins there), if the server has one */
  webUrl?: string;
}

/**
 * The user entity of a participant (RFC 4575 §5.6: the user's URI): a SIP caller's own address of record (its
 * From), so that a watcher recognises the people it knows; a browser has none, so `sip:<participantId>@<host>`.
 */
export function userEntity(p: Participant, host: string): string {
  if (p.kind !== ParticipantKind.WebRtc && /^(sips?|tel):/i.test(p.uri)) return p.uri;
  return `sip:${p.id}@${host}`;
}

/** RFC 4575 §5.6.3: what the focus knows of the endpoint's state. */
export function endpointStatus(p: Participant): EndpointStatus {
  if (p.hasLeft()) return EndpointStatus.Disconnected;
  // in a webinar's waiting room: expected to join once admitted (RFC 4575 §5.6.3 "pending")
  if (p.waiting !== null) return EndpointStatus.Pending;
  if (p.state === ParticipantState.Joining)
    return p.session?.direction === 'outbound' ? EndpointStatus.DialingOut : EndpointStatus.DialingIn;
  if (p.onHold) return EndpointStatus.OnHold;
  // the focus leaves a muted participant (keypad *6 or a moderator) out of the mix: "muted-via-focus"
  if (p.muted) return EndpointStatus.MutedViaFocus;
  return EndpointStatus.Connected;
}

/** The SSRC of the participant's first stream of `kind`, when its media goes through a mediasoup Producer. */
function srcId(p: Participant, kind: 'audio' | 'video'): string | undefined {
  for (const leg of p.session?.legs ?? []) {
    if (leg.kind !== kind) continue;
    const ssrc = leg.producer?.rtpParameters.encodings?.[0]?.ssrc;
    if (ssrc !== undefined) return String(ssrc);
  }
  return undefined;
}

/**
 * RFC 4575 §5.6.5: the endpoint's media as the conference carries it: audio from everyone (`recvonly` while muted:
 * it hears the room, the room does not hear it; `inactive` on hold), video from those who send it.
 */
function media(p: Participant): EndpointMedia[] {
  const audioStatus = p.hasLeft() || p.onHold ? 'inactive' : p.muted ? 'recvonly' : 'sendrecv';
  const out: EndpointMedia[] = [
    { id: '1', type: 'audio', label: 'audio', srcId: srcId(p, 'audio'), status: audioStatus },
  ];
  if (p.video)
    out.push({ id: '2', type: 'video', label: 'video', srcId: srcId(p, 'video'), status: 'sendrecv' });
  return out;
}

/**
 * RFC 4575 §5.6.2 joining-info `by`: who brought the endpoint in: the transferor of a transferred caller (its
 * Referred-By, RFC 3892), the focus itself for a dial-out; nobody for a caller who came by itself.
 */
function joinedBy(p: Participant, outbound: boolean, addr: ConferenceAddress): { by?: string } {
  if (p.referredBy !== undefined) return { by: p.referredBy };
  return outbound ? { by: addr.entity } : {};
}

/** RFC 4575 §5.6: one endpoint per participant. Left: with disconnection-method and -info. */
export function endpointInfo(
  p: Participant,
  addr: ConferenceAddress,
  left?: { reason: Departure; at: Date },
): EndpointInfo {
  const outbound = p.session?.direction === 'outbound';
  return {
    entity: `sip:${p.id}@${addr.host}`,
    displayText: p.displayName || undefined,
    status: left ? EndpointStatus.Disconnected : endpointStatus(p),
    joiningMethod: outbound ? JoiningMethod.DialedOut : JoiningMethod.DialedIn,
    joiningInfo: { when: p.joinedAt, ...joinedBy(p, outbound, addr) },
    ...(left
      ? {
          disconnectionMethod: disconnectionMethod(left.reason),
          disconnectionInfo: { when: left.at, reason: left.reason },
        }
      : {}),
    media: media(p),
  };
}

/** The users of a room: participants grouped by user entity (one caller dialled in twice is one user, 2 endpoints). */
export function usersOf(participants: readonly Participant[], addr: ConferenceAddress): UserInfo[] {
  const byEntity = new Map<string, Participant[]>();
  for (const p of participants) {
    const e = userEntity(p, addr.host);
    const list = byEntity.get(e);
    if (list) list.push(p);
    else byEntity.set(e, [p]);
  }
  return [...byEntity].map(([entity, ps]) => userInfo(entity, ps, addr));
}

/** A user from its current participants (at least one). */
export function userInfo(entity: string, ps: readonly Participant[], addr: ConferenceAddress): UserInfo {
  const first = ps[0]!;
  // RFC 4575 §5.6.1 roles: each role the user holds through its endpoints (free text), the strongest first
  const held = new Set(ps.map((p) => p.role));
  const roles = ROLE_ORDER.filter((r) => held.has(r));
  return {
    entity,
    displayText: first.displayName || undefined,
    roles,
    endpoints: ps.map((p) => endpointInfo(p, addr)),
  };
}

/** RFC 4575 §5.3: the room's description. */
export function describeRoom(room: Room, addr: ConferenceAddress): ConferenceDescription {
  const name = room.settings.displayName || room.id;
  return {
    displayText: name,
    subject: name,
    maximumUserCount: room.settings.maxParticipants,
    confUris: [
      { uri: addr.entity, displayText: name, purpose: 'participation' },
      ...(addr.webUrl ? [{ uri: addr.webUrl, displayText: name, purpose: 'web-page' }] : []),
    ],
    availableMedia: [
      { label: 'audio', type: 'audio', status: 'sendrecv' },
      { label: 'video', type: 'video', status: 'sendrecv' },
    ],
  };
}

/** RFC 4575 §5.5: user count (users, not endpoints), active (somebody is in the conference), locked. */
export function roomState(room: Room, addr: ConferenceAddress): ConferenceStateInfo {
  const ps = room.participants();
  return {
    userCount: new Set(ps.map((p) => userEntity(p, addr.host))).size,
    active: ps.some((p) => p.state === ParticipantState.Joined),
    locked: room.locked,
  };
}
