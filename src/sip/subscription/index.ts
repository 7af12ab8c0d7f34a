/**
 * RFC 6665 notifier side (SIP-specific event notification), knowing nothing of rooms.
 *
 * ```ts
 * // routes out-of-dialog SUBSCRIBE to itself; live subscriptions capped per source (503 SEC_TOO_MANY_SUBSCRIPTIONS)
 * const notifier = new SubscriptionNotifier(sipStack, { maxPerSource: 64, maxTotal: 10000, isExempt });
 * notifier.register('conference', {
 *   contentTypes: ['application/conference-info+xml'],
 *   defaultExpires: 3600, minExpires: 60, maxExpires: 7200,
 *   subscribe: (s) => {
 *     if (!known(s.resource)) return s.reject(404);
 *     const sub = s.accept({ state: () => ({ body: fullXml(), contentType: 'application/conference-info+xml' }) });
 *     // 200 (Expires, Contact, Allow-Events) and the first NOTIFY have gone out (RFC 6665 §4.2.1.2)
 *     sub.on('refresh', (expires) => ...);          // a NOTIFY with state() is already queued
 *     sub.on('terminated', ({ cause, reason }) => ...);
 *     sub.notify({ body: partialXml(), contentType: 'application/conference-info+xml' }); // active;expires=N
 *     sub.terminate(TerminatedReason.NoResource);    // final NOTIFY terminated;reason=noresource
 *   },
 * });
 * // RFC 3515 implicit subscription of an out-of-dialog REFER (answers 202, sends the first NOTIFY):
 * // (throws SipError 400 without Contact, 503 over the cap)
 * const referSub = notifier.acceptRefer(incomingRequest, {
 *   state: () => ({ body: 'SIP/2.0 100 Trying', contentType: 'message/sipfrag;version=2.0' }),
 * });
 * ```
 * Unknown event → 489 + Allow-Events; too brief → 423 + Min-Expires; a NOTIFY answered 481 (or any error, or a
 * timeout) ends the subscription; the expiry sends `terminated;reason=timeout`; `close()` is idempotent.
 */
export { parseEventHeader, formatEventHeader, type EventHeader } from './event-header';
export { grantExpires, type ExpiryLimits, type ExpiryGrant } from './expiry';
export {
  Subscription,
  type NotifyContent,
  type StateProvider,
  type SubscriptionEnd,
  type SubscriptionEvents,
} from './subscription';
export type { SubscriptionHost } from './subscription-host';
export {
  SubscriptionNotifier,
  SubscribeRequest,
  type AcceptOptions,
  type EventPackage,
  type SubscriptionNotifierOptions,
} from './subscription-notifier';
export { SubscriptionEndCause, SubscriptionState, TerminatedReason } from './subscription-state';
