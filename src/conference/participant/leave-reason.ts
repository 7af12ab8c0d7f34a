/** Why a participant left a room. Exhaustive: every path that ends a call names one of these. */
export enum LeaveReason {
  RemoteBye = 'remote-bye',
  LocalBye = 'local-bye',
  Cancelled = 'cancelled',
  Kicked = 'kicked',
  RtpTimeout = 'rtp-timeout',
  SessionExpired = 'session-expired',
  AckTimeout = 'ack-timeout',
  PinFailed = 'pin-failed',
  RoomClosed = 'room-closed',
  MediaFailed = 'media-failed',
  ServerShutdown = 'server-shutdown',
  /** A browser whose connection dropped did not come back within the reconnect grace period. */
  ConnectionLost = 'connection-lost',
  /** Still in a call when the server's drain deadline passed (SIGTERM or an admin's drain). */
  Draining = 'draining',
  /** A dial-out that was not answered (busy, declined, no answer). */
  NotAnswered = 'not-answered',
  /**
   * A host or moderator turned the person away from a webinar's waiting room (it was never in the conference):
   * call records say denied, not kicked.
   */
  LobbyDenied = 'lobby-denied',
}
