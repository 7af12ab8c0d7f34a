import { Router } from 'express';
import { NotFoundError } from '../../errors/app-error';
import type { RoomManager } from '../../conference/room/room-manager';

/** GET /api/rooms and GET /api/rooms/:id: the JSON view of rooms and their participants. */
export function roomsRouter(rooms: RoomManager): Router {
  const r = Router();
  r.get('/rooms', (_req, res) => {
    res.json({ rooms: rooms.list().map((room) => room.view()) });
  });
  r.get('/rooms/:id', (req, res) => {
    const room = rooms.get(req.params.id);
    if (!room) throw new NotFoundError(`room ${req.params.id}`);
    const d = room.detail();
    res.json({
      ...d,
      participants: d.participantList,
      participantCount: d.participants,
      participantList: undefined,
    });
  });
  return r;
}
