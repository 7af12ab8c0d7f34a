/**
 * Frames SIP messages on a byte stream (TCP/TLS/WS-less streams): RFC 3261 §18.3 — the Content-Length header
 * MUST be used on stream transports; RFC 5626 §3.5.1 — a "\r\n\r\n" ping is answered by the transport with "\r\n"
 * (a lone "\r\n" pong is skipped).
 */
import { SipParseError } from '../errors';
import { parseDigits } from '../message/grammar';
import type { ParserLimits } from './message-parser';
import { DEFAULT_LIMITS } from './message-parser';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The stream can no longer be framed (§18.3). Carries what the transport still needs: the messages framed before
 * the break (to deliver them), the keep-alive pings seen, and, when the header block of the offending message was
 * complete, that block, so that a 400 can be formed from its Via before the connection is closed.
 */
export class StreamFramingError extends SipParseError {
  constructor(
    status: number,
    reason: string,
    readonly framed: Buffer[],
    readonly pings: number,
    readonly head?: Buffer,
  ) {
    super(status, reason);
    this.name = 'StreamFramingError';
  }
}

export class StreamFramer {
  private readonly limits: ParserLimits;
  private buf: Buffer = Buffer.alloc(0);
  /** where to resume the search for the end of the header block */
  private scanFrom = 0;

  constructor(limits?: Partial<ParserLimits>) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** bytes buffered but not yet emitted */
  get buffered(): number {
    return this.buf.length;
  }

  /**
   * Returns the complete raw messages now available and the number of keep-alive pings seen;
   * throws StreamFramingError when framing is broken (the transport then answers what it can and closes).
   */
  push(chunk: Buffer): { messages: Buffer[]; pings: number } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const messages: Buffer[] = [];
    let pings = 0;
    let off = 0;
    const buf = this.buf;
    for (;;) {
      // keep-alives between messages
      if (buf[off] === 13 || buf[off] === 10) {
        if (
          buf.length - off >= 4 &&
          buf[off] === 13 &&
          buf[off + 1] === 10 &&
          buf[off + 2] === 13 &&
          buf[off + 3] === 10
        ) {
          pings++;
          off += 4;
          this.scanFrom = 0;
          continue;
        }
        if (buf[off] === 13 && buf.length - off < 4 && isCrlfPrefix(buf, off)) break; // maybe half a ping: wait
        if (buf[off] === 13 && buf[off + 1] === 10)
          off += 2; // RFC 5626 pong
        else off += 1; // stray CR or LF (§7.5: ignore CRLF before the start line)
        this.scanFrom = 0;
        continue;
      }
      if (off >= buf.length) break;
      const he = buf.indexOf(CRLFCRLF, off + this.scanFrom);
      if (he < 0) {
        if (buf.length - off > this.limits.maxMessageBytes)
          throw new StreamFramingError(0, 'Message too large', messages, pings);
        this.scanFrom = Math.max(0, buf.length - off - 3);
        break;
      }
      const bodyStart = he + 4;
      const cl = findContentLength(buf, off, he);
      // §18.3: "In the case of stream-oriented transports such as TCP, the Content-Length header field indicates
      // the size of the body. All implementations MUST use [it]": without a readable one, nothing after this
      // header block can be framed; the head is handed over so the request can still be answered 400.
      const head = (): Buffer => Buffer.from(buf.subarray(off, bodyStart));
      if (cl === undefined)
        throw new StreamFramingError(400, 'Missing Content-Length header', messages, pings, head());
      if (cl < 0) throw new StreamFramingError(400, 'Bad Content-Length', messages, pings, head());
      const total = bodyStart - off + cl;
      if (total > this.limits.maxMessageBytes)
        throw new StreamFramingError(413, 'Message too large', messages, pings, head());
      this.scanFrom = he - off; // header end known; avoid rescanning while waiting for the body
      if (buf.length < bodyStart + cl) break;
      messages.push(buf.subarray(off, bodyStart + cl));
      off = bodyStart + cl;
      this.scanFrom = 0;
    }
    this.buf = off >= buf.length ? Buffer.alloc(0) : buf.subarray(off);
    return { messages, pings };
  }
}

function isCrlfPrefix(buf: Buffer, off: number): boolean {
  for (let i = off; i < buf.length; i++) if (buf[i] !== ((i - off) % 2 === 0 ? 13 : 10)) return false;
  return true;
}

/**
 * Finds Content-Length (or compact 'l') in the header block [start, end); returns its value, -1 when malformed,
 * undefined when absent. Header names are case-insensitive (§7.3.1); folded values are not supported here.
 */
function findContentLength(buf: Buffer, start: number, end: number): number | undefined {
  let pos = buf.indexOf(10, start) + 1; // skip the start line
  while (pos > 0 && pos < end) {
    let e = buf.indexOf(10, pos);
    if (e < 0 || e > end) e = end;
    const c = buf[pos]! | 0x20;
    if (c === 0x63 /* c */ || c === 0x6c /* l */) {
      const colon = buf.indexOf(58, pos);
      if (colon > 0 && colon < e) {
        const name = buf.toString('latin1', pos, colon).trim().toLowerCase();
        if (name === 'content-length' || name === 'l') {
          return parseDigits(buf.toString('latin1', colon + 1, e).trim(), 10);
        }
      }
    }
    pos = e + 1;
  }
  return undefined;
}
