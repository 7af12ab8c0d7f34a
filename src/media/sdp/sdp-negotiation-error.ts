import { AppError } from '../../errors/app-error';

/**
 * An SDP offer/answer failure that carries the SIP status the focus must answer with: 400 for SDP that cannot be
 * parsed, 488 Not Acceptable Here when nothing offered can be served (RFC 3261 §21.4.26, RFC 3264 §6: an answerer
 * that rejects every stream should refuse the offer).
 */
export class SdpNegotiationError extends AppError {
  constructor(
    readonly status: 400 | 488,
    readonly reason: string,
  ) {
    super(status === 400 ? 'SDP_MALFORMED' : 'SDP_NOT_ACCEPTABLE', `${status} ${reason}`);
    this.name = 'SdpNegotiationError';
  }

  /** SIP reason phrase for the final response. */
  get reasonPhrase(): string {
    return this.sipReason!;
  }
}
