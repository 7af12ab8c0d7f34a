/**
 * From/To/Contact/Route/Record-Route/Refer-To values (RFC 3261 §20.10, §25.1 name-addr / addr-spec).
 */
import { SipParseError } from '../errors';
import {
  isToken,
  markMapClean,
  ParamMap,
  parseParams,
  unchangedMap,
  quote,
  readQuoted,
  serializeParams,
  splitTopLevel,
} from './grammar';
import { SipUri } from './uri';

export class NameAddr {
  displayName?: string;
  uri: SipUri;
  /** header parameters (tag, expires, q, ...); keys lower-cased, values verbatim (quoted strings keep quotes) */
  params: Map<string, string | null>;

  constructor(uri: SipUri, displayName?: string, params?: Map<string, string | null>) {
    this.uri = uri;
    if (displayName !== undefined) this.displayName = displayName;
    this.params = params ?? new ParamMap();
  }

  private _snap?: [string?, SipUri?, unknown?];

  /** @internal remember the current state (SipMessage write-back optimization) */
  _markClean(): void {
    this._snap = [this.displayName, this.uri, this.params];
    this.uri._markClean();
    markMapClean(this.params);
  }

  /** @internal unchanged since _markClean() */
  _isClean(): boolean {
    const s = this._snap;
    return (
      s !== undefined &&
      s[0] === this.displayName &&
      s[1] === this.uri &&
      this.uri._isClean() &&
      unchangedMap(this.params, s[2])
    );
  }

  /**
   * name-addr or addr-spec. §20.10: in the addr-spec form, everything after the first ';' is a header parameter,
   * not a URI parameter.
   */
  static parse(text: string): NameAddr {
    const s = text.trim();
    if (s.length === 0) throw new SipParseError(400, 'Empty address');
    let displayName: string | undefined;
    let pos = 0;
    let lt = -1;
    if (s.charCodeAt(0) === 34) {
      const q = readQuoted(s, 0);
      displayName = q.value;
      pos = q.end;
      while (pos < s.length && (s.charCodeAt(pos) === 32 || s.charCodeAt(pos) === 9)) pos++;
      if (s.charCodeAt(pos) !== 60)
        throw new SipParseError(400, 'Bad address: expected < after display name');
      lt = pos;
    } else {
      lt = s.indexOf('<');
      if (lt >= 0) {
        const dn = s.slice(0, lt).trim();
        if (dn.length > 0) {
          // display-name = *(token LWS) / quoted-string; tolerate UTF-8 octets in unquoted names
          for (const word of dn.split(/[ \t]+/)) {
            if (!isToken(word) && !isUtf8Word(word)) {
              throw new SipParseError(400, 'Bad display name');
            }
          }
          displayName = dn;
        }
      }
    }
    const na = new NameAddr(new SipUri());
    if (displayName !== undefined) na.displayName = displayName;
    if (lt >= 0) {
      const gt = s.indexOf('>', lt);
      if (gt < 0) throw new SipParseError(400, 'Bad address: missing >');
      na.uri = SipUri.parse(s.slice(lt + 1, gt).trim());
      const rest = s.slice(gt + 1).trim();
      if (rest.length > 0) {
        if (rest.charCodeAt(0) !== 59) throw new SipParseError(400, 'Bad address: junk after >');
        parseParams(rest, na.params, 'address');
      }
    } else {
      const semi = s.indexOf(';');
      const uriText = semi >= 0 ? s.slice(0, semi).trim() : s;
      na.uri = SipUri.parse(uriText);
      // §20: a URI with a comma, question mark or semicolon MUST be enclosed in angle brackets
      if (na.uri.headers.size > 0)
        throw new SipParseError(400, 'Bad address: URI with headers must be in <>');
      if (semi >= 0) parseParams(s.slice(semi), na.params, 'address');
    }
    return na;
  }

  /** Comma list (quotes and <> aware). A Contact '*' throws SipParseError: callers check for '*' first. */
  static parseList(text: string): NameAddr[] {
    if (text.indexOf(',') < 0) return [NameAddr.parse(text)];
    return splitTopLevel(text).map((p) => NameAddr.parse(p));
  }

  get tag(): string | undefined {
    const t = this.params.get('tag');
    return t === null ? undefined : t;
  }
  set tag(v: string | undefined) {
    if (v === undefined) this.params.delete('tag');
    else this.params.set('tag', v);
  }

  clone(): NameAddr {
    return new NameAddr(this.uri.clone(), this.displayName, new ParamMap(this.params));
  }

  /** Always serializes as name-addr with <> (safe for URIs that carry ';' or '?', §20.10). */
  toString(): string {
    const dn =
      this.displayName === undefined || this.displayName === ''
        ? ''
        : (isSimpleDisplayName(this.displayName) ? this.displayName : quote(this.displayName)) + ' ';
    return `${dn}<${this.uri.toString()}>${serializeParams(this.params)}`;
  }
}

function isSimpleDisplayName(s: string): boolean {
  for (const w of s.split(' ')) if (!isToken(w)) return false;
  return true;
}

/** unquoted display-name words: tokens, tolerating UTF-8 (no CTLs, SP, quote, <, >, comma, semicolon, backslash) */
function isUtf8Word(w: string): boolean {
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (c <= 32 || c === 127 || c === 34 || c === 60 || c === 62 || c === 44 || c === 59 || c === 92)
      return false;
  }
  return w.length > 0;
}
