import { Headers } from '../message/headers';
import { SipRequest, type SipResponse } from '../message/sip-message';
import type { Target } from '../transport/transport';
import { ClientTransaction, type ClientTransactionUser, type TransactionContext } from './transaction';
import { TransactionState } from './transaction-state';
import { timeout64, timerD } from './timers';

/**
 * INVITE client transaction: RFC 3261 §17.1.1 with the RFC 6026 §7.2 'Accepted' state.
 *
 *   Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
 *   Calling/Proceeding --300-699 (send ACK)--> Completed --Timer D--> Terminated
 *   Calling --Timer B / transport error--> Terminated (TU informed)
 */
export class InviteClientTransaction extends ClientTransaction {
  private readonly requestBuf: Buffer;
  private ackBuf?: Buffer;
  private timerAInterval: number;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    target: Target,
    key: string,
    private readonly user: ClientTransactionUser,
  ) {
    super(ctx, request, key, target, TransactionState.Calling);
    this.requestBuf = request.toBuffer();
    this.timerAInterval = ctx.timers.T1;
  }

  /** Sends the INVITE and starts Timers A and B (§17.1.1.2). */
  start(): void {
    this.sendBuffer(this.requestBuf);
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start timer A with a value of T1"
    if (!this.reliable) this.startTimer('A', this.timerAInterval, () => this.onTimerA());
    // "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds"
    this.startTimer('B', timeout64(this.ctx.timers), () => this.onTimerB());
  }

  private onTimerA(): void {
    if (this.state !== TransactionState.Calling) return;
    // "the client transaction MUST retransmit the request ... and reset the timer with a value of 2*T1"
    this.sendBuffer(this.requestBuf);
    this.timerAInterval *= 2;
    this.startTimer('A', this.timerAInterval, () => this.onTimerA());
  }

  private onTimerB(): void {
    if (this.state !== TransactionState.Calling) return;
    // "If the client transaction is still in the Calling state when timer B fires, the client transaction
    // SHOULD inform the TU that a timeout has occurred."
    this.terminate();
    this.user.onRequestTimeout?.(this);
  }

  receiveResponse(res: SipResponse): void {
    const s = this.state;
    const status = res.status;
    if (s === TransactionState.Calling || s === TransactionState.Proceeding) {
      this.stopTimer('A');
      if (status < 200) {
        this.state = TransactionState.Proceeding;
        // the INVITE now waits for a final response for as long as the TU wants: Timer B no longer applies
        this.stopTimer('B');
        this.user.receiveResponse(res, this);
      } else if (status < 300) {
        // RFC 6026 §8.4: a 2xx moves the transaction to Accepted and starts Timer M
        this.stopTimer('B');
        this.state = TransactionState.Accepted;
        this.startTimer('M', timeout64(this.ctx.timers), () => this.terminate());
        this.user.receiveResponse(res, this);
      } else {
        // §17.1.1.2: 300-699 → Completed; "MUST generate an ACK request" and pass the response to the TU
        this.stopTimer('B');
        this.state = TransactionState.Completed;
        this.ackBuf = buildNon2xxAck(this.request, res).toBuffer();
        this.sendBuffer(this.ackBuf);
        this.startTimer('D', timerD(this.reliable), () => this.terminate());
        this.user.receiveResponse(res, this);
      }
    } else if (s === TransactionState.Accepted) {
      // RFC 6026 §8.4: retransmitted 2xx (or 2xx from other forks) are passed to the TU
      if (status >= 200 && status < 300) this.user.receiveResponse(res, this);
    } else if (s === TransactionState.Completed) {
      // "Any retransmissions of the final response that are received while in the Completed state MUST cause
      // the ACK to be re-passed to the transport layer for retransmission, but the newly received response
      // MUST NOT be passed up to the TU."
      if (status >= 300 && this.ackBuf) this.sendBuffer(this.ackBuf);
    }
  }

  protected onTransportError(err: Error): void {
    // §17.1.4 / §8.1.3.1
    if (this.state === TransactionState.Calling || this.state === TransactionState.Proceeding) {
      this.terminate();
      this.user.onTransportError?.(this, err);
    }
  }
}

/**
 * §17.1.1.3: the ACK for a non-2xx final response: Request-URI, Call-ID, From, CSeq number and the top Via of
 * the INVITE, the To of the response, the INVITE's Route headers; CSeq method ACK.
 */
export function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const h = new Headers();
  h.set('Via', invite.headers.getAll('Via').length ? invite.topVia.toString() : '');
  for (const r of invite.headers.getAll('Route')) h.append('Route', r);
  h.set('Max-Forwards', '70');
  h.set('From', invite.headers.get('From') ?? '');
  h.set('To', res.headers.get('To') ?? '');
  h.set('Call-ID', invite.callId);
  h.set('CSeq', `${invite.cseq.seq} ACK`);
  return new SipRequest('ACK', invite.uri, h);
}
