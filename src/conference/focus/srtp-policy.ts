import { AppError } from '../../errors/app-error';
import { acceptedMedia, type NegotiatedSession } from '../../media/sdp';

/**
 * SEC_SRTP_REQUIRED: the room requires SRTP (`security.requireSrtp`, `conference.rooms[].requireSrtp`) and the
 * phone's offer would make a media stream in the clear. The focus answers it with `488 Not Acceptable Here`
 * (RFC 3261 §21.4.26) and this `sipWarning` (§20.43: code 302 "Incompatible transport protocol", since it is the
 * m-line's transport protocol, RTP/AVP, that we cannot accept); a re-INVITE with such an offer gets 488 too.
 */
export class SrtpRequiredError extends AppError {
  readonly sipWarning: string;

  constructor(why: string) {
    super('SEC_SRTP_REQUIRED', why);
    this.name = 'SrtpRequiredError';
    this.sipWarning = `302 parley "SRTP required: ${why.replace(/"/g, "'")}"`;
  }
}

/**
 * Throws SrtpRequiredError unless every stream we would serve is encrypted: SDES-SRTP (RTP/SAVP with a=crypto,
 * RFC 4568) or DTLS-SRTP (RFC 5763: browsers, SIP over WebSocket). Run on the negotiation before any leg, port or
 * transport is built, so a refused call costs nothing.
 */
export function assertSrtp(neg: NegotiatedSession): void {
  const clear = acceptedMedia(neg).filter((m) => !m.transportOptions.enableSrtp && !m.webRtc);
  if (clear.length > 0)
    throw new SrtpRequiredError(
      `${clear.map((m) => `${m.kind} ${m.proto}`).join(', ')} has no SRTP (offer RTP/SAVP with a=crypto)`,
    );
}
