/** RFC 3261 §12: dialog states. */
export enum DialogState {
  Early = 'early',
  Confirmed = 'confirmed',
  Terminated = 'terminated',
}

/** Why a session dialog ended (exhaustive; `terminated` events carry one). */
export enum TerminationReason {
  /** the peer sent BYE (§15.1.2) */
  RemoteBye = 'remote-bye',
  /** we sent BYE (§15.1.1) */
  LocalBye = 'local-bye',
  /** no ACK for our 2xx within 64*T1 (§13.3.1.4); we sent BYE */
  AckTimeout = 'ack-timeout',
  /** RFC 4028: no session refresh before the session expired; we sent BYE */
  SessionExpired = 'session-expired',
  /** an in-dialog request got 481 or 408 / timed out (§12.2.1.2) */
  RequestFailed = 'request-failed',
  /** the transport to the peer failed */
  TransportError = 'transport-error',
  /** the stack was closed */
  StackClosed = 'stack-closed',
}
