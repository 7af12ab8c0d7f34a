/**
 * multipart/* bodies (RFC 2046 §5.1, as used by SIP: RFC 3261 §7.4, RFC 5621). Parts keep their bodies as Buffers.
 */
import { SipParseError } from '../errors';
import { parseParams, unquote } from './grammar';
import { Headers } from './headers';

export interface MultipartPart {
  headers: Headers;
  body: Buffer;
}

/** The boundary parameter of a Content-Type header value, unquoted; undefined when absent. */
export function multipartBoundary(contentType: string): string | undefined {
  const semi = contentType.indexOf(';');
  if (semi < 0) return undefined;
  const params = new Map<string, string | null>();
  parseParams(contentType.slice(semi), params, 'Content-Type');
  const b = params.get('boundary');
  return b === undefined || b === null ? undefined : unquote(b);
}

/**
 * Splits a multipart body by the boundary from `contentType` (a Content-Type header value such as
 * 'multipart/mixed;boundary=unique-boundary-1'). The preamble and epilogue are ignored.
 */
export function splitMultipart(body: Buffer, contentType: string): MultipartPart[] {
  const boundary = multipartBoundary(contentType);
  if (boundary === undefined || boundary.length === 0 || boundary.length > 70) {
    throw new SipParseError(400, 'Bad multipart boundary');
  }
  const delim = Buffer.from('--' + boundary, 'latin1');
  // the first delimiter may start the body (no preceding CRLF); later ones are preceded by CRLF
  let pos: number;
  if (body.subarray(0, delim.length).equals(delim)) pos = 0;
  else {
    pos = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]));
    if (pos < 0) throw new SipParseError(400, 'Multipart boundary not found');
    pos += 2;
  }
  const next = Buffer.concat([Buffer.from('\r\n'), delim]);
  const parts: MultipartPart[] = [];
  for (;;) {
    let p = pos + delim.length;
    if (body[p] === 45 && body[p + 1] === 45) return parts; // close-delimiter "--boundary--"
    // transport-padding (LWSP) then CRLF
    while (body[p] === 32 || body[p] === 9) p++;
    if (body[p] === 13 && body[p + 1] === 10) p += 2;
    else throw new SipParseError(400, 'Bad multipart delimiter line');
    const end = body.indexOf(next, p);
    if (end < 0) throw new SipParseError(400, 'Unterminated multipart body');
    parts.push(parsePart(body.subarray(p, end)));
    pos = end + 2;
  }
}

function parsePart(part: Buffer): MultipartPart {
  const headers = new Headers();
  if (part[0] === 13 && part[1] === 10) return { headers, body: part.subarray(2) }; // no part headers
  let he = part.indexOf('\r\n\r\n', 0, 'latin1');
  if (he < 0) he = part.length;
  const lines = part.toString('utf8', 0, he).split('\r\n');
  let last: [string, string] | undefined;
  const pending: Array<[string, string]> = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
      last[1] = last[1].length > 0 ? last[1] + ' ' + line.trim() : line.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new SipParseError(400, 'Bad multipart part header');
      last = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      pending.push(last);
    }
  }
  for (const [n, v] of pending) headers._push(n, v);
  return { headers, body: he + 4 <= part.length ? part.subarray(he + 4) : Buffer.alloc(0) };
}

/** Builds a multipart body; returns the body and the Content-Type value to send with it. */
export function buildMultipart(
  parts: MultipartPart[],
  boundary: string,
  subtype = 'mixed',
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\n`;
    for (const [n, v] of p.headers.entries()) head += `${n}: ${v}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'utf8'), p.body, Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/${subtype};boundary=${boundary}` };
}
