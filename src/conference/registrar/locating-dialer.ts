/**
 * Dial-by-name: wraps the conference's `Dialer` so a dial-out target that is not a SIP URI ("alice") is taken as
 * one of our registered users and called at their best registered contact. SIP URIs go to the wrapped dialer
 * untouched.
 *
 * The toll-fraud guard (`security.dialOut.allow`) and registered contacts: a user who REGISTERed through digest
 * authentication is a legitimate target, but the contact they bind is any URI they like — an account must not be
 * able to bind `sip:+1900…@trunk.example` and have a moderator's "invite alice" call it. So a registered contact
 * skips the allow-list only when its host is the address the REGISTER came from (the phone itself is there);
 * any other contact (a phone behind NAT naming its private address, a contact pointing elsewhere) is dialled
 * through the allow-listed dialer like any URI, and the allow-list decides. URIs with `maddr` or header fields are
 * never bound (the registrar refuses them).
 */
import { AppError } from '../../errors/app-error';
import { SipUri } from '../../sip/message/uri';
import type { Dialer, SessionConnector } from '../participant/participant-session';

/** A user name as dial-by-name accepts it (the same characters as `sip.accounts` usernames). */
const USER_NAME = /^[A-Za-z0-9._~+-]{1,64}$/;

/** The registrar's synchronous view of one user's bindings, best first. */
export interface BindingLookup {
  bindingsOf(user: string): ReadonlyArray<{ contact: string; source: string }>;
}

export interface LocatingDialerOptions {
  /** The allow-listed dialer: SIP URIs, and registered contacts not at their REGISTER's source address. */
  dialer: Dialer;
  /** Dials registered contacts at the address their REGISTER came from (no allow-list: see above). */
  registered: Dialer;
  bindings: BindingLookup;
}

/** Whether a dial-out target is a user name (not a SIP URI): "alice", not "sip:alice@host". */
export function isUserName(target: string): boolean {
  return USER_NAME.test(target);
}

/** The host of the address in a binding's `source` (`UDP 192.0.2.1:5060`, `TCP [::1]:5060`), brackets stripped. */
export function sourceHost(source: string): string {
  const addr = source.slice(source.indexOf(' ') + 1);
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']')).toLowerCase();
  const colon = addr.lastIndexOf(':');
  return (colon < 0 ? addr : addr.slice(0, colon)).toLowerCase();
}

export class LocatingDialer implements Dialer {
  constructor(private readonly opts: LocatingDialerOptions) {}

  dial(target: string, opts: Parameters<Dialer['dial']>[1]): SessionConnector {
    if (!isUserName(target)) return this.opts.dialer.dial(target, opts);
    // Only the best contact is called (no parallel or sequential forking: the dialer places one INVITE).
    const best = this.opts.bindings.bindingsOf(target)[0];
    if (best === undefined) throw new AppError('CONF_USER_NOT_REGISTERED', `${target} is not registered`);
    opts.log.info({ user: target, contact: best.contact }, 'dialling a registered user');
    const host = SipUri.tryParse(best.contact)
      ?.host.replace(/^\[|\]$/g, '')
      .toLowerCase();
    const atSource = host !== undefined && host === sourceHost(best.source);
    return (atSource ? this.opts.registered : this.opts.dialer).dial(best.contact, opts);
  }
}
