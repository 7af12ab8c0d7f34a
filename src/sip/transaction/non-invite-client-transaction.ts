import type { SipRequest, SipResponse } from '../message/sip-message';
import type { Target } from '../transport/transport';
import { ClientTransaction, type ClientTransactionUser, type TransactionContext } from './transaction';
import { TransactionState } from './transaction-state';
import { timeout64, timerIK } from './timers';

/**
 * Non-INVITE client transaction, RFC 3261 §17.1.2.
 *
 *   Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
 *   Trying/Proceeding --Timer F / transport error--> Terminated (TU informed)
 */
export class NonInviteClientTransaction extends ClientTransaction {
  private readonly requestBuf: Buffer;
  private timerEInterval: number;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    target: Target,
    key: string,
    private readonly user: ClientTransactionUser,
  ) {
    super(ctx, request, key, target, TransactionState.Trying);
    this.requestBuf = request.toBuffer();
    this.timerEInterval = ctx.timers.T1;
  }

  start(): void {
    this.sendBuffer(this.requestBuf);
    // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
    if (!this.reliable) this.startTimer('E', this.timerEInterval, () => this.onTimerE());
    // "timer F to fire in 64*T1 seconds"
    this.startTimer('F', timeout64(this.ctx.timers), () => this.onTimerF());
  }

  private onTimerE(): void {
    const s = this.state;
    if (s === TransactionState.Trying) {
      // "the timer is reset, but this time with a value of MIN(2*T1, T2) ... doubles up to T2"
      this.timerEInterval = Math.min(this.timerEInterval * 2, this.ctx.timers.T2);
    } else if (s === TransactionState.Proceeding) {
      // "If Timer E fires while in the Proceeding state, the request MUST be passed to the transport layer for
      // retransmission, and Timer E MUST be reset with a value of T2 seconds."
      this.timerEInterval = this.ctx.timers.T2;
    } else return;
    this.sendBuffer(this.requestBuf);
    this.startTimer('E', this.timerEInterval, () => this.onTimerE());
  }

  private onTimerF(): void {
    if (this.state !== TransactionState.Trying && this.state !== TransactionState.Proceeding) return;
    // "If Timer F fires while the client transaction is still in the Trying/Proceeding state, the client
    // transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the Terminated state."
    this.terminate();
    this.user.onRequestTimeout?.(this);
  }

  receiveResponse(res: SipResponse): void {
    const s = this.state;
    if (s !== TransactionState.Trying && s !== TransactionState.Proceeding) return; // Completed absorbs retransmissions
    if (res.status < 200) {
      this.state = TransactionState.Proceeding;
      this.user.receiveResponse(res, this);
      return;
    }
    // "a final response (status codes 200-699) ... MUST transition to the Completed state"; Timer K = T4 / 0
    this.stopTimer('E');
    this.stopTimer('F');
    this.state = TransactionState.Completed;
    this.startTimer('K', timerIK(this.ctx.timers, this.reliable), () => this.terminate());
    this.user.receiveResponse(res, this);
  }

  protected onTransportError(err: Error): void {
    if (this.state === TransactionState.Trying || this.state === TransactionState.Proceeding) {
      this.terminate();
      this.user.onTransportError?.(this, err);
    }
  }
}
