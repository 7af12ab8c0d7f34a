/**
 * Parley's SIP stack: the public surface for the layers above (the conference focus). `src/sip` knows nothing
 * about rooms or media.
 *
 * Layers (RFC 3261): transport/ (§18: UDP with rport, TCP, TLS, WS/WSS) → transaction/ (§17 + RFC 6026) →
 * dialog/ (§12–§15, RFC 3311, RFC 4028) → ua/ (§8 UAS/UAC core, SipStack).
 *
 * ```ts
 * const stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 5060, tcp: 5060, tls: 5061, ws: 8088 } });
 * stack.onInvite(async (inv) => {                 // IncomingInvite; no listener → 480
 *   if (!roomExists(inv.request.uri.user)) return inv.reject(404);
 *   inv.on('cancel', () => ...);                  // caller gave up (we already sent 487)
 *   inv.progress(180);
 *   const dialog = await inv.accept({ sdp: answer, contactParams: ';isfocus' }); // resolves on ACK
 *   dialog.on('modify', (m) => m.accept({ sdp: answerFor(m.sdp) }));            // re-INVITE / UPDATE (or m.reject(488))
 *   dialog.on('info', (r) => r.reply(200));
 *   dialog.on('refer', (r) => { r.reply(202); ... dialog.notify({ event: 'refer', subscriptionState: 'terminated', ... }) });
 *   dialog.on('terminated', ({ reason }) => ...);  // TerminationReason
 * });
 * const out = await stack.invite('sip:bob@10.0.0.2', { sdp: offer, auth: { username, password } }); // SessionDialog
 * await out.reinvite(newOffer); await out.update(); await out.info({ body, contentType }); await out.bye();
 * await stack.close();                            // idempotent
 * ```
 */
export { SipStack, type SipStackOptions } from './ua/sip-stack';
export {
  MessageTracer,
  summariseMessage,
  TRACE_MAX_BYTES,
  type MessageTrace,
  type MessageTraceListener,
} from './ua/message-trace';
export {
  UserAgentCore,
  DEFAULT_ALLOW,
  DEFAULT_ACCEPT,
  type UserAgentCoreOptions,
  type UserAgentCoreEvents,
  type InviteOptions,
  type AuthHook,
  type AuthDecision,
  type DigestAuthorizer,
} from './ua/user-agent-core';
export {
  IncomingInvite,
  IncomingInviteState,
  type AcceptOptions,
  type IncomingInviteEvents,
} from './ua/incoming-invite';
export { IncomingRequest } from './ua/incoming-request';
export { digestAuthHook, digestAuthorizer, type DigestAuthHookOptions } from './ua/digest-auth';
export {
  SessionDialog,
  ModifyRequest,
  InDialogRequest,
  type SessionDialogEvents,
  type RequestOptions,
  type ReplyOptions,
  type TerminationInfo,
} from './dialog/session-dialog';
export { DialogState, TerminationReason } from './dialog/dialog-state';
export type { DialogId } from './dialog/dialog-id';
export type { SessionTimerOptions, SessionTimerParams } from './dialog/session-timer';
export { systemClock, type Clock } from './transaction/clock';
export { DEFAULT_TIMERS, type TimerConfig } from './transaction/timers';
export { TransactionState } from './transaction/transaction-state';
export type { Flow, Target, TransportProtocol, SipLogger, WireTap } from './transport/transport';
export type { TransportPorts } from './transport/transport-layer';
export { loadTlsCredentials, type TlsCredentialOptions } from './transport/tls-credentials';
export { SipError, SipParseError } from './errors';
export { SipRequest, SipResponse } from './message/sip-message';
export { SipUri } from './message/uri';
export { NameAddr } from './message/name-addr';
