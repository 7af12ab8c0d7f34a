/**
 * The registrar's binding rules (RFC 3261 §10.3 steps 6–8), as a pure function of the current bindings of one
 * address-of-record, the REGISTER's parsed contents and the time: no I/O, no clock of its own, so every clause is
 * unit-tested with a fake clock. `Registrar` does the SIP and the storage around it.
 */
import { SipUri } from '../../sip/message/uri';

/** One contact bound to a user. Times in milliseconds since the epoch. */
export interface Binding {
  /** The contact URI as sent (name-addr stripped). */
  contact: string;
  /** q-value 0..1 (RFC 3261 §20.10), null when the contact gave none. */
  q: number | null;
  callId: string;
  cseq: number;
  expiresAt: number;
  registeredAt: number;
  /** `UDP 192.0.2.1:5060`: where the REGISTER came from. */
  source: string;
  userAgent: string | null;
}

/** A Contact header value of the REGISTER. */
export interface ContactInput {
  uri: string;
  /** the `expires` contact parameter (seconds), when present */
  expires?: number;
  /** the `q` contact parameter, when present */
  q?: number;
}

export interface RegisterInput {
  callId: string;
  cseq: number;
  /** the contacts, or '*' (the wildcard, RFC 3261 §10.2.2); an empty list is a query (§10.2.3) */
  contacts: ContactInput[] | '*';
  /** the Expires header (seconds), when present */
  expires?: number;
  source: string;
  userAgent: string | null;
}

export interface BindingPolicy {
  minExpiresSeconds: number;
  maxExpiresSeconds: number;
  defaultExpiresSeconds: number;
  maxContactsPerUser: number;
}

export type RegisterOutcome =
  | {
      ok: true;
      /** the bindings after the request (unexpired), best first */
      bindings: Binding[];
      /** whether anything changed (a query, or an unchanged refresh that is only a time shift, still "changed") */
      changed: boolean;
    }
  | { ok: false; status: 400 | 403 | 423 | 500; reason: string; minExpires?: number };

/**
 * The comparison key of a contact URI: RFC 3261 §19.1.4 in the parts that matter for bindings (scheme, user
 * case-sensitive, host case-insensitive, port, transport, and the maddr/user/method/ttl parameters, which must
 * match when present on either side). Other parameters (`ob`, `line`, instance-specific ones) do not change the
 * binding. Unparseable URIs compare by their text.
 */
export function contactKey(uri: string): string {
  const u = SipUri.tryParse(uri);
  if (u === undefined) return uri;
  const p = (k: string): string => {
    const v = u.params.get(k);
    return v === undefined ? '' : `;${k}=${(v ?? '').toLowerCase()}`;
  };
  return `${u.scheme}:${u.user ?? ''}@${u.host.toLowerCase()}:${u.port ?? ''}${p('transport')}${p('maddr')}${p('user')}${p('method')}${p('ttl')}`;
}

/** `UDP 192.0.2.1:5060` / `TCP [::1]:5060` → its parts (host without brackets, lower-cased). */
export function parseSource(source: string): { protocol: string; host: string; port: number } | undefined {
  const m = /^(\S+) \[?([^\]\s]+?)\]?:(\d+)$/.exec(source);
  if (m === null) return undefined;
  return { protocol: m[1]!.toUpperCase(), host: m[2]!.toLowerCase(), port: Number(m[3]) };
}

/**
 * Where to reach a bound contact (NAT traversal, the registrar-side "fix the NATed contact"): the contact itself
 * when its host is the address the REGISTER came from; otherwise the contact's user at that source address and
 * port over the same transport (a phone behind a NAT names its private address; the REGISTER's source is the
 * public mapping its keep-alives hold open). So OPTIONS pings and dial-by-name only ever go to the address an
 * authenticated REGISTER came from.
 */
export function reachableContact(contact: string, source: string): string {
  const src = parseSource(source);
  const u = SipUri.tryParse(contact);
  if (src === undefined || u === undefined) return contact;
  if (u.host.replace(/^\[|\]$/g, '').toLowerCase() === src.host) return contact;
  const fixed = u.clone();
  fixed.host = src.host.includes(':') ? `[${src.host}]` : src.host;
  fixed.port = src.port;
  if (src.protocol === 'UDP') fixed.params.delete('transport');
  else fixed.params.set('transport', src.protocol.toLowerCase());
  return fixed.toString();
}

/** Best first: higher q (absent counts as 1.0, the RFC 3261 §16.6 default ordering), then the most recent. */
export function orderBindings(bindings: readonly Binding[]): Binding[] {
  return [...bindings].sort(
    (a, b) =>
      (b.q ?? 1) - (a.q ?? 1) || b.registeredAt - a.registeredAt || a.contact.localeCompare(b.contact),
  );
}

/** Seconds left of a binding at `now` (at least 0, rounded up so a live binding never shows 0). */
export function remainingSeconds(b: Binding, now: number): number {
  return Math.max(0, Math.ceil((b.expiresAt - now) / 1000));
}

/**
 * Applies one REGISTER to the bindings of its address-of-record. All-or-nothing: "The binding updates MUST be
 * committed ... if and only if all binding updates and additions succeed" (§10.3 step 7).
 */
export function applyRegister(
  current: readonly Binding[],
  req: RegisterInput,
  policy: BindingPolicy,
  now: number,
): RegisterOutcome {
  // Bindings past their expiry are gone whether or not the sweeper has run yet.
  const live = current.filter((b) => b.expiresAt > now);
  if (req.contacts === '*') {
    // §10.3 step 6: "*" is only allowed with Expires: 0 and no other contact (§10.2.2)
    if (req.expires !== 0) return { ok: false, status: 400, reason: 'Wildcard Contact needs Expires: 0' };
    for (const b of live) {
      // §10.3 step 7 applied to every binding: same Call-ID needs a higher CSeq, else the request fails
      if (b.callId === req.callId && req.cseq <= b.cseq)
        return { ok: false, status: 500, reason: 'Out-of-order CSeq for this Call-ID' };
    }
    return { ok: true, bindings: [], changed: live.length > 0 || current.length > 0 };
  }
  if (req.contacts.length === 0) return { ok: true, bindings: orderBindings(live), changed: false }; // §10.2.3

  const next = new Map(live.map((b) => [contactKey(b.contact), b]));
  const seen = new Set<string>();
  for (const c of req.contacts) {
    const key = contactKey(c.uri);
    // one Contact twice in one REGISTER: ambiguous expiry
    if (seen.has(key)) return { ok: false, status: 400, reason: 'Duplicate Contact' };
    seen.add(key);
    // §10.3 step 7: the contact's expires parameter, else the Expires header, else a locally-configured default
    let expires = c.expires ?? req.expires ?? policy.defaultExpiresSeconds;
    // §10.2.8 / §20.23: "If the expiration interval ... is less than the minimum ... the registrar MAY reject it
    // with a 423 (Interval Too Brief)" and MUST then add Min-Expires (§21.4.17)
    if (expires !== 0 && expires < policy.minExpiresSeconds)
      return {
        ok: false,
        status: 423,
        reason: 'Interval Too Brief',
        minExpires: policy.minExpiresSeconds,
      };
    // §10.3 step 7: "the registrar MAY shorten the expiration interval" to its maximum
    expires = Math.min(expires, policy.maxExpiresSeconds);
    const existing = next.get(key);
    if (existing !== undefined) {
      // §10.3 step 7: same Call-ID: update only if the CSeq is higher, "Otherwise, the update MUST be aborted
      // and the request fails"; another Call-ID: the binding is taken over
      if (existing.callId === req.callId && req.cseq <= existing.cseq)
        return { ok: false, status: 500, reason: 'Out-of-order CSeq for this Call-ID' };
      if (expires === 0) {
        next.delete(key);
        continue;
      }
    } else if (expires === 0) continue; // removing a binding that does not exist: nothing to do
    next.set(key, {
      contact: c.uri,
      q: c.q ?? null,
      callId: req.callId,
      cseq: req.cseq,
      expiresAt: now + expires * 1000,
      registeredAt: existing?.registeredAt ?? now,
      source: req.source,
      userAgent: req.userAgent,
    });
  }
  if (next.size > policy.maxContactsPerUser)
    return { ok: false, status: 403, reason: `At most ${policy.maxContactsPerUser} contacts per user` };
  return { ok: true, bindings: orderBindings([...next.values()]), changed: true };
}
