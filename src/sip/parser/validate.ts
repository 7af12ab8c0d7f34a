/**
 * Full sanity checks of a parsed (or constructed) message: RFC 3261 §8.2 (UAS) and §16.3 (proxy request validation).
 * Throws SipParseError with a reason phrase that says what is wrong; for requests, `partial` is set when the
 * message is still answerable (Via, From, To, Call-ID, CSeq sane).
 */
import { SipParseError } from '../errors';
import { isToken, parseDigits } from '../message/grammar';
import type { SipMessage, SipRequest, SipResponse } from '../message/sip-message';
import { answerablePartial } from './malformed';

function checkCommon(msg: SipMessage): void {
  // §8.1.1 mandatory headers; the getters parse and throw "Missing X header" / "Bad X header"
  if (msg.vias.length === 0) throw new SipParseError(400, 'Missing Via header');
  void msg.from;
  void msg.to;
  void msg.callId;
  void msg.cseq;
}

function checkRest(msg: SipMessage): void {
  // §20.14: Content-Length, when present, MUST equal the body length (datagrams; streams are framed by it)
  const cl = msg.rawHeaders.get('Content-Length');
  if (cl !== undefined) {
    const n = parseDigits(cl.trim(), 10);
    if (n < 0) throw new SipParseError(400, 'Bad Content-Length');
    if (n !== msg.body.length) throw new SipParseError(400, 'Content-Length mismatch');
  }
  // §20.15: Content-Type MUST be present if the body is not empty
  if (msg.body.length > 0 && msg.rawHeaders.get('Content-Type') === undefined) {
    throw new SipParseError(400, 'Missing Content-Type header');
  }
  if (msg.rawHeaders.has('Contact') && !msg.isContactStar) void msg.contact;
  const exp = msg.rawHeaders.get('Expires');
  if (exp !== undefined && parseDigits(exp.trim(), 10) < 0)
    throw new SipParseError(400, 'Bad Expires header');
}

export function validateRequest(req: SipRequest): void {
  try {
    checkCommon(req);
  } catch (e) {
    // §8.2: still answerable when the top Via can be read; the broken header is left out of the echo
    const err = asParseError(e);
    const partial = err.status === 0 ? undefined : answerablePartial(req);
    if (partial !== undefined) err.partial = partial;
    throw err;
  }
  try {
    if (!isToken(req.method)) throw new SipParseError(400, 'Bad request method');
    // §8.2 / §16.3: CSeq method MUST match the request method
    if (req.cseq.method !== req.method)
      throw new SipParseError(400, 'CSeq method does not match request method');
    void req.maxForwards; // §16.3 step 3: Max-Forwards, when present, must be 0-255
    if (req.isContactStar && req.method !== 'REGISTER') throw new SipParseError(400, 'Bad Contact header');
    checkRest(req);
  } catch (e) {
    const err = asParseError(e);
    err.partial = req;
    throw err;
  }
}

export function validateResponse(res: SipResponse): void {
  try {
    if (!Number.isInteger(res.status) || res.status < 100 || res.status > 699) {
      throw new SipParseError(0, 'Bad status code');
    }
    checkCommon(res);
    checkRest(res);
  } catch (e) {
    throw asParseError(e);
  }
}

function asParseError(e: unknown): SipParseError {
  if (e instanceof SipParseError) return e;
  return new SipParseError(400, e instanceof Error ? e.message : String(e));
}
