/** Building responses from requests (RFC 3261 §8.2.6). */
import { Headers } from './headers';
import { newTag } from './ids';
import type { SipRequest } from './sip-message';
import { SipResponse } from './sip-message';

export interface CreateResponseOptions {
  /** To tag to add when the status is > 100 and the request's To has none (default: a random tag, §8.2.6.2) */
  toTag?: string;
  body?: Buffer;
  contentType?: string;
  /** extra headers (appended, after the copied ones) */
  headers?: Record<string, string | string[]>;
  /** copy Record-Route (§12.1.1: for 1xx/2xx responses to dialog-forming requests); default false */
  recordRoute?: boolean;
}

/**
 * RFC 3261 §8.2.6: copies Via (all, in order), From, To, Call-ID, CSeq (and Record-Route when asked);
 * adds a To tag when status > 100 and To has none (using opts.toTag or a random one).
 * §8.2.6.1: a 100 (Trying) copies the Timestamp header.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  opts: CreateResponseOptions = {},
): SipResponse {
  const src = req.headers; // flushes any mutated Via/From/To (e.g. received/rport set by the transport)
  const h = new Headers();
  // §8.2.6.2: "The Via header field values in the response MUST equal the Via header field values in the request
  // and MUST maintain the same ordering."
  for (const v of src.getAll('Via')) h._push('Via', v);
  const from = src.get('From');
  if (from !== undefined) h._push('From', from);
  const to = src.get('To');
  if (to !== undefined) h._push('To', to);
  const callId = src.get('Call-ID');
  if (callId !== undefined) h._push('Call-ID', callId);
  const cseq = src.get('CSeq');
  if (cseq !== undefined) h._push('CSeq', cseq);
  if (opts.recordRoute === true && status > 100 && status < 300) {
    for (const rr of src.getAll('Record-Route')) h._push('Record-Route', rr);
  }
  if (status === 100) {
    const ts = src.get('Timestamp');
    if (ts !== undefined) h._push('Timestamp', ts);
  }
  if (opts.headers !== undefined) {
    for (const [name, value] of Object.entries(opts.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) h.append(name, v);
    }
  }
  if (opts.contentType !== undefined) h.set('Content-Type', opts.contentType);
  const res = new SipResponse(status, reason, h, opts.body);
  // §8.2.6.2: the UAS MUST add a tag to the To header field in the response if the request had none (except 100)
  if (status > 100 && to !== undefined && res.to.tag === undefined) res.to.tag = opts.toTag ?? newTag();
  return res;
}
