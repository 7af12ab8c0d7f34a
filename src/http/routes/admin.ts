import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error';
import { requireAdmin } from '../../moderation/auth/auth-service';
import type { ModerationService } from '../../moderation/moderation-service';
import { actorOf } from '../principal';
import { parseBody } from './auth';

/** What the admin routes act on: the App (drain). */
export interface AdminTarget {
  /** Starts draining (idempotent); resolves when the last call has gone. */
  drain(opts: { deadlineSeconds?: number }): Promise<void>;
  /** Participants still in rooms. */
  participantCount(): number;
}

export interface AdminRouterOptions {
  target: AdminTarget;
  moderation: Pick<ModerationService, 'record'>;
}

const DrainBody = z.object({ deadlineSeconds: z.number().int().min(0).max(86400).optional() }).strict();

/**
 * Server administration (admins only: an admin account's sign-in or an admin's API token):
 * POST /api/admin/drain {"deadlineSeconds"?} → 202 {draining: true, participants}: new calls are refused (SIP 503 +
 *                       Retry-After, OPTIONS 503, /healthz 503 "draining"), the calls in progress go on until they
 *                       end or the deadline (default `drain.deadlineSeconds`) passes, then get BYE. The process
 *                       keeps running (SIGTERM is what drains and exits). Audited as `drain`, refusals too.
 */
export function adminRouter(opts: AdminRouterOptions): Router {
  const r = Router();
  r.post('/admin/drain', (req, res) => {
    const actor = actorOf(req, res);
    const audit = (outcome: 'ok' | 'error', detail: string): void =>
      opts.moderation.record({ name: actor.principal.name, source: actor.source }, 'drain', {
        outcome,
        detail,
      });
    try {
      requireAdmin(actor);
      const b = parseBody(DrainBody, req, '{"deadlineSeconds"?: integer 0..86400}');
      void opts.target.drain({
        ...(b.deadlineSeconds !== undefined ? { deadlineSeconds: b.deadlineSeconds } : {}),
      });
      audit('ok', b.deadlineSeconds !== undefined ? `deadline ${b.deadlineSeconds} s` : 'default deadline');
      res.status(202).json({ draining: true, participants: opts.target.participantCount() });
    } catch (err) {
      audit('error', err instanceof AppError ? err.code : 'INTERNAL');
      throw err;
    }
  });
  return r;
}
