import { ERROR_CATALOGUE } from '../../errors/catalogue';
import { SipError } from '../errors';
import type { NameAddr } from '../message/name-addr';
import type { SipRequest } from '../message/sip-message';
import type { SipUri } from '../message/uri';
import type { Flow } from '../transport/transport';
import type { IncomingRequest } from '../ua/incoming-request';
import { parseEventHeader, type EventHeader } from './event-header';
import { grantExpires, type ExpiryLimits } from './expiry';
import { Subscription, type StateProvider } from './subscription';
import type { SubscriptionHost } from './subscription-host';

/** An event package as the notifier serves it (RFC 6665 §7: each package names its body types and durations). */
export interface EventPackage extends Partial<ExpiryLimits> {
  /**
   * Decides on each new SUBSCRIBE: `s.accept({ state })` or `s.reject(404)`; a thrown or rejected `SipError` is its
   * status, anything else 500. Must answer (sync or async): one left unanswered gets 500.
   */
  subscribe(s: SubscribeRequest): void | Promise<void>;
  /** body types it sends, for the SUBSCRIBE's Accept (RFC 6665 §4.2.1: none of them acceptable → 406) */
  contentTypes: string[];
}

export interface AcceptOptions {
  /** the current state: the first NOTIFY, those after refreshes, and the final one after unsubscribe or expiry */
  state: StateProvider;
  /** not authorised yet (`Subscription-State: pending`, RFC 6665 §4.2.1.1); `activate()` later */
  pending?: boolean;
}

export interface SubscriptionNotifierOptions {
  /** live subscriptions per source address (default 64); more → 503 SEC_TOO_MANY_SUBSCRIPTIONS */
  maxPerSource?: number;
  /** live subscriptions in all (default 10000) */
  maxTotal?: number;
  /** sources never limited per address (trunks: `security.allow`) */
  isExempt?: (address: string) => boolean;
}

/** Default durations (seconds): RFC 6665 does not fix them; an hour by default, refused under a minute. */
const DEFAULT_LIMITS: ExpiryLimits = { defaultExpires: 3600, minExpires: 60, maxExpires: 7200 };

/** A new SUBSCRIBE handed to its package: accept it (the 200 and the first NOTIFY go at once) or reject it. */
export class SubscribeRequest {
  private answered = false;

  constructor(
    private readonly notifier: SubscriptionNotifier,
    private readonly incoming: IncomingRequest,
    readonly event: EventHeader,
    /** the duration granted (seconds; 0 = a fetch: one NOTIFY, terminated) */
    readonly expires: number,
    private readonly limits: ExpiryLimits,
  ) {}

  get request(): SipRequest {
    return this.incoming.request;
  }

  /** the resource subscribed to (the Request-URI: `sip:<room>@host`) */
  get resource(): SipUri {
    return this.incoming.request.uri;
  }

  get subscriber(): NameAddr {
    return this.incoming.request.from;
  }

  get flow(): Flow {
    return this.incoming.flow;
  }

  get replied(): boolean {
    return this.answered;
  }

  /** 200 OK with Expires and Contact, then the first NOTIFY at once (RFC 6665 §4.2.1.2). */
  accept(opts: AcceptOptions): Subscription {
    if (this.answered) throw new Error('SUBSCRIBE already answered');
    this.answered = true;
    return this.notifier.establish(this.incoming, {
      event: this.event,
      expires: this.expires,
      limits: this.limits,
      state: opts.state,
      pending: opts.pending ?? false,
      status: 200,
    });
  }

  reject(status: number, reason?: string, headers?: Record<string, string | string[]>): void {
    if (this.answered) return;
    this.answered = true;
    this.notifier.refuse(this.incoming, status, reason, headers);
  }
}

/** @internal */
interface EstablishOptions {
  event: EventHeader;
  expires: number;
  limits: ExpiryLimits;
  state: StateProvider;
  pending: boolean;
  status: 200 | 202;
}

/**
 * The notifier side of RFC 6665 for the whole stack, knowing nothing of what is subscribed to: packages register
 * by event name (`register('conference', pkg)`); an out-of-dialog SUBSCRIBE for one of them is checked (Event,
 * Accept, Expires) and handed to it; the accepted subscription lives in its own dialog, registered with the
 * user-agent core so that refreshes and the unsubscribe reach it. Also builds RFC 3515's implicit subscription of
 * an out-of-dialog REFER (`acceptRefer`).
 */
export class SubscriptionNotifier {
  private readonly packages = new Map<string, { pkg: EventPackage; limits: ExpiryLimits }>();
  private readonly live = new Set<Subscription>();
  /** live subscriptions per source address */
  private readonly perSource = new Map<string, number>();
  private closed = false;
  private readonly maxPerSource: number;
  private readonly maxTotal: number;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly opts: SubscriptionNotifierOptions = {},
  ) {
    this.maxPerSource = opts.maxPerSource ?? 64;
    this.maxTotal = opts.maxTotal ?? 10000;
    host.routeMethod('SUBSCRIBE', (r) => this.onSubscribe(r));
  }

  /**
   * Whether `address` may hold one more subscription. Each one is state kept for up to maxExpires and NOTIFYs sent
   * to whatever Contact it named: without a cap, one source could pile up watchers (and aim their NOTIFYs at a
   * third party).
   */
  private full(address: string): boolean {
    if (this.live.size >= this.maxTotal) return true;
    if (this.opts.isExempt?.(address)) return false;
    return (this.perSource.get(address) ?? 0) >= this.maxPerSource;
  }

  /** Serves `event` with `pkg` until the returned function is called. */
  register(event: string, pkg: EventPackage): () => void {
    if (this.packages.has(event)) throw new Error(`event package ${event} already registered`);
    const limits: ExpiryLimits = {
      defaultExpires: pkg.defaultExpires ?? DEFAULT_LIMITS.defaultExpires,
      minExpires: pkg.minExpires ?? DEFAULT_LIMITS.minExpires,
      maxExpires: pkg.maxExpires ?? DEFAULT_LIMITS.maxExpires,
    };
    this.packages.set(event, { pkg, limits });
    return () => {
      if (this.packages.get(event)?.pkg === pkg) this.packages.delete(event);
    };
  }

  /** The Allow-Events header value (RFC 6665 §7.2.2): the packages served. */
  allowEvents(): string {
    return [...this.packages.keys()].join(', ');
  }

  /** Subscriptions alive now (all packages). */
  get size(): number {
    return this.live.size;
  }

  /**
   * RFC 3515 §2.4.4: an accepted out-of-dialog REFER creates an implicit subscription to the `refer` event in a
   * new dialog: answers 202 Accepted (with Contact) and sends the first NOTIFY (`state()`, typically the sipfrag
   * `SIP/2.0 100 Trying`) at once. The refer engineer's handler checks authorisation before calling this.
   */
  acceptRefer(incoming: IncomingRequest, opts: { state: StateProvider; expires?: number }): Subscription {
    if (incoming.request.contact.length === 0) throw new SipError(400, 'Missing Contact');
    if (this.full(incoming.flow.address)) {
      const { status, reason } = ERROR_CATALOGUE.SEC_TOO_MANY_SUBSCRIPTIONS.sip;
      throw new SipError(status, reason);
    }
    const expires = opts.expires ?? 60;
    return this.establish(incoming, {
      event: { type: 'refer' },
      expires,
      limits: { defaultExpires: expires, minExpires: 1, maxExpires: Math.max(expires, 3600) },
      state: opts.state,
      pending: false,
      status: 202,
    });
  }

  /** Ends every subscription without NOTIFY and stops serving SUBSCRIBE (the stack is closing). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.live]) s.close();
    this.live.clear();
    this.perSource.clear();
    this.packages.clear();
  }

  /** RFC 6665 §4.2.1: a SUBSCRIBE outside any dialog. */
  private onSubscribe(r: IncomingRequest): void {
    const allow = { 'Allow-Events': this.allowEvents() };
    if (this.closed) {
      r.reply(503);
      return;
    }
    const req = r.request;
    const raw = req.headers.get('Event');
    if (raw === undefined) {
      r.reply(400, { reason: 'Missing Event header', headers: allow });
      return;
    }
    let event: EventHeader;
    try {
      event = parseEventHeader(raw);
    } catch (err) {
      r.reply(400, { reason: err instanceof SipError ? err.reason : 'Bad Event header', headers: allow });
      return;
    }
    const entry = this.packages.get(event.type);
    if (!entry) {
      // RFC 6665 §4.2.1: an event package the notifier does not support MUST get 489 (Bad Event); §7.2.2: with an
      // Allow-Events header listing those it does
      r.reply(489, { headers: allow });
      return;
    }
    // RFC 3261 §8.1.1.8: a dialog-creating request must carry a Contact
    if (req.contact.length === 0) {
      r.reply(400, { reason: 'Missing Contact', headers: allow });
      return;
    }
    if (!acceptable(req, entry.pkg.contentTypes)) {
      r.reply(406, { headers: { ...allow, Accept: entry.pkg.contentTypes.join(', ') } });
      return;
    }
    const granted = grantExpires(req, entry.limits);
    if (granted.ok === false) {
      // RFC 6665 §4.2.1.1: too brief → 423 (Interval Too Brief) with Min-Expires
      r.reply(423, { headers: { ...allow, 'Min-Expires': String(granted.minExpires) } });
      return;
    }
    if (granted.expires > 0 && this.full(r.flow.address)) {
      const { status, reason } = ERROR_CATALOGUE.SEC_TOO_MANY_SUBSCRIPTIONS.sip;
      r.reply(status, { reason, headers: allow });
      return;
    }
    const s = new SubscribeRequest(this, r, event, granted.expires, entry.limits);
    const fail = (err: unknown): void => {
      if (s.replied) return;
      if (err instanceof SipError && err.status >= 300) s.reject(err.status, err.reason, err.headers);
      else {
        this.host.logger.error({ err, event: event.type }, 'event package failed on a SUBSCRIBE');
        s.reject(500);
      }
    };
    let out: void | Promise<void>;
    try {
      out = entry.pkg.subscribe(s);
    } catch (err) {
      fail(err);
      return;
    }
    if (out instanceof Promise)
      out.then(
        () => fail(new Error('event package left the SUBSCRIBE unanswered')),
        (err: unknown) => fail(err),
      );
    else if (!s.replied) fail(new Error('event package left the SUBSCRIBE unanswered'));
  }

  /** @internal the 2xx of a dialog-creating SUBSCRIBE or REFER, then the subscription's first NOTIFY */
  establish(incoming: IncomingRequest, o: EstablishOptions): Subscription {
    const sub = new Subscription({
      host: this.host,
      request: incoming.request,
      flow: incoming.flow,
      localTag: incoming.toTag,
      event: o.event,
      expires: o.expires,
      limits: o.limits,
      state: o.state,
      pending: o.pending,
      allowEvents: () => this.allowEvents(),
      onEnd: (x) => this.forget(x),
    });
    if (o.expires > 0) {
      this.live.add(sub);
      const a = incoming.flow.address;
      this.perSource.set(a, (this.perSource.get(a) ?? 0) + 1);
      this.host.addUsage(sub.key, sub);
    }
    incoming.reply(o.status, {
      headers: {
        // RFC 6665 §4.2.1.1: the 2xx says the duration granted in Expires
        ...(o.status === 200 ? { Expires: String(o.expires) } : {}),
        Contact: this.host.contact(incoming.flow.protocol),
        'Allow-Events': this.allowEvents(),
      },
    });
    sub.start(o.expires);
    return sub;
  }

  private forget(sub: Subscription): void {
    if (!this.live.delete(sub)) return;
    const a = sub.source;
    const n = (this.perSource.get(a) ?? 1) - 1;
    if (n > 0) this.perSource.set(a, n);
    else this.perSource.delete(a);
  }

  /** @internal */
  refuse(
    incoming: IncomingRequest,
    status: number,
    reason?: string,
    headers?: Record<string, string | string[]>,
  ): void {
    incoming.reply(status, { reason, headers: { 'Allow-Events': this.allowEvents(), ...headers } });
  }
}

/** RFC 3261 §20.1 / RFC 6665 §4.1.2: no Accept means the package's default type; otherwise one must match. */
function acceptable(req: SipRequest, types: string[]): boolean {
  const accept = req.headers.getList('Accept');
  if (accept.length === 0) return true;
  const ranges = accept.map((a) => a.split(';')[0]!.trim().toLowerCase());
  return types.some((t) => {
    const [major] = t.split('/');
    return ranges.some((r) => r === t || r === '*/*' || r === `${major}/*`);
  });
}
