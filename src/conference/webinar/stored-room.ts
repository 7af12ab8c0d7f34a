import { AppError } from '../../errors/app-error';
import { WebinarSchema } from '../../protocol/webinar-protocol';
import type { RoomRecord } from '../../storage/store';
import type { RoomDeclaration } from '../room/room-manager';

/** A room's webinar policy as the rooms table keeps it (`rooms.webinar`, migration 3): JSON of WebinarSchema. */
export function webinarColumn(d: Pick<RoomDeclaration, 'webinar'>): string | null {
  return d.webinar ? JSON.stringify(d.webinar) : null;
}

/**
 * The declaration of a room created through the API (or the dashboard), read back from the store at start. Its
 * webinar policy is parsed with the same schema as the API's, so a row the code no longer reads is refused
 * (API_BAD_REQUEST naming the room and the key) rather than opened as a plain room, without its PINs.
 */
export function storedRoomDeclaration(r: RoomRecord): RoomDeclaration {
  const d: RoomDeclaration = {
    name: r.name,
    ...(r.displayName !== null ? { displayName: r.displayName } : {}),
    ...(r.pin !== null ? { pin: r.pin } : {}),
    ...(r.moderatorPin !== null ? { moderatorPin: r.moderatorPin } : {}),
    ...(r.maxParticipants !== null ? { maxParticipants: r.maxParticipants } : {}),
  };
  if (r.webinar === null || r.webinar === undefined) return d;
  let json: unknown;
  try {
    json = JSON.parse(r.webinar);
  } catch {
    throw new AppError('API_BAD_REQUEST', `stored room ${r.name}: webinar is not JSON`);
  }
  const parsed = WebinarSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError(
      'API_BAD_REQUEST',
      `stored room ${r.name}: webinar.${issue.path.join('.')}: ${issue.message}`,
    );
  }
  return { ...d, webinar: parsed.data };
}
