import { SipError } from '../errors';
import { dialogKey } from '../dialog/dialog-id';
import { createResponse } from '../message/response-factory';
import { NameAddr } from '../message/name-addr';
import { SipRequest, type SipResponse } from '../message/sip-message';
import type { SipUri } from '../message/uri';
import type { TimerHandle } from '../transaction/clock';
import type { ServerTransaction } from '../transaction/transaction';
import type { Flow, Target } from '../transport/transport';
import { isReliable } from '../transport/transport';
import { TypedEmitter } from '../../util/typed-emitter';
import { inDialogRequest } from '../dialog/in-dialog-request';
import { formatEventHeader, parseEventHeader, type EventHeader } from './event-header';
import { grantExpires, type ExpiryLimits } from './expiry';
import type { SubscriptionHost } from './subscription-host';
import { SubscriptionEndCause, SubscriptionState, TerminatedReason } from './subscription-state';

/** What a NOTIFY carries: a body and its type (none: a NOTIFY without body). */
export interface NotifyContent {
  body?: string | Buffer;
  contentType?: string;
}

/**
 * The resource's current state, for the NOTIFYs the notifier sends on its own: the first one after the 200
 * (RFC 6665 §4.2.1.2), the one after each refresh, and the final one after an unsubscribe or the expiry.
 */
export type StateProvider = () => NotifyContent;

export interface SubscriptionEnd {
  cause: SubscriptionEndCause;
  /** the `reason` of the final `Subscription-State: terminated` we sent (none when we sent no final NOTIFY) */
  reason?: TerminatedReason;
  /** the status that ended it (a NOTIFY answered 481, 408 for a timeout) */
  status?: number;
}

export interface SubscriptionEvents {
  /** the subscriber refreshed the subscription (RFC 6665 §4.2.1.2); seconds granted. The NOTIFY is already queued. */
  refresh: [expires: number];
  /** the subscription ended (exactly once) */
  terminated: [SubscriptionEnd];
}

/** @internal what the notifier hands a new subscription */
export interface SubscriptionInit {
  host: SubscriptionHost;
  /** the dialog-creating request (SUBSCRIBE, or REFER: RFC 3515's implicit subscription) */
  request: SipRequest;
  flow: Flow;
  /** the To tag of our 2xx (RFC 3261 §12.1.1) */
  localTag: string;
  event: EventHeader;
  expires: number;
  limits: ExpiryLimits;
  state: StateProvider;
  pending: boolean;
  allowEvents: () => string;
  onEnd: (s: Subscription) => void;
}

const toBuffer = (b?: string | Buffer): Buffer | undefined =>
  b === undefined ? undefined : typeof b === 'string' ? Buffer.from(b) : b;

/**
 * One subscription on the notifier side (RFC 6665 §4.2), in its own dialog (RFC 3261 §12.1.1: our To tag, the
 * SUBSCRIBE's Record-Route as route set, its Contact as remote target). Sends NOTIFYs one after the other (each
 * waits for the previous one's final response, so the subscriber sees them in order), takes refreshes and the
 * unsubscribe in its dialog, and ends itself at its expiry with a final NOTIFY. Knows nothing of the package.
 */
export class Subscription extends TypedEmitter<SubscriptionEvents> {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly key: string;
  readonly event: EventHeader;
  /** the resource subscribed to (the SUBSCRIBE's Request-URI) */
  readonly resource: SipUri;
  /** who subscribed (the From, without tag) */
  readonly subscriber: NameAddr;
  /** the request that created the subscription */
  readonly request: SipRequest;
  /** the address the subscription came from (its source, counted against the notifier's per-source cap) */
  readonly source: string;
  private subState: SubscriptionState;
  private end?: SubscriptionEnd;
  private expiresAt: number;
  private expiryTimer?: TimerHandle;
  private readonly host: SubscriptionHost;
  private readonly localUri: NameAddr;
  private remoteTarget: SipUri;
  private readonly routeSet: string[];
  private flow: Flow;
  private localSeq = 0;
  private remoteSeq: number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly state: StateProvider;
  private readonly limits: ExpiryLimits;
  private readonly allowEvents: () => string;
  private readonly onEnd: (s: Subscription) => void;

  constructor(init: SubscriptionInit) {
    super(init.host.logger);
    const req = init.request;
    this.host = init.host;
    this.request = req;
    this.callId = req.callId;
    this.localTag = init.localTag;
    this.remoteTag = req.from.tag ?? '';
    this.key = dialogKey(this.callId, this.localTag, this.remoteTag);
    this.event = init.event;
    this.resource = req.uri.clone();
    const from = req.from.clone();
    from.tag = undefined;
    this.subscriber = from;
    const to = req.to.clone();
    to.tag = undefined;
    this.localUri = to;
    this.remoteTarget = req.contact[0]!.uri.clone();
    // RFC 3261 §12.1.1: "The route set MUST be set to the list of URIs in the Record-Route header field from the
    // request, taken in order"
    this.routeSet = req.headers.getList('Record-Route');
    this.flow = init.flow;
    this.source = init.flow.address;
    this.remoteSeq = req.cseq.seq;
    this.state = init.state;
    this.limits = init.limits;
    this.allowEvents = init.allowEvents;
    this.onEnd = init.onEnd;
    this.subState = init.pending ? SubscriptionState.Pending : SubscriptionState.Active;
    this.expiresAt = this.host.clock.now() + init.expires * 1000;
  }

  get subscriptionState(): SubscriptionState {
    return this.subState;
  }

  /** How it ended, once it has. */
  get ended(): SubscriptionEnd | undefined {
    return this.end;
  }

  get terminated(): boolean {
    return this.subState === SubscriptionState.Terminated;
  }

  /** Seconds left before the subscription expires (0 once terminated). */
  get expires(): number {
    return this.terminated ? 0 : this.remaining();
  }

  private remaining(): number {
    return Math.max(0, Math.ceil((this.expiresAt - this.host.clock.now()) / 1000));
  }

  /** @internal the 2xx has gone out: arm the expiry and send the first NOTIFY at once (RFC 6665 §4.2.1.2). */
  start(expires: number): void {
    if (expires === 0) {
      // RFC 6665 §4.4.3: a SUBSCRIBE with Expires 0 fetches the state once: one NOTIFY, terminated
      this.finish(SubscriptionEndCause.Unsubscribed, TerminatedReason.Timeout, this.state());
      return;
    }
    this.armExpiry();
    void this.notify(this.state());
  }

  /** An authorised (`pending` → `active`) subscription (RFC 6665 §4.2.1.1); sends the state at once. */
  activate(content?: NotifyContent): Promise<SipResponse | undefined> {
    if (this.subState !== SubscriptionState.Pending) return Promise.resolve(undefined);
    this.subState = SubscriptionState.Active;
    return this.notify(content ?? this.state());
  }

  /**
   * Sends a NOTIFY with `Subscription-State: active;expires=<left>` (or pending). NOTIFYs are sent in order, one at
   * a time. Resolves with the final response, or undefined when the subscription had ended before it could go.
   * A NOTIFY answered 481 or any other error, or timed out, ends the subscription (RFC 6665 §4.2.2: the subscriber
   * is gone; nothing more is sent).
   */
  notify(content: NotifyContent): Promise<SipResponse | undefined> {
    if (this.terminated) return Promise.resolve(undefined);
    const state = this.subState;
    // the expiry is read when the NOTIFY leaves (it counts down while earlier ones wait for their answers)
    return this.enqueue(() => `${state};expires=${this.remaining()}`, content);
  }

  /**
   * Ends the subscription with a final NOTIFY `Subscription-State: terminated;reason=<reason>` (RFC 6665 §4.2.2),
   * after the NOTIFYs already queued. Idempotent. `noresource` (the room ended) tells the subscriber not to
   * re-subscribe.
   */
  terminate(
    reason: TerminatedReason = TerminatedReason.Deactivated,
    content: NotifyContent = {},
  ): Promise<SipResponse | undefined> {
    if (this.terminated) return Promise.resolve(undefined);
    return this.finish(SubscriptionEndCause.Terminated, reason, content);
  }

  /** Forgets the subscription without a NOTIFY (the stack is closing). Idempotent. */
  close(): void {
    if (this.terminated) return;
    this.ending({ cause: SubscriptionEndCause.Closed });
  }

  // ------------------------------------------------------------------ the dialog (UAS of SUBSCRIBE, UAC of NOTIFY)

  /** @internal a request in the subscription's dialog (from the user-agent core) */
  receiveRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    if (this.terminated) {
      this.respond(tx, 481);
      return;
    }
    // RFC 3261 §12.2.2: a lower CSeq than the last one is out of order: 500
    if (req.cseq.seq < this.remoteSeq) {
      this.respond(tx, 500, { reason: 'CSeq Out of Order' });
      return;
    }
    this.remoteSeq = req.cseq.seq;
    if (isReliable(flow.protocol)) this.flow = flow;
    if (req.method === 'OPTIONS') {
      this.respond(tx, 200);
      return;
    }
    if (req.method !== 'SUBSCRIBE') {
      // RFC 5057 §5.3: a request for a usage the dialog does not have
      this.respond(tx, 481, { reason: 'No such dialog usage' });
      return;
    }
    this.onSubscribe(req, tx);
  }

  /** RFC 6665 §4.2.1.2 refresh, §4.2.1.4 unsubscribe. */
  private onSubscribe(req: SipRequest, tx: ServerTransaction): void {
    const raw = req.headers.get('Event');
    if (raw === undefined) {
      this.respond(tx, 400, { reason: 'Missing Event header' });
      return;
    }
    let ev: EventHeader;
    try {
      ev = parseEventHeader(raw);
    } catch (err) {
      this.respond(tx, 400, { reason: err instanceof SipError ? err.reason : 'Bad Event header' });
      return;
    }
    // RFC 6665 §4.1.2.1 / §4.2.1: event type and id name the subscription in the dialog; we keep one per dialog
    if (ev.type !== this.event.type || ev.id !== this.event.id) {
      this.respond(tx, 481, { reason: 'Subscription does not exist' });
      return;
    }
    const granted = grantExpires(req, this.limits);
    if (granted.ok === false) {
      // RFC 6665 §4.2.1.1: a duration too short is refused with 423 (Interval Too Brief) and a Min-Expires
      this.respond(tx, 423, { headers: { 'Min-Expires': String(granted.minExpires) } });
      return;
    }
    const contact = req.contact[0];
    if (contact) this.remoteTarget = contact.uri.clone(); // SUBSCRIBE is a target refresh request
    // RFC 6665 §4.2.1.1: the 200 carries Expires, the duration actually granted
    this.respond(tx, 200, { headers: { Expires: String(granted.expires) }, contact: true });
    if (granted.expires === 0) {
      // RFC 6665 §4.1.2.3 / §4.2.1.2: a successful unsubscription also triggers a final NOTIFY
      void this.finish(SubscriptionEndCause.Unsubscribed, TerminatedReason.Timeout, this.state());
      return;
    }
    this.expiresAt = this.host.clock.now() + granted.expires * 1000;
    this.armExpiry();
    // RFC 6665 §4.2.1.2: after accepting or refreshing a subscription the notifier MUST send a NOTIFY at once with
    // the current state of the resource
    void this.notify(this.state());
    this.safeEmit('refresh', granted.expires);
  }

  private armExpiry(): void {
    const clock = this.host.clock;
    if (this.expiryTimer !== undefined) clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = clock.setTimeout(
      () => {
        this.expiryTimer = undefined;
        // RFC 6665 §4.2.2: at the expiry the notifier sends a final NOTIFY, terminated with reason "timeout"
        void this.finish(SubscriptionEndCause.Expired, TerminatedReason.Timeout, this.state());
      },
      Math.max(0, this.expiresAt - clock.now()),
    );
  }

  private finish(
    cause: SubscriptionEndCause,
    reason: TerminatedReason,
    content: NotifyContent,
  ): Promise<SipResponse | undefined> {
    if (this.terminated) return Promise.resolve(undefined);
    const p = this.enqueue(() => `${SubscriptionState.Terminated};reason=${reason}`, content, true);
    this.ending({ cause, reason });
    return p;
  }

  private ending(end: SubscriptionEnd): void {
    if (this.end) return;
    this.end = end;
    this.subState = SubscriptionState.Terminated;
    if (this.expiryTimer !== undefined) this.host.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.host.forgetUsage(this.key);
    this.onEnd(this);
    this.safeEmit('terminated', end);
  }

  /**
   * Queues a NOTIFY; `stateHeader` is read when it is its turn. NOTIFYs queued before a `terminate()` still go out
   * ahead of the final one (a REFER's progress, then its end); none goes once the subscriber is gone (a NOTIFY
   * failed) or the subscription was closed.
   */
  private enqueue(
    stateHeader: () => string,
    content: NotifyContent,
    final = false,
  ): Promise<SipResponse | undefined> {
    const run = async (): Promise<SipResponse | undefined> => {
      const cause = this.end?.cause;
      if (cause === SubscriptionEndCause.NotifyFailed || cause === SubscriptionEndCause.Closed)
        return undefined;
      return this.sendNotify(stateHeader(), content, final);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async sendNotify(
    state: string,
    content: NotifyContent,
    final: boolean,
  ): Promise<SipResponse | undefined> {
    const body = toBuffer(content.body);
    const headers: Record<string, string> = {
      // RFC 6665 §8.2.1: the NOTIFY's Event header carries the subscription's event type and id
      Event: formatEventHeader(this.event),
      'Subscription-State': state,
      'Allow-Events': this.allowEvents(),
    };
    const req = this.buildRequest('NOTIFY', headers, body, content.contentType);
    let res: SipResponse;
    try {
      res = await this.send(req);
    } catch (err) {
      const status = err instanceof SipError ? err.status : 503;
      this.host.logger.info({ callId: this.callId, status }, 'NOTIFY failed, subscription ended');
      if (!final) this.ending({ cause: SubscriptionEndCause.NotifyFailed, status });
      return undefined;
    }
    if (res.status >= 300 && !final) {
      // RFC 6665 §4.2.2: a 481 means the subscription no longer exists at the subscriber; any other error response
      // to a NOTIFY removes the subscription as well (we do not retry)
      this.host.logger.info(
        { callId: this.callId, status: res.status },
        'NOTIFY refused, subscription ended',
      );
      this.ending({ cause: SubscriptionEndCause.NotifyFailed, status: res.status });
    }
    return res;
  }

  /** RFC 3261 §12.2.1.1: a request within the dialog (loose or strict routing), CSeq one more each time. */
  private buildRequest(
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    contentType: string | undefined,
  ): SipRequest {
    const { uri, headers: h } = inDialogRequest({
      method,
      remoteTarget: this.remoteTarget,
      routeSet: this.routeSet,
      localUri: this.localUri,
      localTag: this.localTag,
      remoteUri: this.subscriber,
      remoteTag: this.remoteTag,
      callId: this.callId,
      nextSeq: () => ++this.localSeq,
      // RFC 6665 §4.2.2: NOTIFY is a target refresh request and MUST carry a Contact
      contact: this.host.contact(this.flow.protocol),
    });
    this.host.decorate(h, 'request', method);
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    if (body && body.length > 0) h.set('Content-Type', contentType ?? 'text/plain');
    return new SipRequest(method, uri, h, body);
  }

  private async nextTarget(): Promise<Target> {
    if (this.flow.connectionId !== undefined && this.host.routing.isOpen(this.flow)) return this.flow;
    const first = this.routeSet[0];
    return this.host.routing.resolve(first ? NameAddr.parse(first).uri : this.remoteTarget);
  }

  private async send(req: SipRequest): Promise<SipResponse> {
    const target = await this.nextTarget();
    return new Promise<SipResponse>((resolve, reject) => {
      this.host.transactions.sendRequest(req, target, {
        receiveResponse: (res) => {
          if (res.status >= 200) resolve(res);
        },
        onRequestTimeout: () => reject(new SipError(408, 'Request Timeout')),
        onTransportError: (_tx, err) => reject(new SipError(503, `Transport error: ${err.message}`)),
      });
    });
  }

  /** @internal a response to a request of this dialog (and to the dialog-creating one: `contact` for a 2xx) */
  respond(
    tx: ServerTransaction,
    status: number,
    opts: { reason?: string; headers?: Record<string, string>; contact?: boolean } = {},
  ): void {
    const res = createResponse(tx.request, status, opts.reason, {
      toTag: this.localTag,
      headers: opts.headers,
    });
    if (opts.contact) res.headers.set('Contact', this.host.contact(this.flow.protocol));
    // RFC 6665 §7.2.2 / §4.4.4: Allow-Events says which packages we serve
    res.headers.set('Allow-Events', this.allowEvents());
    this.host.decorate(res.headers, 'response', tx.request.method);
    tx.respond(res);
  }
}
