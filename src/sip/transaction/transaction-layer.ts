import { createResponse } from '../message/response-factory';
import { newBranch } from '../message/ids';
import type { SipRequest, SipResponse } from '../message/sip-message';
import type { Via } from '../message/via';
import type { Flow, SendCallback, SipLogger, Target, TransportProtocol } from '../transport/transport';
import { systemClock, type Clock } from './clock';
import { InviteClientTransaction } from './invite-client-transaction';
import { InviteServerTransaction } from './invite-server-transaction';
import { NonInviteClientTransaction } from './non-invite-client-transaction';
import { NonInviteServerTransaction } from './non-invite-server-transaction';
import { DEFAULT_TIMERS, type TimerConfig } from './timers';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  Transaction,
  TransactionContext,
} from './transaction';

/** RFC 3261 §8.1.1.7: branches of RFC 3261 implementations start with this magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';

/** What the transaction layer needs from the transport layer (TransportLayer implements it; tests fake it). */
export interface TransactionTransport {
  send(data: Buffer, target: Target, cb?: SendCallback): void;
  responseTarget(via: Via, flow: Flow): Target;
  sentBy(protocol: TransportProtocol): string;
}

/** The transaction user above the layer: the user-agent core. */
export interface TransactionLayerUser {
  /** a new request (not a retransmission, not ACK/CANCEL) with the server transaction created for it */
  receiveRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void;
  /** an ACK matching no server transaction: the ACK for a 2xx (§17.1.1.3, goes to the dialog) */
  receiveAck(req: SipRequest, flow: Flow): void;
  /** a CANCEL (§9.2) with its own server transaction and the INVITE transaction it matches, if any */
  receiveCancel(
    req: SipRequest,
    tx: ServerTransaction,
    invite: InviteServerTransaction | undefined,
    flow: Flow,
  ): void;
  /** a response matching no client transaction (e.g. a 2xx retransmitted after Timer M) */
  receiveStrayResponse?(res: SipResponse, flow: Flow): void;
}

export interface TransactionLayerOptions {
  clock?: Clock;
  timers?: Partial<TimerConfig>;
  logger: SipLogger;
  /** wait this long (< 200 ms) for the TU before sending 100 Trying to an INVITE; 0 sends it at once */
  tryingDelayMs?: number;
}

/**
 * The transaction layer (RFC 3261 §17): creates the four kinds of transactions, matches requests and responses
 * to them (§17.1.3, §17.2.3 including the RFC 2543 fallback), detects merged requests (§8.2.2.2) and hands new
 * requests to the user-agent core.
 */
export class TransactionLayer {
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly logger: SipLogger;
  private readonly tryingDelayMs: number;
  private readonly server = new Map<string, ServerTransaction>();
  private readonly client = new Map<string, ClientTransaction>();
  /** §8.2.2.2 merge detection: (Call-ID, From tag, CSeq) of requests without To tag → transaction */
  private readonly merge = new Map<string, ServerTransaction>();
  private readonly mergeKeys = new WeakMap<Transaction, string>();
  private user?: TransactionLayerUser;
  private readonly ctx: TransactionContext;
  private closed = false;

  constructor(
    private readonly transport: TransactionTransport,
    opts: TransactionLayerOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.logger = opts.logger;
    this.tryingDelayMs = opts.tryingDelayMs ?? 100;
    this.ctx = {
      clock: this.clock,
      timers: this.timers,
      logger: this.logger,
      send: (data, target, cb) => this.transport.send(data, target, cb),
      onTerminated: (tx) => this.forget(tx),
    };
  }

  setUser(user: TransactionLayerUser): void {
    this.user = user;
  }

  get serverCount(): number {
    return this.server.size;
  }

  get clientCount(): number {
    return this.client.size;
  }

  /** Finds the INVITE server transaction a CANCEL or ACK refers to (§9.2, §17.2.3). */
  findInviteServerTransaction(req: SipRequest): InviteServerTransaction | undefined {
    const tx = this.server.get(serverKey(req, 'INVITE'));
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  private forget(tx: Transaction): void {
    const map: Map<string, Transaction> = isServer(tx) ? this.server : this.client;
    if (map.get(tx.key) === tx) map.delete(tx.key);
    const mk = this.mergeKeys.get(tx);
    if (mk !== undefined && this.merge.get(mk) === tx) this.merge.delete(mk);
  }

  // ---- from the transport layer ----

  receiveRequest(req: SipRequest, flow: Flow): void {
    if (this.closed || !this.user) return;
    const method = req.method;
    if (method === 'ACK') {
      // §17.2.3: an ACK matches the INVITE server transaction of a non-2xx response
      const invite = this.findInviteServerTransaction(req);
      if (invite && invite.receiveAck()) return;
      if (invite && invite.response && invite.response.status >= 300) return; // retransmitted ACK, absorbed
      this.user.receiveAck(req, flow);
      return;
    }
    const key = serverKey(req, method);
    const existing = this.server.get(key);
    if (existing) {
      existing.receiveRequest(req);
      return;
    }
    const target = this.transport.responseTarget(req.topVia, flow);
    // §8.2.2.2: a request without To tag whose From tag, Call-ID and CSeq match an ongoing transaction but
    // which does not match it was merged (forked and looped back): "SHOULD generate a 482 (Loop Detected)"
    let mergeKey: string | undefined;
    if (req.to.tag === undefined && method !== 'CANCEL') {
      mergeKey = `${req.callId}\u0001${req.from.tag ?? ''}\u0001${req.cseq.seq}\u0001${method}`;
      if (this.merge.has(mergeKey)) {
        const tx = new NonInviteServerTransaction(this.ctx, req, target, key);
        this.server.set(key, tx);
        tx.respond(createResponse(req, 482, 'Loop Detected'));
        return;
      }
    }
    let tx: ServerTransaction;
    if (method === 'INVITE') {
      const itx = new InviteServerTransaction(this.ctx, req, target, key);
      tx = itx;
      this.server.set(key, tx);
      itx.start(this.tryingDelayMs);
    } else {
      tx = new NonInviteServerTransaction(this.ctx, req, target, key);
      this.server.set(key, tx);
    }
    if (mergeKey !== undefined) {
      this.merge.set(mergeKey, tx);
      this.mergeKeys.set(tx, mergeKey);
    }
    if (method === 'CANCEL') this.user.receiveCancel(req, tx, this.findInviteServerTransaction(req), flow);
    else this.user.receiveRequest(req, tx, flow);
  }

  receiveResponse(res: SipResponse, flow: Flow): void {
    if (this.closed) return;
    // §17.1.3: match on the top Via branch and the CSeq method
    const branch = res.topVia.branch;
    const tx = branch !== undefined ? this.client.get(clientKey(branch, res.cseq.method)) : undefined;
    if (tx) tx.receiveResponse(res);
    else this.user?.receiveStrayResponse?.(res, flow);
  }

  // ---- from the TU ----

  /**
   * Sends a request in a new client transaction. Adds our Via (§8.1.1.7: branch with the magic cookie; RFC 3581:
   * rport) unless the request already has one we put there (`keepVia`, e.g. CANCEL reuses the INVITE's branch).
   */
  sendRequest(
    req: SipRequest,
    target: Target,
    user: ClientTransactionUser,
    opts: { branch?: string } = {},
  ): ClientTransaction {
    const branch = opts.branch ?? newBranch();
    req.headers.prepend(
      'Via',
      `SIP/2.0/${target.protocol} ${this.transport.sentBy(target.protocol)};branch=${branch};rport`,
    );
    const key = clientKey(branch, req.method);
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(this.ctx, req, target, key, user)
        : new NonInviteClientTransaction(this.ctx, req, target, key, user);
    this.client.set(key, tx);
    tx.start();
    return tx;
  }

  /** Sends a request outside any transaction: the ACK for a 2xx (§13.2.2.4, §17.1.1.3). Returns its bytes. */
  sendAck(ack: SipRequest, target: Target, cb?: SendCallback): Buffer {
    ack.headers.prepend(
      'Via',
      `SIP/2.0/${target.protocol} ${this.transport.sentBy(target.protocol)};branch=${newBranch()};rport`,
    );
    const buf = ack.toBuffer();
    this.transport.send(buf, target, cb);
    return buf;
  }

  /** Sends bytes without a transaction (2xx retransmissions by the UAS core, §13.3.1.4). */
  sendRaw(buf: Buffer, target: Target, cb?: SendCallback): void {
    this.transport.send(buf, target, cb);
  }

  /** A response sent statelessly (§8.2.7), e.g. for requests we refuse before creating state. */
  replyStateless(req: SipRequest, res: SipResponse, flow: Flow): void {
    this.transport.send(res.toBuffer(), this.transport.responseTarget(req.topVia, flow));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of [...this.server.values(), ...this.client.values()]) tx.terminate();
    this.server.clear();
    this.client.clear();
    this.merge.clear();
  }
}

function isServer(tx: Transaction): tx is ServerTransaction {
  return tx instanceof InviteServerTransaction || tx instanceof NonInviteServerTransaction;
}

export function clientKey(branch: string, method: string): string {
  return `${branch}\u0001${method}`;
}

/**
 * §17.2.3: with a magic-cookie branch, the key is branch + sent-by + method (ACK uses INVITE). Otherwise the
 * RFC 2543 rules: Request-URI, From tag, Call-ID, CSeq number, the top Via and the method.
 */
export function serverKey(req: SipRequest, method: string): string {
  const via = req.topVia;
  const branch = via.branch;
  if (branch !== undefined && branch.startsWith(MAGIC_COOKIE)) {
    return `${branch}\u0001${via.host.toLowerCase()}:${via.port ?? ''}\u0001${method}`;
  }
  return `2543\u0001${req.uri.toString()}\u0001${req.from.tag ?? ''}\u0001${req.callId}\u0001${req.cseq.seq}\u0001${via.toString()}\u0001${method}`;
}
