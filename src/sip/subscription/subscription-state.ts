/** RFC 6665 §4.1.3 / §8.2.3: the `Subscription-State` values a notifier sends. */
export enum SubscriptionState {
  /** accepted, the subscriber will get state (RFC 6665 §4.2.1.1, `pending` means not authorised yet) */
  Pending = 'pending',
  Active = 'active',
  Terminated = 'terminated',
}

/**
 * RFC 6665 §4.1.3: the `reason` parameter of a `Subscription-State: terminated` (the event-reason-value registry,
 * §8.2.3 / RFC 3265 §3.2.4). What the subscriber may do next depends on it (re-subscribe at once after `timeout`
 * or `deactivated`, never after `rejected` or `noresource`).
 */
export enum TerminatedReason {
  /** the subscription's time ran out, or the subscriber unsubscribed (`Expires: 0`) */
  Timeout = 'timeout',
  /** the resource is gone (a conference room ended): do not re-subscribe */
  NoResource = 'noresource',
  /** the notifier ended it; the subscriber may re-subscribe at once */
  Deactivated = 'deactivated',
  /** the subscriber is no longer allowed to see the resource */
  Rejected = 'rejected',
  /** the subscriber should re-subscribe later (with Retry-After) */
  Probation = 'probation',
  /** the notifier gave up waiting for an authorisation decision */
  GiveUp = 'giveup',
  /** the resource's state will never change: no point subscribing */
  Invariant = 'invariant',
}

/** Why a subscription ended, as the 'terminated' event reports it (exhaustive). */
export enum SubscriptionEndCause {
  /** the subscriber sent `Expires: 0` (RFC 6665 §4.2.1.4); we sent the final NOTIFY */
  Unsubscribed = 'unsubscribed',
  /** no refresh before the expiry (RFC 6665 §4.2.2, `reason=timeout`); we sent the final NOTIFY */
  Expired = 'expired',
  /** we ended it with `terminate(reason)` and sent the final NOTIFY */
  Terminated = 'terminated',
  /** a NOTIFY was answered 481 or another error, or timed out (RFC 6665 §4.2.2): the subscriber is gone */
  NotifyFailed = 'notify-failed',
  /** closed without a NOTIFY (the stack or the notifier closed) */
  Closed = 'closed',
}
