/**
 * The moderator dashboard ⇄ server protocol (socket.io, namespace `/dashboard`): one module shared by the server
 * (`src/moderation`) and the dashboard page (`web/dashboard`). The handshake is authenticated (the session cookie
 * set by `POST /api/auth/login`, or `auth: { token }` with an API token); every event is authorised again on the
 * server. Every client payload has a zod schema parsed before anything touches it.
 *
 * Requests carry an acknowledgement callback answering `{ ok: true, data }` or `{ ok: false, error }` where
 * `error.code` is a code of the server's error catalogue (the same codes and meanings as the REST API).
 *
 * State flow: on connect the server sends `snapshot` (everything the account may see); afterwards only deltas
 * (`room`, `roomClosed`, `participant`, `participantLeft`, `speaking`, `quality`). A dashboard that reconnects
 * gets a fresh `snapshot`, so it never has to reconcile.
 */
import { z } from 'zod';
import type { Ack } from './rtc-protocol';
import { roomName } from './rtc-protocol';
import { WebinarSchema, type ParticipantRoleName, type WaitingForName } from './webinar-protocol';

export type { Ack, AckResult, ErrorPayload } from './rtc-protocol';

/** The socket.io namespace of moderator dashboards. */
export const DASHBOARD_NAMESPACE = '/dashboard';

/** The name of the HttpOnly session cookie set by `POST /api/auth/login`. */
export const SESSION_COOKIE = 'parley_session';

const id = z.string().min(1).max(128);

// ------------------------------------------------------------------ client → server payloads

export const RoomRefSchema = z.object({ roomId: roomName }).strict();
export const ParticipantRefSchema = z.object({ roomId: roomName, participantId: id }).strict();
export const MuteParticipantSchema = ParticipantRefSchema.extend({ muted: z.boolean() }).strict();
export const MuteAllSchema = RoomRefSchema.extend({ muted: z.boolean() }).strict();
export const LockSchema = RoomRefSchema.extend({ locked: z.boolean() }).strict();
export const MoveSchema = ParticipantRefSchema.extend({ toRoomId: roomName }).strict();
/** A SIP URI (`sip:`/`sips:`) or the name of a user registered with us. */
export const DialSchema = RoomRefSchema.extend({ target: z.string().trim().min(1).max(1024) }).strict();
export const CreateRoomSchema = z
  .object({
    roomId: roomName,
    displayName: z.string().trim().min(1).max(128).optional(),
    pin: z
      .string()
      .regex(/^[0-9]{1,16}$/)
      .optional(),
    moderatorPin: z
      .string()
      .regex(/^[0-9]{1,16}$/)
      .optional(),
    maxParticipants: z.number().int().min(1).max(10000).optional(),
    /** Makes it a webinar (roles, role PINs, lobby); cross-key checks: `webinarRoomIssues`. */
    webinar: WebinarSchema.optional(),
  })
  .strict();
/** A room's moderator PIN typed into the dashboard: rights on that room only, for this session. */
export const ClaimRoomSchema = RoomRefSchema.extend({
  moderatorPin: z.string().regex(/^[0-9]{1,16}$/),
}).strict();
export const LadderSchema = ParticipantRefSchema;
export const LivestreamSchema = RoomRefSchema.extend({ url: z.string().max(2048).optional() }).strict();

const isoDate = z.string().datetime({ offset: true });
export const AuditQuerySchema = z
  .object({
    from: isoDate.optional(),
    to: isoDate.optional(),
    roomId: roomName.optional(),
    actor: z.string().max(128).optional(),
    action: z.string().max(64).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export const CdrQuerySchema = z
  .object({
    from: isoDate.optional(),
    to: isoDate.optional(),
    roomId: roomName.optional(),
    /** A substring of the caller's display name or URI. */
    q: z.string().max(128).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    offset: z.number().int().min(0).default(0),
  })
  .strict();

// ------------------------------------------------------------------ shared shapes

export type AccountRole = 'admin' | 'moderator';

/** Who is signed in, and what over. */
export interface Principal {
  /** `account`: signed in with a username; `token`: an API token; `pin`: only a room's moderator PIN. */
  kind: 'account' | 'token' | 'pin';
  /** Account username, `token:<name>` for an API token, `pin:<room>` for a moderator-PIN session. */
  name: string;
  /** A `pin` principal is a `moderator` of its granted rooms only. */
  role: AccountRole;
  /** Rooms granted by a moderator PIN in this session (accounts moderate every room anyway). */
  roomGrants: string[];
}

/** Receive quality of one participant's call, as the server measures it (null when not known yet). */
export interface CallQuality {
  /** Fraction of packets lost, 0..1. */
  loss: number | null;
  jitterMs: number | null;
  rttMs: number | null;
  /** Estimated MOS (ITU-T G.107 E-model, simplified), 1..4.5. */
  mos: number | null;
}

export type DashboardParticipantKind = 'sip' | 'webrtc' | 'sip-ws';

export interface DashboardParticipant {
  id: string;
  roomId: string;
  kind: DashboardParticipantKind;
  displayName: string;
  uri: string;
  transport: string;
  codec: string | null;
  srtp: boolean;
  onHold: boolean;
  video: boolean;
  muted: boolean;
  speaking: boolean;
  handRaised: boolean;
  role: ParticipantRoleName;
  /** Waiting in a webinar's lobby (for the host, or to be admitted: "Admit X" / "Deny X"); null otherwise. */
  waiting: WaitingForName;
  /** RFC 3892 Referred-By of a transferred caller (who sent it here); absent otherwise. Caller-supplied: text only. */
  referredBy?: string;
  state: string;
  joinedAt: string;
  quality: CallQuality;
}

export interface DashboardRoom {
  id: string;
  displayName: string;
  participants: number;
  locked: boolean;
  hasPin: boolean;
  /** Declared in config or created from the dashboard/API (kept when empty). */
  declared: boolean;
  recording: boolean;
  streaming: boolean;
  createdAt: string;
}

/** One registered contact (binding) of a SIP user, as the API and the dashboard show it. */
export interface RegisteredContactView {
  uri: string;
  q: number | null;
  expiresInSeconds: number;
  registeredAt: string;
  source: string;
  userAgent: string | null;
}

/**
 * One of our SIP users (a registrar account): registered (its contacts) and/or in a call (which rooms). The same
 * shape as REST `GET /api/registrations`.
 */
export interface UserAvailabilityView {
  user: string;
  state: 'offline' | 'available' | 'in-call';
  registered: boolean;
  contacts: RegisteredContactView[];
  calls: Array<{ roomId: string; participantId: string; displayName: string }>;
}

export interface DashboardSnapshot {
  principal: Principal;
  rooms: DashboardRoom[];
  participants: DashboardParticipant[];
  /** Registered users and users of ours in a call (accounts and API tokens; absent for a PIN session). */
  users?: UserAvailabilityView[];
  /** Server clock, for durations. */
  now: string;
}

export interface AuditEntryView {
  id: number;
  at: string;
  actor: string;
  action: string;
  roomId: string | null;
  target: string | null;
  source: string | null;
  outcome: 'ok' | 'error';
  detail: string | null;
}

export interface CdrView {
  id: string;
  roomId: string;
  kind: DashboardParticipantKind;
  direction: 'inbound' | 'outbound';
  displayName: string;
  uri: string;
  callId: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string;
  durationSeconds: number;
  codec: string | null;
  transport: string;
  leaveReason: string;
  quality: CallQuality;
}

/** One SIP message of a call's ladder. */
export interface LadderMessage {
  /** Milliseconds since the epoch. */
  at: number;
  /** `in`: the phone → us; `out`: us → the phone. */
  direction: 'in' | 'out';
  /** Request method, or the status code as text for a response (e.g. "200"). */
  label: string;
  method: string;
  status: number | null;
  transport: string;
  remote: string;
  /** The whole message as it was on the wire (bodies included, capped). */
  raw: string;
}

export interface CallLadder {
  callId: string;
  participantId: string;
  /** The two ends of the ladder. */
  local: string;
  remote: string;
  messages: LadderMessage[];
}

export interface Page<T> {
  items: T[];
  total: number;
}

// ------------------------------------------------------------------ event maps

export interface DashboardClientToServer {
  /** Resend the snapshot (also sent unasked on connect). */
  snapshot: (ack: Ack<DashboardSnapshot>) => void;
  mute: (req: z.input<typeof MuteParticipantSchema>, ack: Ack<null>) => void;
  muteAll: (req: z.input<typeof MuteAllSchema>, ack: Ack<{ participants: string[] }>) => void;
  kick: (req: z.input<typeof ParticipantRefSchema>, ack: Ack<null>) => void;
  /** A webinar's attendee becomes a panelist (CONF_NOT_WEBINAR, CONF_NOT_ATTENDEE). */
  promote: (req: z.input<typeof ParticipantRefSchema>, ack: Ack<null>) => void;
  /** A panelist goes back to the audience (CONF_NOT_PANELIST). */
  demote: (req: z.input<typeof ParticipantRefSchema>, ack: Ack<null>) => void;
  /** Lets a person waiting in a webinar's lobby in (CONF_NOT_WAITING). */
  admit: (req: z.input<typeof ParticipantRefSchema>, ack: Ack<null>) => void;
  /** Turns a person waiting in a webinar's lobby away. */
  deny: (req: z.input<typeof ParticipantRefSchema>, ack: Ack<null>) => void;
  lock: (req: z.input<typeof LockSchema>, ack: Ack<null>) => void;
  dial: (req: z.input<typeof DialSchema>, ack: Ack<{ participant: DashboardParticipant }>) => void;
  move: (req: z.input<typeof MoveSchema>, ack: Ack<null>) => void;
  endRoom: (req: z.input<typeof RoomRefSchema>, ack: Ack<null>) => void;
  /** Ends the room and forgets a room created at run time (accounts only); a config file's room only ends. */
  deleteRoom: (req: z.input<typeof RoomRefSchema>, ack: Ack<{ forgotten: boolean }>) => void;
  createRoom: (req: z.input<typeof CreateRoomSchema>, ack: Ack<DashboardRoom>) => void;
  claimRoom: (req: z.input<typeof ClaimRoomSchema>, ack: Ack<Principal>) => void;
  startLivestream: (req: z.input<typeof LivestreamSchema>, ack: Ack<null>) => void;
  stopLivestream: (req: z.input<typeof RoomRefSchema>, ack: Ack<null>) => void;
  ladder: (req: z.input<typeof LadderSchema>, ack: Ack<CallLadder>) => void;
  audit: (req: z.input<typeof AuditQuerySchema>, ack: Ack<Page<AuditEntryView>>) => void;
  cdrs: (req: z.input<typeof CdrQuerySchema>, ack: Ack<Page<CdrView>>) => void;
}

export interface DashboardServerToClient {
  snapshot: (s: DashboardSnapshot) => void;
  /** A room appeared or changed (participants count, lock, streaming...). */
  room: (r: DashboardRoom) => void;
  roomClosed: (e: { roomId: string }) => void;
  /** A participant appeared or changed (anything but speaking and quality). */
  participant: (p: DashboardParticipant) => void;
  participantLeft: (e: { roomId: string; participantId: string; reason: string }) => void;
  /** Speaking flags, batched: every change since the last batch (at most one batch per 100 ms). */
  speaking: (e: { changes: { participantId: string; speaking: boolean }[] }) => void;
  /** Quality figures, every few seconds for the participants that changed. */
  quality: (e: { figures: { participantId: string; quality: CallQuality }[] }) => void;
  /** A user's availability changed (registered, unregistered, joined or left a call): accounts and tokens only. */
  user: (u: UserAvailabilityView) => void;
  /** The session ended (logout, account disabled): the page goes back to the sign-in form. */
  signedOut: (e: { reason: string }) => void;
  /** A room's livestream changed state (starting, live, restarting, stopped, failed: `error` says why). */
  livestream: (e: DashboardLivestream) => void;
}

/** A livestream state change as the dashboard shows it. */
export interface DashboardLivestream {
  roomId: string;
  state: 'starting' | 'live' | 'restarting' | 'stopped' | 'failed';
  restarts: number;
  error: string | null;
}
