import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How a webhook receiver knows a POST comes from this Parley and was not replayed (the scheme of Stripe and
 * GitHub: an HMAC over the timestamp and the exact body, so neither can be changed without the secret).
 *
 * Every delivery carries
 *   X-Parley-Timestamp: <unix seconds when this attempt was signed>
 *   X-Parley-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * To verify, in any language:
 *   1. read the RAW body bytes (before any JSON parsing: re-serialised JSON does not match);
 *   2. compute HMAC-SHA256 with the target's `secret` over `X-Parley-Timestamp + "." + body`, hex-encode it;
 *   3. compare it with the header's hex after `sha256=` in constant time;
 *   4. refuse timestamps too far from your clock (5 minutes here), so a captured request cannot be replayed later;
 *   5. deduplicate on `X-Parley-Delivery` (the event id, the same on every retry of that event).
 * In Node: `verifySignature({ secret, body, timestamp: req.headers['x-parley-timestamp'],
 * signature: req.headers['x-parley-signature'] })`.
 */
export const SIGNATURE_PREFIX = 'sha256=';

/** Replays older (or clock skew larger) than this are refused by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `${SIGNATURE_PREFIX}${mac}`;
}

export interface VerifyOptions {
  secret: string;
  /** The raw request body, exactly as received. */
  body: string | Buffer;
  /** The `X-Parley-Timestamp` header. */
  timestamp: string | string[] | undefined;
  /** The `X-Parley-Signature` header. */
  signature: string | string[] | undefined;
  /** Largest accepted |now - timestamp|, seconds (default 300; Infinity to skip the replay check). */
  toleranceSeconds?: number;
  /** The receiver's clock, milliseconds since the epoch (default Date.now()). */
  now?: number;
}

/**
 * True when `signature` is the HMAC of `timestamp.body` under `secret` and the timestamp is recent. Never throws:
 * a missing, malformed or repeated header is simply not valid.
 */
export function verifySignature(o: VerifyOptions): boolean {
  const { timestamp, signature } = o;
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (!/^[0-9]{1,15}$/.test(timestamp) || !signature.startsWith(SIGNATURE_PREFIX)) return false;
  const ts = Number(timestamp);
  const tolerance = o.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((o.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - ts) > tolerance) return false;
  const given = signature.slice(SIGNATURE_PREFIX.length);
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  const expected = createHmac('sha256', o.secret)
    .update(`${timestamp}.`)
    .update(typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : o.body)
    .digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}
