import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import type { LeaveReason } from './leave-reason';

export enum ParticipantState {
  Joining = 'joining',
  Joined = 'joined',
  Left = 'left',
}

/** What the dashboard and GET /api/rooms/:id show of a participant. */
export interface ParticipantView {
  id: string;
  displayName: string;
  uri: string;
  transport: string;
  codec: string | null;
  srtp: boolean;
  onHold: boolean;
  muted: boolean;
  speaking: boolean;
  video: boolean;
  role: 'participant' | 'moderator';
  state: ParticipantState;
  joinedAt: string;
}

export interface ParticipantEvents {
  changed: [];
  left: [reason: LeaveReason];
}

/**
 * A participant in a room. Owns its media legs through `closeMedia`, supplied by whoever built them; `close()` is
 * idempotent and always ends with `left`.
 */
export class Participant extends TypedEmitter<ParticipantEvents> {
  readonly id = randomUUID();
  readonly joinedAt = new Date();
  state = ParticipantState.Joining;
  codec: string | null = null;
  srtp = false;
  onHold = false;
  muted = false;
  speaking = false;
  /** The phone sends H.264 video: a video Producer exists (browsers can consume it). */
  video = false;
  role: 'participant' | 'moderator' = 'participant';
  leaveReason?: LeaveReason;
  private readonly closers: Array<() => void | Promise<void>> = [];

  constructor(
    readonly displayName: string,
    readonly uri: string,
    readonly transport: string,
    readonly log: Logger,
  ) {
    super(log);
  }

  /** Register something this participant owns and must close when it leaves (media legs, timers, dialogs). */
  own(closer: () => void | Promise<void>): void {
    if (this.state === ParticipantState.Left) void closer();
    else this.closers.push(closer);
  }

  update(
    fields: Partial<Pick<Participant, 'codec' | 'srtp' | 'onHold' | 'muted' | 'speaking' | 'role' | 'video'>>,
  ): void {
    Object.assign(this, fields);
    this.safeEmit('changed');
  }

  joined(): void {
    if (this.state !== ParticipantState.Joining) return;
    this.state = ParticipantState.Joined;
    this.safeEmit('changed');
  }

  close(reason: LeaveReason): void {
    if (this.state === ParticipantState.Left) return;
    this.state = ParticipantState.Left;
    this.leaveReason = reason;
    for (const c of this.closers.splice(0).reverse()) {
      try {
        const r = c();
        if (r instanceof Promise)
          r.catch((err: unknown) => this.log.warn({ err }, 'closing participant resource failed'));
      } catch (err) {
        this.log.warn({ err }, 'closing participant resource failed');
      }
    }
    this.log.info({ reason }, 'participant left');
    this.safeEmit('left', reason);
  }

  view(): ParticipantView {
    return {
      id: this.id,
      displayName: this.displayName,
      uri: this.uri,
      transport: this.transport,
      codec: this.codec,
      srtp: this.srtp,
      onHold: this.onHold,
      muted: this.muted,
      speaking: this.speaking,
      video: this.video,
      role: this.role,
      state: this.state,
      joinedAt: this.joinedAt.toISOString(),
    };
  }
}
