import type { SipRequest } from './message/sip-message';

/**
 * Errors shared by the SIP layers. Every error carries the SIP status that answers it (RFC 3261 §21),
 * so a layer that catches one can build the response without a lookup table.
 */
export class SipError extends Error {
  constructor(
    public status: number,
    public reason?: string,
    public headers?: Record<string, string | string[]>,
  ) {
    super(reason ?? `SIP error ${status}`);
    this.name = 'SipError';
  }
}

/**
 * Thrown by the message parser and the message model on malformed input.
 * status: 400 normally, 505 unknown SIP version, 413 too large, 416 unsupported URI scheme,
 * 0 when nothing can be answered (garbage, a broken response).
 * The reason phrase says what is wrong ("Missing Call-ID header", "Bad CSeq", ...).
 * `partial` is set when enough of a REQUEST was read to build a response (Via, From, To, Call-ID, CSeq sane).
 * Re-exported by src/sip/parser/message-parser.ts (the contract's import path).
 */
export class SipParseError extends SipError {
  partial?: SipRequest;
  constructor(status: number, reason: string, partial?: SipRequest) {
    super(status, reason);
    this.name = 'SipParseError';
    if (partial !== undefined) this.partial = partial;
  }
}
