/**
 * Ordered header multimap (RFC 3261 §7.3). Names are case-insensitive (§7.3.1) and compact forms (§7.3.3, and the
 * extension compact forms registered with IANA) are expanded to the canonical long name. Values are raw strings;
 * structured access (Via, From, CSeq, ...) lives on SipMessage, which parses lazily and caches.
 */
import { splitTopLevel } from './grammar';

const CANONICAL = [
  'Accept',
  'Accept-Contact',
  'Accept-Encoding',
  'Accept-Language',
  'Accept-Resource-Priority',
  'Alert-Info',
  'Allow',
  'Allow-Events',
  'Authentication-Info',
  'Authorization',
  'Call-ID',
  'Call-Info',
  'Contact',
  'Content-Disposition',
  'Content-Encoding',
  'Content-ID',
  'Content-Language',
  'Content-Length',
  'Content-Type',
  'CSeq',
  'Date',
  'Diversion',
  'Error-Info',
  'Event',
  'Expires',
  'From',
  'History-Info',
  'Identity',
  'In-Reply-To',
  'Join',
  'Max-Forwards',
  'MIME-Version',
  'Min-Expires',
  'Min-SE',
  'Organization',
  'P-Asserted-Identity',
  'P-Preferred-Identity',
  'Path',
  'Priority',
  'Privacy',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'Proxy-Require',
  'RAck',
  'Reason',
  'Record-Route',
  'Refer-Sub',
  'Refer-To',
  'Referred-By',
  'Reject-Contact',
  'Replaces',
  'Reply-To',
  'Request-Disposition',
  'Require',
  'Resource-Priority',
  'Retry-After',
  'Route',
  'RSeq',
  'Security-Client',
  'Security-Server',
  'Security-Verify',
  'Server',
  'Service-Route',
  'Session-Expires',
  'SIP-ETag',
  'SIP-If-Match',
  'Subject',
  'Subscription-State',
  'Supported',
  'Target-Dialog',
  'Timestamp',
  'To',
  'Unsupported',
  'User-Agent',
  'Via',
  'Warning',
  'WWW-Authenticate',
];

const COMPACT: Record<string, string> = {
  i: 'Call-ID',
  m: 'Contact',
  e: 'Content-Encoding',
  l: 'Content-Length',
  c: 'Content-Type',
  f: 'From',
  s: 'Subject',
  k: 'Supported',
  t: 'To',
  v: 'Via',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  u: 'Allow-Events',
  x: 'Session-Expires',
  a: 'Accept-Contact',
  j: 'Reject-Contact',
  d: 'Request-Disposition',
  y: 'Identity',
};

export interface Canon {
  key: string; // lower-cased canonical name
  name: string; // canonical spelling
}
const BY_LOWER = new Map<string, Canon>();
for (const n of CANONICAL) BY_LOWER.set(n.toLowerCase(), { key: n.toLowerCase(), name: n });
for (const [k, n] of Object.entries(COMPACT)) BY_LOWER.set(k, { key: n.toLowerCase(), name: n });

// cache by exact spelling (messages mostly repeat the same spellings); bounded so hostile input cannot grow it
const BY_RAW = new Map<string, Canon>();
const BY_RAW_MAX = 2048;

export function canonicalize(name: string): Canon {
  const hit = BY_RAW.get(name);
  if (hit !== undefined) return hit;
  const lower = name.toLowerCase();
  const c = BY_LOWER.get(lower) ?? { key: lower, name };
  if (BY_RAW.size < BY_RAW_MAX) BY_RAW.set(name, c);
  return c;
}

// exact-spelling fast path for the parser: canonical names (and compact letters, either case) bucketed by length
const BY_LENGTH: Canon[][] = [];
for (const n of CANONICAL) (BY_LENGTH[n.length] ??= []).push(BY_LOWER.get(n.toLowerCase())!);
const COMPACT_BY_CODE: Array<Canon | undefined> = new Array(128);
for (const k of Object.keys(COMPACT)) {
  COMPACT_BY_CODE[k.charCodeAt(0)] = BY_LOWER.get(k);
  COMPACT_BY_CODE[k.toUpperCase().charCodeAt(0)] = BY_LOWER.get(k);
}

/**
 * @internal Matches src[start, end) against the canonical spellings without allocating; undefined when it is not
 * spelled exactly like a known header (the caller then falls back to canonicalize()).
 */
export function lookupKnown(src: string, start: number, end: number): Canon | undefined {
  const len = end - start;
  if (len === 1) {
    const c = src.charCodeAt(start);
    return c < 128 ? COMPACT_BY_CODE[c] : undefined;
  }
  const bucket = BY_LENGTH[len];
  if (bucket === undefined) return undefined;
  const first = src.charCodeAt(start);
  for (let i = 0; i < bucket.length; i++) {
    const cand = bucket[i]!;
    if (cand.name.charCodeAt(0) === first && src.startsWith(cand.name, start)) return cand;
  }
  return undefined;
}

/** Canonical spelling of a header name ('v' → 'Via', 'call-id' → 'Call-ID'); unknown names are returned as given. */
export function canonicalName(name: string): string {
  return canonicalize(name).name;
}

/** Header values set through the API must not smuggle line breaks (header injection). */
function checkValue(value: string): string {
  if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
    throw new TypeError('SIP header value must not contain CR or LF');
  }
  return value;
}

export class Headers {
  /** parallel arrays: lower-cased canonical key, canonical name, raw value */
  private keys: string[] = [];
  private names: string[] = [];
  private values: string[] = [];
  /** @internal called with the lower-cased key after every mutation (SipMessage drops its parsed caches) */
  onChange?: (key: string) => void;

  constructor(init?: Record<string, string | string[]> | Array<[string, string]>) {
    if (init === undefined) return;
    if (Array.isArray(init)) for (const [n, v] of init) this.append(n, v);
    else for (const [n, v] of Object.entries(init)) this.set(n, v);
  }

  /** @internal fast path for the parser: no change notification */
  _push(name: string, value: string): void {
    const c = canonicalize(name);
    this.keys.push(c.key);
    this.names.push(c.name);
    this.values.push(value);
  }

  /** @internal parser fast path with an already canonicalized name */
  _pushCanon(c: Canon, value: string): void {
    this.keys.push(c.key);
    this.names.push(c.name);
    this.values.push(value);
  }

  /** @internal replace all values of `key` (lower-cased canonical) in place, without change notification */
  _replace(key: string, values: string[]): void {
    const idx: number[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) idx.push(i);
    if (idx.length === values.length) {
      for (let j = 0; j < idx.length; j++) this.values[idx[j]!] = values[j]!;
      return;
    }
    const name = idx.length > 0 ? this.names[idx[0]!]! : canonicalize(key).name;
    const at = idx.length > 0 ? idx[0]! : this.keys.length;
    for (let j = idx.length - 1; j >= 0; j--) {
      this.keys.splice(idx[j]!, 1);
      this.names.splice(idx[j]!, 1);
      this.values.splice(idx[j]!, 1);
    }
    const n = values.length;
    this.keys.splice(at, 0, ...new Array<string>(n).fill(key));
    this.names.splice(at, 0, ...new Array<string>(n).fill(name));
    this.values.splice(at, 0, ...values);
  }

  get size(): number {
    return this.keys.length;
  }

  /** first raw value */
  get(name: string): string | undefined {
    const key = canonicalize(name).key;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) return this.values[i];
    return undefined;
  }

  /** all raw header lines' values, in order (no comma splitting) */
  getAll(name: string): string[] {
    const key = canonicalize(name).key;
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) out.push(this.values[i]!);
    return out;
  }

  /** values split on top-level commas (quotes and <> aware), trimmed */
  getList(name: string): string[] {
    const out: string[] = [];
    for (const v of this.getAll(name)) for (const p of splitTopLevel(v)) out.push(p);
    return out;
  }

  has(name: string): boolean {
    const key = canonicalize(name).key;
    return this.keys.includes(key);
  }

  /** Replaces all values of `name`; keeps the position of the first existing one, else appends. */
  set(name: string, value: string | string[]): void {
    const c = canonicalize(name);
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) checkValue(v);
    this._replace(c.key, values);
    // _replace may have taken the name spelling from the key when absent; fix it up to the canonical one
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === c.key) this.names[i] = c.name;
    this.onChange?.(c.key);
  }

  append(name: string, value: string): void {
    checkValue(value);
    const c = canonicalize(name);
    this.keys.push(c.key);
    this.names.push(c.name);
    this.values.push(value);
    this.onChange?.(c.key);
  }

  /** Inserts before the first header of that name (or at the top), e.g. adding a Via on top. */
  prepend(name: string, value: string): void {
    checkValue(value);
    const c = canonicalize(name);
    let at = this.keys.indexOf(c.key);
    if (at < 0) at = 0;
    this.keys.splice(at, 0, c.key);
    this.names.splice(at, 0, c.name);
    this.values.splice(at, 0, value);
    this.onChange?.(c.key);
  }

  remove(name: string): void {
    const c = canonicalize(name);
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] === c.key) {
        this.keys.splice(i, 1);
        this.names.splice(i, 1);
        this.values.splice(i, 1);
      }
    }
    this.onChange?.(c.key);
  }

  /** canonical name + value, in message order */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = new Array(this.keys.length);
    for (let i = 0; i < this.keys.length; i++) out[i] = [this.names[i]!, this.values[i]!];
    return out;
  }

  /** @internal serialization helper: lower-cased key at index i */
  _keyAt(i: number): string {
    return this.keys[i]!;
  }
  /** @internal */
  _nameAt(i: number): string {
    return this.names[i]!;
  }
  /** @internal */
  _valueAt(i: number): string {
    return this.values[i]!;
  }

  clone(): Headers {
    const h = new Headers();
    h.keys = this.keys.slice();
    h.names = this.names.slice();
    h.values = this.values.slice();
    return h;
  }
}
