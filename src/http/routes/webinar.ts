import { Router, type Request, type Response } from 'express';
import type { Actor, ModerationService } from '../../moderation/moderation-service';
import { roomActorOf } from '../principal';

export interface WebinarRouterOptions {
  moderation: ModerationService;
}

/**
 * A webinar's moderation over REST (the same `ModerationService` commands as the dashboard's, authorised and
 * audited; 401, then 403 before anything else, then the catalogue's errors):
 * POST /api/rooms/:id/participants/:pid/promote   an attendee becomes a panelist: it may speak (unmuted)
 * POST /api/rooms/:id/participants/:pid/demote    a panelist goes back to the audience (muted)
 * POST /api/rooms/:id/participants/:pid/admit     lets a person waiting in the lobby in
 * POST /api/rooms/:id/participants/:pid/deny      turns it away (a phone hears why, then BYE)
 * Who waits is in each participant's `waiting` (`host`, `admission`) in GET /api/rooms/:id/participants.
 */
export function webinarRouter(opts: WebinarRouterOptions): Router {
  const { moderation } = opts;
  const r = Router();
  const roomActor = (req: Request<{ id: string }>, res: Response, action: string): Actor =>
    roomActorOf(moderation, req, res, action);
  r.post('/rooms/:id/participants/:pid/promote', async (req, res) => {
    const p = await moderation.promote(roomActor(req, res, 'promote'), req.params.id, req.params.pid, true);
    res.json({ roomId: req.params.id, participantId: p.id, role: p.role, muted: p.muted });
  });
  r.post('/rooms/:id/participants/:pid/demote', async (req, res) => {
    const p = await moderation.promote(roomActor(req, res, 'demote'), req.params.id, req.params.pid, false);
    res.json({ roomId: req.params.id, participantId: p.id, role: p.role, muted: p.muted });
  });
  r.post('/rooms/:id/participants/:pid/admit', async (req, res) => {
    const p = await moderation.admit(roomActor(req, res, 'admit'), req.params.id, req.params.pid, true);
    res.json({ roomId: req.params.id, participantId: p.id, admitted: true });
  });
  r.post('/rooms/:id/participants/:pid/deny', async (req, res) => {
    const p = await moderation.admit(roomActor(req, res, 'deny'), req.params.id, req.params.pid, false);
    res.json({ roomId: req.params.id, participantId: p.id, admitted: false });
  });
  return r;
}
