import { createResponse } from '../message/response-factory';
import type { SipRequest, SipResponse } from '../message/sip-message';
import type { Target } from '../transport/transport';
import { ServerTransaction, type TransactionContext } from './transaction';
import { TransactionState } from './transaction-state';
import { timeout64, timerIK } from './timers';

/**
 * INVITE server transaction: RFC 3261 §17.2.1 with RFC 6026 §7.1 (Accepted state, Timer L).
 *
 *   Proceeding --2xx from TU--> Accepted --Timer L--> Terminated
 *   Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated
 *   Completed --Timer H (no ACK)--> Terminated (TU informed)
 */
export class InviteServerTransaction extends ServerTransaction {
  private timerGInterval: number;
  /** the To tag our responses carry (the 100 Trying carries none, §8.2.6.2) */
  toTag?: string;

  constructor(ctx: TransactionContext, request: SipRequest, target: Target, key: string) {
    super(ctx, request, key, target, TransactionState.Proceeding);
    this.timerGInterval = ctx.timers.T1;
  }

  /**
   * §17.2.1: "the server transaction MUST generate a 100 (Trying) response unless it knows that the TU will
   * generate a provisional or final response within 200 ms". With `delayMs` > 0 we wait that long (< 200 ms)
   * for the TU and only send the 100 if it stayed silent.
   */
  start(delayMs: number): void {
    if (delayMs <= 0) this.sendTrying();
    else this.startTimer('Trying', delayMs, () => this.sendTrying());
  }

  private sendTrying(): void {
    if (this.state !== TransactionState.Proceeding || this.lastResponse) return;
    this.sendResponse(createResponse(this.request, 100));
  }

  get isFinal(): boolean {
    return this.state !== TransactionState.Proceeding;
  }

  receiveRequest(_req?: SipRequest): void {
    const s = this.state;
    // "If a request retransmission is received while in the Proceeding state, the most recent provisional
    // response that was received from the TU MUST be passed to the transport layer for retransmission."
    // Completed: "the server MUST pass the response to the transport for retransmission".
    // Accepted (RFC 6026 §8.5): retransmissions are absorbed, the TU retransmits the 2xx itself.
    if (s === TransactionState.Proceeding || s === TransactionState.Completed) this.resend();
  }

  /** An ACK matched this transaction: the ACK for a non-2xx final response (§17.2.1). Returns true if new. */
  receiveAck(): boolean {
    if (this.state !== TransactionState.Completed) return false;
    // "If an ACK is received while the server transaction is in the Completed state, the server transaction
    // MUST transition to the Confirmed state." Timer I = T4 (unreliable) / 0 (reliable).
    this.stopTimer('G');
    this.stopTimer('H');
    this.state = TransactionState.Confirmed;
    this.startTimer('I', timerIK(this.ctx.timers, this.reliable), () => this.terminate());
    return true;
  }

  respond(res: SipResponse): void {
    const s = this.state;
    const status = res.status;
    if (s === TransactionState.Accepted) {
      // RFC 6026 §8.6: 2xx retransmissions from the TU go to the transport
      if (status >= 200 && status < 300) this.sendResponse(res);
      return;
    }
    if (s !== TransactionState.Proceeding) {
      this.ctx.logger.warn(
        { status, state: s, key: this.key },
        'INVITE server transaction: response after final',
      );
      return;
    }
    this.stopTimer('Trying');
    this.sendResponse(res);
    if (status < 200) return;
    if (status < 300) {
      // RFC 6026 §8.5: 2xx → Accepted, Timer L = 64*T1
      this.state = TransactionState.Accepted;
      this.startTimer('L', timeout64(this.ctx.timers), () => this.terminate());
      return;
    }
    // §17.2.1: 300-699 → Completed; Timer G (unreliable only) = T1, Timer H = 64*T1
    this.state = TransactionState.Completed;
    if (!this.reliable) this.startTimer('G', this.timerGInterval, () => this.onTimerG());
    this.startTimer('H', timeout64(this.ctx.timers), () => this.onTimerH());
  }

  private onTimerG(): void {
    if (this.state !== TransactionState.Completed) return;
    // "the response is passed to the transport layer once more for retransmission, and timer G is set to fire
    // in MIN(2*T1, T2) seconds" (doubling up to T2)
    this.resend();
    this.timerGInterval = Math.min(this.timerGInterval * 2, this.ctx.timers.T2);
    this.startTimer('G', this.timerGInterval, () => this.onTimerG());
  }

  private onTimerH(): void {
    if (this.state !== TransactionState.Completed) return;
    // "If timer H fires while in the Completed state, it implies that the ACK was never received. In this case,
    // the server transaction MUST transition to the Terminated state, and MUST indicate to the TU that a
    // transaction failure has occurred."
    this.terminate();
    this.user?.onAckTimeout?.(this);
  }
}
