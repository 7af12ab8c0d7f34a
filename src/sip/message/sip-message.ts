/**
 * SIP requests and responses (RFC 3261 §7). Headers are kept as raw strings; the structured views (Via, From, To,
 * CSeq, Contact) are parsed on first access and cached. The cached objects are LIVE: mutating `msg.topVia.received`
 * or `msg.to.tag` is reflected in `msg.headers`, `toBuffer()` and `clone()` (the cache is written back lazily).
 * Replacing a header through `msg.headers.set/append/prepend/remove` drops the cached object for that header.
 */
import { SipParseError } from '../errors';
import { parseDigits } from './grammar';
import { Headers } from './headers';
import { NameAddr } from './name-addr';
import type { SipUri } from './uri';
import { Via } from './via';
import { reasonPhrase } from './status-codes';

export interface CSeq {
  seq: number;
  method: string;
}

const EMPTY = Buffer.alloc(0);

/** Parses a CSeq value: 1*DIGIT LWS Method (§20.16: the number MUST be < 2**31). */
export function parseCSeq(value: string): CSeq {
  const v = value.trim();
  let i = 0;
  while (i < v.length && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
  const seq = parseDigits(v.slice(0, i), 10);
  if (seq < 0 || seq >= 2 ** 31) throw new SipParseError(400, 'Bad CSeq');
  let j = i;
  while (j < v.length && (v.charCodeAt(j) === 32 || v.charCodeAt(j) === 9)) j++;
  if (j === i) throw new SipParseError(400, 'Bad CSeq');
  const method = v.slice(j);
  if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(method)) throw new SipParseError(400, 'Bad CSeq');
  return { seq, method };
}

export abstract class SipMessage {
  body: Buffer;
  private _headers!: Headers;
  private _vias?: Via[];
  private _from?: NameAddr;
  private _to?: NameAddr;
  private _cseq?: CSeq;
  private _contact?: NameAddr[];
  /** snapshots of the cached objects as last parsed / written back (write-back is skipped when unchanged) */
  private _viasSnap?: Via[];
  private _contactSnap?: NameAddr[];
  private _cseqSnap?: string;

  constructor(headers?: Headers, body?: Buffer) {
    this.headers = headers ?? new Headers();
    this.body = body ?? EMPTY;
  }

  /** The header multimap; cached parsed objects are written back before it is handed out. */
  get headers(): Headers {
    this.flush();
    return this._headers;
  }
  set headers(h: Headers) {
    this._vias = this._from = this._to = this._cseq = this._contact = undefined;
    h.onChange = (key) => this.invalidate(key);
    this._headers = h;
  }

  /** @internal the raw headers without write-back (parser and serializer) */
  get rawHeaders(): Headers {
    return this._headers;
  }

  private invalidate(key: string): void {
    switch (key) {
      case 'via':
        this._vias = undefined;
        break;
      case 'from':
        this._from = undefined;
        break;
      case 'to':
        this._to = undefined;
        break;
      case 'cseq':
        this._cseq = undefined;
        break;
      case 'contact':
        this._contact = undefined;
        break;
    }
  }

  /** Writes the cached parsed objects back into the raw headers when they were changed. */
  protected flush(): void {
    const h = this._headers;
    if (this._vias !== undefined && !listClean(this._vias, this._viasSnap)) {
      h._replace('via', this._vias.map(String));
      this._viasSnap = snapList(this._vias);
    }
    if (this._from !== undefined && !this._from._isClean()) {
      h._replace('from', [this._from.toString()]);
      this._from._markClean();
    }
    if (this._to !== undefined && !this._to._isClean()) {
      h._replace('to', [this._to.toString()]);
      this._to._markClean();
    }
    if (this._cseq !== undefined) {
      const v = `${this._cseq.seq} ${this._cseq.method}`;
      if (v !== this._cseqSnap) {
        h._replace('cseq', [v]);
        this._cseqSnap = v;
      }
    }
    if (this._contact !== undefined && !listClean(this._contact, this._contactSnap)) {
      h._replace('contact', this._contact.map(String));
      this._contactSnap = snapList(this._contact);
    }
  }

  private required(name: string): string {
    const v = this._headers.get(name);
    if (v === undefined) throw new SipParseError(400, `Missing ${name} header`);
    return v;
  }

  get callId(): string {
    const v = this.required('Call-ID').trim();
    if (v.length === 0) throw new SipParseError(400, 'Bad Call-ID header');
    return v;
  }

  get cseq(): CSeq {
    if (this._cseq === undefined) {
      this._cseq = parseCSeq(this.required('CSeq'));
      this._cseqSnap = `${this._cseq.seq} ${this._cseq.method}`;
    }
    return this._cseq;
  }

  get from(): NameAddr {
    if (this._from === undefined) {
      this._from = parseAddr(this.required('From'), 'From');
      this._from._markClean();
    }
    return this._from;
  }

  get to(): NameAddr {
    if (this._to === undefined) {
      this._to = parseAddr(this.required('To'), 'To');
      this._to._markClean();
    }
    return this._to;
  }

  /** parsed from all Via headers, top first */
  get vias(): Via[] {
    if (this._vias === undefined) {
      const out: Via[] = [];
      try {
        for (const v of this._headers.getAll('Via')) for (const via of Via.parse(v)) out.push(via);
      } catch (e) {
        if (e instanceof SipParseError) {
          throw new SipParseError(400, e.reason?.startsWith('Bad Via') ? e.reason : 'Bad Via header');
        }
        throw e;
      }
      this._vias = out;
      this._viasSnap = snapList(out);
    }
    return this._vias;
  }

  get topVia(): Via {
    const v = this.vias[0];
    if (v === undefined) throw new SipParseError(400, 'Missing Via header');
    return v;
  }

  /** [] if absent, and for 'Contact: *' (see isContactStar) */
  get contact(): NameAddr[] {
    if (this._contact === undefined) {
      const all = this._headers.getAll('Contact');
      if (all.length === 1 && all[0]!.trim() === '*') return [];
      const out: NameAddr[] = [];
      try {
        for (const v of all) for (const na of NameAddr.parseList(v)) out.push(na);
      } catch (e) {
        if (e instanceof SipParseError) throw new SipParseError(400, 'Bad Contact header');
        throw e;
      }
      this._contact = out;
      this._contactSnap = snapList(out);
    }
    return this._contact;
  }

  /** REGISTER 'Contact: *' (§10.2.2) */
  get isContactStar(): boolean {
    const all = this._headers.getAll('Contact');
    return all.length === 1 && all[0]!.trim() === '*';
  }

  /** lower-cased media type without params */
  get contentType(): string | undefined {
    const v = this._headers.get('Content-Type');
    if (v === undefined) return undefined;
    const semi = v.indexOf(';');
    return (semi >= 0 ? v.slice(0, semi) : v).trim().toLowerCase();
  }

  get maxForwards(): number | undefined {
    const v = this._headers.get('Max-Forwards');
    if (v === undefined) return undefined;
    const n = parseDigits(v.trim(), 3);
    if (n < 0 || n > 255) throw new SipParseError(400, 'Bad Max-Forwards');
    return n;
  }

  isRequest(): this is SipRequest {
    return this instanceof SipRequest;
  }

  isResponse(): this is SipResponse {
    return this instanceof SipResponse;
  }

  protected abstract startLine(): string;

  /** Always writes a correct Content-Length (§20.14, §18.3); CRLF line ends. */
  toBuffer(): Buffer {
    this.flush();
    const h = this._headers;
    let head = this.startLine();
    let wroteCl = false;
    for (let i = 0; i < h.size; i++) {
      if (h._keyAt(i) === 'content-length') {
        if (!wroteCl) head += `Content-Length: ${this.body.length}\r\n`;
        wroteCl = true;
        continue;
      }
      head += h._nameAt(i) + ': ' + h._valueAt(i) + '\r\n';
    }
    if (!wroteCl) head += `Content-Length: ${this.body.length}\r\n`;
    head += '\r\n';
    if (this.body.length === 0) return Buffer.from(head, 'utf8');
    const headLen = Buffer.byteLength(head, 'utf8');
    const out = Buffer.allocUnsafe(headLen + this.body.length);
    out.write(head, 0, 'utf8');
    this.body.copy(out, headLen);
    return out;
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }

  abstract clone(): SipMessage;
}

interface Trackable {
  _markClean(): void;
  _isClean(): boolean;
}

function snapList<T extends Trackable>(list: T[]): T[] {
  for (const x of list) x._markClean();
  return list.slice();
}

function listClean<T extends Trackable>(list: T[], snap: T[] | undefined): boolean {
  if (snap === undefined || list.length !== snap.length) return false;
  for (let i = 0; i < list.length; i++) if (list[i] !== snap[i] || !list[i]!._isClean()) return false;
  return true;
}

function parseAddr(value: string, name: string): NameAddr {
  try {
    return NameAddr.parse(value);
  } catch (e) {
    if (e instanceof SipParseError) {
      // name what is wrong where the parser knows it ("Unterminated quoted string in From"), else "Bad From header"
      const inner = e.reason ?? '';
      const specific = /^(Unterminated quoted string|Bad quoted-pair)/.test(inner);
      throw new SipParseError(400, specific ? `${inner} in ${name}` : `Bad ${name} header`);
    }
    throw e;
  }
}

export class SipRequest extends SipMessage {
  /** extension methods allowed (token); case-sensitive (§7.1) */
  method: string;
  uri: SipUri;

  constructor(method: string, uri: SipUri, headers?: Headers, body?: Buffer) {
    super(headers, body);
    this.method = method;
    this.uri = uri;
  }

  protected startLine(): string {
    return `${this.method} ${this.uri.toString()} SIP/2.0\r\n`;
  }

  clone(): SipRequest {
    return new SipRequest(this.method, this.uri.clone(), this.headers.clone(), this.body);
  }
}

export class SipResponse extends SipMessage {
  status: number;
  reason: string;

  constructor(status: number, reason?: string, headers?: Headers, body?: Buffer) {
    super(headers, body);
    this.status = status;
    this.reason = reason ?? reasonPhrase(status);
  }

  protected startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}\r\n`;
  }

  clone(): SipResponse {
    return new SipResponse(this.status, this.reason, this.headers.clone(), this.body);
  }
}
