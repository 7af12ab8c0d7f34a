/**
 * Every expected error of Parley, in one place: its code, the SIP final response it becomes (status and reason
 * phrase) where a SIP request caused it, the HTTP status of the REST API / dashboard, and a default message.
 * Nothing derives a reason from a status: the entry says it. A new expected failure is a new entry here.
 */
export interface CatalogueEntry {
  /** SIP status and reason phrase (RFC 3261 §21); absent: never answered over SIP. */
  sip?: { status: number; reason: string };
  http: number;
  message: string;
}

export const ERROR_CATALOGUE = {
  // ---- rooms (focus and API) ----
  CONF_NO_ROOM_IN_URI: {
    sip: { status: 404, reason: 'No conference named in the Request-URI' },
    http: 400,
    message: 'no conference named',
  },
  CONF_ROOM_NOT_FOUND: {
    sip: { status: 404, reason: 'Conference Not Found' },
    http: 404,
    message: 'no such room',
  },
  CONF_ROOM_LOCKED: {
    sip: { status: 403, reason: 'Forbidden (conference locked)' },
    http: 423,
    message: 'room is locked',
  },
  CONF_ROOM_FULL_BUSY: {
    sip: { status: 486, reason: 'Busy Here (conference full)' },
    http: 409,
    message: 'room is full',
  },
  CONF_ROOM_FULL_UNAVAILABLE: {
    sip: { status: 503, reason: 'Service Unavailable (conference full)' },
    http: 409,
    message: 'room is full',
  },
  CONF_ROOM_CLOSED: {
    sip: { status: 480, reason: 'Temporarily Unavailable (conference closing)' },
    http: 409,
    message: 'room is closing',
  },
  // ---- abuse limits (security) ----
  SEC_TOO_MANY_CALLS: {
    sip: { status: 486, reason: 'Busy Here (too many calls from your address)' },
    http: 429,
    message: 'too many calls from this address',
  },
  SEC_TOO_MANY_SETUPS: {
    sip: { status: 503, reason: 'Service Unavailable (too many calls in setup)' },
    http: 429,
    message: 'too many calls being set up from this address',
  },
  /** RFC 6665 notifier: each subscription is state kept for hours and NOTIFYs sent to its Contact: capped. */
  SEC_TOO_MANY_SUBSCRIPTIONS: {
    sip: { status: 503, reason: 'Service Unavailable (too many subscriptions)' },
    http: 429,
    message: 'too many subscriptions',
  },
  SEC_ROOM_CREATION_LIMIT: {
    sip: { status: 503, reason: 'Service Unavailable (room creation limit)' },
    http: 429,
    message: 'too many rooms created on demand',
  },
  SEC_PIN_LOCKED: {
    sip: { status: 403, reason: 'Forbidden (too many wrong PINs)' },
    http: 429,
    message: 'too many wrong PINs; try again later',
  },
  CONF_SHUTTING_DOWN: {
    sip: { status: 503, reason: 'Service Unavailable (shutting down)' },
    http: 503,
    message: 'server is shutting down',
  },
  CONF_DRAINING: {
    sip: { status: 503, reason: 'Service Unavailable (draining)' },
    http: 503,
    message: 'server is draining: no new calls',
  },
  CONF_PARTICIPANT_NOT_FOUND: { http: 404, message: 'no such participant' },
  NOT_JOINED: { http: 409, message: 'participant has not joined yet' },
  CONF_SAME_ROOM: { http: 409, message: 'participant is already in that room' },
  CONF_MOVE_UNSUPPORTED: { http: 409, message: 'this participant cannot be moved' },
  CONF_MOVE_FAILED: { http: 502, message: "the participant's endpoint refused the move" },
  CONF_JOIN_ABANDONED: {
    sip: { status: 487, reason: 'Request Terminated' },
    http: 409,
    message: 'participant left before joining',
  },
  // ---- webinars (roles, lobby) ----
  /** A listen-only attendee asked to be unmuted (`*6`, the page, or a moderator): promote to panelist instead. */
  CONF_ATTENDEE_CANNOT_UNMUTE: {
    http: 403,
    message: 'attendees listen only: a host must promote them to speak',
  },
  CONF_NOT_WEBINAR: { http: 409, message: 'the room is not a webinar' },
  CONF_NOT_ATTENDEE: { http: 409, message: 'only an attendee can be promoted' },
  CONF_NOT_PANELIST: { http: 409, message: 'only a panelist can be demoted' },
  CONF_NOT_WAITING: { http: 409, message: 'participant is not waiting in the lobby' },
  /** A host or moderator turned the caller away in the webinar's lobby (SIP: the BYE's Reason; browsers: the join). */
  CONF_LOBBY_DENIED: {
    sip: { status: 403, reason: 'Forbidden (declined by the host)' },
    http: 403,
    message: 'the host declined your request to join',
  },
  CONF_DIAL_UNAVAILABLE: { http: 501, message: 'dial-out is not available' },
  CONF_DIAL_BAD_TARGET: { http: 400, message: 'not a dialable address' },
  /** GET /api/users/:name/availability for a name that is no account (config `sip.accounts` or database). */
  REG_USER_NOT_FOUND: { http: 404, message: 'no such user' },
  /** Dial-by-name: the target is a user name with no live registration (RFC 3261 §21.4.18: 480 for a REFER). */
  CONF_USER_NOT_REGISTERED: {
    sip: { status: 480, reason: 'Temporarily Unavailable (not registered)' },
    http: 404,
    message: 'that user is not registered',
  },
  CONF_DIAL_FAILED: { http: 502, message: 'the call was not answered' },
  /** Dial-out: nobody answered within the ring timeout (`sip.dialOut.ringTimeoutSeconds`); we sent CANCEL. */
  CONF_DIAL_NO_ANSWER: {
    sip: { status: 408, reason: 'Request Timeout' },
    http: 504,
    message: 'nobody answered before the ring timeout',
  },
  /**
   * RFC 4575 watcher of a PIN room without a SIP account: the roster is for those who may enter (the PIN cannot be
   * given in a SUBSCRIBE), so a watcher must authenticate with digest (RFC 3261 §22) as an account.
   */
  CONF_EVENTS_FORBIDDEN: {
    sip: { status: 403, reason: 'Forbidden (PIN room: authenticate to watch it)' },
    http: 403,
    message: 'watching a PIN room needs a SIP account',
  },
  /** Toll-fraud guard: the target matches no pattern of `security.dialOut.allow` (SIP 403 for a future REFER). */
  CONF_DIAL_DENIED: {
    sip: { status: 403, reason: 'Forbidden (destination not allowed)' },
    http: 403,
    message: 'dial-out to that destination is not allowed',
  },
  /** The room requires SRTP (`requireSrtp`) and the offer had none (RFC 3261 §21.4.26; Warning 302, §20.43). */
  SEC_SRTP_REQUIRED: {
    sip: { status: 488, reason: 'Not Acceptable Here' },
    http: 400,
    message: 'this room requires SRTP (RTP/SAVP with a=crypto, or DTLS-SRTP)',
  },
  // ---- media ----
  SDP_MALFORMED: { sip: { status: 400, reason: 'Bad Request' }, http: 400, message: 'malformed SDP' },
  SDP_NOT_ACCEPTABLE: {
    sip: { status: 488, reason: 'Not Acceptable Here' },
    http: 400,
    message: 'nothing to serve',
  },
  /** A media process (mediasoup worker, media thread) died and the call could not be moved onto a new one. */
  MEDIA_FAILURE: {
    sip: { status: 500, reason: 'media failure' },
    http: 503,
    message: 'media failure: the call could not be recovered',
  },
  /** mediasoup 3.19.3 mitigation: AV1 and the dependency-descriptor extension are refused in producer parameters. */
  MEDIA_UNSUPPORTED_PARAMETERS: {
    http: 400,
    message: 'unsupported media parameters (AV1, dependency descriptor)',
  },
  MEDIA_NO_PORT: {
    sip: { status: 503, reason: 'Service Unavailable (no RTP port free)' },
    http: 503,
    message: 'no RTP port free',
  },
  // ---- browsers (socket.io /rtc) ----
  RTC_NO_SESSION: { http: 401, message: 'join a room first (no session on this connection)' },
  RTC_ALREADY_JOINED: { http: 409, message: 'this connection has already joined' },
  RTC_WRONG_PIN: { http: 403, message: 'wrong room PIN' },
  RTC_PIN_REQUIRED: { http: 401, message: 'this room needs a PIN' },
  RTC_RESUME_EXPIRED: { http: 410, message: 'that session has ended; join again' },
  RTC_TRANSPORT_NOT_FOUND: { http: 404, message: 'no such transport' },
  RTC_PRODUCER_NOT_FOUND: { http: 404, message: 'no such producer' },
  RTC_CONSUMER_NOT_FOUND: { http: 404, message: 'no such consumer' },
  RTC_BAD_PARAMETERS: { http: 400, message: 'mediasoup refused the parameters' },
  RTC_MUTED_BY_MODERATOR: { http: 403, message: 'a moderator muted you' },
  /** A webinar's attendee listens and watches: its page sends nothing until a host promotes it. */
  RTC_ATTENDEE_CANNOT_PUBLISH: {
    http: 403,
    message: 'attendees listen and watch only: a host must promote them to send a microphone or camera',
  },
  RTC_UNAVAILABLE: { http: 503, message: 'WebRTC is not available on this server' },
  RTC_RATE_LIMITED: { http: 429, message: 'too many requests on this connection; slow down' },
  RTC_TOO_MANY_CONNECTIONS: { http: 429, message: 'too many browser connections from your address' },
  // ---- transfers and REFER call control (RFC 3891, RFC 3515, RFC 4579) ----
  /** RFC 4579 §5.5: only a room's moderators and authenticated accounts may add or remove people by REFER. */
  REFER_FORBIDDEN: {
    sip: { status: 403, reason: 'Forbidden' },
    http: 403,
    message: 'only moderators and authenticated accounts may control the conference by REFER',
  },
  /** A Refer-To method other than INVITE (dial in) or BYE (remove, RFC 4579 §5.6). */
  REFER_METHOD_UNSUPPORTED: {
    sip: { status: 501, reason: 'Refer-To method not supported' },
    http: 501,
    message: 'the focus acts on REFERs for INVITE and BYE only',
  },
  /** `method=BYE` for a URI that is no participant of the room. */
  REFER_NO_SUCH_PARTICIPANT: {
    sip: { status: 404, reason: 'Not Found (no such participant)' },
    http: 404,
    message: 'no participant of the room has that URI',
  },
  /** RFC 3891 §3: Replaces names no dialog we have (also an early dialog we did not start). */
  TRANSFER_NO_DIALOG: {
    sip: { status: 481, reason: 'Call/Transaction Does Not Exist' },
    http: 404,
    message: 'no call matches the Replaces header',
  },
  /** RFC 3891 §3: `early-only` while the matched dialog is confirmed. */
  TRANSFER_EARLY_ONLY: {
    sip: { status: 486, reason: 'Busy Here' },
    http: 409,
    message: 'the call is answered',
  },
  /** The INVITE that a phone sent for a move by REFER came after the move gave up (fell back or ended). */
  TRANSFER_EXPIRED: {
    sip: { status: 481, reason: 'Call/Transaction Does Not Exist (move no longer pending)' },
    http: 409,
    message: 'the move this call was referred for is over',
  },
  // ---- chat ----
  CHAT_MESSAGE_NOT_FOUND: { http: 404, message: 'no such chat message' },
  ATTACHMENT_TOO_LARGE: { http: 413, message: 'attachment too large' },
  ATTACHMENT_NOT_FOUND: { http: 404, message: 'no such attachment' },
  AUTH_REQUIRED: { http: 401, message: 'authentication required' },
  AUTH_FORBIDDEN: { http: 403, message: 'not allowed' },
  AUTH_BAD_CREDENTIALS: { http: 401, message: 'wrong username or password' },
  AUTH_RATE_LIMITED: { http: 429, message: 'too many failed sign-ins; try again later' },
  AUTH_WRONG_PIN: { http: 403, message: 'wrong moderator PIN' },
  // ---- accounts, tokens (admin) ----
  ACCOUNT_EXISTS: { http: 409, message: 'an account with that username exists' },
  ACCOUNT_NOT_FOUND: { http: 404, message: 'no such account' },
  ACCOUNT_LAST_ADMIN: { http: 409, message: 'the last admin account cannot be removed or demoted' },
  TOKEN_NOT_FOUND: { http: 404, message: 'no such API token' },
  // ---- moderation ----
  ROOM_EXISTS: { http: 409, message: 'a room with that name is declared already' },
  LADDER_NOT_FOUND: { http: 404, message: 'no SIP messages kept for that participant' },
  LIVESTREAM_UNAVAILABLE: { http: 501, message: 'livestreaming is not available on this server' },
  LIVESTREAM_NO_OUTPUT: { http: 400, message: 'a livestream needs an output: rtmp URLs, hls or record' },
  LIVESTREAM_BAD_URL: {
    http: 400,
    message: 'a livestream URL must be rtmp:// or rtmps:// with a host and no spaces, quotes, | [ ] or \\',
  },
  LIVESTREAM_ALREADY_LIVE: { http: 409, message: 'the room is already being streamed' },
  LIVESTREAM_NOT_LIVE: { http: 404, message: 'the room is not being streamed' },
  LIVESTREAM_TOO_MANY: { http: 503, message: 'too many livestreams on this server' },
  LIVESTREAM_NO_MEDIA: { http: 503, message: 'the room has no media to stream (no router)' },
  // ---- HTTP API ----
  API_BAD_REQUEST: { http: 400, message: 'bad request' },
  API_NO_ROUTE: { http: 404, message: 'no such route' },
  INTERNAL: { sip: { status: 500, reason: 'Server Internal Error' }, http: 500, message: 'internal error' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
