import type { Request, Response } from 'express';
import { AppError } from '../errors/app-error';
import type { Actor } from '../moderation/moderation-service';
import type { Principal } from '../protocol/dashboard-protocol';

/**
 * The authenticated principal the auth middleware put on the response (`res.locals.principal`); throws
 * AUTH_REQUIRED when there is none. Every /api route except sign-in, the OpenAPI document and the browsers'
 * attachment routes (their own session tokens) calls it.
 */
export function principalOf(res: Response): Principal {
  const p = (res.locals as { principal?: Principal }).principal;
  if (!p) throw new AppError('AUTH_REQUIRED', 'sign in, or send Authorization: Bearer <API token>');
  return p;
}

/** The actor of a moderation command: the principal and the client's address. */
export function actorOf(req: Request, res: Response): Actor {
  return { principal: principalOf(res), source: req.socket.remoteAddress ?? null };
}
