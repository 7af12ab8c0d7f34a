import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema';
import { AppError } from '../../errors/app-error';
import { LeaveReason } from '../participant/leave-reason';
import { Room, type RoomSettings } from './room';

export interface RouterSource {
  createRouter(appData?: Record<string, unknown>): Promise<types.Router>;
}

/**
 * Finds or creates rooms. Concurrent joins of a new room share one creation (one router per room); rooms spread
 * across the worker pool through `RouterSource`. Unknown rooms are created or refused with 404 per config.
 */
export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  private readonly pending = new Map<string, Promise<Room>>();
  private closed = false;

  constructor(
    private readonly conf: Readonly<Config['conference']>,
    private readonly routers: RouterSource,
    private readonly log: Logger,
  ) {}

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  list(): Room[] {
    return [...this.rooms.values()];
  }

  /** The declared settings for a room name, or defaults when unknown rooms may be created; null = 404. */
  settingsFor(name: string): RoomSettings | null {
    const declared = this.conf.rooms.find((r) => r.name === name);
    if (!declared && this.conf.unknownRooms === 'reject') return null;
    return {
      name,
      displayName: declared?.displayName ?? name,
      pin: declared?.pin,
      moderatorPin: declared?.moderatorPin,
      maxParticipants: declared?.maxParticipants ?? this.conf.maxParticipants,
      fullStatus: this.conf.fullRoomStatus,
      emptyGraceMs: this.conf.emptyRoomGraceSeconds * 1000,
      declared: Boolean(declared),
    };
  }

  async getOrCreate(name: string): Promise<Room> {
    if (this.closed) throw new AppError('CONF_SHUTTING_DOWN');
    const existing = this.rooms.get(name);
    if (existing && !existing.isClosed) return existing;
    const inflight = this.pending.get(name);
    if (inflight) return inflight;
    const settings = this.settingsFor(name);
    if (!settings) throw new AppError('CONF_ROOM_NOT_FOUND', `no room named ${name}`);
    const creation = (async () => {
      const router = await this.routers.createRouter({ roomId: name });
      const room = new Room(settings, router, this.log.child({ roomId: name }));
      this.rooms.set(name, room);
      room.once('closed', () => {
        if (this.rooms.get(name) === room) this.rooms.delete(name);
      });
      this.log.info({ roomId: name }, 'room created');
      return room;
    })();
    this.pending.set(name, creation);
    try {
      return await creation;
    } finally {
      this.pending.delete(name);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.list()) r.close(LeaveReason.ServerShutdown);
  }
}
