/**
 * What the transports do with a message that failed to parse or validate.
 *
 * RFC 3261 §8.2 / §21.4.1: a UAS answers a malformed request with 400 and a reason phrase that says what is wrong,
 * whenever a response can be formed at all. §18.2.2: a response can only be routed through the top Via, so the
 * request line and the top Via are what "can be formed" needs; §8.2.6 asks the response to copy Via, From, To,
 * Call-ID and CSeq, which we do for each of them that is present and readable (an unreadable one is left out
 * rather than echoed broken: the reply must parse even where the request did not). Responses are never answered
 * (§18.1.2: there is nobody to answer), nor ACKs (§17.1.1.3: no response to an ACK), nor anything whose top Via
 * cannot be read: those are dropped and counted.
 */
import { SipParseError } from '../errors';
import { Headers } from '../message/headers';
import { NameAddr } from '../message/name-addr';
import { createResponse } from '../message/response-factory';
import { parseCSeq, SipRequest, type SipResponse } from '../message/sip-message';
import { Via } from '../message/via';
import { stripBrackets } from '../transport/transport';

/**
 * A copy of `req` whose headers are only the ones a response echoes (§8.2.6.2: all Via, From, To, Call-ID, CSeq),
 * each kept only if it parses; undefined when the top Via cannot be read (nowhere to send a response, §18.2.2).
 */
export function answerablePartial(req: SipRequest): SipRequest | undefined {
  const src = req.rawHeaders;
  const h = new Headers();
  const vias = src.getAll('Via');
  for (let i = 0; i < vias.length; i++) {
    const v = vias[i]!;
    try {
      if (!echoable(v) || Via.parse(v).length === 0) throw new SipParseError(400, 'Bad Via header');
      h._push('Via', v);
    } catch {
      // the top Via is where the response goes: without it nothing can be answered
      if (i === 0) return undefined;
      // a lower one is someone else's business; the response still routes by the top one
    }
  }
  if (vias.length === 0) return undefined;
  for (const name of ['From', 'To'] as const) {
    const v = src.get(name);
    if (v === undefined || !echoable(v)) continue;
    try {
      NameAddr.parse(v);
      h._push(name, v);
    } catch {
      // unreadable: left out rather than echoed broken
    }
  }
  const callId = src.get('Call-ID')?.trim();
  if (callId !== undefined && callId.length > 0 && echoable(callId)) h._push('Call-ID', callId);
  const cseq = src.get('CSeq');
  if (cseq !== undefined && echoable(cseq)) {
    try {
      parseCSeq(cseq);
      h._push('CSeq', cseq.trim());
    } catch {
      // left out, like From/To
    }
  }
  return new SipRequest(req.method, req.uri, h);
}

/** A value we may copy into a header line: a lone CR (or NUL) would make our own reply malformed. */
function echoable(v: string): boolean {
  return !/[\r\n\0]/.test(v);
}

/** What to do with a malformed message. */
export type MalformedOutcome =
  { action: 'answer'; request: SipRequest; status: number; reason: string } | { action: 'drop'; why: string };

/**
 * Decides from the error thrown by the parser or validator (or anything else thrown while reading a message)
 * whether a response can be formed. The reason phrase is made safe for a status line (printable ASCII, ≤ 120).
 */
export function classifyMalformed(err: unknown): MalformedOutcome {
  if (!(err instanceof SipParseError)) return { action: 'drop', why: 'not a parse error' };
  if (err.status === 0) return { action: 'drop', why: err.reason ?? err.message };
  const partial = err.partial;
  if (partial === undefined) return { action: 'drop', why: `no readable Via: ${err.reason ?? err.message}` };
  if (partial.method === 'ACK') return { action: 'drop', why: 'ACK is never answered' };
  const request = answerablePartial(partial);
  if (request === undefined) return { action: 'drop', why: `no readable Via: ${err.reason ?? err.message}` };
  const status = err.status >= 400 && err.status <= 699 ? err.status : 400;
  return { action: 'answer', request, status, reason: safeReason(err.reason ?? err.message) };
}

/** The response for an 'answer' outcome, built after the caller stamped `received`/`rport` on its Via. */
export function malformedResponse(outcome: {
  request: SipRequest;
  status: number;
  reason: string;
}): SipResponse {
  return createResponse(outcome.request, outcome.status, outcome.reason);
}

/**
 * §18.2.1: `received` when the top Via's sent-by host differs from the packet's source; RFC 3581 §4: a valueless
 * `rport` is filled with the source port (and `received` always added). The same rule as the transport layer's
 * `stampReceived`, for the answers the transports form themselves (a stream whose framing broke).
 */
export function stampSource(req: SipRequest, source: { address: string; port: number }): void {
  const via = req.vias[0];
  if (via === undefined) return;
  if (via.rport === null) {
    via.rport = source.port;
    via.received = source.address;
  } else if (stripBrackets(via.host) !== source.address) {
    via.received = source.address;
  }
}

/** Reason-Phrase (§25.1) from arbitrary text: printable ASCII only, one line, at most 120 characters. */
export function safeReason(text: string): string {
  const r = text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, 120);
  return r.length > 0 ? r : 'Bad Request';
}
