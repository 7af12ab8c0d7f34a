/**
 * Presence for our registered users (RFC 3856): SUBSCRIBE `Event: presence` to `sip:<user>@<our host>` gets NOTIFYs
 * with a PIDF document (RFC 3863, `application/pidf+xml`) whenever the user's availability changes: `open` while
 * registered or in a call, `closed` otherwise, with a note ("available", "in a call: standup") and the best
 * contact. The subscription mechanics (dialogs, refresh, expiry, final NOTIFY) are the shared RFC 6665 notifier's.
 *
 * Authorisation (RFC 3856 §6.6: a presence agent SHOULD authenticate subscribers and apply an authorisation
 * policy): the subscriber authenticates by digest like a REGISTER, and any of our users may watch any other — the
 * same visibility the dashboard's "Registered users" gives moderators. Unknown presentities get 404.
 */
import { create } from 'xmlbuilder2';
import type { Logger } from 'pino';
import type { SipRequestAuthenticator } from '../../sip/auth/request-authenticator';
import type { SubscribeRequest, Subscription, SubscriptionNotifier } from '../../sip/subscription';
import type { Availability, UserAvailability } from './availability';
import { AvailabilityState } from './availability';

export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';
export const PIDF_TYPE = 'application/pidf+xml';

export interface PresenceAgentOptions {
  notifier: Pick<SubscriptionNotifier, 'register'>;
  availability: Pick<Availability, 'of' | 'on' | 'off'>;
  authenticator: SipRequestAuthenticator;
  knowsUser: (user: string) => boolean;
  isOurDomain: (host: string) => boolean;
  log: Logger;
}

/** The PIDF document (RFC 3863 §4) of one user's availability; `entity` is the presentity's URI. */
export function pidfDocument(entity: string, a: UserAvailability): string {
  const open = a.state !== AvailabilityState.Offline;
  const note =
    a.state === AvailabilityState.InCall
      ? `in a call: ${a.calls.map((c) => c.roomId).join(', ')}`
      : a.state === AvailabilityState.Available
        ? 'available'
        : 'offline';
  const doc = create({ version: '1.0', encoding: 'UTF-8' }).ele(PIDF_NS, 'presence', { entity });
  // the tuple id is an xs:ID (an NCName): user names may hold '+' or '~' or start with a digit, so hex-encode it
  const tuple = doc.ele(PIDF_NS, 'tuple', { id: `t${Buffer.from(a.user, 'utf8').toString('hex')}` });
  tuple
    .ele(PIDF_NS, 'status')
    .ele(PIDF_NS, 'basic')
    .txt(open ? 'open' : 'closed');
  const best = a.contacts[0];
  if (best !== undefined) tuple.ele(PIDF_NS, 'contact', { priority: String(best.q ?? 1) }).txt(best.uri);
  tuple.ele(PIDF_NS, 'note').txt(note);
  return doc.end({ prettyPrint: false });
}

export class PresenceAgent {
  /** live subscriptions by watched user */
  private readonly watchers = new Map<string, Set<Subscription>>();
  private readonly detach: Array<() => void> = [];

  constructor(private readonly opts: PresenceAgentOptions) {
    this.detach.push(
      opts.notifier.register('presence', {
        contentTypes: [PIDF_TYPE],
        subscribe: (s) => this.onSubscribe(s),
      }),
    );
    const onChanged = (user: string): void => this.push(user);
    opts.availability.on('changed', onChanged);
    this.detach.push(() => opts.availability.off('changed', onChanged));
  }

  private async onSubscribe(s: SubscribeRequest): Promise<void> {
    const uri = s.resource;
    const user = uri.user;
    // RFC 3856 §6.6 / RFC 3261 §22: authenticate the watcher first (no presentity is revealed to strangers)
    const auth = await this.opts.authenticator.check(s.request);
    if (!auth.ok) return s.reject(auth.status, auth.reason, auth.headers);
    if (user === undefined || !this.opts.isOurDomain(uri.host) || !this.opts.knowsUser(user))
      return s.reject(404, 'Not Found (no such presentity)');
    const entity = `sip:${user}@${uri.host}`;
    const sub = s.accept({
      state: () => ({ body: pidfDocument(entity, this.opts.availability.of(user)), contentType: PIDF_TYPE }),
    });
    let set = this.watchers.get(user);
    if (set === undefined) this.watchers.set(user, (set = new Set()));
    set.add(sub);
    this.opts.log.info({ user, watcher: auth.user }, 'presence subscription');
    sub.on('terminated', () => {
      set.delete(sub);
      if (set.size === 0 && this.watchers.get(user) === set) this.watchers.delete(user);
    });
    // the entity as subscribed (its host), for later NOTIFYs too
    this.entities.set(sub, entity);
  }

  private readonly entities = new WeakMap<Subscription, string>();

  /** RFC 3856 §6.7: a NOTIFY to every watcher when the presentity's state changes. */
  private push(user: string): void {
    const set = this.watchers.get(user);
    if (set === undefined) return;
    const a = this.opts.availability.of(user);
    for (const sub of set) {
      const entity = this.entities.get(sub) ?? `sip:${user}`;
      sub.notify({ body: pidfDocument(entity, a), contentType: PIDF_TYPE });
    }
  }

  /** Stops serving presence (the notifier ends the subscriptions when it closes). Idempotent. */
  close(): void {
    for (const d of this.detach.splice(0)) d();
    this.watchers.clear();
  }
}
