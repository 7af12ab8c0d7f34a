/**
 * Small, allocation-light helpers for the RFC 3261 §25 grammar: tokens, quoted strings, parameter lists,
 * top-level comma splitting. Everything is a linear scan (no regex backtracking on attacker-controlled input).
 */
import { SipParseError } from '../errors';

const TOKEN_CHARS = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') {
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
 * Values are kept verbatim (quoted strings keep their quotes, so serialization is faithful).
 * `text` starts at (or before) the first ';'.
 */
export function parseParams(text: string, into: Map<string, string | null>, what: string): void {
  const parts = splitTopLevel(text, 59 /* ; */);
  for (const part of parts) {
    const eq = part.indexOf('=');
    let name: string;
    let value: string | null;
    if (eq < 0) {
      name = part;
      value = null;
    } else {
      name = part.slice(0, eq).trimEnd();
      value = part.slice(eq + 1).trimStart();
      if (value.length === 0) throw new SipParseError(400, `Bad ${what} parameter`);
      if (value.charCodeAt(0) === 34) {
        const q = readQuoted(value, 0);
        if (q.end !== value.length) throw new SipParseError(400, `Bad ${what} parameter`);
      } else if (!isParamValue(value)) throw new SipParseError(400, `Bad ${what} parameter`);
    }
    if (!isToken(name)) throw new SipParseError(400, `Bad ${what} parameter`);
    into.set(name.toLowerCase(), value);
  }
}

/** gen-value = token / host / quoted-string; we accept token chars plus host chars ([ ] :). */
function isParamValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 128) return false;
    if (TOKEN_CHARS[c] === 1 || c === 58 || c === 91 || c === 93) continue;
    return false;
  }
  return true;
}

export function serializeParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/** Parses a decimal integer made only of digits (no sign, no spaces); -1 when not. */
export function parseDigits(s: string, maxLen = 10): number {
  if (s.length === 0 || s.length > maxLen) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}
