/**
 * The registrar (RFC 3261 §10.3) for the users of this server: phones REGISTER `sip:<user>@<our host>` with digest
 * credentials (config `sip.accounts` or a database account, checked by the shared `SipRequestAuthenticator`), and
 * their contacts are kept in the store, so they survive a restart. The binding rules themselves are the pure
 * `applyRegister`; this class does the SIP around them, sweeps expired bindings, keeps NATs open with OPTIONS pings
 * (a contact that stops answering is dropped), and answers "where is alice?" (`ContactLocator`) for dial-by-name.
 *
 * Stream transports also answer RFC 5626 CRLFCRLF pings with CRLF (`stream-transport.ts`), so a phone using
 * outbound-style keep-alives on TCP/TLS keeps its connection without any help from here.
 */
import type { Logger } from 'pino';
import type { RegisteredContactView } from '../../protocol/dashboard-protocol';
import type { SipRequestAuthenticator } from '../../sip/auth/request-authenticator';
import { SipError } from '../../sip/errors';
import type { SipRequest, SipResponse } from '../../sip/message/sip-message';
import type { SipUri } from '../../sip/message/uri';
import type { IncomingRequest } from '../../sip/ua/incoming-request';
import type { RegistrationRecord, RegistrationRepository } from '../../storage/store';
import { TypedEmitter } from '../../util/typed-emitter';
import {
  applyRegister,
  orderBindings,
  reachableContact,
  remainingSeconds,
  type Binding,
  type BindingPolicy,
  type ContactInput,
} from './binding-table';
import type { ContactLocator } from './contact-locator';

/** What the registrar needs of the SIP stack (SipStack is one). */
export interface RegistrarSip {
  /** Out-of-dialog requests of `method` go to `handler` (after the core's checks). */
  routeMethod(method: string, handler: (r: IncomingRequest) => void): void;
  /** An out-of-dialog request (the OPTIONS keep-alive); rejects with SipError(408 / 503) when nobody answers. */
  request(uri: string, method: string): Promise<SipResponse>;
}

export interface RegistrarOptions {
  sip: RegistrarSip;
  authenticator: SipRequestAuthenticator;
  /** Whether `user` is an account that may register (config or database). */
  knowsUser: (user: string) => boolean;
  /** Whether the Request-URI's host names this server (§10.3 step 1). */
  isOurDomain: (host: string) => boolean;
  store: RegistrationRepository;
  policy: BindingPolicy & {
    /** OPTIONS to every bound contact this often; 0 = no keep-alive */
    keepAliveSeconds: number;
  };
  log: Logger;
  /** milliseconds since the epoch (tests) */
  now?: () => number;
  /** how often expired bindings are swept (default 15 s) */
  sweepSeconds?: number;
}

/** One user's registration as the API and the dashboard show it. */
export interface RegisteredUser {
  user: string;
  contacts: RegisteredContactView[];
}

export interface RegistrarEvents {
  /** `user`'s bindings changed (registered, refreshed, removed, expired, dropped by keep-alive). */
  changed: [user: string];
}

/** Contact parameters that would send the call somewhere other than the contact's host. */
function unsafeContact(uri: SipUri): string | undefined {
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return 'Contact must be a sip: or sips: URI';
  if (uri.params.has('maddr')) return 'Contact with maddr not accepted';
  if (uri.headers.size > 0) return 'Contact with header fields not accepted';
  return undefined;
}

export class Registrar extends TypedEmitter<RegistrarEvents> implements ContactLocator {
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  /** contacts with an OPTIONS ping in flight (no second one meanwhile) */
  private readonly pinging = new Set<string>();
  private closed = false;

  constructor(private readonly opts: RegistrarOptions) {
    super(opts.log);
    this.now = opts.now ?? Date.now;
    opts.sip.routeMethod('REGISTER', (r) => void this.onRegister(r));
    const sweep = setInterval(() => this.sweep(), (opts.sweepSeconds ?? 15) * 1000);
    sweep.unref();
    this.timers.push(sweep);
    if (opts.policy.keepAliveSeconds > 0) {
      const ka = setInterval(() => this.keepAlive(), opts.policy.keepAliveSeconds * 1000);
      ka.unref();
      this.timers.push(ka);
    }
    // Bindings that expired while we were down are gone at once.
    this.sweep();
  }

  // ------------------------------------------------------------------ queries

  /** `user`'s contact URIs, best first (ContactLocator). */
  locate(user: string): Promise<string[]> {
    return Promise.resolve(this.bindingsOf(user).map((b) => b.contact));
  }

  /** `user`'s live bindings, best first. */
  bindingsOf(user: string): Binding[] {
    // an account disabled or deleted since it registered is nobody's to dial (its rows expire on their own)
    if (!this.opts.knowsUser(user)) return [];
    const now = this.now();
    return orderBindings(
      this.opts.store
        .forUser(user)
        .map(fromRecord)
        .filter((b) => b.expiresAt > now),
    );
  }

  /** Every registered user with their live contacts, by name. */
  list(): RegisteredUser[] {
    const now = this.now();
    const by = new Map<string, Binding[]>();
    for (const r of this.opts.store.list()) {
      const b = fromRecord(r);
      if (b.expiresAt <= now || !this.opts.knowsUser(r.username)) continue;
      const list = by.get(r.username) ?? [];
      list.push(b);
      by.set(r.username, list);
    }
    return [...by.entries()].map(([user, bs]) => view(user, bs, now));
  }

  /** One user's registration (no contacts when not registered). */
  registration(user: string): RegisteredUser {
    return view(user, this.bindingsOf(user), this.now());
  }

  // ------------------------------------------------------------------ REGISTER

  private async onRegister(r: IncomingRequest): Promise<void> {
    const req = r.request;
    try {
      // §10.3 step 1: bindings for our own domain only (we are no proxy to forward it elsewhere)
      if (!this.opts.isOurDomain(req.uri.host))
        return r.reply(404, { reason: 'Not Found (domain not served here)' });
      // §10.3 step 3: "A registrar SHOULD authenticate the UAC" (RFC 3261 §22)
      const auth = await this.opts.authenticator.check(req);
      if (this.closed) return;
      if (!auth.ok) return r.reply(auth.status, { reason: auth.reason, headers: auth.headers });
      // §10.3 step 5: "If the address-of-record is not valid for the domain in the Request-URI, the registrar MUST
      // send a 404 (Not Found) response"
      const aor = req.to.uri;
      const user = aor.user;
      if (user === undefined || user === '' || !this.opts.isOurDomain(aor.host) || !this.opts.knowsUser(user))
        return r.reply(404, { reason: 'Not Found (no such user)' });
      // §10.3 step 6: "the registrar determines if the authenticated user is authorized to modify registrations
      // for this address-of-record ... If the authenticated user is not authorized ... it MUST return a 403"
      if (auth.user !== user)
        return r.reply(403, { reason: `Forbidden (${auth.user} may not register ${user})` });
      this.register(r, user);
    } catch (err) {
      if (err instanceof SipError) {
        r.reply(err.status >= 400 ? err.status : 400, { reason: err.reason });
        return;
      }
      this.opts.log.error({ err, callId: req.callId }, 'REGISTER failed');
      r.reply(500);
    }
  }

  /** Steps 6–8 after authorisation: synchronous from the read to the write, so requests cannot interleave. */
  private register(r: IncomingRequest, user: string): void {
    const req = r.request;
    const parsed = parseRegister(req);
    if (typeof parsed === 'string') return r.reply(400, { reason: parsed });
    const now = this.now();
    const before = this.opts.store.forUser(user).map(fromRecord);
    const outcome = applyRegister(
      before,
      {
        ...parsed,
        callId: req.callId,
        cseq: req.cseq.seq,
        source: `${r.flow.protocol} ${r.flow.address}:${r.flow.port}`,
        userAgent: req.headers.get('User-Agent') ?? null,
      },
      this.opts.policy,
      now,
    );
    if (!outcome.ok) {
      const headers: Record<string, string> = {};
      // §10.3 step 7 / §20.23: a 423 carries Min-Expires
      if (outcome.minExpires !== undefined) headers['Min-Expires'] = String(outcome.minExpires);
      return r.reply(outcome.status, { reason: outcome.reason, headers });
    }
    if (outcome.changed)
      this.opts.store.replaceUser(
        user,
        outcome.bindings.map((b) => toRecord(user, b)),
      );
    // §10.3 step 8: "The registrar returns a 200 (OK) response. The response MUST contain Contact header field
    // values enumerating all current bindings. Each Contact value MUST feature an "expires" parameter ... The
    // response SHOULD include a Date header field."
    const contacts = outcome.bindings.map(
      (b) => `<${b.contact}>;expires=${remainingSeconds(b, now)}${b.q !== null ? `;q=${b.q}` : ''}`,
    );
    r.reply(200, {
      headers: { ...(contacts.length > 0 ? { Contact: contacts } : {}), Date: new Date(now).toUTCString() },
    });
    this.opts.log.info(
      { user, contacts: outcome.bindings.map((b) => b.contact), source: r.flow.address },
      outcome.bindings.length > 0 ? 'registered' : 'unregistered',
    );
    if (outcome.changed) this.safeEmit('changed', user);
  }

  // ------------------------------------------------------------------ expiry and keep-alive

  /** Removes expired bindings from the store (also at start: they may have expired while we were down). */
  sweep(): void {
    if (this.closed) return;
    const now = this.now();
    const expired = new Set(
      this.opts.store
        .list()
        .filter((r) => Date.parse(r.expiresAt) <= now)
        .map((r) => r.username),
    );
    if (expired.size === 0) return;
    this.opts.store.deleteExpired(new Date(now).toISOString());
    for (const user of expired) {
      this.opts.log.info({ user }, 'registration expired');
      this.safeEmit('changed', user);
    }
  }

  /**
   * NAT keep-alive: an OPTIONS to every bound contact (the answer keeps the NAT binding open). Any final answer,
   * even 404 or 405, proves the phone is there; a timeout (408, after the transaction's retransmissions) or a
   * transport error (503) drops the binding, so a phone that vanished without unregistering is not dialled.
   */
  keepAlive(): Promise<void> {
    const pings: Array<Promise<void>> = [];
    const now = this.now();
    for (const rec of this.opts.store.list()) {
      if (Date.parse(rec.expiresAt) <= now) continue;
      const key = `${rec.username}\n${rec.contact}`;
      if (this.pinging.has(key)) continue;
      this.pinging.add(key);
      pings.push(
        this.opts.sip
          // to the address the REGISTER came from: the NAT mapping the ping is meant to keep open
          .request(reachableContact(rec.contact, rec.source), 'OPTIONS')
          .then(
            () => undefined,
            (err: unknown) => {
              if (this.closed) return;
              const status = err instanceof SipError ? err.status : 0;
              if (status !== 408 && status !== 503 && status !== 0) return;
              // drop it only if it is still the binding we pinged (not re-registered meanwhile)
              const still = this.opts.store
                .forUser(rec.username)
                .find((x) => x.contact === rec.contact && x.callId === rec.callId && x.cseq === rec.cseq);
              if (still === undefined) return;
              this.opts.store.delete(rec.username, rec.contact);
              this.opts.log.info(
                { user: rec.username, contact: rec.contact, status },
                'contact stopped answering: binding dropped',
              );
              this.safeEmit('changed', rec.username);
            },
          )
          .finally(() => this.pinging.delete(key)),
      );
    }
    return Promise.all(pings).then(() => undefined);
  }

  /** Stops the timers; bindings stay in the store. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
  }
}

/** The REGISTER's contacts and Expires, or a 400 reason. */
function parseRegister(req: SipRequest): { contacts: ContactInput[] | '*'; expires?: number } | string {
  let expires: number | undefined;
  const eh = req.headers.get('Expires');
  if (eh !== undefined) {
    // §20.19: delta-seconds
    if (!/^\s*\d{1,10}\s*$/.test(eh)) return 'Bad Expires header';
    expires = Number(eh.trim());
  }
  const raw = req.headers.getList('Contact').map((v) => v.trim());
  if (raw.includes('*')) {
    // §10.2.2: "*" only alone (and with Expires: 0, checked by applyRegister)
    if (raw.length > 1) return 'Wildcard Contact with other contacts';
    return { contacts: '*', ...(expires !== undefined ? { expires } : {}) };
  }
  const contacts: ContactInput[] = [];
  for (const c of req.contact) {
    const bad = unsafeContact(c.uri);
    if (bad !== undefined) return bad;
    const input: ContactInput = { uri: c.uri.toString() };
    const e = c.params.get('expires');
    if (e !== undefined) {
      if (e === null || !/^\d{1,10}$/.test(e)) return 'Bad expires parameter';
      input.expires = Number(e);
    }
    const q = c.params.get('q');
    if (q !== undefined) {
      // §20.10 / §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
      if (q === null || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q)) return 'Bad q parameter';
      input.q = Number(q);
    }
    contacts.push(input);
  }
  return { contacts, ...(expires !== undefined ? { expires } : {}) };
}

function fromRecord(r: RegistrationRecord): Binding {
  return {
    contact: r.contact,
    q: r.q,
    callId: r.callId,
    cseq: r.cseq,
    expiresAt: Date.parse(r.expiresAt),
    registeredAt: Date.parse(r.registeredAt),
    source: r.source,
    userAgent: r.userAgent,
  };
}

function toRecord(username: string, b: Binding): RegistrationRecord {
  return {
    username,
    contact: b.contact,
    q: b.q,
    callId: b.callId,
    cseq: b.cseq,
    expiresAt: new Date(b.expiresAt).toISOString(),
    registeredAt: new Date(b.registeredAt).toISOString(),
    source: b.source,
    userAgent: b.userAgent,
  };
}

function view(user: string, bindings: readonly Binding[], now: number): RegisteredUser {
  return {
    user,
    contacts: orderBindings(bindings).map((b) => ({
      uri: b.contact,
      q: b.q,
      expiresInSeconds: remainingSeconds(b, now),
      registeredAt: new Date(b.registeredAt).toISOString(),
      source: b.source,
      userAgent: b.userAgent,
    })),
  };
}
