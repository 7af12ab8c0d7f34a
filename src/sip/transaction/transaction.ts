import type { SipRequest, SipResponse } from '../message/sip-message';
import type { SendCallback, SipLogger, Target } from '../transport/transport';
import { isReliable } from '../transport/transport';
import type { Clock, TimerHandle } from './clock';
import type { TimerConfig } from './timers';
import { TransactionState } from './transaction-state';

/** What a transaction needs from its surroundings (the TransactionLayer provides it; tests provide fakes). */
export interface TransactionContext {
  clock: Clock;
  timers: TimerConfig;
  logger: SipLogger;
  send(data: Buffer, target: Target, cb?: SendCallback): void;
  /** called exactly once when a transaction reaches Terminated (the layer forgets it) */
  onTerminated(tx: Transaction): void;
}

/** The transaction user (TU) of a client transaction (§17.1). */
export interface ClientTransactionUser {
  receiveResponse(res: SipResponse, tx: ClientTransaction): void;
  /** Timer B / Timer F fired: the TU treats it as a 408 (§8.1.3.1) */
  onRequestTimeout?(tx: ClientTransaction): void;
  /** §17.1.4: a transport failure is reported to the TU and the transaction terminates */
  onTransportError?(tx: ClientTransaction, err: Error): void;
}

/** The TU of a server transaction. */
export interface ServerTransactionUser {
  /** INVITE server transaction: Timer H fired without an ACK for our final non-2xx response (§17.2.1) */
  onAckTimeout?(tx: ServerTransaction): void;
  onTransportError?(tx: ServerTransaction, err: Error): void;
  onTerminated?(tx: ServerTransaction): void;
}

type TimerName = 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M' | 'Trying';

/** Base of the four RFC 3261 §17 state machines: state, timers, sending with transport-error handling. */
export abstract class Transaction {
  state: TransactionState;
  /** true for TCP/TLS/WS: no retransmissions, zero-length wait timers (§17.1.1.2, §17.2.1) */
  readonly reliable: boolean;
  private readonly handles: Partial<Record<TimerName, TimerHandle>> = {};

  protected constructor(
    protected readonly ctx: TransactionContext,
    readonly request: SipRequest,
    /** transaction key in the layer's maps (§17.1.3 / §17.2.3) */
    readonly key: string,
    /** client: where the request goes; server: where responses go (§18.2.2) */
    public target: Target,
    initial: TransactionState,
  ) {
    this.state = initial;
    this.reliable = isReliable(target.protocol);
  }

  get method(): string {
    return this.request.method;
  }

  get terminated(): boolean {
    return this.state === TransactionState.Terminated;
  }

  protected startTimer(name: TimerName, ms: number, fn: () => void): void {
    const prev = this.handles[name];
    if (prev !== undefined) this.ctx.clock.clearTimeout(prev);
    this.handles[name] = this.ctx.clock.setTimeout(() => {
      this.handles[name] = undefined;
      if (this.state === TransactionState.Terminated) return;
      try {
        fn();
      } catch (err) {
        this.ctx.logger.error({ err, timer: name, key: this.key }, 'transaction timer threw');
      }
    }, ms);
  }

  protected stopTimer(name: TimerName): void {
    const h = this.handles[name];
    if (h !== undefined) {
      this.ctx.clock.clearTimeout(h);
      this.handles[name] = undefined;
    }
  }

  protected sendBuffer(buf: Buffer): void {
    this.ctx.send(buf, this.target, (err) => {
      if (err && this.state !== TransactionState.Terminated) this.onTransportError(err);
    });
  }

  protected abstract onTransportError(err: Error): void;

  /** Moves to Terminated, clears all timers and tells the layer (idempotent). */
  terminate(): void {
    if (this.state === TransactionState.Terminated) return;
    this.state = TransactionState.Terminated;
    for (const k of Object.keys(this.handles) as TimerName[]) this.stopTimer(k);
    this.ctx.onTerminated(this);
  }
}

export abstract class ClientTransaction extends Transaction {
  abstract receiveResponse(res: SipResponse): void;
}

export abstract class ServerTransaction extends Transaction {
  /** the last response sent, serialized once for retransmissions */
  protected lastResponse?: SipResponse;
  protected lastResponseBuf?: Buffer;
  user?: ServerTransactionUser;

  get response(): SipResponse | undefined {
    return this.lastResponse;
  }

  /** a retransmission of the request arrived (§17.2.1 / §17.2.2) */
  abstract receiveRequest(req: SipRequest): void;
  /** the TU sends a response through the transaction */
  abstract respond(res: SipResponse): void;

  protected sendResponse(res: SipResponse): void {
    this.lastResponse = res;
    this.lastResponseBuf = res.toBuffer();
    this.sendBuffer(this.lastResponseBuf);
  }

  protected resend(): void {
    if (this.lastResponseBuf) this.sendBuffer(this.lastResponseBuf);
  }

  protected onTransportError(err: Error): void {
    // §17.2.4: on a transport failure the server transaction informs the TU and terminates
    // (after the §18.2.2 fallbacks the transport layer already tried)
    this.ctx.logger.debug({ err, key: this.key }, 'server transaction transport error');
    this.user?.onTransportError?.(this, err);
    this.terminate();
  }

  override terminate(): void {
    if (this.terminated) return;
    super.terminate();
    this.user?.onTerminated?.(this);
  }
}
