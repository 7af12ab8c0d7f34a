import type { SipRequest } from '../message/sip-message';

/** A package's subscription durations, in seconds (RFC 6665 §4.2.1.1, §7.2: each package sets its default). */
export interface ExpiryLimits {
  /** when the SUBSCRIBE has no Expires header */
  defaultExpires: number;
  /** shorter (but not 0) → 423 Interval Too Brief with Min-Expires */
  minExpires: number;
  /** longer → shortened to this */
  maxExpires: number;
}

export type ExpiryGrant = { ok: true; expires: number } | { ok: false; minExpires: number };

/**
 * The duration granted to a SUBSCRIBE (RFC 6665 §4.2.1.1): the notifier may shorten the requested duration, never
 * lengthen it; one too brief to be worth the state is refused with 423 and a Min-Expires. 0 is an unsubscribe (or a
 * fetch) and always granted. A malformed Expires counts as absent (the package default).
 */
export function grantExpires(req: SipRequest, limits: ExpiryLimits): ExpiryGrant {
  const raw = req.headers.get('Expires')?.trim();
  const asked = raw !== undefined && /^\d{1,10}$/.test(raw) ? Number(raw) : limits.defaultExpires;
  if (asked === 0) return { ok: true, expires: 0 };
  if (asked < limits.minExpires) return { ok: false, minExpires: limits.minExpires };
  return { ok: true, expires: Math.min(asked, limits.maxExpires) };
}
