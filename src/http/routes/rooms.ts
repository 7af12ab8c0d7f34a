import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error';
import type { Room } from '../../conference/room/room';
import type { RoomAudioStats } from '../../media/room-audio/room-audio';
import type { RoomManager } from '../../conference/room/room-manager';

/** What the API may ask of the focus (the moderator dashboard will use the same calls). */
export interface RoomControl {
  muteParticipant(roomId: string, participantId: string, muted: boolean): Promise<void>;
  mediaStats(room: Room): Promise<RoomAudioStats | null>;
}

const MuteBody = z.object({ muted: z.boolean() }).strict();

/**
 * GET  /api/rooms                                   rooms
 * GET  /api/rooms/:id                               one room and its participants
 * GET  /api/rooms/:id/media                         the mixer's figures: tick cost, per participant packets and
 *                                                   receive quality (jitter, concealed, FEC-recovered)
 * POST /api/rooms/:id/participants/:pid/mute        {"muted": true|false}: out of (or back into) everyone's mix
 */
export function roomsRouter(rooms: RoomManager, control?: RoomControl): Router {
  const r = Router();
  const roomOr404 = (id: string): Room => {
    const room = rooms.get(id);
    if (!room) throw new AppError('CONF_ROOM_NOT_FOUND', `room ${id} not found`);
    return room;
  };
  r.get('/rooms', (_req, res) => {
    res.json({ rooms: rooms.list().map((room) => room.view()) });
  });
  r.get('/rooms/:id', (req, res) => {
    const d = roomOr404(req.params.id).detail();
    res.json({
      ...d,
      participants: d.participantList,
      participantCount: d.participants,
      participantList: undefined,
    });
  });
  if (!control) return r;
  r.get('/rooms/:id/media', async (req, res) => {
    const room = roomOr404(req.params.id);
    res.json({ roomId: room.id, mixer: await control.mediaStats(room) });
  });
  r.post('/rooms/:id/participants/:pid/mute', async (req, res) => {
    const room = roomOr404(req.params.id);
    const body = MuteBody.safeParse(req.body);
    if (!body.success) throw new AppError('API_BAD_REQUEST', 'body must be {"muted": true|false}');
    await control.muteParticipant(room.id, req.params.pid, body.data.muted);
    res.json({ roomId: room.id, participantId: req.params.pid, muted: body.data.muted });
  });
  return r;
}
