/**
 * An SDP offer/answer failure that carries the SIP status the focus must answer with:
 * 400 for SDP that cannot be parsed, 488 (Not Acceptable Here) when nothing offered can be served
 * (RFC 3261 §21.4.26), 406/500 are never produced here.
 */
export class SdpNegotiationError extends Error {
  constructor(
    readonly status: 400 | 488,
    readonly reason: string,
  ) {
    super(`${status} ${reason}`);
    this.name = 'SdpNegotiationError';
  }

  /** SIP reason phrase to put in the final response. */
  get reasonPhrase(): string {
    return this.status === 400 ? 'Bad Request' : 'Not Acceptable Here';
  }
}
