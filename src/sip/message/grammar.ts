/**
 * Small, allocation-light helpers for the RFC 3261 §25 grammar: tokens, quoted strings, parameter lists,
 * top-level comma splitting. Everything is a linear scan (no regex backtracking on attacker-controlled input).
 */
import { SipParseError } from '../errors';

const TOKEN_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

/** RFC 3261 §25.1 token */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

export function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Splits on `sep` at top level: not inside "quoted strings" (with \-escapes) nor <angle brackets>. Trims parts, drops empty. */
export function splitTopLevel(text: string, sep: number = 44 /* , */): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60 /* < */) inAngle = true;
    else if (c === 62 /* > */) inAngle = false;
    else if (c === sep && !inAngle) {
      const part = text.slice(start, i).trim();
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
  }
  if (inQuote) throw new SipParseError(400, 'Unterminated quoted string');
  const last = text.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/** Index of the first `ch` at top level (outside quotes/angle brackets), or -1. */
export function indexOfTopLevel(text: string, ch: number, from = 0): number {
  let inQuote = false;
  let inAngle = false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === 92) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60) inAngle = true;
    else if (c === 62) inAngle = false;
    else if (c === ch && !inAngle) return i;
  }
  return -1;
}

/**
 * Reads a quoted-string starting at text[pos] === '"'. Returns the unescaped content and the index after the
 * closing quote. RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F).
 */
export function readQuoted(text: string, pos: number): { value: string; end: number } {
  let out = '';
  let i = pos + 1;
  let runStart = i;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) {
      out += text.slice(runStart, i);
      if (i + 1 >= text.length) break;
      const n = text.charCodeAt(i + 1);
      if (n === 10 || n === 13) throw new SipParseError(400, 'Bad quoted-pair in quoted string');
      out += text[i + 1];
      i++;
      runStart = i + 1;
    } else if (c === 34) {
      out += text.slice(runStart, i);
      return { value: out, end: i + 1 };
    }
  }
  throw new SipParseError(400, 'Unterminated quoted string');
}

/** Quotes a string for a quoted-string production, escaping " and \. */
export function quote(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92) {
      needs = true;
      break;
    }
  }
  return needs ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

/** Removes surrounding quotes (and unescapes) when the value is a quoted-string; else returns it unchanged. */
export function unquote(s: string): string {
  if (s.length >= 2 && s.charCodeAt(0) === 34) {
    const q = readQuoted(s, 0);
    return q.value;
  }
  return s;
}

/**
 * Parses ";name=value;flag" generic-params (RFC 3261 §25.1 generic-param) into a Map with lower-cased keys.
 * Values are kept verbatim (quoted strings keep their quotes, so serialization is faithful). LWS is allowed around
 * ";" and "=" (SEMI / EQUAL). `text` starts at (or before) the first ';'. Single pass, no backtracking.
 */
export function parseParams(text: string, into: Map<string, string | null>, what: string): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === 59 || c === 32 || c === 9) {
      i++;
      continue;
    }
    const ns = i;
    while (i < n && (c = text.charCodeAt(i)) < 128 && TOKEN_CHARS[c] === 1) i++;
    if (i === ns) throw new SipParseError(400, `Bad ${what} parameter`);
    const name = text.slice(ns, i);
    while (i < n && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
    let value: string | null = null;
    if (i < n && text.charCodeAt(i) === 61 /* = */) {
      i++;
      while (i < n && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
      if (i < n && text.charCodeAt(i) === 34) {
        const q = readQuoted(text, i);
        value = text.slice(i, q.end);
        i = q.end;
      } else {
        const vs = i;
        // gen-value = token / host / quoted-string: token chars plus host chars ([ ] :)
        while (
          i < n &&
          (c = text.charCodeAt(i)) < 128 &&
          (TOKEN_CHARS[c] === 1 || c === 58 || c === 91 || c === 93)
        )
          i++;
        if (i === vs) throw new SipParseError(400, `Bad ${what} parameter`);
        value = text.slice(vs, i);
      }
      while (i < n && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
    }
    if (i < n && text.charCodeAt(i) !== 59) throw new SipParseError(400, `Bad ${what} parameter`);
    into.set(name.toLowerCase(), value);
  }
}

/**
 * A Map that remembers whether it was modified since `modified` was last reset. SipMessage uses it to skip
 * re-serializing parsed headers nobody changed.
 */
export class ParamMap<V> extends Map<string, V> {
  modified = false;
  override set(k: string, v: V): this {
    this.modified = true;
    return super.set(k, v);
  }
  override delete(k: string): boolean {
    this.modified = true;
    return super.delete(k);
  }
  override clear(): void {
    this.modified = true;
    super.clear();
  }
}

/** true when `m` is the very ParamMap `snap` and was not modified since the snapshot */
export function unchangedMap(m: Map<string, unknown>, snap: unknown): boolean {
  return m === snap && m instanceof ParamMap && !m.modified;
}

export function markMapClean(m: Map<string, unknown>): void {
  if (m instanceof ParamMap) m.modified = false;
}

export function serializeParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/**
 * Parses a decimal integer made only of digits (no sign, no spaces); -1 when not, or when it has more than
 * `maxLen` significant digits (leading zeros are allowed: "Max-Forwards: 0068" is valid 1*DIGIT).
 */
export function parseDigits(s: string, maxLen = 10): number {
  if (s.length === 0 || s.length > 64) return -1;
  let n = 0;
  let sig = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    if (sig > 0 || c !== 0) sig++;
    n = n * 10 + c;
  }
  return sig > maxLen ? -1 : n;
}

/** Trims SP / HTAB / CR / LF only (String.prototype.trim also strips Unicode spaces such as U+FEFF and U+00A0). */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
