import { SipError } from '../errors';
import { createResponse } from '../message/response-factory';
import { NameAddr } from '../message/name-addr';
import { SipRequest, type SipResponse } from '../message/sip-message';
import type { SipUri } from '../message/uri';
import type { TimerHandle } from '../transaction/clock';
import type { ServerTransaction } from '../transaction/transaction';
import type { Flow, Target, TransportProtocol } from '../transport/transport';
import { isReliable } from '../transport/transport';
import { TypedEmitter } from '../../util/typed-emitter';
import type { DialogHost } from './dialog-host';
import { dialogKey, type DialogId } from './dialog-id';
import { inDialogRequest } from './in-dialog-request';
import { DialogState, TerminationReason } from './dialog-state';
import { negotiateAsUac, negotiateAsUas, SessionTimer, type SessionTimerParams } from './session-timer';

export interface RequestOptions {
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Content-Type of the body (default application/sdp for INVITE/UPDATE, text/plain otherwise) */
  contentType?: string;
}

export interface ReplyOptions extends RequestOptions {
  reason?: string;
}

/** Everything needed to create a dialog (§12.1.1 UAS, §12.1.2 UAC). */
export interface SessionDialogInit {
  role: 'uas' | 'uac';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** our URI (From as UAC, To as UAS), without tag */
  localUri: NameAddr;
  /** the peer's URI, without tag */
  remoteUri: NameAddr;
  localSeq: number;
  remoteSeq?: number;
  remoteTarget: SipUri;
  /** Route set as header values, in the order our requests carry them */
  routeSet: string[];
  secure: boolean;
  /** the flow the dialog was created on (reused for requests while the connection is open) */
  flow: Flow;
  contactParams?: string;
  /** the user part of our Contact (default the stack's): a focus's dialogs carry the conference URI */
  contactUser?: string;
  localSdp?: Buffer;
  remoteSdp?: Buffer;
  /** methods the peer allows (its Allow header), if it told us */
  peerAllows?: string[];
}

export interface TerminationInfo {
  reason: TerminationReason;
  /** the request that ended it (remote BYE) */
  request?: SipRequest;
  /** the status that ended it (481/408 to an in-dialog request) */
  status?: number;
}

export interface SessionDialogEvents {
  /** re-INVITE or UPDATE: answer with `m.accept({ sdp })` or `m.reject(488)`; no listener → our current SDP */
  modify: [ModifyRequest];
  /** REFER (RFC 3515): reply 202 and NOTIFY, or reject; no listener → 603 */
  refer: [InDialogRequest];
  /** INFO: no listener → 200 */
  info: [InDialogRequest];
  /** NOTIFY: no listener → 200 */
  notify: [InDialogRequest];
  /** MESSAGE and other methods: no listener → 200 for MESSAGE, 501 otherwise */
  request: [InDialogRequest];
  /** the peer sent BYE (we answered 200); `terminated` follows */
  bye: [SipRequest];
  /** an ACK for our 2xx arrived (its body is the answer when we sent the offer in the 2xx) */
  ack: [SipRequest];
  /** the session timer was refreshed (RFC 4028) */
  refreshed: [];
  terminated: [TerminationInfo];
}

const toBuffer = (b?: string | Buffer): Buffer | undefined =>
  b === undefined ? undefined : typeof b === 'string' ? Buffer.from(b) : b;

const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

/** A non-INVITE request received in a dialog; the application replies once. */
export class InDialogRequest {
  private answered = false;

  constructor(
    readonly request: SipRequest,
    private readonly tx: ServerTransaction,
    private readonly dialog: SessionDialog,
  ) {}

  get method(): string {
    return this.request.method;
  }

  get body(): Buffer {
    return this.request.body;
  }

  get replied(): boolean {
    return this.answered;
  }

  /** Sends a response (1xx may precede the final one; a second final reply is ignored). */
  reply(status: number, opts: ReplyOptions = {}): void {
    if (this.answered) return;
    if (status >= 200) this.answered = true;
    this.dialog.respond(this.tx, status, opts);
  }
}

/** An incoming re-INVITE or UPDATE (a session modification or refresh). */
export class ModifyRequest {
  private answered = false;

  constructor(
    readonly request: SipRequest,
    readonly method: 'INVITE' | 'UPDATE',
    private readonly tx: ServerTransaction,
    private readonly dialog: SessionDialog,
  ) {}

  /** the SDP offer, undefined when none (a re-INVITE without offer: our answer... is the offer, see `accept`) */
  get sdp(): string | undefined {
    return this.request.body.length > 0 ? this.request.body.toString('utf8') : undefined;
  }

  get replied(): boolean {
    return this.answered;
  }

  /**
   * Answers 200 with `sdp` (default: the dialog's current local SDP). For a re-INVITE the promise resolves with the
   * ACK (whose body is the peer's answer when the re-INVITE carried no offer), or undefined if the dialog ended
   * before the ACK came; for UPDATE at once with undefined.
   */
  accept(
    opts: { sdp?: string | Buffer; headers?: Record<string, string | string[]> } = {},
  ): Promise<SipRequest | undefined> {
    if (this.answered) return Promise.reject(new Error('already answered'));
    this.answered = true;
    return this.dialog.answerModify(this, this.tx, opts);
  }

  /** Rejects the modification (default 488 Not Acceptable Here); the session continues unchanged (§14.2). */
  reject(status = 488, reason?: string, headers?: Record<string, string | string[]>): void {
    if (this.answered) return;
    this.answered = true;
    this.dialog.rejectModify(this, this.tx, status, reason, headers);
  }
}

interface AckWait {
  seq: number;
  buf: Buffer;
  target: Target;
  interval: number;
  retransmit?: TimerHandle;
  giveUp?: TimerHandle;
  resolve: (ack: SipRequest) => void;
  reject: (err: Error) => void;
}

/**
 * An INVITE dialog (RFC 3261 §12–§15, RFC 3311 UPDATE, RFC 4028 session timers), in either role.
 *
 * @remarks
 * Owns the dialog state (§12: ids, route set, remote target, CSeq numbers), the 2xx retransmission of the UAS
 * (§13.3.1.4), the ACK of the UAC (§13.2.2.4), re-INVITE/UPDATE glare rules (§14.1, §14.2, RFC 3311 §5.2) and the
 * session timer. Incoming requests are emitted as typed events with safe defaults when nobody listens.
 */
export class SessionDialog extends TypedEmitter<SessionDialogEvents> implements DialogId {
  readonly role: 'uas' | 'uac';
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly key: string;
  state = DialogState.Confirmed;
  localUri: NameAddr;
  remoteUri: NameAddr;
  localSeq: number;
  remoteSeq?: number;
  remoteTarget: SipUri;
  routeSet: string[];
  readonly secure: boolean;
  flow: Flow;
  readonly protocol: TransportProtocol;
  contactParams?: string;
  contactUser?: string;
  /** our current session description */
  localSdp?: Buffer;
  /** the peer's current session description */
  remoteSdp?: Buffer;
  /** body of the ACK that confirmed the dialog (the answer to the offer in our 2xx, delayed offer) */
  ackBody?: Buffer;
  peerAllows?: string[];
  termination?: TerminationInfo;

  /** §14.1: our re-INVITE awaits its final response */
  private outgoingInvite = false;
  /** we sent an offer and wait for the answer (RFC 3264 / RFC 3311 §5.2) */
  private localOfferPending = false;
  /** a re-INVITE we have not answered finally (§14.2) */
  private incomingInvite?: ServerTransaction;
  private remoteOfferPending = false;
  private ackWait?: AckWait;
  /** ACKs we sent, by INVITE CSeq, re-sent for retransmitted 2xx (§13.2.2.4) */
  private readonly sentAcks = new Map<number, { buf: Buffer; target: Target }>();
  private sessionTimer?: SessionTimer;
  private settling?: Array<[SipRequest, ServerTransaction, Flow]>;

  constructor(
    private readonly host: DialogHost,
    init: SessionDialogInit,
  ) {
    super(host.logger);
    this.role = init.role;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.key = dialogKey(init.callId, init.localTag, init.remoteTag);
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.secure = init.secure;
    this.flow = init.flow;
    this.protocol = init.flow.protocol;
    this.contactParams = init.contactParams;
    this.contactUser = init.contactUser;
    this.localSdp = init.localSdp;
    this.remoteSdp = init.remoteSdp;
    this.peerAllows = init.peerAllows;
  }

  get id(): DialogId {
    return { callId: this.callId, localTag: this.localTag, remoteTag: this.remoteTag };
  }

  get terminated(): boolean {
    return this.state === DialogState.Terminated;
  }

  /** the negotiated RFC 4028 parameters, if a session timer runs */
  get sessionTimerParams(): SessionTimerParams | undefined {
    return this.sessionTimer?.params;
  }

  // ------------------------------------------------------------------ UAS side

  /**
   * Called when the dialog has just been handed to the application (accept()/invite() resolved): requests that
   * arrive in the same turn of the event loop (e.g. an ACK and a re-INVITE in one TCP segment) are held until the
   * next macrotask, so the application's `.then(d => d.on('modify', ...))` is attached before they are dispatched.
   */
  settle(): void {
    if (this.settling) return;
    this.settling = [];
    setImmediate(() => {
      const queued = this.settling || [];
      this.settling = undefined;
      for (const [req, tx, flow] of queued) this.receiveRequest(req, tx, flow);
    });
  }

  /** A request inside this dialog (matched by Call-ID and tags), not ACK/CANCEL. */
  receiveRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    if (this.settling) {
      this.settling.push([req, tx, flow]);
      return;
    }
    if (this.terminated) {
      this.respond(tx, 481);
      return;
    }
    // §12.2.2: "If the remote sequence number was not empty, but the sequence number of the request is lower than
    // the remote sequence number, the request is out of order and MUST be rejected with a 500"
    const seq = req.cseq.seq;
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) {
      this.respond(tx, 500, { reason: 'CSeq Out of Order' });
      return;
    }
    this.remoteSeq = seq;
    if (isReliable(flow.protocol)) this.flow = flow;
    switch (req.method) {
      case 'BYE':
        this.onBye(req, tx);
        return;
      case 'INVITE':
        this.onReinvite(req, tx);
        return;
      case 'UPDATE':
        this.onUpdate(req, tx);
        return;
      case 'INFO':
        this.dispatch('info', req, tx, 200);
        return;
      case 'NOTIFY':
        this.refreshTarget(req);
        this.dispatch('notify', req, tx, 200);
        return;
      case 'REFER':
        this.refreshTarget(req);
        this.dispatch('refer', req, tx, 603);
        return;
      case 'OPTIONS':
        this.respond(tx, 200);
        return;
      case 'PRACK':
        // we never send reliable provisional responses (RFC 3262 §3: no matching response → 481)
        this.respond(tx, 481);
        return;
      default:
        this.dispatch('request', req, tx, req.method === 'MESSAGE' ? 200 : 501);
    }
  }

  private dispatch(
    event: 'info' | 'notify' | 'refer' | 'request',
    req: SipRequest,
    tx: ServerTransaction,
    dflt: number,
  ): void {
    const r = new InDialogRequest(req, tx, this);
    if (this.listenerCount(event) === 0) {
      r.reply(dflt);
      return;
    }
    this.safeEmit(event, r);
  }

  /** §15.1.2 */
  private onBye(req: SipRequest, tx: ServerTransaction): void {
    this.respond(tx, 200);
    // "the UAS MUST still respond to any pending requests received for that dialog ... a 487"
    if (this.incomingInvite) {
      this.respond(this.incomingInvite, 487);
      this.incomingInvite = undefined;
    }
    this.safeEmit('bye', req);
    this.terminate({ reason: TerminationReason.RemoteBye, request: req });
  }

  /** §14.2 */
  private onReinvite(req: SipRequest, tx: ServerTransaction): void {
    // "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that dialog is in progress MUST
    // return a 491 (Request Pending)" (also while our offer in a 2xx awaits its answer in the ACK)
    if (this.outgoingInvite || this.localOfferPending) {
      this.respond(tx, 491);
      return;
    }
    // "A UAS that receives a second INVITE before it sends the final response to a first INVITE with a lower CSeq
    // sequence number on the same dialog MUST return a 500 (Server Internal Error) response ... MUST include a
    // Retry-After header field with a randomly chosen value of between 0 and 10 seconds"
    if (this.incomingInvite || this.ackWait) {
      this.respond(tx, 500, { headers: { 'Retry-After': String(Math.floor(Math.random() * 11)) } });
      return;
    }
    this.incomingInvite = tx;
    if (req.body.length > 0) this.remoteOfferPending = true;
    this.refreshTarget(req);
    const m = new ModifyRequest(req, 'INVITE', tx, this);
    if (this.listenerCount('modify') === 0) {
      void m.accept().catch(() => undefined);
      return;
    }
    this.safeEmit('modify', m);
  }

  /** RFC 3311 §5.2 */
  private onUpdate(req: SipRequest, tx: ServerTransaction): void {
    const hasOffer = req.body.length > 0;
    if (hasOffer) {
      // "If an UPDATE is received that contains an offer, and the UAS has generated an offer (in an UPDATE, PRACK
      // or INVITE) to which it has not yet received an answer, the UAS MUST reject the UPDATE with a 491"
      if (this.localOfferPending) {
        this.respond(tx, 491);
        return;
      }
      // "If the UAS has received an offer (in an UPDATE, PRACK or INVITE) to which it has not yet generated an
      // answer, it MUST reject the UPDATE with a 500 response, and MUST include a Retry-After header field"
      if (this.remoteOfferPending) {
        this.respond(tx, 500, { headers: { 'Retry-After': String(Math.floor(Math.random() * 11)) } });
        return;
      }
    }
    this.refreshTarget(req);
    const m = new ModifyRequest(req, 'UPDATE', tx, this);
    if (!hasOffer || this.listenerCount('modify') === 0) {
      // a refresh without offer (RFC 4028) is answered without body; no listener → our current SDP as answer
      void m.accept(hasOffer ? {} : { sdp: Buffer.alloc(0) }).catch(() => undefined);
      return;
    }
    if (hasOffer) this.remoteOfferPending = true;
    this.safeEmit('modify', m);
  }

  /** @internal ModifyRequest.accept */
  answerModify(
    m: ModifyRequest,
    tx: ServerTransaction,
    opts: { sdp?: string | Buffer; headers?: Record<string, string | string[]> },
  ): Promise<SipRequest | undefined> {
    if (this.terminated) return Promise.reject(new SipError(481, 'Dialog terminated'));
    const offer = m.request.body.length > 0 ? m.request.body : undefined;
    const sdp = toBuffer(opts.sdp) ?? this.localSdp;
    const body = sdp && sdp.length > 0 ? sdp : undefined;
    const headers: Record<string, string | string[]> = { ...opts.headers };
    // RFC 4028 §9: a refresh as UAS
    const st = this.negotiateRefresh(m.request);
    if (st && !st.ok) {
      this.rejectModify(m, tx, 422, undefined, st.headers);
      return Promise.reject(new SipError(422, 'Session Interval Too Small'));
    }
    if (st?.ok) Object.assign(headers, st.headers);
    if (body) this.localSdp = body;
    if (offer) this.remoteSdp = offer;
    this.remoteOfferPending = false;
    const res = this.buildResponse(tx, 200, {
      headers,
      body,
      contentType: body ? 'application/sdp' : undefined,
    });
    if (st?.ok) this.applySessionTimer(st.params);
    if (m.method === 'UPDATE') {
      tx.respond(res);
      this.safeEmit('refreshed');
      return Promise.resolve(undefined);
    }
    this.incomingInvite = undefined;
    // a re-INVITE without offer: our 2xx carries the offer, the answer comes in the ACK
    if (!offer && body) this.localOfferPending = true;
    // resolves undefined if the dialog ends first (ACK timeout → 'terminated' says why); never an unhandled rejection
    return this.send2xxUntilAck(tx, res).catch(() => undefined);
  }

  /** @internal ModifyRequest.reject */
  rejectModify(
    m: ModifyRequest,
    tx: ServerTransaction,
    status: number,
    reason?: string,
    headers?: Record<string, string | string[]>,
  ): void {
    if (m.method === 'INVITE') this.incomingInvite = undefined;
    this.remoteOfferPending = false;
    this.respond(tx, status >= 300 ? status : 488, { reason, headers });
  }

  /**
   * §13.3.1.4: "the 2xx response is passed to the transport with an interval that starts at T1 seconds and doubles
   * for each retransmission until it reaches T2 seconds" until the ACK arrives; after 64*T1 without ACK the
   * session "SHOULD be terminated ... with a BYE". Resolves with the ACK. Retransmissions happen over UDP only.
   * @internal used by IncomingInvite.accept as well
   */
  send2xxUntilAck(tx: ServerTransaction, res: SipResponse): Promise<SipRequest> {
    tx.respond(res);
    const { T1, T2 } = this.host.timers;
    const clock = this.host.clock;
    return new Promise<SipRequest>((resolve, reject) => {
      const w: AckWait = {
        seq: res.cseq.seq,
        buf: res.toBuffer(),
        target: tx.target,
        interval: T1,
        resolve,
        reject,
      };
      this.ackWait = w;
      const retransmit = (): void => {
        if (this.ackWait !== w) return;
        this.host.transactions.sendRaw(w.buf, w.target);
        w.interval = Math.min(w.interval * 2, T2);
        w.retransmit = clock.setTimeout(retransmit, w.interval);
      };
      // over TCP/TLS/WS the transport is reliable up to the peer: like most stacks we only retransmit over UDP
      // (a proxy in between would run its own reliable hop); the 64*T1 ACK deadline applies to every transport
      if (!isReliable(w.target.protocol)) w.retransmit = clock.setTimeout(retransmit, w.interval);
      w.giveUp = clock.setTimeout(() => {
        if (this.ackWait !== w) return;
        this.clearAckWait(new SipError(408, 'ACK Timeout'));
        this.host.logger.warn({ callId: this.callId }, 'no ACK for 2xx within 64*T1, sending BYE');
        this.byeAndTerminate(TerminationReason.AckTimeout);
      }, 64 * T1);
    });
  }

  private clearAckWait(err?: Error): AckWait | undefined {
    const w = this.ackWait;
    if (!w) return undefined;
    this.ackWait = undefined;
    if (w.retransmit !== undefined) this.host.clock.clearTimeout(w.retransmit);
    if (w.giveUp !== undefined) this.host.clock.clearTimeout(w.giveUp);
    if (err) w.reject(err);
    return w;
  }

  /** An ACK matched this dialog (the ACK for a 2xx, §13.3.1.4 / §17.1.1.3). */
  receiveAck(ack: SipRequest): void {
    const w = this.ackWait;
    if (!w || ack.cseq.seq !== w.seq) return; // a retransmitted ACK, or a stray one
    this.clearAckWait();
    if (ack.body.length > 0) {
      this.ackBody = ack.body;
      this.remoteSdp = ack.body;
    }
    this.localOfferPending = false;
    this.settle();
    w.resolve(ack);
    this.safeEmit('ack', ack);
  }

  /** @internal builds and sends a response for a server transaction of this dialog */
  respond(tx: ServerTransaction, status: number, opts: ReplyOptions = {}): void {
    const body = toBuffer(opts.body);
    const res = this.buildResponse(tx, status, {
      reason: opts.reason,
      headers: opts.headers,
      body,
      contentType: body && body.length > 0 ? (opts.contentType ?? 'text/plain') : undefined,
    });
    tx.respond(res);
  }

  private buildResponse(
    tx: ServerTransaction,
    status: number,
    opts: {
      reason?: string;
      headers?: Record<string, string | string[]>;
      body?: Buffer;
      contentType?: string;
    },
  ): SipResponse {
    const method = tx.request.method;
    const res = createResponse(tx.request, status, opts.reason, {
      toTag: this.localTag,
      headers: opts.headers,
      body: opts.body,
      contentType: opts.contentType,
    });
    if (status >= 200 && status < 300 && TARGET_REFRESH.has(method)) {
      res.headers.set('Contact', this.host.contact(this.protocol, this.contactParams, this.contactUser));
    }
    this.host.decorate(res.headers, 'response', method);
    return res;
  }

  /** §12.2.2: a target refresh request replaces the remote target with its Contact. */
  private refreshTarget(msg: SipRequest | SipResponse): void {
    const c = msg.contact[0];
    if (c) this.remoteTarget = c.uri;
  }

  // ------------------------------------------------------------------ UAC side

  /** §12.2.1.1: a request within the dialog. */
  buildRequest(method: string, opts: RequestOptions = {}, seq?: number): SipRequest {
    const { uri, headers: h } = inDialogRequest({
      method,
      remoteTarget: this.remoteTarget,
      routeSet: this.routeSet,
      localUri: this.localUri,
      localTag: this.localTag,
      remoteUri: this.remoteUri,
      remoteTag: this.remoteTag,
      callId: this.callId,
      nextSeq: () => seq ?? ++this.localSeq,
      contact: TARGET_REFRESH.has(method)
        ? this.host.contact(this.protocol, this.contactParams, this.contactUser)
        : undefined,
    });
    this.host.decorate(h, 'request', method);
    if (opts.headers) {
      for (const [k, v] of Object.entries(opts.headers))
        for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
    }
    const body = toBuffer(opts.body);
    if (body && body.length > 0) {
      h.set(
        'Content-Type',
        opts.contentType ?? (method === 'INVITE' || method === 'UPDATE' ? 'application/sdp' : 'text/plain'),
      );
    }
    return new SipRequest(method, uri, h, body);
  }

  /** The next hop: the dialog's connection while it is open (reuse), else the first route or the remote target. */
  async nextTarget(): Promise<Target> {
    if (this.flow.connectionId !== undefined && this.host.routing.isOpen(this.flow)) return this.flow;
    const first = this.routeSet[0];
    return this.host.routing.resolve(first ? NameAddr.parse(first).uri : this.remoteTarget);
  }

  /**
   * Sends a request in the dialog and resolves with its final response (any status). 481 or 408 ends the dialog
   * (§12.2.1.2). Rejects with SipError(408/503) on timeout or transport failure.
   */
  async request(method: string, opts: RequestOptions = {}): Promise<SipResponse> {
    if (method === 'INVITE') return this.reinvite(opts.body, opts);
    if (method === 'ACK' || method === 'CANCEL') throw new Error(`${method} is not sent with request()`);
    if (this.terminated && method !== 'BYE') throw new SipError(481, 'Dialog terminated');
    const req = this.buildRequest(method, opts);
    return this.send(req);
  }

  private async send(req: SipRequest): Promise<SipResponse> {
    let target: Target;
    try {
      target = await this.nextTarget();
    } catch (err) {
      this.onRequestFailed(req.method, 503);
      throw err;
    }
    return new Promise<SipResponse>((resolve, reject) => {
      this.host.transactions.sendRequest(req, target, {
        receiveResponse: (res) => {
          if (res.status < 200) return;
          if (res.status === 481 || res.status === 408) this.onRequestFailed(req.method, res.status);
          else if (res.status < 300 && TARGET_REFRESH.has(req.method)) this.refreshTarget(res);
          resolve(res);
        },
        onRequestTimeout: () => {
          this.onRequestFailed(req.method, 408);
          reject(new SipError(408, 'Request Timeout'));
        },
        onTransportError: (_tx, err) => {
          this.onRequestFailed(req.method, 503);
          reject(new SipError(503, `Transport error: ${err.message}`));
        },
      });
    });
  }

  /** §12.2.1.2: "If the response for a request within a dialog is a 481 or a 408, the UAC SHOULD terminate the dialog." */
  private onRequestFailed(method: string, status: number): void {
    if (method === 'BYE' || this.terminated) return;
    // A MESSAGE (RFC 3428) is no part of the session: a phone that lets one time out (many drop what they do not
    // support) still has its call. RFC 5057 §5.1 ("Transaction Only"): the failure concerns the transaction, not the
    // invite usage. A 481 still ends the dialog: the peer says it does not know it.
    if (method === 'MESSAGE' && status === 408) return;
    this.byeAndTerminate(TerminationReason.RequestFailed, status);
  }

  /**
   * Sends a re-INVITE (§14.1) with `sdp` as the offer; resolves with the 2xx (its body is the answer) after sending
   * the ACK. Rejects with SipError(491) if an INVITE is already in progress in either direction, or with the
   * peer's error status (491 on glare: retry later).
   */
  async reinvite(sdp?: string | Buffer, opts: RequestOptions = {}): Promise<SipResponse> {
    if (this.terminated) throw new SipError(481, 'Dialog terminated');
    // §14.1: "a UAC MUST NOT initiate a re-INVITE while another INVITE transaction is in progress in either direction"
    if (this.outgoingInvite || this.incomingInvite || this.ackWait)
      throw new SipError(491, 'Request Pending');
    const body = toBuffer(sdp);
    const headers = { ...this.refreshHeaders(), ...opts.headers };
    const req = this.buildRequest('INVITE', { ...opts, headers, body });
    this.outgoingInvite = true;
    if (body && body.length > 0) {
      this.localOfferPending = true;
      this.localSdp = body;
    }
    let target: Target;
    try {
      target = await this.nextTarget();
    } catch (err) {
      this.outgoingInvite = this.localOfferPending = false;
      throw err;
    }
    const seq = req.cseq.seq;
    return new Promise<SipResponse>((resolve, reject) => {
      const fail = (status: number, reason: string): void => {
        this.outgoingInvite = this.localOfferPending = false;
        if (status === 481 || status === 408 || status === 503) this.onRequestFailed('INVITE', status);
        reject(new SipError(status, reason));
      };
      this.host.transactions.sendRequest(req, target, {
        receiveResponse: (res) => {
          if (res.status < 200) return;
          if (res.status >= 300) {
            fail(res.status, res.reason);
            return;
          }
          const sent = this.sentAcks.get(seq);
          if (sent) {
            // a retransmitted 2xx: "the UAC core ... MUST retransmit the ACK" (§13.2.2.4)
            this.host.transactions.sendRaw(sent.buf, sent.target);
            return;
          }
          this.outgoingInvite = this.localOfferPending = false;
          this.refreshTarget(res);
          if (res.body.length > 0) this.remoteSdp = res.body;
          this.sendAck(seq, target);
          const st = this.host.sessionTimers ? negotiateAsUac(res) : undefined;
          if (st) this.applySessionTimer(st);
          resolve(res);
        },
        onRequestTimeout: () => fail(408, 'Request Timeout'),
        onTransportError: (_tx, err) => fail(503, `Transport error: ${err.message}`),
      });
    });
  }

  /** §13.2.2.4: the ACK for a 2xx: same CSeq number, its own transaction-less send; kept for 2xx retransmissions. */
  sendAck(seq: number, target: Target, body?: Buffer): void {
    const ack = this.buildRequest('ACK', { body }, seq);
    const buf = this.host.transactions.sendAck(ack, target);
    this.sentAcks.clear(); // only the latest INVITE's 2xx can still be retransmitted
    this.sentAcks.set(seq, { buf, target });
  }

  /** UPDATE (RFC 3311) with an offer, or without body as a session refresh. Resolves with the 2xx. */
  async update(sdp?: string | Buffer, opts: RequestOptions = {}): Promise<SipResponse> {
    const body = toBuffer(sdp);
    const hasOffer = !!body && body.length > 0;
    if (hasOffer && (this.localOfferPending || this.remoteOfferPending))
      throw new SipError(491, 'Request Pending');
    if (hasOffer) this.localOfferPending = true;
    try {
      const headers = { ...this.refreshHeaders(), ...opts.headers };
      const res = await this.request('UPDATE', { ...opts, headers, body });
      if (res.status >= 300) throw new SipError(res.status, res.reason);
      if (hasOffer) {
        this.localSdp = body;
        if (res.body.length > 0) this.remoteSdp = res.body;
      }
      const st = this.host.sessionTimers ? negotiateAsUac(res) : undefined;
      if (st) this.applySessionTimer(st);
      return res;
    } finally {
      if (hasOffer) this.localOfferPending = false;
    }
  }

  info(opts: RequestOptions): Promise<SipResponse> {
    return this.request('INFO', opts);
  }

  /** NOTIFY (RFC 6665 / RFC 3515 §2.4.4): `event` e.g. 'refer', `subscriptionState` e.g. 'active;expires=60'. */
  notify(opts: RequestOptions & { event: string; subscriptionState: string }): Promise<SipResponse> {
    const headers = { Event: opts.event, 'Subscription-State': opts.subscriptionState, ...opts.headers };
    return this.request('NOTIFY', { ...opts, headers });
  }

  refer(referTo: string, opts: RequestOptions = {}): Promise<SipResponse> {
    return this.request('REFER', { ...opts, headers: { 'Refer-To': referTo, ...opts.headers } });
  }

  /**
   * Ends the session with BYE (§15.1.1). The dialog is terminated at once ('terminated' with reason local-bye);
   * resolves with the BYE's final response, or undefined if it could not be delivered. Idempotent.
   */
  async bye(opts: RequestOptions = {}): Promise<SipResponse | undefined> {
    if (this.terminated) return undefined;
    return this.byeAndTerminate(TerminationReason.LocalBye, undefined, opts);
  }

  private byeAndTerminate(
    reason: TerminationReason,
    status?: number,
    opts: RequestOptions = {},
  ): Promise<SipResponse | undefined> {
    if (this.terminated) return Promise.resolve(undefined);
    const req = this.buildRequest('BYE', opts);
    this.terminate({ reason, status });
    return this.send(req).catch((err) => {
      this.host.logger.debug({ err, callId: this.callId }, 'BYE failed');
      return undefined;
    });
  }

  // ------------------------------------------------------------------ session timer (RFC 4028)

  /** @internal starts or resets the session timer */
  applySessionTimer(params: SessionTimerParams): void {
    if (this.terminated) return;
    if (this.sessionTimer) this.sessionTimer.reset(params);
    else {
      this.sessionTimer = new SessionTimer(
        this.host.clock,
        params,
        () => this.refreshSession(),
        () => {
          this.host.logger.info({ callId: this.callId }, 'session expired without refresh, sending BYE');
          this.byeAndTerminate(TerminationReason.SessionExpired);
        },
      );
    }
  }

  private negotiateRefresh(req: SipRequest): ReturnType<typeof negotiateAsUas> | undefined {
    const opts = this.host.sessionTimers;
    if (!opts) return undefined;
    if (!this.sessionTimer && !req.headers.has('Session-Expires')) return undefined;
    return negotiateAsUas(req, opts);
  }

  private refreshHeaders(): Record<string, string> {
    const opts = this.host.sessionTimers;
    if (!opts) return {};
    const interval = this.sessionTimer?.params.interval ?? opts.sessionExpires;
    return { 'Session-Expires': `${interval};refresher=uac`, 'Min-SE': String(opts.minSE) };
  }

  /** §10: the refresher sends a re-INVITE or UPDATE at half the interval. */
  private refreshSession(): void {
    if (this.terminated) return;
    const useUpdate =
      (this.host.sessionTimers?.refreshMethod ?? 'UPDATE') === 'UPDATE' &&
      (this.peerAllows?.includes('UPDATE') ?? false);
    const p = useUpdate ? this.update() : this.reinvite(this.localSdp);
    p.then(
      () => this.safeEmit('refreshed'),
      (err: SipError) => {
        this.host.logger.warn({ callId: this.callId, status: err.status }, 'session refresh failed');
        // a glare (491) or other non-fatal failure: try again shortly, the expiry still protects us
        if (!this.terminated && this.sessionTimer) {
          const retry = this.host.clock.setTimeout(() => this.refreshSession(), 2000 + Math.random() * 2000);
          void retry;
        }
      },
    );
  }

  // ------------------------------------------------------------------ teardown

  /** Ends the dialog without sending anything (the owner or a BYE did). Idempotent. */
  terminate(info: TerminationInfo): void {
    if (this.terminated) return;
    this.state = DialogState.Terminated;
    this.termination = info;
    this.clearAckWait(new SipError(487, `Dialog terminated (${info.reason})`));
    this.sessionTimer?.stop();
    this.sessionTimer = undefined;
    this.host.forgetDialog(this.key);
    this.safeEmit('terminated', info);
  }
}
