/**
 * Digest authentication of incoming SIP requests (RFC 3261 §22.4 with RFC 7616 / RFC 8760): the one place the
 * registrar, REFER call control and any other UAS service ask "who sent this?". The credentials come from two
 * sources the application wires in: the database accounts (which keep only HA1 per algorithm for `sip.realm`,
 * never the password) and the config's `sip.accounts` list. `src/sip` knows nothing of the store, so the accounts
 * arrive through the narrow `SipCredentialSource` interface.
 *
 * Answers:
 * - no credentials for our realm, a nonce that is not ours, another realm's credentials → 401 with a fresh
 *   challenge per algorithm (SHA-256 first, then MD5: RFC 8760 §2.4);
 * - a correct response on an expired nonce → 401 with `stale=true` (RFC 7616 §3.3), so the UA retries silently;
 * - a wrong response, an unknown user, a replayed nonce count → 403. RFC 3261 §22.3 lets a server re-challenge,
 *   but a UA that answered our own nonce with a wrong digest has the wrong password: re-challenging only makes it
 *   loop (or prompt forever). Unknown user and wrong password give the same answer, so the answer does not tell
 *   a scanner (svwar) which names exist.
 * - a source address with `maxFailuresPerSource` such 403s within `failureWindowSec` → 403 at once, nothing
 *   verified, until its failures age out (online password guessing at the rate the SIP rate limits still allow).
 */
import { SipError } from '../errors';
import type { SipRequest } from '../message/sip-message';
import { SipUri } from '../message/uri';
import {
  DigestServer,
  computeHa1,
  parseCredentials,
  type DigestAlgorithm,
  type DigestSecret,
} from './digest';

/** The outcome of `SipRequestAuthenticator.check`: the authenticated user, or the answer to send instead. */
export type SipAuthResult =
  | { ok: true; user: string }
  | { ok: false; status: 401 | 403 | 407; headers: Record<string, string | string[]>; reason: string };

/** Authenticates one incoming request. Shared by every UAS service that needs to know the sender. */
export interface SipRequestAuthenticator {
  check(req: SipRequest): Promise<SipAuthResult>;
}

/** Where a user's secret comes from (the accounts in the database: HA1s only). */
export interface SipCredentialSource {
  /** The user's stored HA1s (or password) for `realm`, or undefined when the user is unknown or disabled. */
  lookup(username: string, realm: string): DigestSecret | undefined;
}

/** A fixed account (the config's `sip.accounts`). */
export interface SipStaticAccount {
  username: string;
  password: string;
}

export interface DigestRequestAuthenticatorOptions {
  realm: string;
  /** HMAC key for the nonces (at least 16 bytes). A restart with a new key makes old nonces "invalid" → 401. */
  secret: string | Buffer;
  /** config accounts; they win over a database account of the same name */
  accounts?: readonly SipStaticAccount[];
  /** database accounts */
  source?: SipCredentialSource;
  /** 401 + WWW-Authenticate (a UAS or registrar, the default) or 407 + Proxy-Authenticate (RFC 3261 §22.3) */
  challengeStatus?: 401 | 407;
  /** nonce lifetime in seconds (default 300) */
  nonceTtlSec?: number;
  /** milliseconds since the epoch (tests) */
  clock?: () => number;
  algorithms?: DigestAlgorithm[];
  /**
   * Online guessing guard: a source address (the top Via's received, else its host) with this many wrong digests
   * (403s) within `failureWindowSec` gets 403 without a verification until the window has passed (default 20).
   */
  maxFailuresPerSource?: number;
  /** default 300 */
  failureWindowSec?: number;
}

/** Sources tracked for failures at most (the oldest are forgotten first). */
const MAX_TRACKED_SOURCES = 10_000;

/** The HA1s to store for an account's password in `realm` (SHA-256 and MD5: the algorithms we challenge with). */
export function sipHa1s(
  username: string,
  realm: string,
  password: string,
): Record<'MD5' | 'SHA-256', string> {
  return {
    MD5: computeHa1('MD5', username, realm, password),
    'SHA-256': computeHa1('SHA-256', username, realm, password),
  };
}

/** `SipRequestAuthenticator` by HTTP Digest against config and database accounts. */
export class DigestRequestAuthenticator implements SipRequestAuthenticator {
  readonly realm: string;
  private readonly server: DigestServer;
  private readonly statics = new Map<string, DigestSecret>();
  private readonly source?: SipCredentialSource;
  private readonly status: 401 | 407;
  private readonly clock: () => number;
  private readonly maxFailures: number;
  private readonly windowMs: number;
  /** wrong-digest times per source address, oldest first */
  private readonly failures = new Map<string, number[]>();

  constructor(opts: DigestRequestAuthenticatorOptions) {
    this.realm = opts.realm;
    this.server = new DigestServer({
      realm: opts.realm,
      secret: opts.secret,
      algorithms: opts.algorithms ?? ['SHA-256', 'MD5'],
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
      ...(opts.nonceTtlSec !== undefined ? { nonceTtlSec: opts.nonceTtlSec } : {}),
    });
    // Config accounts: only their HA1s are kept in memory, like the database's.
    for (const a of opts.accounts ?? []) {
      const ha1 = sipHa1s(a.username, opts.realm, a.password);
      this.statics.set(a.username, { ha1 });
    }
    if (opts.source !== undefined) this.source = opts.source;
    this.status = opts.challengeStatus ?? 401;
    this.clock = opts.clock ?? Date.now;
    this.maxFailures = opts.maxFailuresPerSource ?? 20;
    this.windowMs = (opts.failureWindowSec ?? 300) * 1000;
  }

  /** Whether `user` is an account that may authenticate (config or database). */
  knows(user: string): boolean {
    return this.secretOf(user) !== undefined;
  }

  private secretOf(user: string): DigestSecret | undefined {
    return this.statics.get(user) ?? this.source?.lookup(user, this.realm);
  }

  check(req: SipRequest): Promise<SipAuthResult> {
    return Promise.resolve(this.checkSync(req));
  }

  /** The same check, synchronously (the lookups are synchronous). */
  checkSync(req: SipRequest): SipAuthResult {
    const header = this.status === 401 ? 'Authorization' : 'Proxy-Authorization';
    // RFC 3261 §22.4: a request may carry several credentials (one per realm): use the one for our realm.
    const values = req.headers.getAll(header);
    let mine: string | undefined;
    for (const v of values) {
      try {
        if (parseCredentials(v).realm === this.realm) {
          mine = v;
          break;
        }
      } catch {
        // a malformed value for some realm: ignore it like any other realm's
      }
    }
    if (mine === undefined)
      return this.challenge(values.length === 0 ? 'Unauthorized' : 'No credentials for realm');
    // a source guessing passwords is refused before any verification (svcrack-style online guessing)
    const source = sourceOf(req);
    if (this.recentFailures(source) >= this.maxFailures)
      return this.forbid('Forbidden (too many failed attempts)');
    // RFC 7616 §3.4.6 (RFC 2617 §3.2.2.5): the "uri" must name the resource of the request line
    let credUri: string;
    try {
      credUri = parseCredentials(mine).uri;
    } catch (e) {
      return this.challenge(e instanceof SipError ? (e.reason ?? 'Bad credentials') : 'Bad credentials');
    }
    if (!sameUri(credUri, req.uri)) return this.fail(source, 'Credentials for another URI');
    const r = this.server.verify(req.method, mine, (u) => this.secretOf(u));
    switch (r.result) {
      case 'ok':
        return { ok: true, user: r.username };
      case 'stale':
        return this.challenge('Stale nonce', true);
      case 'fail':
        // a nonce we never issued (or issued under an earlier secret), a realm or algorithm we do not offer:
        // a fresh challenge lets a well-behaved UA answer properly
        if (
          r.reason === 'invalid nonce' ||
          r.reason === 'unsupported algorithm' ||
          r.reason.startsWith('no ')
        )
          return this.challenge('Unauthorized');
        return this.fail(source, 'Forbidden');
    }
  }

  /** A wrong digest from `source`: counted, then 403. */
  private fail(source: string, reason: string): SipAuthResult {
    const now = this.clock();
    const list = (this.failures.get(source) ?? []).filter((t) => now - t < this.windowMs);
    list.push(now);
    this.failures.delete(source); // re-inserted last: the map stays ordered by latest failure
    this.failures.set(source, list);
    if (this.failures.size > MAX_TRACKED_SOURCES) this.failures.delete(this.failures.keys().next().value!);
    return this.forbid(reason);
  }

  private recentFailures(source: string): number {
    const list = this.failures.get(source);
    if (list === undefined) return 0;
    const now = this.clock();
    return list.filter((t) => now - t < this.windowMs).length;
  }

  private challenge(reason: string, stale = false): SipAuthResult {
    const name = this.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    return {
      ok: false,
      status: this.status,
      headers: { [name]: this.server.challenges(stale ? { stale: true } : {}) },
      reason: this.status === 401 ? reason : 'Proxy Authentication Required',
    };
  }

  private forbid(reason: string): SipAuthResult {
    return { ok: false, status: 403, headers: {}, reason };
  }
}

/** The address a request came from: the top Via's `received` (stamped by the transport), else its host. */
function sourceOf(req: SipRequest): string {
  const via = req.vias[0];
  if (via === undefined) return '';
  return (via.received ?? via.host).replace(/^\[|\]$/g, '').toLowerCase();
}

/** Compares the credentials' uri with the Request-URI by scheme, user, host and port (case-insensitive host). */
function sameUri(credUri: string, reqUri: SipUri): boolean {
  const u = SipUri.tryParse(credUri);
  if (u === undefined) return credUri === reqUri.toString();
  return (
    u.scheme === reqUri.scheme &&
    (u.user ?? '') === (reqUri.user ?? '') &&
    u.host.toLowerCase() === reqUri.host.toLowerCase() &&
    (u.port ?? 0) === (reqUri.port ?? 0)
  );
}
