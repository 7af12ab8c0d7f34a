import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import type { LeaveReason } from './leave-reason';
import type { ParticipantKind } from './participant-kind';
import type { ParticipantIdentity, ParticipantSession } from './participant-session';

export enum ParticipantState {
  Joining = 'joining',
  Joined = 'joined',
  Left = 'left',
}

/**
 * `participant`/`moderator` in plain rooms; `host`/`panelist`/`attendee` in webinars (a moderator has a host's
 * powers there). The mapping and what each may do: src/conference/webinar/webinar-policy.ts.
 */
export type ParticipantRole = 'participant' | 'moderator' | 'host' | 'panelist' | 'attendee';

/** What a participant in a webinar's waiting room waits for (null: it does not wait). */
export type ParticipantWait = 'host' | 'admission' | null;

/** Who muted or unmuted: the participant (keypad `*6`) or a moderator (REST API, dashboard). */
export type MuteSource = 'self' | 'moderator';

/** What the session reports of its media (codec, SRTP, hold, video). */
export interface ParticipantMediaState {
  codec: string | null;
  srtp: boolean;
  onHold: boolean;
  /** The endpoint sends video (a video Producer exists: browsers can consume it). */
  video: boolean;
}

/** What the dashboard and GET /api/rooms/:id show of a participant. */
export interface ParticipantView extends ParticipantMediaState {
  id: string;
  kind: ParticipantKind;
  displayName: string;
  uri: string;
  transport: string;
  muted: boolean;
  speaking: boolean;
  handRaised: boolean;
  role: ParticipantRole;
  state: ParticipantState;
  joinedAt: string;
  /** Waiting in a webinar's lobby: for the host to join, or to be admitted (null: not waiting). */
  waiting: ParticipantWait;
  /** Who transferred the caller into the room (RFC 3892 Referred-By); only present when someone did. */
  referredBy?: string;
}

export interface ParticipantEvents {
  /** Codec, SRTP, hold or video changed. */
  media: [];
  muted: [muted: boolean, by: MuteSource];
  speaking: [speaking: boolean];
  role: [role: ParticipantRole];
  hand: [raised: boolean];
  waiting: [waiting: ParticipantWait];
  /** In the conference: hears the room and is heard. */
  joined: [];
  left: [reason: LeaveReason];
}

/**
 * A participant of a conference, of any kind. Owns its session (and through it its media legs): whatever it owns
 * is registered with `own()` and closed in reverse order by `close(reason)`, which is idempotent and always ends
 * with `left`. Every change of state is a method that emits its own event; nothing sets its fields from outside.
 */
export class Participant extends TypedEmitter<ParticipantEvents> {
  readonly id = randomUUID();
  readonly joinedAt = new Date();
  readonly displayName: string;
  readonly uri: string;
  readonly transport: string;
  /** The referrer's URI when the caller was transferred in (RFC 3892 Referred-By); RFC 4575 `joining-info/by`. */
  readonly referredBy?: string;
  readonly log: Logger;
  private currentState = ParticipantState.Joining;
  private media: ParticipantMediaState = { codec: null, srtp: false, onHold: false, video: false };
  private isMuted = false;
  private isSpeaking = false;
  private hand = false;
  private waitingFor: ParticipantWait = null;
  private currentRole: ParticipantRole = 'participant';
  private reason?: LeaveReason;
  private boundSession?: ParticipantSession;
  private readonly closers: Array<() => void | Promise<void>> = [];
  private readonly leaving = new AbortController();

  constructor(
    readonly kind: ParticipantKind,
    identity: ParticipantIdentity,
    log: Logger,
  ) {
    super(log);
    this.displayName = identity.displayName;
    this.uri = identity.uri;
    this.transport = identity.transport;
    if (identity.referredBy !== undefined) this.referredBy = identity.referredBy;
    this.log = log.child({ participantId: this.id });
  }

  get state(): ParticipantState {
    return this.currentState;
  }

  /** A method, not a getter: its answer changes across awaits (TypeScript would narrow a property). */
  hasLeft(): boolean {
    return this.currentState === ParticipantState.Left;
  }

  get leaveReason(): LeaveReason | undefined {
    return this.reason;
  }

  /** Aborted when the participant leaves: pass it to anything that must stop then (PIN entry, dial-out). */
  get signal(): AbortSignal {
    return this.leaving.signal;
  }

  get session(): ParticipantSession | undefined {
    return this.boundSession;
  }

  get codec(): string | null {
    return this.media.codec;
  }

  get srtp(): boolean {
    return this.media.srtp;
  }

  get onHold(): boolean {
    return this.media.onHold;
  }

  get video(): boolean {
    return this.media.video;
  }

  get muted(): boolean {
    return this.isMuted;
  }

  get speaking(): boolean {
    return this.isSpeaking;
  }

  get handRaised(): boolean {
    return this.hand;
  }

  get role(): ParticipantRole {
    return this.currentRole;
  }

  /** The session that carries this participant (once, when the transport has built it). */
  bindSession(session: ParticipantSession): void {
    if (this.boundSession) throw new Error('participant already has a session');
    this.boundSession = session;
  }

  /** Register something this participant owns and must close when it leaves (session, legs, listeners). */
  own(closer: () => void | Promise<void>): void {
    if (this.currentState === ParticipantState.Left) void closer();
    else this.closers.push(closer);
  }

  /** The session reports its media (codec, SRTP, hold, video); emits `media` when something changed. */
  setMedia(fields: Partial<ParticipantMediaState>): void {
    const next = { ...this.media, ...fields };
    if (
      next.codec === this.media.codec &&
      next.srtp === this.media.srtp &&
      next.onHold === this.media.onHold &&
      next.video === this.media.video
    )
      return;
    this.media = next;
    this.safeEmit('media');
  }

  setMuted(muted: boolean, by: MuteSource): void {
    if (muted === this.isMuted) return;
    this.isMuted = muted;
    this.safeEmit('muted', muted, by);
  }

  setSpeaking(speaking: boolean): void {
    if (speaking === this.isSpeaking) return;
    this.isSpeaking = speaking;
    this.safeEmit('speaking', speaking);
  }

  setRole(role: ParticipantRole): void {
    if (role === this.currentRole) return;
    this.currentRole = role;
    this.safeEmit('role', role);
  }

  setHand(raised: boolean): void {
    if (raised === this.hand) return;
    this.hand = raised;
    this.safeEmit('hand', raised);
  }

  get waiting(): ParticipantWait {
    return this.waitingFor;
  }

  /** In a webinar's waiting room (or out of it: null). */
  setWaiting(waiting: ParticipantWait): void {
    if (waiting === this.waitingFor) return;
    this.waitingFor = waiting;
    this.safeEmit('waiting', waiting);
  }

  /** Out of the lobby / signalling done: the participant is in the conference. */
  markJoined(): void {
    if (this.currentState !== ParticipantState.Joining) return;
    this.currentState = ParticipantState.Joined;
    this.safeEmit('joined');
  }

  close(reason: LeaveReason): void {
    if (this.currentState === ParticipantState.Left) return;
    this.currentState = ParticipantState.Left;
    this.reason = reason;
    this.leaving.abort();
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
      kind: this.kind,
      displayName: this.displayName,
      uri: this.uri,
      transport: this.transport,
      ...this.media,
      muted: this.isMuted,
      speaking: this.isSpeaking,
      handRaised: this.hand,
      role: this.currentRole,
      state: this.currentState,
      joinedAt: this.joinedAt.toISOString(),
      waiting: this.waitingFor,
      ...(this.referredBy !== undefined ? { referredBy: this.referredBy } : {}),
    };
  }
}
