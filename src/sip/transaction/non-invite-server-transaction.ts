import type { SipRequest, SipResponse } from '../message/sip-message';
import type { Target } from '../transport/transport';
import { ServerTransaction, type TransactionContext } from './transaction';
import { TransactionState } from './transaction-state';
import { timeout64 } from './timers';

/**
 * Non-INVITE server transaction, RFC 3261 §17.2.2.
 *
 *   Trying --1xx--> Proceeding --200-699--> Completed --Timer J--> Terminated
 */
export class NonInviteServerTransaction extends ServerTransaction {
  constructor(ctx: TransactionContext, request: SipRequest, target: Target, key: string) {
    super(ctx, request, key, target, TransactionState.Trying);
  }

  get isFinal(): boolean {
    return this.state === TransactionState.Completed || this.state === TransactionState.Terminated;
  }

  receiveRequest(_req?: SipRequest): void {
    // Trying: "any further request retransmissions are discarded"; Proceeding: resend the last provisional;
    // Completed: "the server transaction MUST pass the final response to the transport layer for retransmission"
    if (this.state === TransactionState.Proceeding || this.state === TransactionState.Completed)
      this.resend();
  }

  respond(res: SipResponse): void {
    const s = this.state;
    if (s !== TransactionState.Trying && s !== TransactionState.Proceeding) {
      this.ctx.logger.warn(
        { status: res.status, state: s, key: this.key },
        'server transaction: response after final',
      );
      return;
    }
    this.sendResponse(res);
    if (res.status < 200) {
      this.state = TransactionState.Proceeding;
      return;
    }
    // "the server transaction MUST enter the Completed state, and it MUST set Timer J to fire in 64*T1 seconds
    // for unreliable transports, and zero seconds for reliable transports"
    this.state = TransactionState.Completed;
    this.startTimer('J', this.reliable ? 0 : timeout64(this.ctx.timers), () => this.terminate());
  }
}
