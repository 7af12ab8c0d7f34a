import { ERROR_CATALOGUE, type ErrorCode } from '../../errors/catalogue';
import {
  AuditQuerySchema,
  CdrQuerySchema,
  ClaimRoomSchema,
  CreateRoomSchema,
  SESSION_COOKIE,
} from '../../protocol/dashboard-protocol';
import { zodToJsonSchema, type JsonSchema } from './zod-json-schema';

/**
 * The OpenAPI 3.1 description of every /api route, served at GET /api/openapi.json. Request bodies and queries
 * that the protocol module defines in zod are converted from those schemas (one source of truth); the routes'
 * private body schemas are restated here. `test/integration/http/openapi.test.ts` keeps this table and the
 * server's registered routes equal, validates the document, and checks real answers against it.
 */

type Method = 'get' | 'post' | 'patch' | 'delete';
/** `session`: cookie or API token (the default); `public`: none; `optional`: either; `participant`: a browser's. */
type Access = 'session' | 'public' | 'optional' | 'participant';

interface Answer {
  status: number;
  description: string;
  /** A JSON schema (application/json), or a media type with its schema. */
  json?: JsonSchema;
  media?: { type: string; schema: JsonSchema };
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

interface Operation {
  method: Method;
  /** Express syntax, under /api (e.g. `/rooms/:id/lock`). */
  path: string;
  id: string;
  tag: string;
  summary: string;
  description?: string;
  access?: Access;
  body?: JsonSchema;
  rawBody?: boolean;
  query?: JsonSchema;
  headers?: { name: string; description: string; schema: JsonSchema }[];
  ok: Answer;
  errors: ErrorCode[];
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({ type: [type, 'null'], ...extra });
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
const obj = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
});
const strictObj = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
  additionalProperties: false,
});
const page = (item: string): JsonSchema =>
  obj({ items: { type: 'array', items: ref(item) }, total: { type: 'integer', minimum: 0 } });
const roomName = zodToJsonSchema(CreateRoomSchema.shape.roomId);
const participantKind: JsonSchema = { type: 'string', enum: ['sip', 'webrtc', 'sip-ws'] };
const role: JsonSchema = { type: 'string', enum: ['admin', 'moderator'] };

/** How a dial-out went (POST /rooms/:id/dial): in its 201 and in its CONF_DIAL_FAILED / CONF_DIAL_NO_ANSWER answers. */
const DIAL_OUTCOME: JsonSchema = obj({
  result: {
    type: 'string',
    enum: ['answered', 'busy', 'declined', 'timeout', 'cancelled', 'failed'],
  },
  status: { type: 'integer', minimum: 100, maximum: 699 },
  reason: { type: 'string' },
  progress: {
    type: 'array',
    items: obj({ status: { type: 'integer', minimum: 100, maximum: 699 }, reason: { type: 'string' } }),
  },
});

const SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    ...obj({
      error: {
        type: 'string',
        enum: Object.keys(ERROR_CATALOGUE),
        description: 'A code of the error catalogue.',
      },
      message: { type: 'string' },
    }),
    description: 'Every error answer: a catalogue code and a human-readable message.',
  },
  Principal: obj({
    kind: { type: 'string', enum: ['account', 'token', 'pin'] },
    name: { type: 'string', description: 'Username, `token:<name>` or `pin:<room>`.' },
    role,
    roomGrants: { type: 'array', items: { type: 'string' } },
  }),
  Session: obj({ principal: ref('Principal'), expiresAt: dateTime }),
  CallQuality: obj({
    loss: nullable('number', { minimum: 0, maximum: 1 }),
    jitterMs: nullable('number'),
    rttMs: nullable('number'),
    mos: nullable('number'),
  }),
  Room: obj({
    id: roomName,
    displayName: { type: 'string' },
    participants: { type: 'integer', minimum: 0, description: 'How many are in the room.' },
    locked: { type: 'boolean' },
    hasPin: { type: 'boolean' },
    createdAt: dateTime,
    declared: { type: 'boolean', description: 'Declared in config or through the API (kept when empty).' },
    recording: { type: 'boolean' },
    streaming: { type: 'boolean' },
  }),
  RoomDetail: obj(
    {
      id: roomName,
      displayName: { type: 'string' },
      participants: { type: 'array', items: ref('Participant') },
      participantCount: { type: 'integer', minimum: 0 },
      locked: { type: 'boolean' },
      hasPin: { type: 'boolean' },
      createdAt: dateTime,
      declared: { type: 'boolean' },
      recording: { type: 'boolean' },
      streaming: { type: 'boolean' },
      audience: {
        type: 'array',
        description:
          "With rtc.fanout: per mediasoup worker, the consumers on the room's router there and the receive-only browsers (webinar attendees) placed on it. Absent without fan-out.",
        items: obj({
          workerIndex: { type: 'integer', minimum: 0 },
          origin: { type: 'boolean', description: "The room's own router (where senders and the mix live)." },
          consumers: { type: 'integer', minimum: 0 },
          viewers: { type: 'integer', minimum: 0 },
        }),
      },
    },
    [
      'id',
      'displayName',
      'participants',
      'participantCount',
      'locked',
      'hasPin',
      'createdAt',
      'declared',
      'recording',
      'streaming',
    ],
  ),
  Participant: obj(
    {
      id: { type: 'string' },
      kind: participantKind,
      displayName: { type: 'string', description: 'Caller-supplied: render as text.' },
      uri: { type: 'string' },
      transport: { type: 'string' },
      codec: nullable('string'),
      srtp: { type: 'boolean' },
      onHold: { type: 'boolean' },
      video: { type: 'boolean' },
      muted: { type: 'boolean' },
      speaking: { type: 'boolean' },
      handRaised: { type: 'boolean' },
      role: {
        type: 'string',
        enum: ['participant', 'moderator', 'host', 'panelist', 'attendee'],
        description: 'host, panelist and attendee in webinars; a moderator has host powers there.',
      },
      state: { type: 'string', enum: ['joining', 'joined', 'left'] },
      joinedAt: dateTime,
      waiting: {
        type: ['string', 'null'],
        enum: ['host', 'admission', null],
        description: "In a webinar's lobby: waiting for the host to join, or to be admitted (admit/deny).",
      },
      referredBy: {
        type: 'string',
        description:
          'RFC 3892 Referred-By: who transferred the caller here (present only for transferred callers).',
      },
    },
    [
      'id',
      'kind',
      'displayName',
      'uri',
      'transport',
      'codec',
      'srtp',
      'onHold',
      'video',
      'muted',
      'speaking',
      'handRaised',
      'role',
      'state',
      'joinedAt',
      'waiting',
    ],
  ),
  Account: obj({
    id: { type: 'string' },
    username: { type: 'string' },
    role,
    disabled: { type: 'boolean' },
    createdAt: dateTime,
  }),
  Token: obj({
    id: { type: 'string' },
    accountId: { type: 'string' },
    name: { type: 'string' },
    createdAt: dateTime,
    lastUsedAt: nullable('string', { format: 'date-time' }),
  }),
  NewToken: {
    allOf: [ref('Token')],
    ...obj({ token: { type: 'string', description: 'The token in clear: shown this once, stored hashed.' } }),
  },
  AuditEntry: obj({
    id: { type: 'integer' },
    at: dateTime,
    actor: { type: 'string' },
    action: { type: 'string' },
    roomId: nullable('string'),
    target: nullable('string'),
    source: nullable('string'),
    outcome: { type: 'string', enum: ['ok', 'error'] },
    detail: nullable('string'),
  }),
  Cdr: obj({
    id: { type: 'string' },
    roomId: { type: 'string' },
    kind: participantKind,
    direction: { type: 'string', enum: ['inbound', 'outbound'] },
    displayName: { type: 'string' },
    uri: { type: 'string' },
    callId: nullable('string'),
    startedAt: dateTime,
    answeredAt: nullable('string', { format: 'date-time' }),
    endedAt: dateTime,
    durationSeconds: { type: 'number', minimum: 0 },
    codec: nullable('string'),
    transport: { type: 'string' },
    leaveReason: { type: 'string' },
    quality: ref('CallQuality'),
  }),
  LadderMessage: obj({
    at: { type: 'number', description: 'Milliseconds since the epoch.' },
    direction: { type: 'string', enum: ['in', 'out'] },
    label: { type: 'string' },
    method: { type: 'string' },
    status: nullable('integer'),
    transport: { type: 'string' },
    remote: { type: 'string' },
    raw: { type: 'string', description: 'The whole message as on the wire (capped).' },
  }),
  CallLadder: obj({
    callId: { type: 'string' },
    participantId: { type: 'string' },
    local: { type: 'string' },
    remote: { type: 'string' },
    messages: { type: 'array', items: ref('LadderMessage') },
  }),
  ChatAttachment: obj({
    id: { type: 'string' },
    name: { type: 'string' },
    size: { type: 'integer', minimum: 0 },
    contentType: { type: 'string' },
    url: { type: 'string' },
  }),
};

const json = (status: number, description: string, schema: JsonSchema): Answer => ({
  status,
  description,
  json: schema,
});

/** A livestream's state (src/livestream LivestreamView). */
const LIVESTREAM_VIEW: JsonSchema = {
  type: 'object',
  properties: {
    roomId: { type: 'string' },
    state: { enum: ['starting', 'live', 'restarting', 'stopped', 'failed'] },
    since: { type: 'string', format: 'date-time' },
    startedAt: { type: 'string', format: 'date-time' },
    outputs: {
      type: 'object',
      properties: {
        rtmp: { type: 'array', items: { type: 'string' } },
        hls: { type: ['string', 'null'] },
        recording: { type: ['string', 'null'] },
      },
    },
    video: { enum: ['camera', 'grid', 'still'] },
    layout: { enum: ['speaker', 'grid'] },
    switches: { type: 'integer' },
    restarts: { type: 'integer' },
    lastError: { type: ['string', 'null'] },
    pid: { type: ['integer', 'null'] },
  },
};
const noContent: Answer = { status: 204, description: 'Done.' };
const csv = (what: string): Answer => ({
  status: 200,
  description: `${what} as CSV (RFC 4180; cells that a spreadsheet would read as formulas are quoted).`,
  media: { type: 'text/csv; charset=utf-8', schema: { type: 'string' } },
});
const ack = (props: Record<string, JsonSchema>): Answer => json(200, 'Done.', obj(props));

/** Errors every authenticated room route can answer. */
const ROOM: ErrorCode[] = ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'CONF_ROOM_NOT_FOUND'];
const PARTICIPANT: ErrorCode[] = [...ROOM, 'CONF_PARTICIPANT_NOT_FOUND'];
const ADMIN: ErrorCode[] = ['AUTH_REQUIRED', 'AUTH_FORBIDDEN'];
/** Errors of a webinar lobby decision (admit, deny). */
const WEBINAR_LOBBY: ErrorCode[] = [...PARTICIPANT, 'CONF_NOT_WEBINAR', 'CONF_NOT_WAITING'];

/** Query parameters of the record searches, from the same zod schemas the server parses. */
const auditQuery = zodToJsonSchema(AuditQuerySchema);
const cdrQuery = zodToJsonSchema(CdrQuerySchema);

/** A registered user's (or a user in a call's) availability: GET /registrations, /users/:name/availability. */
const USER_AVAILABILITY: JsonSchema = obj({
  user: { type: 'string' },
  state: { type: 'string', enum: ['offline', 'available', 'in-call'] },
  registered: { type: 'boolean' },
  contacts: {
    type: 'array',
    items: obj({
      uri: { type: 'string' },
      q: nullable('number', { minimum: 0, maximum: 1 }),
      expiresInSeconds: { type: 'integer', minimum: 0 },
      registeredAt: dateTime,
      source: { type: 'string' },
      userAgent: nullable('string'),
    }),
  },
  calls: {
    type: 'array',
    items: obj({
      roomId: { type: 'string' },
      participantId: { type: 'string' },
      displayName: { type: 'string' },
    }),
  },
});

export const OPERATIONS: Operation[] = [
  // ---------------------------------------------------------------- auth
  {
    method: 'post',
    path: '/auth/login',
    id: 'login',
    tag: 'auth',
    summary: 'Sign in with a username and password',
    description: `Sets the \`${SESSION_COOKIE}\` cookie (HttpOnly, SameSite=Strict, Secure behind TLS). Failed sign-ins are rate-limited per source address and per account.`,
    access: 'public',
    body: strictObj(
      {
        username: { type: 'string', minLength: 1, maxLength: 128 },
        password: { type: 'string', minLength: 1, maxLength: 1024 },
      },
      ['username', 'password'],
    ),
    ok: {
      ...json(200, 'Signed in.', ref('Session')),
      headers: {
        'Set-Cookie': {
          description: `The \`${SESSION_COOKIE}\` session cookie.`,
          schema: { type: 'string' },
        },
      },
    },
    errors: ['API_BAD_REQUEST', 'AUTH_BAD_CREDENTIALS', 'AUTH_RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/auth/pin',
    id: 'claimRoom',
    tag: 'auth',
    summary: "Gain a room's rights with its moderator PIN",
    description:
      'Signed in (cookie): the room is added to this session. Otherwise a new session holding only that room is opened (and its cookie set).',
    access: 'optional',
    body: zodToJsonSchema(ClaimRoomSchema),
    ok: {
      ...json(200, 'The principal with the room granted.', {
        ...obj({ principal: ref('Principal'), expiresAt: dateTime }, ['principal']),
      }),
      headers: {
        'Set-Cookie': {
          description: 'A new session cookie (when not signed in).',
          schema: { type: 'string' },
        },
      },
    },
    errors: ['API_BAD_REQUEST', 'AUTH_WRONG_PIN', 'AUTH_RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/auth/logout',
    id: 'logout',
    tag: 'auth',
    summary: 'Revoke the session and clear the cookie',
    ok: noContent,
    errors: ['AUTH_REQUIRED'],
  },
  {
    method: 'get',
    path: '/auth/me',
    id: 'me',
    tag: 'auth',
    summary: 'Who is signed in',
    ok: ack({ principal: ref('Principal') }),
    errors: ['AUTH_REQUIRED'],
  },
  // ---------------------------------------------------------------- accounts and tokens
  {
    method: 'get',
    path: '/accounts',
    id: 'listAccounts',
    tag: 'accounts',
    summary: 'Every moderator account (admins only)',
    ok: ack({ accounts: { type: 'array', items: ref('Account') } }),
    errors: ADMIN,
  },
  {
    method: 'post',
    path: '/accounts',
    id: 'createAccount',
    tag: 'accounts',
    summary: 'Create an account (admins only)',
    body: strictObj(
      {
        username: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' },
        password: { type: 'string', minLength: 8, maxLength: 1024 },
        role: { ...role, default: 'moderator' },
      },
      ['username', 'password'],
    ),
    ok: json(201, 'Created.', obj({ account: ref('Account') })),
    errors: [...ADMIN, 'API_BAD_REQUEST', 'ACCOUNT_EXISTS'],
  },
  {
    method: 'patch',
    path: '/accounts/:id',
    id: 'updateAccount',
    tag: 'accounts',
    summary: "Change an account's role, password or disabled flag (admins only)",
    body: strictObj({
      role,
      password: { type: 'string', minLength: 8, maxLength: 1024 },
      disabled: { type: 'boolean' },
    }),
    ok: ack({ account: ref('Account') }),
    errors: [...ADMIN, 'API_BAD_REQUEST', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_LAST_ADMIN'],
  },
  {
    method: 'delete',
    path: '/accounts/:id',
    id: 'deleteAccount',
    tag: 'accounts',
    summary: 'Delete an account (admins only)',
    ok: noContent,
    errors: [...ADMIN, 'ACCOUNT_NOT_FOUND', 'ACCOUNT_LAST_ADMIN'],
  },
  {
    method: 'get',
    path: '/tokens',
    id: 'listTokens',
    tag: 'accounts',
    summary: "The caller's API tokens (never the tokens themselves)",
    ok: ack({ tokens: { type: 'array', items: ref('Token') } }),
    errors: ADMIN,
  },
  {
    method: 'post',
    path: '/tokens',
    id: 'createToken',
    tag: 'accounts',
    summary: 'Issue an API token (returned in clear this once)',
    body: strictObj({ name: { type: 'string', minLength: 1, maxLength: 64 } }, ['name']),
    ok: json(201, 'Issued.', ref('NewToken')),
    errors: [...ADMIN, 'API_BAD_REQUEST'],
  },
  {
    method: 'delete',
    path: '/tokens/:id',
    id: 'deleteToken',
    tag: 'accounts',
    summary: 'Revoke an API token (its owner, or an admin)',
    ok: noContent,
    errors: [...ADMIN, 'TOKEN_NOT_FOUND'],
  },
  // ---------------------------------------------------------------- rooms
  {
    method: 'get',
    path: '/rooms',
    id: 'listRooms',
    tag: 'rooms',
    summary: 'The rooms the caller may moderate',
    ok: ack({ rooms: { type: 'array', items: ref('Room') } }),
    errors: ['AUTH_REQUIRED'],
  },
  {
    method: 'post',
    path: '/rooms',
    id: 'createRoom',
    tag: 'rooms',
    summary: 'Declare and open a room (kept when empty, and across restarts)',
    body: zodToJsonSchema(CreateRoomSchema),
    ok: json(201, 'Created.', ref('Room')),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST', 'ROOM_EXISTS'],
  },
  {
    method: 'get',
    path: '/rooms/:id',
    id: 'getRoom',
    tag: 'rooms',
    summary: 'A room and its participants',
    ok: json(200, 'The room.', ref('RoomDetail')),
    errors: ROOM,
  },
  {
    method: 'delete',
    path: '/rooms/:id',
    id: 'deleteRoom',
    tag: 'rooms',
    summary:
      'End the room (every call ends); a room created through the API is also forgotten (accounts only: it does not come back at the next start)',
    ok: ack({ roomId: { type: 'string' }, ended: { const: true }, forgotten: { type: 'boolean' } }),
    errors: ROOM,
  },
  {
    method: 'get',
    path: '/rooms/:id/participants',
    id: 'listParticipants',
    tag: 'rooms',
    summary: "A room's participants",
    ok: ack({ roomId: { type: 'string' }, participants: { type: 'array', items: ref('Participant') } }),
    errors: ROOM,
  },
  {
    method: 'get',
    path: '/rooms/:id/media',
    id: 'roomMedia',
    tag: 'rooms',
    summary: "The mixer's figures: tick cost, per participant packets and receive quality",
    ok: ack({
      roomId: { type: 'string' },
      mixer: { type: ['object', 'null'], description: 'null while the room has no mix.' },
    }),
    errors: ROOM,
  },
  {
    method: 'post',
    path: '/rooms/:id/lock',
    id: 'lockRoom',
    tag: 'rooms',
    summary: 'Lock (admit nobody) or unlock the room',
    body: strictObj({ locked: { type: 'boolean' } }, ['locked']),
    ok: ack({ roomId: { type: 'string' }, locked: { type: 'boolean' } }),
    errors: [...ROOM, 'API_BAD_REQUEST'],
  },
  {
    method: 'post',
    path: '/rooms/:id/mute-all',
    id: 'muteAll',
    tag: 'rooms',
    summary: 'Mute (or unmute) everyone but the moderators',
    body: strictObj({ muted: { type: 'boolean', default: true } }),
    ok: ack({
      roomId: { type: 'string' },
      muted: { type: 'boolean' },
      participants: { type: 'array', items: { type: 'string' }, description: 'The participants changed.' },
    }),
    errors: [...ROOM, 'API_BAD_REQUEST'],
  },
  {
    method: 'post',
    path: '/rooms/:id/dial',
    id: 'dialOut',
    tag: 'rooms',
    summary: 'Call a SIP URI or a registered user into the room',
    description:
      'Answers once the callee is in the room. `dial` (also in the error answers of a call that was placed) says how ' +
      'it went: result (answered, busy, declined, timeout, cancelled, failed), the final SIP status and reason, and ' +
      'the provisional responses seen (180, 183). A ring timeout is CONF_DIAL_NO_ANSWER (our CANCEL, status 408).',
    body: strictObj({ target: { type: 'string', minLength: 1, maxLength: 1024 } }, ['target']),
    ok: json(
      201,
      'The callee joined.',
      obj({ roomId: { type: 'string' }, participant: ref('Participant'), dial: DIAL_OUTCOME }),
    ),
    errors: [
      ...ROOM,
      'API_BAD_REQUEST',
      'CONF_DIAL_UNAVAILABLE',
      'SEC_SRTP_REQUIRED',
      'CONF_DIAL_BAD_TARGET',
      'CONF_DIAL_DENIED',
      'CONF_DIAL_FAILED',
      'CONF_DIAL_NO_ANSWER',
      'CONF_ROOM_LOCKED',
      'CONF_ROOM_FULL_BUSY',
    ],
  },
  {
    method: 'post',
    path: '/rooms/:id/livestream',
    id: 'startLivestream',
    tag: 'rooms',
    summary: "Start the room's livestream: RTMP/RTMPS URLs, HLS at /live/<room>, a recording (at least one)",
    body: strictObj({
      rtmp: { type: 'array', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 2048 } },
      hls: { type: 'boolean' },
      record: { type: 'boolean' },
      layout: { enum: ['speaker', 'grid'] },
    }),
    ok: json(201, 'Started (state starting, then live).', LIVESTREAM_VIEW),
    errors: [
      ...ROOM,
      'API_BAD_REQUEST',
      'LIVESTREAM_NO_OUTPUT',
      'LIVESTREAM_BAD_URL',
      'LIVESTREAM_ALREADY_LIVE',
      'LIVESTREAM_TOO_MANY',
      'LIVESTREAM_NO_MEDIA',
      'LIVESTREAM_UNAVAILABLE',
    ],
  },
  {
    method: 'get',
    path: '/rooms/:id/livestream',
    id: 'getLivestream',
    tag: 'rooms',
    summary: "The room's livestream: state, since, outputs (stream keys redacted), restarts, last error",
    ok: json(200, 'The running stream, or the last one that ended.', LIVESTREAM_VIEW),
    errors: [...ROOM, 'LIVESTREAM_NOT_LIVE'],
  },
  {
    method: 'delete',
    path: '/rooms/:id/livestream',
    id: 'stopLivestream',
    tag: 'rooms',
    summary: "Stop the room's livestream (ffmpeg ends; no process, port or temp file is left)",
    ok: json(200, 'Stopped.', LIVESTREAM_VIEW),
    errors: [...ROOM, 'LIVESTREAM_NOT_LIVE', 'LIVESTREAM_UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/mute',
    id: 'muteParticipant',
    tag: 'participants',
    summary: "Take a participant out of (or back into) everyone's mix",
    body: strictObj({ muted: { type: 'boolean' } }, ['muted']),
    ok: ack({ roomId: { type: 'string' }, participantId: { type: 'string' }, muted: { type: 'boolean' } }),
    errors: [...PARTICIPANT, 'API_BAD_REQUEST'],
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/kick',
    id: 'kickParticipant',
    tag: 'participants',
    summary: "End a participant's call (SIP BYE with a Reason header, or a browser disconnect)",
    ok: ack({ roomId: { type: 'string' }, participantId: { type: 'string' }, kicked: { const: true } }),
    errors: PARTICIPANT,
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/promote',
    id: 'promoteParticipant',
    tag: 'participants',
    summary: "A webinar's attendee becomes a panelist: it may speak (unmuted, hand lowered)",
    ok: ack({
      roomId: { type: 'string' },
      participantId: { type: 'string' },
      role: { const: 'panelist' },
      muted: { type: 'boolean' },
    }),
    errors: [...PARTICIPANT, 'CONF_NOT_WEBINAR', 'CONF_NOT_ATTENDEE'],
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/demote',
    id: 'demoteParticipant',
    tag: 'participants',
    summary: 'A panelist goes back to the audience (an attendee, muted as the room says)',
    ok: ack({
      roomId: { type: 'string' },
      participantId: { type: 'string' },
      role: { const: 'attendee' },
      muted: { type: 'boolean' },
    }),
    errors: [...PARTICIPANT, 'CONF_NOT_WEBINAR', 'CONF_NOT_PANELIST'],
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/admit',
    id: 'admitParticipant',
    tag: 'participants',
    summary: "Let a person waiting in a webinar's lobby in (a phone hears it is now in the conference)",
    ok: ack({ roomId: { type: 'string' }, participantId: { type: 'string' }, admitted: { const: true } }),
    errors: WEBINAR_LOBBY,
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/deny',
    id: 'denyParticipant',
    tag: 'participants',
    summary: "Turn a person waiting in a webinar's lobby away (a phone hears why, then BYE with Reason 403)",
    ok: ack({ roomId: { type: 'string' }, participantId: { type: 'string' }, admitted: { const: false } }),
    errors: WEBINAR_LOBBY,
  },
  {
    method: 'post',
    path: '/rooms/:id/participants/:pid/move',
    id: 'moveParticipant',
    tag: 'participants',
    summary: 'Move a participant to another room (rights on both)',
    body: strictObj({ room: { type: 'string', minLength: 1, maxLength: 256 } }, ['room']),
    ok: ack({
      roomId: { type: 'string', description: 'The room it is in now.' },
      participantId: { type: 'string' },
      from: { type: 'string' },
    }),
    errors: [
      ...PARTICIPANT,
      'API_BAD_REQUEST',
      'NOT_JOINED',
      'CONF_SAME_ROOM',
      'CONF_MOVE_UNSUPPORTED',
      'CONF_MOVE_FAILED',
      'SEC_SRTP_REQUIRED',
      'CONF_ROOM_LOCKED',
      'CONF_ROOM_FULL_BUSY',
    ],
  },
  {
    method: 'get',
    path: '/rooms/:id/participants/:pid/ladder',
    id: 'callLadder',
    tag: 'participants',
    summary: "The SIP messages of a participant's call, as a ladder",
    ok: json(200, 'The ladder.', ref('CallLadder')),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'LADDER_NOT_FOUND'],
  },
  // ---------------------------------------------------------------- records
  {
    method: 'get',
    path: '/cdrs',
    id: 'listCdrs',
    tag: 'records',
    summary: 'Search call detail records (newest first)',
    query: cdrQuery,
    ok: json(200, 'A page of records.', page('Cdr')),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST'],
  },
  {
    method: 'get',
    path: '/cdrs.csv',
    id: 'exportCdrs',
    tag: 'records',
    summary: 'Export call detail records as CSV',
    query: cdrQuery,
    ok: csv('The matching records'),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST'],
  },
  {
    method: 'get',
    path: '/audit',
    id: 'listAudit',
    tag: 'records',
    summary: 'Search the audit log (newest first)',
    query: auditQuery,
    ok: json(200, 'A page of entries.', page('AuditEntry')),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST'],
  },
  {
    method: 'get',
    path: '/audit.csv',
    id: 'exportAudit',
    tag: 'records',
    summary: 'Export the audit log as CSV',
    query: auditQuery,
    ok: csv('The matching entries'),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST'],
  },
  // ---------------------------------------------------------------- chat attachments (browser participants)
  {
    method: 'post',
    path: '/rooms/:room/attachments',
    id: 'uploadAttachment',
    tag: 'chat',
    summary: "Upload a chat attachment (a room participant's session token)",
    description: 'The raw body of any type (not JSON); its size is bounded by `chat.attachmentMaxBytes`.',
    access: 'participant',
    rawBody: true,
    headers: [
      {
        name: 'X-File-Name',
        description: 'The file name, URI-encoded (encodeURIComponent).',
        schema: { type: 'string' },
      },
    ],
    ok: {
      ...json(201, 'Stored.', ref('ChatAttachment')),
      headers: { Location: { description: 'Where to download it.', schema: { type: 'string' } } },
    },
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST', 'ATTACHMENT_TOO_LARGE'],
  },
  {
    method: 'get',
    path: '/rooms/:room/attachments/:id',
    id: 'downloadAttachment',
    tag: 'chat',
    summary: 'Download a chat attachment (always as an attachment, sandboxed)',
    access: 'participant',
    ok: {
      status: 200,
      description: 'The file.',
      media: {
        type: 'application/octet-stream',
        schema: { type: 'string', contentMediaType: 'application/octet-stream' },
      },
      headers: {
        'Content-Disposition': {
          description: 'RFC 6266, with the name as filename*.',
          schema: { type: 'string' },
        },
      },
    },
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'ATTACHMENT_NOT_FOUND'],
  },
  // ---------------------------------------------------------------- registrar (RFC 3261 §10) and availability
  {
    method: 'get',
    path: '/registrations',
    id: 'listRegistrations',
    tag: 'registrar',
    summary:
      'Registered users and users of ours in a call: state, bound contacts with their expiry, calls by room. ' +
      'Accounts and API tokens only.',
    ok: json(200, 'Every such user, by name.', obj({ users: { type: 'array', items: USER_AVAILABILITY } })),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN'],
  },
  {
    method: 'get',
    path: '/users/:name/availability',
    id: 'userAvailability',
    tag: 'registrar',
    summary: "One user's availability: offline, available (registered) or in-call (with the rooms)",
    ok: json(200, 'The user.', USER_AVAILABILITY),
    errors: ['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'REG_USER_NOT_FOUND'],
  },
  // ---------------------------------------------------------------- server administration
  {
    method: 'post',
    path: '/admin/drain',
    id: 'drain',
    tag: 'admin',
    summary:
      'Drain: new calls get 503 + Retry-After, OPTIONS and /healthz 503; calls in progress go on until they end or ' +
      'the deadline (default drain.deadlineSeconds) passes, then get BYE. The process keeps running. Admins only.',
    body: strictObj({ deadlineSeconds: { type: 'integer', minimum: 0, maximum: 86400 } }),
    ok: json(
      202,
      'Draining.',
      obj({ draining: { const: true }, participants: { type: 'integer', minimum: 0 } }),
    ),
    errors: [...ADMIN, 'API_BAD_REQUEST'],
  },
  // ---------------------------------------------------------------- this document
  {
    method: 'get',
    path: '/openapi.json',
    id: 'openapi',
    tag: 'meta',
    summary: 'This OpenAPI 3.1 document',
    access: 'public',
    ok: json(200, 'The document.', { type: 'object' }),
    errors: [],
  },
];

const TAGS = [
  { name: 'auth', description: 'Sign-in, moderator-PIN sessions, sign-out.' },
  { name: 'accounts', description: 'Moderator accounts (admins) and API tokens.' },
  { name: 'rooms', description: 'Rooms: read, create, lock, mute all, dial out, livestream, end.' },
  {
    name: 'participants',
    description:
      "One participant: mute, kick, move, its SIP call ladder; a webinar's promote, demote, admit, deny.",
  },
  { name: 'records', description: 'Call detail records and the audit log, as JSON pages or CSV.' },
  {
    name: 'chat',
    description: "Chat attachments, for a room's browser participants (their own session token).",
  },
  { name: 'registrar', description: 'Registered users (REGISTER bindings) and their availability.' },
  { name: 'admin', description: 'Server administration (admins): draining.' },
  { name: 'meta', description: 'This document.' },
];

/** `/rooms/:id` → `/api/rooms/{id}`. */
export function openapiPath(expressPath: string): string {
  return `/api${expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

const PARAM_DOC: Record<string, string> = {
  id: 'The room name, account id, token id or attachment id (per path).',
  pid: 'The participant id.',
  room: 'The room name.',
};

function security(access: Access): Record<string, string[]>[] | undefined {
  switch (access) {
    case 'session':
      return undefined; // the document's default
    case 'public':
      return [];
    case 'optional':
      return [{}, { cookieAuth: [] }, { bearerAuth: [] }];
    case 'participant':
      return [{ participantSession: [] }];
  }
}

/** The error answers of an operation, one per HTTP status, each naming the codes it can carry. */
function errorResponses(op: Operation): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  const codes: ErrorCode[] = [...new Set<ErrorCode>([...op.errors, 'INTERNAL'])];
  for (const code of codes) {
    const status = ERROR_CATALOGUE[code].http;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: list.map((c) => `${c}: ${ERROR_CATALOGUE[c].message}`).join('; '),
      ...(status === 429
        ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } } }
        : {}),
      content: {
        'application/json': {
          schema: { allOf: [ref('Error')], properties: { error: { enum: list } } },
        },
      },
    };
  }
  return out;
}

function operation(op: Operation): Record<string, unknown> {
  const params: Record<string, unknown>[] = [];
  for (const m of op.path.matchAll(/:([A-Za-z0-9_]+)/g))
    params.push({
      name: m[1],
      in: 'path',
      required: true,
      description: PARAM_DOC[m[1]!] ?? m[1],
      schema: { type: 'string' },
    });
  if (op.query) {
    const props = op.query['properties'] as Record<string, JsonSchema>;
    const required = new Set((op.query['required'] as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries(props))
      params.push({ name, in: 'query', required: required.has(name), schema });
  }
  for (const h of op.headers ?? [])
    params.push({
      name: h.name,
      in: 'header',
      required: false,
      description: h.description,
      schema: h.schema,
    });
  const ok = op.ok;
  const content = ok.json
    ? { 'application/json': { schema: ok.json } }
    : ok.media
      ? { [ok.media.type]: { schema: ok.media.schema } }
      : undefined;
  const sec = security(op.access ?? 'session');
  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(sec ? { security: sec } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } }
      : op.rawBody
        ? {
            requestBody: {
              required: true,
              content: {
                '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
              },
            },
          }
        : {}),
    responses: {
      [String(ok.status)]: {
        description: ok.description,
        ...(ok.headers ? { headers: ok.headers } : {}),
        ...(content ? { content } : {}),
      },
      ...errorResponses(op),
    },
  };
}

/** The whole document (build once; it does not change while the server runs). */
export function buildOpenApiDocument(opts: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[openapiPath(op.path)] ??= {})[op.method] = operation(op);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley REST API',
      version: opts.version,
      description:
        'Rooms, participants, moderation, accounts, call detail records and the audit log of a Parley conference server. Every route needs the session cookie or an API token unless marked otherwise; every error is `{error, message}` with a code of the error catalogue. Unknown routes answer 404 API_NO_ROUTE.',
      license: { name: 'ISC', identifier: 'ISC' },
    },
    servers: [{ url: '/' }],
    tags: TAGS,
    security: [{ cookieAuth: [] }, { bearerAuth: [] }],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        cookieAuth: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: 'Set by POST /api/auth/login or /api/auth/pin (HttpOnly, SameSite=Strict).',
        },
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (POST /api/tokens, or PARLEY_API_TOKEN).',
        },
        participantSession: {
          type: 'http',
          scheme: 'bearer',
          description:
            "A browser participant's session token (the `sessionToken` of its join), for its own room.",
        },
      },
    },
  };
}
