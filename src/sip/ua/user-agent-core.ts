import { SipError } from '../errors';
import { Headers } from '../message/headers';
import { newBranch, newCallId, newTag } from '../message/ids';
import { NameAddr } from '../message/name-addr';
import { createResponse } from '../message/response-factory';
import { SipRequest, type SipResponse } from '../message/sip-message';
import { SipUri, escapeUser } from '../message/uri';
import type { Clock, TimerHandle } from '../transaction/clock';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction';
import type { TimerConfig } from '../transaction/timers';
import type { ClientTransaction, ClientTransactionUser, ServerTransaction } from '../transaction/transaction';
import type { TransactionLayer, TransactionLayerUser } from '../transaction/transaction-layer';
import type { Flow, SipLogger, Target, TransportProtocol } from '../transport/transport';
import { TypedEmitter } from '../../util/typed-emitter';
import { dialogKey } from '../dialog/dialog-id';
import { TerminationReason } from '../dialog/dialog-state';
import { SessionDialog, type ReplyOptions, type RequestOptions } from '../dialog/session-dialog';
import { negotiateAsUac, type SessionTimerOptions } from '../dialog/session-timer';
import { IncomingInvite, IncomingInviteState, type InviteHost } from './incoming-invite';
import { IncomingRequest } from './incoming-request';
import { digestAuthorizer } from './digest-auth';

/**
 * The auth hook (UAS digest challenge): return undefined to let the request through, or a response to send
 * instead, typically 401 with WWW-Authenticate / 407 with Proxy-Authenticate built with DigestServer.
 */
export type AuthHook = (req: SipRequest) => AuthDecision | undefined | Promise<AuthDecision | undefined>;
export interface AuthDecision {
  status: number;
  reason?: string;
  headers?: Record<string, string | string[]>;
}

/** Computes an Authorization / Proxy-Authorization header for a 401/407 challenge (RFC 3261 §22.2). */
export type DigestAuthorizer = (
  challenge: SipResponse,
  req: SipRequest,
  credentials: { username: string; password: string },
) => { name: 'Authorization' | 'Proxy-Authorization'; value: string } | undefined;

export interface UserAgentCoreOptions {
  /** User-Agent / Server header (default 'Parley') */
  userAgent?: string;
  /** methods we accept (Allow header, §8.2.1) */
  allow?: string[];
  /** option tags we support (Supported header, §8.2.2.3; default none); 'timer' is added with session timers */
  supported?: string[];
  /** body types we accept (Accept header, §8.2.3) */
  accept?: string[];
  /** user part of our Contact URI */
  contactUser?: string;
  /** Contact header params added to our dialogs' Contact (e.g. ';isfocus', RFC 4579) */
  contactParams?: string;
  /** UAS digest challenge hook (out-of-dialog requests except ACK/CANCEL) */
  authenticate?: AuthHook;
  /** builds Authorization headers for dial-out (default: DigestClient, see digest-auth.ts) */
  digestAuthorizer?: DigestAuthorizer;
  /** RFC 4028 session timers; off when undefined */
  sessionTimers?: SessionTimerOptions;
  /** an INVITE the application leaves unanswered gets 408 after this many ms (default 180000; 0 = never) */
  inviteTimeoutMs?: number;
}

export const DEFAULT_ALLOW = [
  'INVITE',
  'ACK',
  'CANCEL',
  'BYE',
  'OPTIONS',
  'INFO',
  'UPDATE',
  'REFER',
  'NOTIFY',
  'MESSAGE',
  'SUBSCRIBE',
  // RFC 3261 §10.3: the registrar (src/conference/registrar) takes it through routeMethod('REGISTER')
  'REGISTER',
];
export const DEFAULT_ACCEPT = ['application/sdp'];

/** The routing services the core needs from the transport layer. */
export interface CoreRouting {
  resolve(uri: SipUri): Promise<Target>;
  isOpen(target: Target): boolean;
  contactHostPort(protocol: TransportProtocol): { host: string; port: number };
  protocolFor(uri: SipUri): TransportProtocol;
  readonly ip: string;
}

export interface InviteOptions {
  /** our SDP offer (omit for a delayed offer: not supported for dial-out yet, send one) */
  sdp?: string | Buffer;
  /** From (name-addr or URI); default <sip:{contactUser|parley}@{our host}> */
  from?: string;
  /** To; default the Request-URI */
  to?: string;
  headers?: Record<string, string | string[]>;
  /** credentials for 401/407 challenges (answered once, RFC 3261 §22.2) */
  auth?: { username: string; password: string };
  contactParams?: string;
  /** the user part of our Contact (default the stack's contactUser): a focus dialling out gives the room's name */
  contactUser?: string;
  /** abort → CANCEL (§9.1) once a provisional response arrived; the promise rejects with SipError(487) */
  signal?: AbortSignal;
  /** give up with CANCEL after this many ms without a final response */
  timeoutMs?: number;
  onProgress?: (res: SipResponse) => void;
  /** a pre-loaded route set (outbound proxy), header values like '<sip:proxy;lr>' */
  route?: string[];
  /** the Call-ID to use (default a fresh one): lets the caller name the call before its INVITE is sent */
  callId?: string;
}

export interface UserAgentCoreEvents {
  /** an initial INVITE (no listener → 480) */
  invite: [IncomingInvite];
  /** an out-of-dialog OPTIONS (no listener → 200 with Allow/Accept/Supported) */
  options: [IncomingRequest];
  /** any other out-of-dialog request, e.g. MESSAGE, REFER, SUBSCRIBE (no listener → 501) */
  request: [IncomingRequest];
  /** a dialog was created (either role) */
  dialog: [SessionDialog];
}

const DIALOG_ONLY = new Set(['BYE', 'INFO', 'UPDATE', 'PRACK', 'NOTIFY']);

/** A dialog that is not an INVITE session (an RFC 6665 subscription dialog): it takes its in-dialog requests. */
export interface DialogUsage {
  receiveRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void;
}

/**
 * The user-agent core (RFC 3261 §8, §12–§15): UAS request processing (method, header and content inspection,
 * auth hook), dialog matching (481 outside a dialog), CANCEL (§9.2), 2xx ACKs, and the UAC side: dial-out INVITE
 * with digest auth, CANCEL and ACK, out-of-dialog requests.
 */
export class UserAgentCore
  extends TypedEmitter<UserAgentCoreEvents>
  implements TransactionLayerUser, InviteHost
{
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly logger: SipLogger;
  readonly sessionTimers?: SessionTimerOptions;
  readonly defaultContactParams?: string;
  protected readonly dialogs = new Map<string, SessionDialog>();
  /** Non-INVITE dialogs (subscriptions, RFC 6665 §4.1.2.2 / §4.2.1) by dialog key. */
  private readonly usages = new Map<string, DialogUsage>();
  /** Out-of-dialog methods served by a component (SUBSCRIBE → the notifier) instead of the 'request' event. */
  private readonly methodRoutes = new Map<string, (r: IncomingRequest) => void>();
  private readonly pendingInvites = new WeakMap<InviteServerTransaction, IncomingInvite>();
  private readonly allow: Set<string>;
  private readonly allowHeader: string;
  private readonly supported: Set<string>;
  private readonly supportedHeader: string;
  private readonly accept: Set<string>;
  private readonly acceptHeader: string;
  private readonly userAgent: string;
  protected coreClosed = false;

  constructor(
    readonly transactions: TransactionLayer,
    readonly routing: CoreRouting,
    private readonly coreOpts: UserAgentCoreOptions = {},
  ) {
    super(transactions.logger);
    this.clock = transactions.clock;
    this.timers = transactions.timers;
    this.logger = transactions.logger;
    this.sessionTimers = coreOpts.sessionTimers;
    this.defaultContactParams = coreOpts.contactParams;
    const allow = (coreOpts.allow ?? DEFAULT_ALLOW).map((m) => m.toUpperCase());
    for (const m of ['ACK', 'CANCEL']) if (!allow.includes(m)) allow.push(m);
    this.allow = new Set(allow);
    this.allowHeader = allow.join(', ');
    const supported = (coreOpts.supported ?? []).map((s) => s.toLowerCase());
    if (coreOpts.sessionTimers && !supported.includes('timer')) supported.push('timer');
    this.supported = new Set(supported);
    this.supportedHeader = supported.join(', ');
    const accept = (coreOpts.accept ?? DEFAULT_ACCEPT).map((s) => s.toLowerCase());
    this.accept = new Set(accept);
    this.acceptHeader = accept.join(', ');
    this.userAgent = coreOpts.userAgent ?? 'Parley';
    transactions.setUser(this);
  }

  /** While set (draining), out-of-dialog OPTIONS are answered 503 with this Retry-After and reason phrase. */
  private unavailable?: { retryAfterSeconds: number; reason: string };

  /**
   * Marks the UA unavailable for new sessions (a draining server), or available again with `undefined`. RFC 3261
   * §11.2: the response to an OPTIONS MUST be the one an INVITE would have got; while the application refuses new
   * INVITEs with 503, an OPTIONS gets 503 + Retry-After too, so a load balancer's probe (Kamailio's dispatcher)
   * takes this node out. In-dialog OPTIONS are unaffected: the calls in progress go on.
   */
  setUnavailable(u: { retryAfterSeconds: number; reason: string } | undefined): void {
    this.unavailable = u;
  }

  /**
   * Registers the INVITE handler. Unlike a bare on('invite'), a handler that throws or rejects (sync or async) has
   * its error mapped to the final response while the INVITE is still pending: `SipError(status, reason, headers)`
   * → that response (e.g. 403, 486, 488), anything else → 500.
   */
  onInvite(handler: (invite: IncomingInvite) => unknown): this {
    return this.on('invite', (inv) => {
      let r: unknown;
      try {
        r = handler(inv);
      } catch (err) {
        this.failInvite(inv, err);
        return;
      }
      if (r instanceof Promise) r.then(undefined, (err: unknown) => this.failInvite(inv, err));
    });
  }

  private failInvite(inv: IncomingInvite, err: unknown): void {
    const sipErr = err instanceof SipError ? err : undefined;
    if (!sipErr) this.logger.error({ err, callId: inv.callId }, 'INVITE handler failed');
    if (inv.state !== IncomingInviteState.Pending) return;
    const status = sipErr && sipErr.status >= 300 ? sipErr.status : 500;
    inv.reject(status, sipErr?.reason, sipErr?.headers);
  }

  get dialogCount(): number {
    return this.dialogs.size;
  }

  findDialog(callId: string, localTag: string, remoteTag: string): SessionDialog | undefined {
    return this.dialogs.get(dialogKey(callId, localTag, remoteTag));
  }

  // ---------------------------------------------------------------- DialogHost

  contact(protocol: TransportProtocol, headerParams?: string, contactUser?: string): string {
    const { host, port } = this.routing.contactHostPort(protocol);
    const name = contactUser ?? this.coreOpts.contactUser;
    const user = name ? `${escapeUser(name)}@` : '';
    const tp = protocol === 'UDP' ? '' : `;transport=${protocol.toLowerCase()}`;
    return `<sip:${user}${host}:${port}${tp}>${headerParams ?? ''}`;
  }

  decorate(h: Headers, kind: 'request' | 'response', method: string): void {
    if (kind === 'request') {
      if (!h.has('User-Agent')) h.set('User-Agent', this.userAgent);
    } else if (!h.has('Server')) h.set('Server', this.userAgent);
    if (method === 'INVITE' || method === 'UPDATE' || method === 'OPTIONS') {
      if (!h.has('Allow')) h.set('Allow', this.allowHeader);
      // §20.37: an empty Supported says 'no extensions' (answers to OPTIONS always carry it, §11.2)
      if (!h.has('Supported')) h.set('Supported', this.supportedHeader);
    }
  }

  addDialog(d: SessionDialog): void {
    this.dialogs.set(d.key, d);
    this.safeEmit('dialog', d);
  }

  forgetDialog(key: string): void {
    this.dialogs.delete(key);
  }

  /** Routes the in-dialog requests of a non-INVITE dialog (a subscription) to `usage` until `forgetUsage`. */
  addUsage(key: string, usage: DialogUsage): void {
    this.usages.set(key, usage);
  }

  forgetUsage(key: string): void {
    this.usages.delete(key);
  }

  /** Out-of-dialog requests of `method` go to `handler` (after the auth hook) rather than the 'request' event. */
  routeMethod(method: string, handler: (r: IncomingRequest) => void): void {
    this.methodRoutes.set(method.toUpperCase(), handler);
  }

  // ---------------------------------------------------------------- UAS: from the transaction layer

  receiveRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    try {
      this.processRequest(req, tx, flow);
    } catch (err) {
      this.logger.error({ err, method: req.method, callId: req.callId }, 'UAS core failed on a request');
      if (!tx.response || tx.response.status < 200) {
        const status = err instanceof SipError ? err.status : 500;
        this.reply(req, tx, status >= 300 ? status : 500, {
          reason: err instanceof SipError ? err.reason : undefined,
        });
      }
    }
  }

  private processRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    const method = req.method;
    // §8.2.1: "If a UAS does not support the method, it MUST respond 405 (Method Not Allowed) ... MUST include an Allow"
    if (!this.allow.has(method)) {
      this.reply(req, tx, 405, { headers: { Allow: this.allowHeader } });
      return;
    }
    // §8.2.3: unsupported body type → 415 with Accept
    if (req.body.length > 0 && (method === 'INVITE' || method === 'UPDATE' || method === 'OPTIONS')) {
      const ct = req.contentType;
      if (!ct || !this.accept.has(ct)) {
        this.reply(req, tx, 415, { headers: { Accept: this.acceptHeader } });
        return;
      }
    }
    // §8.2.2.3: "If a UAS does not understand an option-tag listed in a Require header field, it MUST respond by
    // generating a response with status code 420 (Bad Extension). The UAS MUST add an Unsupported header field"
    const required = req.headers.getList('Require');
    if (required.length > 0) {
      const unsupported = required.filter((t) => !this.supported.has(t.toLowerCase()));
      if (unsupported.length > 0) {
        this.reply(req, tx, 420, { headers: { Unsupported: unsupported.join(', ') } });
        return;
      }
    }
    const toTag = req.to.tag;
    if (toTag !== undefined) {
      // §12.2: a request within a dialog
      const d = this.dialogs.get(dialogKey(req.callId, toTag, req.from.tag ?? ''));
      if (d) {
        d.receiveRequest(req, tx, flow);
        return;
      }
      const usage = this.usages.get(dialogKey(req.callId, toTag, req.from.tag ?? ''));
      if (usage) {
        usage.receiveRequest(req, tx, flow);
        return;
      }
      // §12.2.2: "If the UAS ... does not recognize the dialog ... it SHOULD return a 481 (Call/Transaction Does Not Exist)"
      this.reply(req, tx, 481);
      return;
    }
    if (DIALOG_ONLY.has(method)) {
      this.reply(req, tx, 481);
      return;
    }
    // §8.2.2.1: the Request-URI scheme
    if (req.uri.scheme === 'tel') {
      this.reply(req, tx, 416);
      return;
    }
    const hook = this.coreOpts.authenticate;
    if (hook) {
      const decision = hook(req);
      if (decision instanceof Promise) {
        decision.then(
          (d) => this.afterAuth(d, req, tx, flow),
          (err) => {
            this.logger.error({ err }, 'auth hook failed');
            this.reply(req, tx, 500);
          },
        );
        return;
      }
      this.afterAuth(decision, req, tx, flow);
      return;
    }
    this.dispatch(req, tx, flow);
  }

  private afterAuth(
    decision: AuthDecision | undefined,
    req: SipRequest,
    tx: ServerTransaction,
    flow: Flow,
  ): void {
    if (this.coreClosed) return;
    if (decision) {
      this.reply(req, tx, decision.status, { reason: decision.reason, headers: decision.headers });
      return;
    }
    try {
      this.dispatch(req, tx, flow);
    } catch (err) {
      this.logger.error({ err }, 'UAS core failed after auth');
      this.reply(req, tx, 500);
    }
  }

  private dispatch(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    switch (req.method) {
      case 'INVITE': {
        // §8.1.1.8: the Contact header field MUST be present in a dialog-creating request
        if (req.contact.length === 0) {
          this.reply(req, tx, 400, { reason: 'Missing Contact' });
          return;
        }
        const inv = new IncomingInvite(this, req, tx as InviteServerTransaction, flow);
        this.pendingInvites.set(tx as InviteServerTransaction, inv);
        inv.armTimeout(this.coreOpts.inviteTimeoutMs ?? 180000);
        if (this.listenerCount('invite') === 0) {
          inv.reject(480);
          return;
        }
        try {
          this.emit('invite', inv);
        } catch (err) {
          this.failInvite(inv, err);
        }
        return;
      }
      case 'OPTIONS': {
        const r = new IncomingRequest(req, flow, tx, (h, k, m) => this.decorate(h, k, m));
        if (this.unavailable) {
          // §11.2 (the INVITE's answer), §20.33 Retry-After
          const { retryAfterSeconds, reason } = this.unavailable;
          r.reply(503, { reason, headers: { 'Retry-After': String(retryAfterSeconds) } });
          return;
        }
        if (this.listenerCount('options') === 0) {
          // §11.2: the response to OPTIONS carries Allow, Accept and Supported
          r.reply(200, { headers: { Accept: this.acceptHeader } });
          return;
        }
        this.safeEmit('options', r);
        return;
      }
      default: {
        const r = new IncomingRequest(req, flow, tx, (h, k, m) => this.decorate(h, k, m));
        const route = this.methodRoutes.get(req.method);
        if (route) {
          route(r);
          return;
        }
        if (this.listenerCount('request') === 0) {
          r.reply(501);
          return;
        }
        this.safeEmit('request', r);
      }
    }
  }

  private reply(req: SipRequest, tx: ServerTransaction, status: number, opts: ReplyOptions = {}): void {
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    const res = createResponse(req, status, opts.reason, {
      headers: opts.headers,
      body,
      contentType: opts.contentType,
    });
    this.decorate(res.headers, 'response', req.method);
    tx.respond(res);
  }

  /** §9.2 */
  receiveCancel(req: SipRequest, tx: ServerTransaction, invite: InviteServerTransaction | undefined): void {
    if (!invite) {
      // "If the UAS did not find a matching transaction for the CANCEL according to the procedure above, it SHOULD
      // respond to the CANCEL with a 481 (Call Leg/Transaction Does Not Exist)."
      this.reply(req, tx, 481);
      return;
    }
    const inc = this.pendingInvites.get(invite);
    // "the To tag of the response to the CANCEL and the To tag in the response to the original request SHOULD be the same"
    const res = createResponse(req, 200, undefined, { toTag: inc?.toTag ?? invite.toTag });
    this.decorate(res.headers, 'response', 'CANCEL');
    tx.respond(res);
    if (inc) inc.cancelBy(req);
    else if (!invite.isFinal) {
      invite.respond(createResponse(invite.request, 487, undefined, { toTag: invite.toTag }));
    }
  }

  /** The ACK for a 2xx goes to its dialog (§13.3.1.4); others are dropped. */
  receiveAck(req: SipRequest): void {
    const toTag = req.to.tag;
    if (toTag === undefined) return;
    this.dialogs.get(dialogKey(req.callId, toTag, req.from.tag ?? ''))?.receiveAck(req);
  }

  receiveStrayResponse(res: SipResponse, flow: Flow): void {
    this.logger.debug(
      { status: res.status, callId: res.callId, remote: `${flow.address}:${flow.port}` },
      'stray response',
    );
  }

  // ---------------------------------------------------------------- UAC

  /** A request outside any dialog (e.g. an OPTIONS ping); resolves with the final response. */
  async request(
    uri: string | SipUri,
    method: string,
    opts: RequestOptions & { from?: string; to?: string } = {},
  ): Promise<SipResponse> {
    const ruri = typeof uri === 'string' ? SipUri.parse(uri) : uri;
    const target = await this.routing.resolve(ruri);
    const h = this.newRequestHeaders(target.protocol, ruri, method, 1, opts.from, opts.to, newCallId());
    if (opts.headers)
      for (const [k, v] of Object.entries(opts.headers)) for (const x of [v].flat()) h.append(k, x);
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    if (body && body.length > 0) h.set('Content-Type', opts.contentType ?? 'text/plain');
    const req = new SipRequest(method, ruri.clone(), h, body);
    return new Promise((resolve, reject) => {
      this.transactions.sendRequest(req, target, {
        receiveResponse: (res) => {
          if (res.status >= 200) resolve(res);
        },
        onRequestTimeout: () => reject(new SipError(408, 'Request Timeout')),
        onTransportError: (_tx, err) => reject(new SipError(503, `Transport error: ${err.message}`)),
      });
    });
  }

  private newRequestHeaders(
    protocol: TransportProtocol,
    ruri: SipUri,
    method: string,
    seq: number,
    from: string | undefined,
    to: string | undefined,
    callId: string,
    fromTag = newTag(),
  ): Headers {
    const h = new Headers();
    h.set('Max-Forwards', '70');
    const { host } = this.routing.contactHostPort(protocol);
    const fromNa = NameAddr.parse(from ?? `<sip:${this.coreOpts.contactUser ?? 'parley'}@${host}>`);
    fromNa.tag = fromTag;
    const toNa = NameAddr.parse(to ?? `<${ruri.toString()}>`);
    toNa.tag = undefined;
    h.set('From', fromNa.toString());
    h.set('To', toNa.toString());
    h.set('Call-ID', callId);
    h.set('CSeq', `${seq} ${method}`);
    this.decorate(h, 'request', method);
    return h;
  }

  /**
   * Dial-out (UAC INVITE, §13.2): resolves with the confirmed SessionDialog after sending the ACK for the 2xx;
   * rejects with SipError(status) for a final error response, 408 on timeout, 487 when canceled.
   * Answers 401/407 once with credentials (§22.2), 422 once with the peer's Min-SE (RFC 4028 §7.4).
   */
  async invite(uri: string | SipUri, opts: InviteOptions = {}): Promise<SessionDialog> {
    if (this.coreClosed) throw new SipError(503, 'Stack closed');
    const ruri = typeof uri === 'string' ? SipUri.parse(uri) : uri;
    const routeSet = opts.route ?? [];
    const nextHop = routeSet[0] ? NameAddr.parse(routeSet[0]).uri : ruri;
    const target = await this.routing.resolve(nextHop);
    const callId = opts.callId ?? newCallId();
    const fromTag = newTag();
    const sdp = typeof opts.sdp === 'string' ? Buffer.from(opts.sdp) : opts.sdp;
    const contactParams = opts.contactParams ?? this.defaultContactParams;
    const contactUser = opts.contactUser;
    let seq = 0;
    let sessionExpires = this.sessionTimers?.sessionExpires;

    const build = (extra?: { name: string; value: string }): SipRequest => {
      seq++;
      const h = this.newRequestHeaders(
        target.protocol,
        ruri,
        'INVITE',
        seq,
        opts.from,
        opts.to,
        callId,
        fromTag,
      );
      for (const r of routeSet) h.append('Route', r);
      h.set('Contact', this.contact(target.protocol, contactParams, contactUser));
      if (this.sessionTimers && sessionExpires !== undefined) {
        h.set('Session-Expires', String(sessionExpires));
        h.set('Min-SE', String(this.sessionTimers.minSE));
      }
      if (extra) h.set(extra.name, extra.value);
      if (opts.headers)
        for (const [k, v] of Object.entries(opts.headers)) for (const x of [v].flat()) h.append(k, x);
      if (sdp && sdp.length > 0) h.set('Content-Type', 'application/sdp');
      return new SipRequest('INVITE', ruri.clone(), h, sdp);
    };

    return new Promise<SessionDialog>((resolve, reject) => {
      let current: SipRequest;
      let tx: ClientTransaction | undefined;
      let branch = '';
      let provisional = false;
      let cancelWanted = false;
      let cancelSent = false;
      let settled = false;
      let authTried = false;
      let stRetried = false;
      let timer: TimerHandle | undefined;
      let dialog: SessionDialog | undefined;

      const finish = (err?: Error, d?: SessionDialog): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(d!);
      };
      const sendCancel = (): void => {
        if (cancelSent || !tx || tx.terminated) return;
        cancelSent = true;
        // §9.1: same Request-URI, Call-ID, To, From, CSeq number and Route as the INVITE, and one Via equal to
        // the INVITE's top Via (same branch)
        const h = new Headers();
        h.set('Max-Forwards', '70');
        h.set('From', current.headers.get('From')!);
        h.set('To', current.headers.get('To')!);
        h.set('Call-ID', callId);
        h.set('CSeq', `${current.cseq.seq} CANCEL`);
        for (const r of current.headers.getAll('Route')) h.append('Route', r);
        this.decorate(h, 'request', 'CANCEL');
        const cancel = new SipRequest('CANCEL', current.uri, h);
        this.transactions.sendRequest(cancel, target, { receiveResponse: () => undefined }, { branch });
      };
      const onAbort = (): void => {
        cancelWanted = true;
        // §9.1: "a CANCEL request SHOULD NOT be sent ... if no provisional response has been received"
        if (provisional) sendCancel();
      };
      const send = (req: SipRequest): void => {
        current = req;
        provisional = false;
        cancelSent = false;
        branch = newBranch();
        tx = this.transactions.sendRequest(req, target, user, { branch });
      };
      const ackAndBye = (res: SipResponse): void => {
        // a 2xx we no longer want (canceled race, other fork): confirm it and hang up (§15)
        const d = this.createUacDialog(current, res, target, sdp, contactParams, contactUser);
        d.sendAck(current.cseq.seq, target);
        void d.bye();
      };
      const user: ClientTransactionUser = {
        receiveResponse: (res, t) => {
          const status = res.status;
          if (t !== tx) {
            if (status >= 200 && status < 300) ackAndBye(res);
            return;
          }
          if (status < 200) {
            provisional = true;
            if (status > 100) opts.onProgress?.(res);
            if (cancelWanted) sendCancel();
            return;
          }
          if (status < 300) {
            if (dialog && res.to.tag === dialog.remoteTag) {
              dialog.sendAck(current.cseq.seq, target); // retransmitted 2xx (§13.2.2.4)
              return;
            }
            if (settled || dialog) {
              ackAndBye(res);
              return;
            }
            dialog = this.createUacDialog(current, res, target, sdp, contactParams, contactUser);
            this.addDialog(dialog);
            dialog.sendAck(current.cseq.seq, target);
            const st = this.sessionTimers ? negotiateAsUac(res) : undefined;
            if (st) dialog.applySessionTimer(st);
            dialog.settle();
            finish(undefined, dialog);
            return;
          }
          if (settled) return;
          if ((status === 401 || status === 407) && opts.auth && !authTried) {
            authTried = true;
            const authz = (this.coreOpts.digestAuthorizer ?? digestAuthorizer)(res, current, opts.auth);
            if (authz) {
              send(build(authz));
              return;
            }
          }
          if (status === 422 && !stRetried && this.sessionTimers) {
            const minSe = Number(res.headers.get('Min-SE')?.split(';')[0]);
            if (Number.isInteger(minSe) && minSe > 0) {
              stRetried = true;
              sessionExpires = Math.max(minSe, sessionExpires ?? 0);
              send(build());
              return;
            }
          }
          finish(new SipError(status, res.reason));
        },
        onRequestTimeout: () => finish(new SipError(408, 'Request Timeout')),
        onTransportError: (_t, err) => finish(new SipError(503, `Transport error: ${err.message}`)),
      };
      if (opts.signal?.aborted) {
        finish(new SipError(487, 'Request Terminated'));
        return;
      }
      opts.signal?.addEventListener('abort', onAbort);
      if (opts.timeoutMs) timer = this.clock.setTimeout(onAbort, opts.timeoutMs);
      send(build());
    });
  }

  /** §12.1.2: the UAC side of dialog creation from a 2xx. */
  private createUacDialog(
    req: SipRequest,
    res: SipResponse,
    target: Target,
    sdp: Buffer | undefined,
    contactParams: string | undefined,
    contactUser?: string,
  ): SessionDialog {
    const from = req.from.clone();
    const localTag = from.tag ?? '';
    from.tag = undefined;
    const to = res.to.clone();
    const remoteTag = to.tag ?? '';
    to.tag = undefined;
    const contact = res.contact[0];
    // "The route set MUST be set to the list of URIs in the Record-Route header field from the response, taken in
    // reverse order"; without Record-Route, a pre-loaded route does not persist
    const rr = res.headers.getList('Record-Route').reverse();
    return new SessionDialog(this, {
      role: 'uac',
      callId: req.callId,
      localTag,
      remoteTag,
      localUri: from,
      remoteUri: to,
      localSeq: req.cseq.seq,
      remoteTarget: contact ? contact.uri : req.uri,
      routeSet: rr,
      secure: req.uri.scheme === 'sips',
      flow: { ...target, localAddress: this.routing.ip, localPort: 0 },
      contactParams,
      contactUser,
      localSdp: sdp,
      remoteSdp: res.body.length > 0 ? res.body : undefined,
      peerAllows: res.headers.getList('Allow').map((m) => m.toUpperCase()),
    });
  }

  /** Terminates all dialogs (no BYE is sent: hang up first if the peers should know). */
  protected closeDialogs(): void {
    for (const d of [...this.dialogs.values()]) d.terminate({ reason: TerminationReason.StackClosed });
    this.dialogs.clear();
  }
}
