import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error';
import type { Conference } from '../../conference/conference';
import type { Room } from '../../conference/room/room';
import { DialOutError, DialResult } from '../../conference/focus/sip-dialer';
import type { Actor, ModerationService } from '../../moderation/moderation-service';
import { CreateRoomSchema } from '../../protocol/dashboard-protocol';
import { actorOf, principalOf, roomActorOf } from '../principal';
import { parseBody as body } from './auth';

const MuteBody = z.object({ muted: z.boolean() }).strict();
const MuteAllBody = z.object({ muted: z.boolean().default(true) }).strict();
const LockBody = z.object({ locked: z.boolean() }).strict();
const MoveBody = z.object({ room: z.string().min(1).max(256) }).strict();
const DialBody = z.object({ target: z.string().min(1).max(1024) }).strict();

export interface RoomsRouterOptions {
  conference: Conference;
  moderation: ModerationService;
}

/**
 * The REST face of the conference. Every route needs a principal (401 AUTH_REQUIRED) with rights on the room
 * (403 AUTH_FORBIDDEN: a moderator-PIN session sees its own rooms only); reads are filtered by
 * `ModerationService.canModerate`, commands go through `ModerationService` (authorised and audited); errors are
 * the catalogue's.
 * GET    /api/rooms                                 rooms the caller may moderate
 * POST   /api/rooms                                 {"roomId", "displayName"?, "pin"?, "moderatorPin"?,
 *                                                   "maxParticipants"?, "webinar"?}: declares and opens a room (kept when empty,
 *                                                   and across restarts) → 201 (409 ROOM_EXISTS)
 * GET    /api/rooms/:id                             one room and its participants (with their kind)
 * GET    /api/rooms/:id/participants                its participants
 * GET    /api/rooms/:id/media                       the mixer's figures: tick cost, per participant packets and
 *                                                   receive quality (jitter, concealed, FEC-recovered)
 * POST   /api/rooms/:id/participants/:pid/mute      {"muted": true|false}: out of (or back into) everyone's mix
 * POST   /api/rooms/:id/mute-all                    {"muted"?: true|false}: everyone but the moderators
 * POST   /api/rooms/:id/lock                        {"locked": true|false}: a locked room admits nobody
 * POST   /api/rooms/:id/participants/:pid/kick      ends the participant's call
 * POST   /api/rooms/:id/participants/:pid/move      {"room": "<name>"}: into another room (rights on both)
 * POST   /api/rooms/:id/dial                        {"target": "sip:..."}: calls out (into an existing room) and
 *                                                   answers 201 once the callee is in the room; `dial` says how it
 *                                                   went (result, final status, the 18x seen) on success and failure
 * (the livestream's routes, /api/rooms/:id/livestream, are in livestream.ts)
 * DELETE /api/rooms/:id                             ends the room (every call ends) and forgets a room created
 *                                                   through the API (accounts only); `forgotten` says which
 */
export function roomsRouter(opts: RoomsRouterOptions): Router {
  const { conference, moderation } = opts;
  const r = Router();
  /** The actor of a request on room `:id`, refused before its body is read (see roomActorOf). */
  const roomActor = (req: Request<{ id: string }>, res: Response, action?: string): Actor =>
    roomActorOf(moderation, req, res, action);
  const roomView = (room: Room) => ({
    ...room.view(),
    declared: room.settings.declared,
    recording: moderation.isRecording(room.id),
    streaming: moderation.isStreaming(room.id),
  });

  r.get('/rooms', (_req, res) => {
    res.json({ rooms: moderation.visibleRooms(principalOf(res)).map(roomView) });
  });
  r.post('/rooms', async (req, res) => {
    const actor = actorOf(req, res);
    if (actor.principal.kind === 'pin')
      throw new AppError('AUTH_FORBIDDEN', 'creating rooms needs an account');
    const d = body(
      CreateRoomSchema,
      req,
      '{"roomId", "displayName"?, "pin"?, "moderatorPin"?, "maxParticipants"?, "webinar"?}',
    );
    const room = await moderation.createRoom(actor, {
      name: d.roomId,
      ...(d.displayName !== undefined ? { displayName: d.displayName } : {}),
      ...(d.pin !== undefined ? { pin: d.pin } : {}),
      ...(d.moderatorPin !== undefined ? { moderatorPin: d.moderatorPin } : {}),
      ...(d.maxParticipants !== undefined ? { maxParticipants: d.maxParticipants } : {}),
      ...(d.webinar !== undefined ? { webinar: d.webinar } : {}),
    });
    res.status(201).json(roomView(room));
  });
  r.get('/rooms/:id', (req, res) => {
    roomActor(req, res);
    const room = conference.getRoom(req.params.id);
    const d = room.detail();
    res.json({
      ...d,
      declared: room.settings.declared,
      recording: moderation.isRecording(room.id),
      streaming: moderation.isStreaming(room.id),
      participants: d.participantList,
      participantCount: d.participants,
      participantList: undefined,
    });
  });
  r.get('/rooms/:id/participants', (req, res) => {
    roomActor(req, res);
    const room = conference.getRoom(req.params.id);
    res.json({ roomId: room.id, participants: room.detail().participantList });
  });
  r.delete('/rooms/:id', async (req, res) => {
    const { forgotten } = await moderation.deleteRoom(roomActor(req, res, 'delete-room'), req.params.id);
    res.json({ roomId: req.params.id, ended: true, forgotten });
  });
  r.get('/rooms/:id/media', async (req, res) => {
    roomActor(req, res);
    const room = conference.getRoom(req.params.id);
    res.json({ roomId: room.id, mixer: await conference.stats(room.id) });
  });
  r.post('/rooms/:id/lock', async (req, res) => {
    const actor = roomActor(req, res, 'lock');
    const { locked } = body(LockBody, req, '{"locked": true|false}');
    await moderation.lock(actor, req.params.id, locked);
    res.json({ roomId: req.params.id, locked });
  });
  r.post('/rooms/:id/mute-all', async (req, res) => {
    const actor = roomActor(req, res, 'mute-all');
    const { muted } = body(MuteAllBody, req, '{"muted": true|false} or {}');
    const changed = await moderation.muteAll(actor, req.params.id, muted);
    res.json({ roomId: req.params.id, muted, participants: changed.map((p) => p.id) });
  });
  r.post('/rooms/:id/dial', async (req, res) => {
    const actor = roomActor(req, res, 'dial');
    const { target } = body(DialBody, req, '{"target": "sip:user@host"}');
    // The steps the call went through (180 Ringing, 183 Session Progress...), and how it ended.
    const progress: Array<{ status: number; reason: string }> = [];
    const onProgress = (status: number, reason: string): void => void progress.push({ status, reason });
    try {
      const p = await moderation.dial(actor, req.params.id, target, { onProgress });
      res.status(201).json({
        roomId: req.params.id,
        participant: p.view(),
        dial: { result: DialResult.Answered, status: 200, reason: 'OK', progress },
      });
    } catch (err) {
      if (!(err instanceof DialOutError)) throw err;
      // busy (486), declined (603), timeout (408 after our CANCEL), failed (any other status): said in `dial`.
      res.status(err.httpStatus).json({
        error: err.code,
        message: err.message,
        dial: { result: err.result, status: err.status, reason: err.reason, progress },
      });
    }
  });
  r.post('/rooms/:id/participants/:pid/mute', async (req, res) => {
    const actor = roomActor(req, res, 'mute');
    const { muted } = body(MuteBody, req, '{"muted": true|false}');
    const p = await moderation.mute(actor, req.params.id, req.params.pid, muted);
    res.json({ roomId: req.params.id, participantId: p.id, muted });
  });
  r.post('/rooms/:id/participants/:pid/kick', async (req, res) => {
    const p = await moderation.kick(roomActor(req, res, 'kick'), req.params.id, req.params.pid);
    res.json({ roomId: req.params.id, participantId: p.id, kicked: true });
  });
  r.post('/rooms/:id/participants/:pid/move', async (req, res) => {
    const actor = roomActor(req, res, 'move');
    const { room } = body(MoveBody, req, '{"room": "<room name>"}');
    await moderation.move(actor, req.params.id, req.params.pid, room);
    res.json({ roomId: room, participantId: req.params.pid, from: req.params.id });
  });
  return r;
}
