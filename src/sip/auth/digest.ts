/**
 * HTTP Digest authentication for SIP: RFC 3261 §22.4, RFC 7616 (HTTP Digest, SHA-256), RFC 8760 (SHA-256 and
 * SHA-512/256 in SIP). Pure: no I/O; clock and randomness are injectable.
 *
 * - parse/serialize the values of WWW-Authenticate / Proxy-Authenticate (challenges) and Authorization /
 *   Proxy-Authorization (credentials);
 * - DigestServer: stateless HMAC-signed, timestamped nonces; expiry with stale=true; replay protection by tracking
 *   the highest nc seen per nonce (bounded memory);
 * - DigestClient: answers challenges (cnonce, nc increment per nonce).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SipError } from '../errors';

export type DigestAlgorithm =
  'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
/** Preference order when several challenges are offered (RFC 8760 §2.4: strongest first). */
const STRENGTH: DigestAlgorithm[] = [
  'SHA-512-256',
  'SHA-512-256-sess',
  'SHA-256',
  'SHA-256-sess',
  'MD5',
  'MD5-sess',
];

export interface DigestChallenge {
  scheme: string; // 'Digest'
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm?: string;
  /** qop options offered, e.g. ['auth'] */
  qop?: string[];
  stale?: boolean;
  domain?: string;
  /** every parameter as received (lower-cased names, unquoted values) */
  params: Map<string, string>;
}

export interface DigestCredentials {
  scheme: string; // 'Digest'
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  /** nonce-count: 8 hex digits as sent */
  nc?: string;
  params: Map<string, string>;
}

/** Bad Authorization/WWW-Authenticate syntax. */
export class DigestParseError extends SipError {
  constructor(reason: string) {
    super(400, reason);
    this.name = 'DigestParseError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// parsing and serialization (RFC 7616 §3.3, §3.4; RFC 3261 §25.1 challenge / credentials)

/** Parses `scheme 1#auth-param` (auth-param = token "=" ( token / quoted-string )). Linear scan. */
export function parseAuthParams(value: string): { scheme: string; params: Map<string, string> } {
  const s = value;
  const n = s.length;
  let i = 0;
  while (i < n && isSp(s.charCodeAt(i))) i++;
  const ss = i;
  while (i < n && isTokenChar(s.charCodeAt(i))) i++;
  const scheme = s.slice(ss, i);
  if (scheme.length === 0) throw new DigestParseError('Missing auth scheme');
  const params = new Map<string, string>();
  for (;;) {
    while (i < n && (isSp(s.charCodeAt(i)) || s.charCodeAt(i) === 44)) i++;
    if (i >= n) break;
    const ns = i;
    while (i < n && isTokenChar(s.charCodeAt(i))) i++;
    if (i === ns) throw new DigestParseError('Bad auth-param');
    const name = s.slice(ns, i).toLowerCase();
    while (i < n && isSp(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 61) throw new DigestParseError(`Bad auth-param ${name}`);
    i++;
    while (i < n && isSp(s.charCodeAt(i))) i++;
    let v: string;
    if (s.charCodeAt(i) === 34) {
      i++;
      v = '';
      let closed = false;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === 92 && i + 1 < n) {
          v += s[i + 1];
          i += 2;
        } else if (c === 34) {
          i++;
          closed = true;
          break;
        } else {
          v += s[i];
          i++;
        }
      }
      if (!closed) throw new DigestParseError('Unterminated quoted string in auth-param');
    } else {
      const vs = i;
      while (i < n && isTokenChar(s.charCodeAt(i))) i++;
      v = s.slice(vs, i);
    }
    if (params.has(name)) throw new DigestParseError(`Duplicate auth-param ${name}`);
    params.set(name, v);
    while (i < n && isSp(s.charCodeAt(i))) i++;
    if (i < n && s.charCodeAt(i) !== 44) throw new DigestParseError('Bad auth-param list');
  }
  return { scheme, params };
}

function isSp(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}
function isTokenChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === 46 ||
    c === 33 ||
    c === 37 ||
    c === 42 ||
    c === 95 ||
    c === 43 ||
    c === 96 ||
    c === 39 ||
    c === 126 ||
    c === 47 // '/' is not a token char, but appears unquoted in some legacy uri values
  );
}

export function parseChallenge(value: string): DigestChallenge {
  const { scheme, params } = parseAuthParams(value);
  if (scheme.toLowerCase() !== 'digest') throw new DigestParseError(`Unsupported auth scheme ${scheme}`);
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined)
    throw new DigestParseError('Challenge lacks realm or nonce');
  const c: DigestChallenge = { scheme, realm, nonce, params };
  const opaque = params.get('opaque');
  if (opaque !== undefined) c.opaque = opaque;
  const algorithm = params.get('algorithm');
  if (algorithm !== undefined) c.algorithm = algorithm;
  const qop = params.get('qop');
  if (qop !== undefined)
    c.qop = qop
      .split(',')
      .map((q) => q.trim())
      .filter((q) => q.length > 0);
  const stale = params.get('stale');
  if (stale !== undefined) c.stale = stale.toLowerCase() === 'true';
  const domain = params.get('domain');
  if (domain !== undefined) c.domain = domain;
  return c;
}

export function parseCredentials(value: string): DigestCredentials {
  const { scheme, params } = parseAuthParams(value);
  if (scheme.toLowerCase() !== 'digest') throw new DigestParseError(`Unsupported auth scheme ${scheme}`);
  const need = (k: string): string => {
    const v = params.get(k);
    if (v === undefined) throw new DigestParseError(`Credentials lack ${k}`);
    return v;
  };
  const c: DigestCredentials = {
    scheme,
    username: need('username'),
    realm: need('realm'),
    nonce: need('nonce'),
    uri: need('uri'),
    response: need('response'),
    params,
  };
  for (const k of ['algorithm', 'cnonce', 'opaque', 'qop', 'nc'] as const) {
    const v = params.get(k);
    if (v !== undefined) c[k] = v;
  }
  return c;
}

function q(v: string): string {
  return `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/** WWW-Authenticate / Proxy-Authenticate value. */
export function serializeChallenge(
  c: Omit<DigestChallenge, 'params' | 'scheme'> & { scheme?: string },
): string {
  const parts = [`realm=${q(c.realm)}`];
  if (c.domain !== undefined) parts.push(`domain=${q(c.domain)}`);
  parts.push(`nonce=${q(c.nonce)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${q(c.opaque)}`);
  if (c.stale !== undefined) parts.push(`stale=${c.stale ? 'true' : 'false'}`);
  if (c.algorithm !== undefined) parts.push(`algorithm=${c.algorithm}`);
  if (c.qop !== undefined && c.qop.length > 0) parts.push(`qop=${q(c.qop.join(','))}`);
  return `${c.scheme ?? 'Digest'} ${parts.join(', ')}`;
}

/** Authorization / Proxy-Authorization value (qop, nc and algorithm unquoted, RFC 7616 §3.4). */
export function serializeCredentials(
  c: Omit<DigestCredentials, 'params' | 'scheme'> & { scheme?: string },
): string {
  const parts = [
    `username=${q(c.username)}`,
    `realm=${q(c.realm)}`,
    `nonce=${q(c.nonce)}`,
    `uri=${q(c.uri)}`,
  ];
  parts.push(`response=${q(c.response)}`);
  if (c.algorithm !== undefined) parts.push(`algorithm=${c.algorithm}`);
  if (c.cnonce !== undefined) parts.push(`cnonce=${q(c.cnonce)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${q(c.opaque)}`);
  if (c.qop !== undefined) parts.push(`qop=${c.qop}`);
  if (c.nc !== undefined) parts.push(`nc=${c.nc}`);
  return `${c.scheme ?? 'Digest'} ${parts.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// computation (RFC 7616 §3.4.1 - §3.4.3)

function normalizeAlgorithm(a: string | undefined): DigestAlgorithm | undefined {
  if (a === undefined) return 'MD5'; // RFC 7616 §3.3: absent means MD5
  const up = a.toUpperCase();
  return STRENGTH.find((x) => x.toUpperCase() === up);
}

function hashHex(alg: DigestAlgorithm, data: string): string {
  const base = alg.endsWith('-sess') ? alg.slice(0, -5) : alg;
  return createHash(HASHES[base]!).update(data, 'utf8').digest('hex');
}

/** The base algorithms (without -sess) whose HA1 can be stored in place of a password. */
export type DigestHashAlgorithm = 'MD5' | 'SHA-256' | 'SHA-512-256';

/**
 * What a server knows of a user: the password itself, or only HA1 = H(username ":" realm ":" password) per base
 * algorithm (RFC 7616 §3.4.2). HA1 is enough to verify a response, so accounts keep HA1 rather than the password;
 * it is bound to one realm, and it is password-equivalent for that realm, so it is a secret too.
 */
export type DigestSecret = string | { ha1: Partial<Record<DigestHashAlgorithm, string>> };

/** HA1 = H(username:realm:password) for a base algorithm (RFC 7616 §3.4.2, RFC 3261 §22.4). */
export function computeHa1(
  algorithm: DigestHashAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return hashHex(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestInput {
  algorithm?: string;
  username: string;
  realm: string;
  /** the password, or `ha1` (H(username:realm:password) for the base algorithm) in its place */
  password?: string;
  ha1?: string;
  method: string;
  uri: string;
  nonce: string;
  /** 'auth' (auth-int is not supported), or undefined for RFC 2069/2617 compatibility */
  qop?: string;
  nc?: string;
  cnonce?: string;
}

/** The request-digest ("response" parameter). Throws SipError(400) on an unsupported algorithm or qop. */
export function computeResponse(i: DigestInput): string {
  const alg = normalizeAlgorithm(i.algorithm);
  if (alg === undefined) throw new SipError(400, `Unsupported digest algorithm ${i.algorithm}`);
  if (i.ha1 === undefined && i.password === undefined)
    throw new SipError(500, 'Digest needs a password or HA1');
  let ha1 = i.ha1 ?? hashHex(alg, `${i.username}:${i.realm}:${i.password}`);
  if (alg.endsWith('-sess')) ha1 = hashHex(alg, `${ha1}:${i.nonce}:${i.cnonce ?? ''}`); // §3.4.2
  const ha2 = hashHex(alg, `${i.method}:${i.uri}`); // §3.4.3, qop=auth
  if (i.qop === undefined) return hashHex(alg, `${ha1}:${i.nonce}:${ha2}`);
  if (i.qop !== 'auth') throw new SipError(400, `Unsupported qop ${i.qop}`);
  return hashHex(alg, `${ha1}:${i.nonce}:${i.nc ?? ''}:${i.cnonce ?? ''}:${i.qop}:${ha2}`); // §3.4.1
}

// ---------------------------------------------------------------------------------------------------------------
// server

export type VerifyResult =
  | { result: 'ok'; username: string }
  | { result: 'stale'; username: string }
  | { result: 'fail'; reason: string; username?: string };

export interface DigestServerOptions {
  realm: string;
  /** HMAC key for nonces */
  secret: string | Buffer;
  /** milliseconds since the epoch; default Date.now */
  clock?: () => number;
  /** nonce lifetime in seconds (default 300) */
  nonceTtlSec?: number;
  /** algorithms challenged, in order (default SHA-256 then MD5, RFC 8760 §2.4) */
  algorithms?: DigestAlgorithm[];
  /** at most this many nonces tracked for replay protection (default 10000) */
  maxTrackedNonces?: number;
  /** opaque value sent with challenges and required back (optional) */
  opaque?: string;
  /** randomness source (tests) */
  random?: (bytes: number) => Buffer;
}

/**
 * Issues and verifies digest challenges. Nonces are self-contained (issue time + random + HMAC), so verification
 * needs no per-challenge state; only nonces that have been USED are tracked, to reject replays (nc must increase).
 */
export class DigestServer {
  readonly realm: string;
  private readonly secret: Buffer;
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly algorithms: DigestAlgorithm[];
  private readonly maxTracked: number;
  private readonly opaque?: string;
  private readonly random: (bytes: number) => Buffer;
  /** nonce → highest nc accepted, insertion-ordered (oldest first) */
  private readonly seen = new Map<string, { nc: number; issuedAt: number }>();
  /** highest issue time among nonces evicted from `seen` while possibly still valid */
  private evictedUpTo = -Infinity;

  constructor(opts: DigestServerOptions) {
    this.realm = opts.realm;
    this.secret = typeof opts.secret === 'string' ? Buffer.from(opts.secret, 'utf8') : opts.secret;
    if (this.secret.length < 16) throw new Error('DigestServer secret must be at least 16 bytes');
    this.clock = opts.clock ?? Date.now;
    this.ttlMs = (opts.nonceTtlSec ?? 300) * 1000;
    this.algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    this.maxTracked = opts.maxTrackedNonces ?? 10000;
    if (opts.opaque !== undefined) this.opaque = opts.opaque;
    this.random = opts.random ?? randomBytes;
  }

  /** Number of nonces currently tracked for replay protection. */
  get trackedNonces(): number {
    return this.seen.size;
  }

  /** A fresh nonce: base64url(issue-time ms (8 bytes) | random (8 bytes) | HMAC-SHA256(...)[0..16]). */
  newNonce(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(Math.floor(this.clock())), 0);
    this.random(8).copy(body, 8);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).update(this.realm).digest().subarray(0, 16);
  }

  /** Issue time (ms) of a nonce we signed, or undefined when it is not ours / tampered with. */
  private nonceTime(nonce: string): number | undefined {
    if (nonce.length !== 43) return undefined;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32) return undefined;
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.mac(body))) return undefined;
    return Number(body.readBigUInt64BE(0));
  }

  /**
   * One challenge header value (WWW-Authenticate for 401, Proxy-Authenticate for 407), qop="auth".
   * `stale: true` when answering credentials that were correct but used an expired nonce (RFC 7616 §3.3).
   */
  challenge(opts: { stale?: boolean; algorithm?: DigestAlgorithm; nonce?: string } = {}): string {
    const c: Omit<DigestChallenge, 'params' | 'scheme'> = {
      realm: this.realm,
      nonce: opts.nonce ?? this.newNonce(),
      algorithm: opts.algorithm ?? this.algorithms[0]!,
      qop: ['auth'],
    };
    if (this.opaque !== undefined) c.opaque = this.opaque;
    if (opts.stale === true) c.stale = true;
    return serializeChallenge(c);
  }

  /** One challenge per configured algorithm, strongest first, sharing one nonce (RFC 8760 §2.4). */
  challenges(opts: { stale?: boolean } = {}): string[] {
    const nonce = this.newNonce();
    return this.algorithms.map((algorithm) => this.challenge({ ...opts, algorithm, nonce }));
  }

  /**
   * Verifies an Authorization / Proxy-Authorization value for a request with `method`.
   * `lookupPassword` returns the user's password or stored HA1s (`DigestSecret`), or undefined for an unknown user.
   * `requestUri`, when given, must equal the credentials' uri parameter (RFC 7616 §3.4.6).
   */
  verify(
    method: string,
    authorizationHeaderValue: string,
    lookupPassword: (username: string) => DigestSecret | undefined,
    opts: { requestUri?: string } = {},
  ): VerifyResult {
    let cred: DigestCredentials;
    try {
      cred = parseCredentials(authorizationHeaderValue);
    } catch (e) {
      return {
        result: 'fail',
        reason: e instanceof SipError ? (e.reason ?? 'bad credentials') : 'bad credentials',
      };
    }
    const username = cred.username;
    if (cred.realm !== this.realm) return { result: 'fail', reason: 'realm mismatch', username };
    const alg = normalizeAlgorithm(cred.algorithm);
    if (alg === undefined || !this.algorithms.includes(alg)) {
      return { result: 'fail', reason: 'unsupported algorithm', username };
    }
    if (this.opaque !== undefined && cred.opaque !== this.opaque)
      return { result: 'fail', reason: 'opaque mismatch', username };
    if (opts.requestUri !== undefined && cred.uri !== opts.requestUri)
      return { result: 'fail', reason: 'uri mismatch', username };
    // we always challenge with qop="auth": credentials without it cannot be protected against replay
    if (cred.qop !== 'auth') return { result: 'fail', reason: 'qop=auth required', username };
    if (cred.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(cred.nc))
      return { result: 'fail', reason: 'bad nc', username };
    if (cred.cnonce === undefined || cred.cnonce.length === 0)
      return { result: 'fail', reason: 'missing cnonce', username };
    const issuedAt = this.nonceTime(cred.nonce);
    if (issuedAt === undefined) return { result: 'fail', reason: 'invalid nonce', username };
    const secret = lookupPassword(username);
    if (secret === undefined) return { result: 'fail', reason: 'unknown user', username };
    const base = (alg.endsWith('-sess') ? alg.slice(0, -5) : alg) as DigestHashAlgorithm;
    const known = typeof secret === 'string' ? { password: secret } : { ha1: secret.ha1[base] };
    if (known.password === undefined && known.ha1 === undefined)
      return { result: 'fail', reason: `no ${base} credentials stored`, username };
    const expected = computeResponse({
      algorithm: alg,
      username,
      realm: this.realm,
      ...known,
      method,
      uri: cred.uri,
      nonce: cred.nonce,
      qop: cred.qop,
      nc: cred.nc,
      cnonce: cred.cnonce,
    });
    const got = Buffer.from(cred.response.toLowerCase(), 'utf8');
    const want = Buffer.from(expected, 'utf8');
    if (got.length !== want.length || !timingSafeEqual(got, want))
      return { result: 'fail', reason: 'wrong response', username };

    const now = this.clock();
    if (issuedAt > now + 5000) return { result: 'fail', reason: 'nonce from the future', username };
    // RFC 7616 §3.3: stale=true when the digest was correct but the nonce is no longer valid
    if (now - issuedAt > this.ttlMs) return { result: 'stale', username };

    // replay protection: nc must strictly increase per nonce (RFC 7616 §3.4 / §5.12)
    const nc = parseInt(cred.nc, 16);
    const prev = this.seen.get(cred.nonce);
    if (prev !== undefined) {
      if (nc <= prev.nc) return { result: 'fail', reason: 'replayed nonce count', username };
      prev.nc = nc;
      return { result: 'ok', username };
    }
    // not tracked: first use, unless it may have been evicted under memory pressure → ask for a fresh nonce
    if (issuedAt <= this.evictedUpTo) return { result: 'stale', username };
    this.track(cred.nonce, nc, issuedAt, now);
    return { result: 'ok', username };
  }

  private track(nonce: string, nc: number, issuedAt: number, now: number): void {
    if (this.seen.size >= this.maxTracked) {
      // drop expired entries first (they can never be accepted again), then the oldest tracked ones
      for (const [k, v] of this.seen) {
        if (now - v.issuedAt > this.ttlMs) this.seen.delete(k);
      }
      while (this.seen.size >= this.maxTracked) {
        const oldest = this.seen.keys().next().value as string;
        const v = this.seen.get(oldest)!;
        this.evictedUpTo = Math.max(this.evictedUpTo, v.issuedAt);
        this.seen.delete(oldest);
      }
    }
    this.seen.set(nonce, { nc, issuedAt });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// client

export interface DigestClientOptions {
  /** cnonce generator (tests) */
  cnonce?: () => string;
}

/** Answers digest challenges (RFC 7616 §3.4) with cnonce and an nc that increments per nonce. */
export class DigestClient {
  private nonce?: string;
  private nc = 0;
  private readonly makeCnonce: () => string;

  constructor(
    private readonly credentials: { username: string; password: string },
    opts: DigestClientOptions = {},
  ) {
    this.makeCnonce = opts.cnonce ?? (() => randomBytes(12).toString('base64url'));
  }

  /** Picks the strongest supported challenge among several header values (RFC 8760 §2.4); undefined if none. */
  static pickChallenge(values: string[]): DigestChallenge | undefined {
    let best: DigestChallenge | undefined;
    let bestRank = Infinity;
    for (const v of values) {
      let c: DigestChallenge;
      try {
        c = parseChallenge(v);
      } catch {
        continue;
      }
      const alg = normalizeAlgorithm(c.algorithm);
      const rank = alg === undefined ? -1 : STRENGTH.indexOf(alg);
      if (rank >= 0 && rank < bestRank) {
        best = c;
        bestRank = rank;
      }
    }
    return best;
  }

  /** Builds the Authorization (or Proxy-Authorization) value answering `challenge` for `method` `uri`. */
  authorize(method: string, uri: string, challenge: string | DigestChallenge): string {
    const c = typeof challenge === 'string' ? parseChallenge(challenge) : challenge;
    const alg = normalizeAlgorithm(c.algorithm);
    if (alg === undefined) throw new SipError(400, `Unsupported digest algorithm ${c.algorithm}`);
    const useQop = c.qop === undefined ? undefined : c.qop.includes('auth') ? 'auth' : null;
    if (useQop === null) throw new SipError(400, 'No supported qop offered');
    if (c.nonce !== this.nonce) {
      this.nonce = c.nonce;
      this.nc = 0;
    }
    const cred: Omit<DigestCredentials, 'params' | 'scheme'> = {
      username: this.credentials.username,
      realm: c.realm,
      nonce: c.nonce,
      uri,
      response: '',
    };
    if (c.algorithm !== undefined) cred.algorithm = c.algorithm;
    if (useQop !== undefined) {
      this.nc++;
      cred.qop = useQop;
      cred.nc = this.nc.toString(16).padStart(8, '0');
      cred.cnonce = this.makeCnonce();
    } else if (alg.endsWith('-sess')) cred.cnonce = this.makeCnonce();
    if (c.opaque !== undefined) cred.opaque = c.opaque;
    const input: DigestInput = {
      algorithm: alg,
      username: cred.username,
      realm: c.realm,
      password: this.credentials.password,
      method,
      uri,
      nonce: c.nonce,
    };
    if (cred.qop !== undefined) input.qop = cred.qop;
    if (cred.nc !== undefined) input.nc = cred.nc;
    if (cred.cnonce !== undefined) input.cnonce = cred.cnonce;
    cred.response = computeResponse(input);
    return serializeCredentials(cred);
  }
}
