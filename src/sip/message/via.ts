/**
 * Via header values (RFC 3261 §20.42, §18.2.1 received, RFC 3581 rport). IPv6 sent-by keeps brackets.
 */
import { SipParseError } from '../errors';
import {
  isToken,
  markMapClean,
  ParamMap,
  parseParams,
  unchangedMap,
  serializeParams,
  splitTopLevel,
  trimLws,
} from './grammar';

export class Via {
  /** 'SIP/2.0' */
  protocol: string;
  /** 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS' | 'SCTP' (upper-cased; other tokens allowed) */
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;

  constructor(transport: string, host: string, port?: number, params?: Map<string, string | null>) {
    this.protocol = 'SIP/2.0';
    this.transport = transport.toUpperCase();
    this.host = host;
    if (port !== undefined) this.port = port;
    this.params = params ?? new ParamMap();
  }

  private _snap?: [string, string, string, number?, unknown?];

  /** @internal remember the current state (SipMessage write-back optimization) */
  _markClean(): void {
    this._snap = [this.protocol, this.transport, this.host, this.port, this.params];
    markMapClean(this.params);
  }

  /** @internal unchanged since _markClean() */
  _isClean(): boolean {
    const s = this._snap;
    return (
      s !== undefined &&
      s[0] === this.protocol &&
      s[1] === this.transport &&
      s[2] === this.host &&
      s[3] === this.port &&
      unchangedMap(this.params, s[4])
    );
  }

  get branch(): string | undefined {
    return this.params.get('branch') ?? undefined;
  }
  set branch(v: string | undefined) {
    if (v === undefined) this.params.delete('branch');
    else this.params.set('branch', v);
  }

  get received(): string | undefined {
    return this.params.get('received') ?? undefined;
  }
  set received(v: string | undefined) {
    if (v === undefined) this.params.delete('received');
    else this.params.set('received', v);
  }

  /** undefined: absent; null: present without value (RFC 3581 §4) */
  get rport(): number | null | undefined {
    if (!this.params.has('rport')) return undefined;
    const v = this.params.get('rport');
    if (v === null || v === undefined) return null;
    const n = Number(v);
    return Number.isInteger(n) ? n : null;
  }
  set rport(v: number | null | undefined) {
    if (v === undefined) this.params.delete('rport');
    else this.params.set('rport', v === null ? null : String(v));
  }

  /** One header value may hold several comma-separated vias (§7.3.1). */
  static parse(text: string): Via[] {
    const parts = text.indexOf(',') < 0 ? [trimLws(text)] : splitTopLevel(text);
    if (parts.length === 1 && parts[0]!.length === 0) throw new SipParseError(400, 'Bad Via header');
    if (parts.length === 0) throw new SipParseError(400, 'Bad Via header');
    return parts.map(parseOne);
  }

  clone(): Via {
    const v = new Via(this.transport, this.host, this.port, new ParamMap(this.params));
    v.protocol = this.protocol;
    return v;
  }

  toString(): string {
    return `${this.protocol}/${this.transport} ${this.host}${this.port !== undefined ? ':' + this.port : ''}${serializeParams(this.params)}`;
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

function parseOne(s: string): Via {
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport (SLASH = SWS "/" SWS)
  const s1 = s.indexOf('/');
  if (s1 < 0) throw new SipParseError(400, 'Bad Via header');
  const s2 = s.indexOf('/', s1 + 1);
  if (s2 < 0) throw new SipParseError(400, 'Bad Via header');
  const name = s.slice(0, s1).trim();
  const version = s.slice(s1 + 1, s2).trim();
  let i = skipWs(s, s2 + 1);
  const tStart = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) break;
    i++;
  }
  const transport = s.slice(tStart, i);
  if (!isToken(name) || !isToken(version) || !isToken(transport))
    throw new SipParseError(400, 'Bad Via header');
  i = skipWs(s, i);
  if (i === tStart + transport.length) throw new SipParseError(400, 'Bad Via header');
  // sent-by = host [ COLON port ]
  let host: string;
  if (s.charCodeAt(i) === 91) {
    const rb = s.indexOf(']', i);
    if (rb < 0) throw new SipParseError(400, 'Bad Via sent-by');
    host = s.slice(i, rb + 1);
    i = rb + 1;
  } else {
    const hs = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 58 || c === 59 || c === 32 || c === 9) break;
      i++;
    }
    host = s.slice(hs, i);
    if (host.length === 0) throw new SipParseError(400, 'Bad Via sent-by');
    for (let k = 0; k < host.length; k++) {
      const c = host.charCodeAt(k);
      const ok =
        (c >= 97 && c <= 122) ||
        (c >= 65 && c <= 90) ||
        (c >= 48 && c <= 57) ||
        c === 46 ||
        c === 45 ||
        c === 95;
      if (!ok) throw new SipParseError(400, 'Bad Via sent-by');
    }
  }
  i = skipWs(s, i);
  let port: number | undefined;
  if (s.charCodeAt(i) === 58) {
    i = skipWs(s, i + 1);
    const ps = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    const pstr = s.slice(ps, i);
    if (pstr.length === 0 || pstr.length > 5 || Number(pstr) > 65535)
      throw new SipParseError(400, 'Bad Via port');
    port = Number(pstr);
    i = skipWs(s, i);
  }
  const via = new Via(transport, host, port);
  if (name !== 'SIP' || version !== '2.0') via.protocol = `${name.toUpperCase()}/${version}`;
  if (i < s.length) {
    if (s.charCodeAt(i) !== 59) throw new SipParseError(400, 'Bad Via header');
    parseParams(s.slice(i), via.params, 'Via');
  }
  // §20.42 via-ttl: 0-255; rport (RFC 3581) digits or empty
  const rp = via.params.get('rport');
  if (typeof rp === 'string' && !/^[0-9]{1,5}$/.test(rp)) throw new SipParseError(400, 'Bad Via rport');
  if (via.params.has('ttl')) {
    const ttl = via.params.get('ttl');
    if (typeof ttl !== 'string' || !(/^[0-9]{1,3}$/.test(ttl) && Number(ttl) <= 255)) {
      throw new SipParseError(400, 'Bad Via ttl');
    }
  }
  return via;
}
