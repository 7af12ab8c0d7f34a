/**
 * SIP, SIPS (RFC 3261 §19.1) and tel (RFC 3966) URIs.
 * Component values (user, password, params, headers) are stored UNESCAPED; toString() re-escapes what the
 * §25.1 grammar does not allow verbatim (§19.1.2). IPv6 hosts keep their brackets: '[2001:db8::1]'.
 */
import { SipParseError } from '../errors';
import { markMapClean, ParamMap, unchangedMap } from './grammar';

export type UriScheme = 'sip' | 'sips' | 'tel';

function charTable(extra: string): Uint8Array {
  const t = new Uint8Array(128);
  const base = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' + "-_.!~*'()"; // unreserved
  for (const c of base + extra) t[c.charCodeAt(0)] = 1;
  return t;
}
// §25.1: user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? /
const USER_OK = charTable('&=+$,;?/');
// password = *( unreserved / escaped / & = + $ , )
const PASSWORD_OK = charTable('&=+$,');
// paramchar = param-unreserved / unreserved / escaped, param-unreserved = [ ] / : & + $
const PARAM_OK = charTable('[]/:&+$');
// hnv-unreserved = [ ] / ? : + $
const HEADER_OK = charTable('[]/?:+$');
// tel (RFC 3966): visual separators and phone digits; params like phone-context use paramchar
const TEL_OK = charTable('+#*-.()ABCDabcdpw;=%/:[]&$');
const HOST_OK = charTable(''); // hostname chars: alnum - . (and _ tolerated, via unreserved); checked below

const HEX = '0123456789ABCDEF';

/** A user part as it goes into a URI (RFC 3261 §25.1: what is not unreserved / user-unreserved is %-escaped). */
export function escapeUser(user: string): string {
  return escape(user, USER_OK);
}

function escape(s: string, ok: Uint8Array): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || ok[c] === 0) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  const bytes = Buffer.from(s.slice(i), 'utf8');
  for (const b of bytes) {
    if (b < 128 && ok[b] === 1) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

function unescape(s: string, ok: Uint8Array, what: string): string {
  let hasPct = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) hasPct = true;
    else if (c >= 128 || ok[c] === 0) throw new SipParseError(400, `Bad character in URI ${what}`);
  }
  if (!hasPct) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      const h = parseInt(s.slice(i + 1, i + 3), 16);
      if (i + 2 >= s.length || Number.isNaN(h) || !/^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
        throw new SipParseError(400, `Bad escape in URI ${what}`);
      }
      bytes.push(h);
      i += 2;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString('utf8');
}

function checkHost(host: string): void {
  if (host.length === 0) throw new SipParseError(400, 'Missing URI host');
  if (host.charCodeAt(0) === 91 /* [ */) {
    // IPv6reference (§25.1): "[" IPv6address "]"
    if (host.charCodeAt(host.length - 1) !== 93 || host.length < 4)
      throw new SipParseError(400, 'Bad IPv6 reference');
    let colons = 0;
    for (let i = 1; i < host.length - 1; i++) {
      const c = host.charCodeAt(i);
      if (c === 58) colons++;
      else if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46)) {
        throw new SipParseError(400, 'Bad IPv6 reference');
      }
    }
    if (colons < 2) throw new SipParseError(400, 'Bad IPv6 reference');
    return;
  }
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (
      c >= 128 ||
      HOST_OK[c] === 0 ||
      c === 33 ||
      c === 126 ||
      c === 42 ||
      c === 39 ||
      c === 40 ||
      c === 41
    ) {
      throw new SipParseError(400, 'Bad URI host');
    }
  }
}

export class SipUri {
  scheme: UriScheme;
  user?: string;
  password?: string;
  /** IPv6 kept WITH brackets: '[::1]'; for tel: '' and the number is in `user` */
  host: string;
  port?: number;
  /** keys lower-cased; ';lr' → ('lr', null); values unescaped */
  params: Map<string, string | null>;
  /** '?Subject=x' → ('Subject', 'x'), unescaped values */
  headers: Map<string, string>;

  constructor(scheme: UriScheme = 'sip', host = '', user?: string, port?: number) {
    this.scheme = scheme;
    this.host = host;
    if (user !== undefined) this.user = user;
    if (port !== undefined) this.port = port;
    this.params = new ParamMap();
    this.headers = new ParamMap();
  }

  private _snap?: [UriScheme, string?, string?, string?, number?, unknown?, unknown?];

  /** @internal remember the current state (SipMessage write-back optimization) */
  _markClean(): void {
    this._snap = [this.scheme, this.user, this.password, this.host, this.port, this.params, this.headers];
    markMapClean(this.params);
    markMapClean(this.headers);
  }

  /** @internal unchanged since _markClean() */
  _isClean(): boolean {
    const s = this._snap;
    return (
      s !== undefined &&
      s[0] === this.scheme &&
      s[1] === this.user &&
      s[2] === this.password &&
      s[3] === this.host &&
      s[4] === this.port &&
      unchangedMap(this.params, s[5]) &&
      unchangedMap(this.headers, s[6])
    );
  }

  /** Parses a SIP/SIPS/tel URI; throws SipParseError(400) on bad input, 416 on an unsupported scheme. */
  static parse(text: string): SipUri {
    const colon = text.indexOf(':');
    if (colon <= 0) throw new SipParseError(400, 'Bad URI');
    const scheme = text.slice(0, colon).toLowerCase();
    if (scheme === 'tel') return parseTel(text, colon + 1);
    if (scheme !== 'sip' && scheme !== 'sips') {
      for (let i = 0; i < colon; i++) {
        const c = text.charCodeAt(i);
        const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
        if (!(alpha || (i > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)))) {
          throw new SipParseError(400, 'Bad URI scheme');
        }
      }
      throw new SipParseError(416, `Unsupported URI Scheme: ${scheme}`);
    }
    const uri = new SipUri(scheme);
    let pos = colon + 1;
    const end = text.length;
    for (let i = pos; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c <= 32 || c === 127) throw new SipParseError(400, 'Whitespace or control character in URI');
    }
    // userinfo: the first '@' (user/password cannot hold an unescaped '@', §25.1)
    const at = text.indexOf('@', pos);
    if (at >= 0) {
      const userinfo = text.slice(pos, at);
      const pc = userinfo.indexOf(':');
      const user = pc >= 0 ? userinfo.slice(0, pc) : userinfo;
      if (user.length === 0) throw new SipParseError(400, 'Empty URI user');
      uri.user = unescape(user, USER_OK, 'user');
      if (pc >= 0) uri.password = unescape(userinfo.slice(pc + 1), PASSWORD_OK, 'password');
      pos = at + 1;
    }
    // hostport
    let hostEnd: number;
    if (text.charCodeAt(pos) === 91) {
      const rb = text.indexOf(']', pos);
      if (rb < 0) throw new SipParseError(400, 'Bad IPv6 reference');
      hostEnd = rb + 1;
    } else {
      hostEnd = pos;
      while (hostEnd < end) {
        const c = text.charCodeAt(hostEnd);
        if (c === 58 || c === 59 || c === 63) break;
        hostEnd++;
      }
    }
    uri.host = text.slice(pos, hostEnd);
    checkHost(uri.host);
    pos = hostEnd;
    if (pos < end && text.charCodeAt(pos) === 58) {
      let pe = pos + 1;
      while (pe < end && text.charCodeAt(pe) !== 59 && text.charCodeAt(pe) !== 63) pe++;
      const ps = text.slice(pos + 1, pe);
      const port = ps.length > 0 && ps.length <= 5 && /^[0-9]+$/.test(ps) ? Number(ps) : -1;
      if (port < 0 || port > 65535) throw new SipParseError(400, 'Bad URI port');
      uri.port = port;
      pos = pe;
    } else if (pos < end && text.charCodeAt(pos) !== 59 && text.charCodeAt(pos) !== 63) {
      throw new SipParseError(400, 'Bad URI host');
    }
    // uri-parameters
    const q = text.indexOf('?', pos);
    const paramsEnd = q >= 0 ? q : end;
    if (pos < paramsEnd) parseUriParams(text.slice(pos + 1, paramsEnd), uri.params);
    // headers: "?" hname "=" hvalue *( "&" ... )
    if (q >= 0) {
      for (const h of text.slice(q + 1).split('&')) {
        const eq = h.indexOf('=');
        if (eq <= 0) throw new SipParseError(400, 'Bad URI header');
        uri.headers.set(
          unescape(h.slice(0, eq), HEADER_OK, 'header'),
          unescape(h.slice(eq + 1), HEADER_OK, 'header'),
        );
      }
    }
    return uri;
  }

  /** Lenient wrapper: returns undefined instead of throwing. */
  static tryParse(text: string): SipUri | undefined {
    try {
      return SipUri.parse(text);
    } catch {
      return undefined;
    }
  }

  get isSecure(): boolean {
    return this.scheme === 'sips';
  }

  /** host:port with default port filled in (5060 sip, 5061 sips) */
  get hostport(): string {
    if (this.scheme === 'tel') return this.host;
    return `${this.host}:${this.port ?? (this.scheme === 'sips' ? 5061 : 5060)}`;
  }

  /** The host without IPv6 brackets (for socket APIs). */
  get hostname(): string {
    return this.host.charCodeAt(0) === 91 ? this.host.slice(1, -1) : this.host;
  }

  clone(): SipUri {
    const u = new SipUri(this.scheme, this.host, this.user, this.port);
    if (this.password !== undefined) u.password = this.password;
    u.params = new ParamMap(this.params);
    u.headers = new ParamMap(this.headers);
    return u;
  }

  toString(): string {
    if (this.scheme === 'tel') {
      let s = `tel:${this.user ?? ''}`;
      for (const [k, v] of this.params) s += v === null ? `;${k}` : `;${k}=${escape(v, PARAM_OK)}`;
      return s;
    }
    let s = this.scheme + ':';
    if (this.user !== undefined) {
      s += escape(this.user, USER_OK);
      if (this.password !== undefined) s += ':' + escape(this.password, PASSWORD_OK);
      s += '@';
    }
    s += this.host;
    if (this.port !== undefined) s += ':' + this.port;
    for (const [k, v] of this.params) {
      s += v === null ? `;${escape(k, PARAM_OK)}` : `;${escape(k, PARAM_OK)}=${escape(v, PARAM_OK)}`;
    }
    let first = true;
    for (const [k, v] of this.headers) {
      s += (first ? '?' : '&') + escape(k, HEADER_OK) + '=' + escape(v, HEADER_OK);
      first = false;
    }
    return s;
  }
}

function parseUriParams(text: string, into: Map<string, string | null>): void {
  for (const p of text.split(';')) {
    if (p.length === 0) throw new SipParseError(400, 'Bad URI parameter');
    const eq = p.indexOf('=');
    if (eq === 0) throw new SipParseError(400, 'Bad URI parameter');
    if (eq < 0) into.set(unescape(p, PARAM_OK, 'parameter').toLowerCase(), null);
    else {
      into.set(
        unescape(p.slice(0, eq), PARAM_OK, 'parameter').toLowerCase(),
        unescape(p.slice(eq + 1), PARAM_OK, 'parameter'),
      );
    }
  }
}

/** RFC 3966: tel:+1-201-555-0123;phone-context=example.com */
function parseTel(text: string, pos: number): SipUri {
  const uri = new SipUri('tel', '');
  const semi = text.indexOf(';', pos);
  const num = semi >= 0 ? text.slice(pos, semi) : text.slice(pos);
  if (num.length === 0) throw new SipParseError(400, 'Bad tel URI');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 127) throw new SipParseError(400, 'Whitespace or control character in URI');
  }
  uri.user = unescape(num, TEL_OK, 'telephone-subscriber');
  if (semi >= 0) parseUriParams(text.slice(semi + 1), uri.params);
  return uri;
}
