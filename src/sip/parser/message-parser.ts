/**
 * Parses one complete SIP message (a datagram, or one framed by StreamFramer) — RFC 3261 §7, §25.
 * Headers are split and unfolded here; their values stay raw strings and are parsed lazily by SipMessage.
 * parseMessage does the cheap structural checks (start line, mandatory headers present, CSeq, Content-Length);
 * validateRequest/validateResponse (validate.ts) do the full per-header checks.
 * Never throws anything but SipParseError.
 */
import { SipParseError } from '../errors';
import { isToken, parseDigits, trimLws } from '../message/grammar';
import { canonicalize, Headers, lookupKnown } from '../message/headers';
import type { Canon } from '../message/headers';
import { parseCSeq, SipRequest, SipResponse } from '../message/sip-message';
import { SipUri } from '../message/uri';
import { answerablePartial, safeReason } from './malformed';

export { SipParseError };

export interface ParserLimits {
  maxMessageBytes: number;
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxMessageBytes: 65535, maxHeaders: 256 };

const CR = 13;
const LF = 10;

/** one complete message (datagram or framed) */
export function parseMessage(data: Buffer, limits?: Partial<ParserLimits>): SipRequest | SipResponse {
  try {
    return parse(data, limits);
  } catch (e) {
    if (e instanceof SipParseError) throw e;
    throw new SipParseError(0, `Unparseable message: ${e instanceof Error ? e.message : String(e)}`);
  }
}

interface StartLine {
  kind: 'request' | 'response';
  method: string;
  uri?: SipUri;
  status: number;
  reason: string;
  /** set when the start line is bad but the message is a request we may still answer */
  error?: SipParseError;
}

function parse(data: Buffer, limits?: Partial<ParserLimits>): SipRequest | SipResponse {
  const maxBytes = limits?.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes;
  const maxHeaders = limits?.maxHeaders ?? DEFAULT_LIMITS.maxHeaders;

  // §7.5: implementations SHOULD ignore any CRLF appearing before the start line
  let start = 0;
  while (start < data.length && (data[start] === CR || data[start] === LF)) start++;
  if (start >= data.length) throw new SipParseError(0, 'Empty message');

  // the header block ends at the first empty line; bare-LF line ends are tolerated when the start line uses them
  const firstLf = data.indexOf(LF, start);
  const bareLf = firstLf > start && data[firstLf - 1] !== CR;
  let headEnd = bareLf ? data.indexOf('\n\n', start, 'latin1') : data.indexOf('\r\n\r\n', start, 'latin1');
  let bodyStart: number;
  if (headEnd >= 0) bodyStart = headEnd + (bareLf ? 2 : 4);
  else {
    headEnd = data.length;
    bodyStart = -1; // no empty line: reported below once we know whether a response is possible
  }
  if (headEnd - start > maxBytes) throw new SipParseError(0, 'Message too large');
  const head = data.toString('utf8', start, headEnd);

  // start line
  let eol = head.indexOf('\n');
  if (eol < 0) eol = head.length;
  const firstLine = head.charCodeAt(eol - 1) === CR ? head.slice(0, eol - 1) : head.slice(0, eol);
  const sl = parseStartLine(firstLine);

  // headers, with unfolding of continuation lines (§7.3.1: LWS continuation → single SP)
  const headers = new Headers();
  let count = 0;
  let pos = eol + 1;
  let pendingName: Canon | undefined;
  let pendingValue = '';
  let headerError: SipParseError | undefined;
  while (pos < head.length) {
    let e = head.indexOf('\n', pos);
    if (e < 0) e = head.length;
    const lineEnd = head.charCodeAt(e - 1) === CR ? e - 1 : e;
    const c0 = head.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) {
      if (pendingName === undefined) {
        headerError ??= new SipParseError(400, 'Continuation line before first header');
      } else {
        const cont = trimLws(head.slice(pos, lineEnd));
        if (cont.length > 0) pendingValue = pendingValue.length > 0 ? pendingValue + ' ' + cont : cont;
      }
    } else if (lineEnd > pos) {
      if (pendingName !== undefined) headers._pushCanon(pendingName, pendingValue);
      const colon = head.indexOf(':', pos);
      if (colon < 0 || colon > lineEnd) {
        headerError ??= new SipParseError(
          400,
          `Bad header line: ${safeReason(head.slice(pos, Math.min(lineEnd, pos + 40)))}`,
        );
        pendingName = undefined;
      } else {
        let ne = colon;
        while (ne > pos && (head.charCodeAt(ne - 1) === 32 || head.charCodeAt(ne - 1) === 9)) ne--;
        let canon = lookupKnown(head, pos, ne);
        if (canon === undefined) {
          const name = head.slice(pos, ne);
          if (isToken(name)) canon = canonicalize(name);
          else headerError ??= new SipParseError(400, `Bad header name: ${safeReason(name.slice(0, 40))}`);
        }
        pendingName = canon;
        if (canon !== undefined) {
          let vs = colon + 1;
          let ve = lineEnd;
          while (vs < ve && (head.charCodeAt(vs) === 32 || head.charCodeAt(vs) === 9)) vs++;
          while (ve > vs && (head.charCodeAt(ve - 1) === 32 || head.charCodeAt(ve - 1) === 9)) ve--;
          pendingValue = head.slice(vs, ve);
          if (++count > maxHeaders) {
            const err = new SipParseError(sl.kind === 'request' ? 413 : 0, 'Too many headers');
            // the headers read so far usually include the Via: answer rather than drop (§21.4.1)
            if (sl.kind === 'request') {
              headers._pushCanon(canon, pendingValue);
              const partial = buildPartial(sl, headers);
              if (partial !== undefined) err.partial = partial;
            }
            throw err;
          }
        }
      }
    }
    pos = e + 1;
  }
  if (pendingName !== undefined) headers._pushCanon(pendingName, pendingValue);

  const fail = (err: SipParseError): never => {
    if (sl.kind === 'request' && err.status !== 0) {
      const partial = buildPartial(sl, headers);
      if (partial !== undefined) err.partial = partial;
    } else if (sl.kind === 'response') err.status = 0;
    throw err;
  };

  if (sl.error !== undefined) fail(sl.error);
  if (headerError !== undefined) fail(headerError);
  if (bodyStart < 0) fail(new SipParseError(400, 'Missing empty line after headers'));
  if (data.length - start > maxBytes) fail(new SipParseError(413, 'Message too large'));

  // one pass over the headers: presence (§8.1.1: To, From, CSeq, Call-ID, Via; Max-Forwards absence tolerated)
  // and single-valued headers that must not repeat (RFC 4475 §3.3.8, §3.3.9)
  let via = 0;
  let from: string | undefined;
  let to: string | undefined;
  let callId: string | undefined;
  let cseq: string | undefined;
  let maxFwd: string | undefined;
  let clRaw: string | undefined;
  let dup: string | undefined;
  for (let i = 0; i < headers.size; i++) {
    const v = headers._valueAt(i);
    switch (headers._keyAt(i)) {
      case 'via':
        via++;
        break;
      case 'from':
        if (from !== undefined) dup ??= 'From';
        from = v;
        break;
      case 'to':
        if (to !== undefined) dup ??= 'To';
        to = v;
        break;
      case 'call-id':
        if (callId !== undefined) dup ??= 'Call-ID';
        callId = v;
        break;
      case 'cseq':
        if (cseq !== undefined) dup ??= 'CSeq';
        cseq = v;
        break;
      case 'max-forwards':
        if (maxFwd !== undefined) dup ??= 'Max-Forwards';
        maxFwd = v;
        break;
      case 'content-length':
        if (clRaw !== undefined) dup ??= 'Content-Length';
        clRaw = v;
        break;
    }
  }

  // body: Content-Length (§20.14); on datagrams, extra bytes are discarded and missing bytes are an error (§18.3)
  let body: Buffer;
  if (clRaw !== undefined && dup !== 'Content-Length') {
    const cl = parseDigits(trimLws(clRaw), 10);
    if (cl < 0) fail(new SipParseError(400, 'Bad Content-Length'));
    if (cl > data.length - bodyStart) fail(new SipParseError(400, 'Content-Length mismatch'));
    body = data.subarray(bodyStart, bodyStart + cl);
  } else body = data.subarray(bodyStart);

  if (via === 0) fail(new SipParseError(400, 'Missing Via header'));
  if (from === undefined) fail(new SipParseError(400, 'Missing From header'));
  if (to === undefined) fail(new SipParseError(400, 'Missing To header'));
  if (callId === undefined) fail(new SipParseError(400, 'Missing Call-ID header'));
  if (cseq === undefined) fail(new SipParseError(400, 'Missing CSeq header'));
  if (dup !== undefined) fail(new SipParseError(400, `Multiple ${dup} headers`));
  let cseqMethod: string;
  try {
    cseqMethod = parseCSeq(cseq!).method;
  } catch {
    return fail(new SipParseError(400, 'Bad CSeq'));
  }
  if (callId!.length === 0) fail(new SipParseError(400, 'Bad Call-ID header'));

  if (sl.kind === 'request') {
    // §8.2 / §16.3: the CSeq method MUST match the request method
    if (cseqMethod !== sl.method) fail(new SipParseError(400, 'CSeq method does not match request method'));
    const mf = maxFwd;
    if (mf !== undefined) {
      const n = parseDigits(mf, 3);
      if (n < 0 || n > 255) fail(new SipParseError(400, 'Bad Max-Forwards'));
    }
    return new SipRequest(sl.method, sl.uri!, headers, body);
  }
  return new SipResponse(sl.status, sl.reason, headers, body);
}

function isSipVersion(v: string): boolean {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT ("SIP" is case-insensitive per §25 ABNF string rules)
  return /^SIP\/[0-9]{1,3}\.[0-9]{1,3}$/i.test(v);
}

function parseStartLine(line: string): StartLine {
  if (line.length > 4 && line.slice(0, 4).toUpperCase() === 'SIP/') {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    const sp1 = line.indexOf(' ');
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    if (!isSipVersion(version)) throw new SipParseError(0, 'Bad status line');
    if (version.toUpperCase() !== 'SIP/2.0')
      throw new SipParseError(0, 'Unsupported SIP version in response');
    const codeStr = line.slice(sp1 + 1, sp1 + 4);
    const code = parseDigits(codeStr, 3);
    const after = line.charCodeAt(sp1 + 4);
    if (code < 100 || code > 699 || codeStr.length !== 3 || !(Number.isNaN(after) || after === 32)) {
      throw new SipParseError(0, 'Bad status code');
    }
    return { kind: 'response', method: '', status: code, reason: line.slice(sp1 + 5) };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 === sp1) throw new SipParseError(0, 'Bad start line');
  const method = line.slice(0, sp1);
  if (!isToken(method)) throw new SipParseError(0, 'Bad request method');
  const sl: StartLine = { kind: 'request', method, status: 0, reason: '' };
  const version = line.slice(sp2 + 1);
  if (!isSipVersion(version)) {
    sl.error = new SipParseError(400, 'Bad SIP version in request line');
  } else if (version.toUpperCase() !== 'SIP/2.0') {
    // §8.2.1 / §21.5.6: 505 Version Not Supported
    sl.error = new SipParseError(505, 'Version Not Supported');
  }
  const uriText = line.slice(sp1 + 1, sp2);
  try {
    sl.uri = SipUri.parse(uriText);
    // §19.1.1 (table 1): header components are not allowed in a Request-URI
    if (sl.uri.headers.size > 0) sl.error ??= new SipParseError(400, 'Bad Request-URI: headers not allowed');
  } catch (e) {
    sl.uri = new SipUri('sip', 'invalid');
    if (sl.error === undefined) {
      if (e instanceof SipParseError && e.status === 416) sl.error = e;
      else {
        sl.error = new SipParseError(
          400,
          `Bad Request-URI${e instanceof SipParseError ? ': ' + e.reason : ''}`,
        );
      }
    }
  }
  return sl;
}

/**
 * A request good enough to answer (§18.2.2: the response is routed by the top Via; §8.2.6: the other echoed
 * headers are copied when readable), or undefined when the top Via cannot be read.
 */
function buildPartial(sl: StartLine, headers: Headers): SipRequest | undefined {
  try {
    return answerablePartial(new SipRequest(sl.method, sl.uri ?? new SipUri('sip', 'invalid'), headers));
  } catch {
    return undefined;
  }
}
