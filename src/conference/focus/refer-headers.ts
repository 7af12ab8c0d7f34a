/**
 * The headers of call transfer and REFER call control, read and written the same way everywhere: Refer-To
 * (RFC 3515 §2.1), Referred-By (RFC 3892), Refer-Sub (RFC 4488) and the message/sipfrag body of the NOTIFYs that
 * report a REFER's progress (RFC 3515 §2.4.5).
 */
import { SipParseError } from '../../sip/errors';
import { NameAddr } from '../../sip/message/name-addr';
import type { SipRequest } from '../../sip/message/sip-message';
import type { SipUri } from '../../sip/message/uri';

/** What a REFER asks for. */
export interface ReferTarget {
  /** The Refer-To URI without its `method` parameter and embedded headers (what would be dialled). */
  uri: SipUri;
  /** The method the referee is asked to send to `uri` (RFC 3515 §2.2; `method=BYE`: RFC 4579 §5.6). */
  method: string;
  /** The Refer-To as received, for logs and audit. */
  text: string;
}

/**
 * Reads the one Refer-To of a REFER. RFC 3515 §2.4.1: "A REFER request MUST contain exactly one Refer-To header
 * field value. If more than one Refer-To header field value is present, the recipient MUST respond with a 400".
 * Throws SipParseError(400) naming the problem.
 */
export function parseReferTo(req: SipRequest): ReferTarget {
  const values = req.headers.getList('Refer-To');
  if (values.length === 0) throw new SipParseError(400, 'Missing Refer-To header');
  if (values.length > 1) throw new SipParseError(400, 'More than one Refer-To header');
  const text = values[0]!;
  let na: NameAddr;
  try {
    na = NameAddr.parse(text);
  } catch {
    throw new SipParseError(400, 'Bad Refer-To header');
  }
  if (na.uri.scheme === 'tel') throw new SipParseError(400, 'Refer-To must be a SIP URI');
  const uri = na.uri.clone();
  // RFC 4579 §5.6 writes `<sip:u@h;method=BYE>`; an addr-spec without brackets makes it a header parameter (§20.10).
  const method = (uri.params.get('method') ?? na.params.get('method') ?? 'INVITE').toUpperCase();
  uri.params.delete('method');
  uri.headers.clear();
  return { uri, method, text };
}

/**
 * The referrer named by an INVITE's Referred-By (RFC 3892 §3: `Referred-By: <sip:referrer@host>;cid=...`), as its
 * URI; undefined when the INVITE has none. Throws SipParseError(400) when it is not an address.
 */
export function parseReferredBy(req: SipRequest): string | undefined {
  const value = req.headers.get('Referred-By');
  if (value === undefined) return undefined;
  try {
    return NameAddr.parse(value).uri.toString();
  } catch {
    throw new SipParseError(400, 'Bad Referred-By header');
  }
}

/** RFC 4488 §4: `Refer-Sub: false` asks for no implicit subscription (no NOTIFY at all). */
export function wantsReferSubscription(req: SipRequest): boolean {
  return req.headers.get('Refer-Sub')?.trim().toLowerCase() !== 'false';
}

/** A message/sipfrag body holding just a status line (RFC 3515 §2.4.5, RFC 3420). */
export function sipfrag(status: number, reason: string): string {
  return `SIP/2.0 ${status} ${reason}\r\n`;
}

/** The status line of a sipfrag body (tests, and a referee's NOTIFY we receive): undefined if none. */
export function sipfragStatus(body: string): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})\b/.exec(body.trimStart());
  return m ? Number(m[1]) : undefined;
}
