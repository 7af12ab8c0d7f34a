import type { Request, Response } from 'express';
import { AppError } from '../errors/app-error';
import type { Actor, ModerationService } from '../moderation/moderation-service';
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

/**
 * The actor of a request on room `:id`, refused (403, audited under `action` when given) before its body is read:
 * so the answers go 401, 403, then 400 and 404, and a stranger learns nothing of the room.
 */
export function roomActorOf(
  moderation: ModerationService,
  req: Request<{ id: string }>,
  res: Response,
  action?: string,
): Actor {
  const actor = actorOf(req, res);
  const roomId = req.params.id;
  if (!moderation.canModerate(actor.principal, roomId)) {
    if (action)
      moderation.record({ name: actor.principal.name, source: actor.source }, action, {
        roomId,
        outcome: 'error',
        detail: 'AUTH_FORBIDDEN',
      });
    throw new AppError('AUTH_FORBIDDEN', `no rights on room ${roomId}`);
  }
  return actor;
}
