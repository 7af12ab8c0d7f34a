import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import { TypedEmitter } from '../../util/typed-emitter';
import { LeaveReason } from '../participant/leave-reason';
import type { Participant, ParticipantView } from '../participant/participant';

export interface RoomSettings {
  name: string;
  displayName: string;
  pin?: string;
  moderatorPin?: string;
  maxParticipants: number;
  /** SIP status for a full room (486 or 503). */
  fullStatus: 486 | 503;
  emptyGraceMs: number;
  /** Declared in config (kept open when empty) or created on first join. */
  declared: boolean;
}

export interface RoomView {
  id: string;
  displayName: string;
  participants: number;
  locked: boolean;
  hasPin: boolean;
  createdAt: string;
}

export interface RoomEvents {
  participantJoined: [p: Participant];
  participantLeft: [p: Participant, reason: LeaveReason];
  participantChanged: [p: Participant];
  closed: [];
}

/**
 * A conference room (a conference URI, RFC 4353) living on one mediasoup router. Owns its participants and its
 * router; a room created on demand closes itself after `emptyGraceMs` without participants.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly participants = new Map<string, Participant>();
  readonly createdAt = new Date();
  locked = false;
  private closed = false;
  private emptyTimer?: NodeJS.Timeout;

  constructor(
    readonly settings: RoomSettings,
    readonly router: types.Router,
    readonly log: Logger,
  ) {
    super(log);
    router.observer.once('close', () => {
      if (!this.closed) {
        this.log.error('room router closed under the room (worker died?)');
        this.close(LeaveReason.MediaFailed);
      }
    });
    this.armEmptyTimer();
  }

  get id(): string {
    return this.settings.name;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Checks that one more participant may join; throws an AppError carrying the SIP status otherwise. */
  checkAdmission(): void {
    if (this.closed) throw new AppError('CONF_ROOM_CLOSED');
    if (this.locked) throw new AppError('CONF_ROOM_LOCKED');
    if (this.participants.size >= this.settings.maxParticipants)
      throw new AppError(
        this.settings.fullStatus === 503 ? 'CONF_ROOM_FULL_UNAVAILABLE' : 'CONF_ROOM_FULL_BUSY',
      );
  }

  admit(p: Participant): void {
    this.checkAdmission();
    this.participants.set(p.id, p);
    clearTimeout(this.emptyTimer);
    p.on('changed', () => this.safeEmit('participantChanged', p));
    p.once('left', (reason) => {
      this.participants.delete(p.id);
      this.safeEmit('participantLeft', p, reason);
      this.armEmptyTimer();
    });
    this.log.info({ participantId: p.id, uri: p.uri }, 'participant admitted');
    this.safeEmit('participantJoined', p);
  }

  close(reason: LeaveReason = LeaveReason.RoomClosed): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.emptyTimer);
    for (const p of [...this.participants.values()]) p.close(reason);
    this.router.close();
    this.log.info('room closed');
    this.safeEmit('closed');
  }

  view(): RoomView {
    return {
      id: this.id,
      displayName: this.settings.displayName,
      participants: this.participants.size,
      locked: this.locked,
      hasPin: this.settings.pin !== undefined,
      createdAt: this.createdAt.toISOString(),
    };
  }

  detail(): RoomView & { participantList: ParticipantView[] } {
    return { ...this.view(), participantList: [...this.participants.values()].map((p) => p.view()) };
  }

  private armEmptyTimer(): void {
    if (this.closed || this.settings.declared || this.participants.size > 0) return;
    clearTimeout(this.emptyTimer);
    this.emptyTimer = setTimeout(() => {
      if (this.participants.size === 0) this.close(LeaveReason.RoomClosed);
    }, this.settings.emptyGraceMs);
    this.emptyTimer.unref();
  }
}
