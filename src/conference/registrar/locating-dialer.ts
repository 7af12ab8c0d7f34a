/**
 * Dial-by-name: wraps the conference's `Dialer` so a dial-out target that is not a SIP URI ("alice") is taken as
 * one of our registered users and called at their best registered contact. SIP URIs go to the wrapped dialer
 * untouched.
 *
 * The toll-fraud guard (`security.dialOut.allow`) and registered contacts: a user who REGISTERed through digest
 * authentication is a legitimate target, but the contact they bind is any URI they like — an account must not be
 * able to bind `sip:+1900…@trunk.example` and have a moderator's "invite alice" call it. So a registered user is
 * always called at the address their REGISTER came from (`reachableContact`: the contact itself when its host is
 * that address, else the contact's user at that address and port, which is also what gets a phone behind a NAT),
 * by a dialer without the allow-list; any other target goes through the allow-listed dialer. URIs with `maddr` or
 * header fields are never bound (the registrar refuses them).
 */
import { AppError } from '../../errors/app-error';
import { reachableContact } from './binding-table';
import type { Dialer, SessionConnector } from '../participant/participant-session';

/** A user name as dial-by-name accepts it (the same characters as `sip.accounts` usernames). */
const USER_NAME = /^[A-Za-z0-9._~+-]{1,64}$/;

/** The registrar's synchronous view of one user's bindings, best first. */
export interface BindingLookup {
  bindingsOf(user: string): ReadonlyArray<{ contact: string; source: string }>;
}

export interface LocatingDialerOptions {
  /** The allow-listed dialer, for SIP URIs. */
  dialer: Dialer;
  /** Dials registered users at the address their REGISTER came from (no allow-list: see above). */
  registered: Dialer;
  bindings: BindingLookup;
}

/** Whether a dial-out target is a user name (not a SIP URI): "alice", not "sip:alice@host". */
export function isUserName(target: string): boolean {
  return USER_NAME.test(target);
}

export class LocatingDialer implements Dialer {
  constructor(private readonly opts: LocatingDialerOptions) {}

  dial(target: string, opts: Parameters<Dialer['dial']>[1]): SessionConnector {
    if (!isUserName(target)) return this.opts.dialer.dial(target, opts);
    // Only the best contact is called (no parallel or sequential forking: the dialer places one INVITE).
    const best = this.opts.bindings.bindingsOf(target)[0];
    if (best === undefined) throw new AppError('CONF_USER_NOT_REGISTERED', `${target} is not registered`);
    const uri = reachableContact(best.contact, best.source);
    opts.log.info({ user: target, contact: best.contact, uri }, 'dialling a registered user');
    return this.opts.registered.dial(uri, opts);
  }
}
