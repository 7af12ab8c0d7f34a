import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error';
import type { Conference } from '../../conference/conference';

const MuteBody = z.object({ muted: z.boolean() }).strict();
const MuteAllBody = z.object({ muted: z.boolean().default(true) }).strict();
const LockBody = z.object({ locked: z.boolean() }).strict();
const MoveBody = z.object({ room: z.string().min(1).max(256) }).strict();
const DialBody = z.object({ target: z.string().min(1).max(1024) }).strict();

/** Parses a JSON body or throws API_BAD_REQUEST naming the expected shape. */
function body<T extends z.ZodTypeAny>(schema: T, req: Request, shape: string): z.output<T> {
  const r = schema.safeParse(req.body ?? {});
  if (!r.success) throw new AppError('API_BAD_REQUEST', `body must be ${shape}`);
  return r.data as z.output<T>;
}

/**
 * The REST face of the conference (every command goes through `Conference`; errors are the catalogue's):
 * GET    /api/rooms                                 rooms
 * GET    /api/rooms/:id                             one room and its participants (with their kind)
 * GET    /api/rooms/:id/media                       the mixer's figures: tick cost, per participant packets and
 *                                                   receive quality (jitter, concealed, FEC-recovered)
 * POST   /api/rooms/:id/participants/:pid/mute      {"muted": true|false}: out of (or back into) everyone's mix
 * POST   /api/rooms/:id/mute-all                    {"muted"?: true|false}: everyone but the moderators
 * POST   /api/rooms/:id/lock                        {"locked": true|false}: a locked room admits nobody
 * POST   /api/rooms/:id/participants/:pid/kick      ends the participant's call
 * POST   /api/rooms/:id/participants/:pid/move      {"room": "<name>"}: into another room
 * POST   /api/rooms/:id/dial                        {"target": "sip:..."}: calls out (into an existing room) and
 *                                                   answers 201 once the callee is in the room
 * DELETE /api/rooms/:id                             ends the room (every call ends)
 */
export function roomsRouter(conference: Conference): Router {
  const r = Router();
  r.get('/rooms', (_req, res) => {
    res.json({ rooms: conference.listRooms().map((room) => room.view()) });
  });
  r.get('/rooms/:id', (req, res) => {
    const d = conference.getRoom(req.params.id).detail();
    res.json({
      ...d,
      participants: d.participantList,
      participantCount: d.participants,
      participantList: undefined,
    });
  });
  r.delete('/rooms/:id', (req, res) => {
    conference.endRoom(req.params.id);
    res.json({ roomId: req.params.id, ended: true });
  });
  r.get('/rooms/:id/media', async (req, res) => {
    const room = conference.getRoom(req.params.id);
    res.json({ roomId: room.id, mixer: await conference.stats(room.id) });
  });
  r.post('/rooms/:id/lock', (req, res) => {
    conference.getRoom(req.params.id);
    const { locked } = body(LockBody, req, '{"locked": true|false}');
    conference.setLocked(req.params.id, locked);
    res.json({ roomId: req.params.id, locked });
  });
  r.post('/rooms/:id/mute-all', async (req, res) => {
    conference.getRoom(req.params.id);
    const { muted } = body(MuteAllBody, req, '{"muted": true|false} or {}');
    const changed = await conference.muteAll(req.params.id, muted);
    res.json({ roomId: req.params.id, muted, participants: changed.map((p) => p.id) });
  });
  r.post('/rooms/:id/dial', async (req, res) => {
    conference.getRoom(req.params.id);
    const { target } = body(DialBody, req, '{"target": "sip:user@host"}');
    const p = await conference.dialOut(req.params.id, target);
    res.status(201).json({ roomId: req.params.id, participant: p.view() });
  });
  r.post('/rooms/:id/participants/:pid/mute', async (req, res) => {
    const p = conference.participantIn(req.params.id, req.params.pid);
    const { muted } = body(MuteBody, req, '{"muted": true|false}');
    await conference.mute(p.id, muted, 'moderator');
    res.json({ roomId: req.params.id, participantId: p.id, muted });
  });
  r.post('/rooms/:id/participants/:pid/kick', (req, res) => {
    const p = conference.participantIn(req.params.id, req.params.pid);
    conference.kick(p.id);
    res.json({ roomId: req.params.id, participantId: p.id, kicked: true });
  });
  r.post('/rooms/:id/participants/:pid/move', async (req, res) => {
    const p = conference.participantIn(req.params.id, req.params.pid);
    const { room } = body(MoveBody, req, '{"room": "<room name>"}');
    await conference.move(p.id, room);
    res.json({ roomId: room, participantId: p.id, from: req.params.id });
  });
  return r;
}
