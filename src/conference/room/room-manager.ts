import type { Logger } from 'pino';
import type { Config } from '../../config/schema';
import { AppError } from '../../errors/app-error';
import { TypedEmitter } from '../../util/typed-emitter';
import { LeaveReason } from '../participant/leave-reason';
import { Room, type RoomSettings } from './room';
import type { RoomMediaProvider } from './room-media';
import { WindowCounter } from '../../sip/security/window-counter';
import { recoverRoomMedia } from './media-recovery';

export interface RoomManagerEvents {
  created: [room: Room];
}

/** Limits on rooms created on demand (calls to rooms not declared), so a scanner cannot open rooms by the hundred. */
export interface OnDemandRoomLimits {
  /** Rooms one source may create per minute (SEC_ROOM_CREATION_LIMIT). */
  perSourcePerMinute: number;
  /** On-demand rooms open at once, all sources together (SEC_ROOM_CREATION_LIMIT). */
  total: number;
  /** Sources not counted per minute (the allow list). */
  isExempt?: (source: string) => boolean;
  now?: () => number;
}

/** A room declared at run time (dashboard, REST): the same keys as a room of the config file. */
export type RoomDeclaration = Config['conference']['rooms'][number];

/**
 * Finds or creates rooms by name. Concurrent joins of a new room share one creation (one media host per room).
 * Unknown rooms are created or refused with CONF_ROOM_NOT_FOUND per config.
 */
export class RoomManager extends TypedEmitter<RoomManagerEvents> {
  private readonly rooms = new Map<string, Room>();
  private readonly pending = new Map<string, Promise<Room>>();
  /** Rooms declared at run time; a config room of the same name is overridden. */
  private readonly declared = new Map<string, RoomDeclaration>();
  private closed = false;

  constructor(
    private readonly conf: Readonly<Config['conference']>,
    private readonly media: RoomMediaProvider,
    private readonly log: Logger,
    /** Chat messages kept per room. */
    private readonly chatHistory = 200,
    private readonly onDemand?: OnDemandRoomLimits,
  ) {
    super(log);
    this.createdBy = new WindowCounter(60_000, onDemand?.perSourcePerMinute ?? 1);
  }

  /** Rooms created on demand per source over the last minute. */
  private readonly createdBy: WindowCounter;

  /**
   * Counts a room about to be created on demand against its creator and the total; throws SEC_ROOM_CREATION_LIMIT
   * before any media is built.
   */
  private countOnDemand(name: string, source: string | undefined): void {
    const lim = this.onDemand;
    if (!lim) return;
    let open = this.pending.size;
    for (const r of this.rooms.values()) if (!r.settings.declared) open++;
    if (open >= lim.total)
      throw new AppError('SEC_ROOM_CREATION_LIMIT', `${open} rooms created on demand are open`);
    if (source === undefined || lim.isExempt?.(source)) return;
    const now = (lim.now ?? Date.now)();
    if (this.createdBy.count(source, now) >= lim.perSourcePerMinute)
      throw new AppError('SEC_ROOM_CREATION_LIMIT', `${source} created too many rooms (refused: ${name})`);
    this.createdBy.add(source, now);
  }

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  list(): Room[] {
    return [...this.rooms.values()];
  }

  /** The declared settings for a room name, or defaults when unknown rooms may be created; null = not found. */
  settingsFor(name: string): RoomSettings | null {
    const declared = this.declared.get(name) ?? this.conf.rooms.find((r) => r.name === name);
    if (!declared && this.conf.unknownRooms === 'reject') return null;
    return {
      name,
      displayName: declared?.displayName ?? name,
      pin: declared?.pin,
      moderatorPin: declared?.moderatorPin,
      maxParticipants: declared?.maxParticipants ?? this.conf.maxParticipants,
      fullStatus: this.conf.fullRoomStatus,
      emptyGraceMs: this.conf.emptyRoomGraceSeconds * 1000,
      speakerHoldMs: this.conf.activeSpeakerHoldMs,
      declared: Boolean(declared),
      chatHistory: this.chatHistory,
      // Fixed when the room opens, like its PINs: a declaration changed meanwhile applies to the next opening.
      webinar: declared?.webinar,
    };
  }

  /**
   * Declares a room at run time (kept when empty, its PINs apply to the next joiners). A room already open keeps
   * the settings it was created with until it closes.
   */
  declare(d: RoomDeclaration): void {
    this.declared.set(d.name, d);
  }

  /** Removes a run-time declaration; false when there was none (a config file's room cannot be removed). */
  undeclare(name: string): boolean {
    return this.declared.delete(name);
  }

  /** Every declared room: the config file's and the run-time ones. */
  declarations(): RoomDeclaration[] {
    const out = new Map(this.conf.rooms.map((r) => [r.name, r]));
    for (const [name, d] of this.declared) out.set(name, d);
    return [...out.values()];
  }

  /** `source`: who asks (a caller's address), counted when this creates a room on demand. */
  async getOrCreate(name: string, source?: string): Promise<Room> {
    if (this.closed) throw new AppError('CONF_SHUTTING_DOWN');
    const existing = this.rooms.get(name);
    if (existing && !existing.isClosed) {
      // A join arriving while the room rebuilds its media after a fault waits for it (a browser rejoining at once
      // after its session was ended by the fault) rather than be built on what died.
      if (!existing.isRecovering) return existing;
      await existing.whenRecovered();
      return existing.isClosed ? this.getOrCreate(name, source) : existing;
    }
    const inflight = this.pending.get(name);
    if (inflight) return inflight;
    const settings = this.settingsFor(name);
    if (!settings) throw new AppError('CONF_ROOM_NOT_FOUND', `no room named ${name}`);
    if (!settings.declared) this.countOnDemand(name, source);
    const creation = (async () => {
      const log = this.log.child({ roomId: name });
      const host = await this.media.createRoom(name, log);
      if (this.closed) {
        host.close();
        throw new AppError('CONF_SHUTTING_DOWN');
      }
      // A room outlives its router: after a worker death it gets a new one and re-homes its participants.
      const room = new Room(settings, host, log, () => this.media.createRoom(name, log));
      room.setMediaRecovery(recoverRoomMedia);
      this.rooms.set(name, room);
      room.once('closed', () => {
        if (this.rooms.get(name) === room) this.rooms.delete(name);
      });
      this.log.info({ roomId: name }, 'room created');
      this.safeEmit('created', room);
      return room;
    })();
    this.pending.set(name, creation);
    try {
      return await creation;
    } finally {
      this.pending.delete(name);
    }
  }

  /** Closes every room (shutdown). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.list()) r.close(LeaveReason.ServerShutdown);
  }
}
