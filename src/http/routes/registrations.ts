import { Router } from 'express';
import { AppError } from '../../errors/app-error';
import type { Availability } from '../../conference/registrar/availability';
import { principalOf } from '../principal';

export interface RegistrationsRouterOptions {
  availability: Pick<Availability, 'list' | 'of'>;
  /** Whether a name is one of our users (config `sip.accounts` or a database account). */
  knowsUser: (user: string) => boolean;
}

/** Registrations are not a room's: a moderator-PIN session (one room only) may not list who is registered. */
function requireAccount(principal: { kind: string }): void {
  if (principal.kind === 'pin')
    throw new AppError('AUTH_FORBIDDEN', 'registrations need an account or a token');
}

/**
 * The registrar's users and their availability (RFC 3261 §10 bindings, calls in our rooms):
 * GET /api/registrations                    every registered user, and every user of ours in a call: state
 *                                           (offline | available | in-call), contacts with expiry, calls by room
 * GET /api/users/:name/availability         one user's (404 REG_USER_NOT_FOUND for a name that is no account)
 * Accounts and API tokens only (a moderator-PIN session gets 403).
 */
export function registrationsRouter(opts: RegistrationsRouterOptions): Router {
  const r = Router();
  r.get('/registrations', (_req, res) => {
    requireAccount(principalOf(res));
    res.json({ users: opts.availability.list() });
  });
  r.get('/users/:name/availability', (req, res) => {
    requireAccount(principalOf(res));
    const name = req.params.name;
    if (!opts.knowsUser(name)) throw new AppError('REG_USER_NOT_FOUND', `no user ${name}`);
    res.json(opts.availability.of(name));
  });
  return r;
}
