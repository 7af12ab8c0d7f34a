import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError, ERROR_CATALOGUE } from '../errors/app-error';
import type { RoomAudioStats } from '../media/room-audio/room-audio';
import { TypedEmitter } from '../util/typed-emitter';
import { PinLobby, type PinLobbyOptions } from './lobby/pin-lobby';
import type { PinLockout } from './lobby/pin-lockout';
import { Keypad } from './participant/keypad';
import { WaiterState } from './lobby/waiting-room';
import { WebinarPolicy } from './webinar/webinar-policy';
import { Webinars, type WaitHooks } from './webinar/webinars';
import { LeaveReason } from './participant/leave-reason';
import {
  Participant,
  ParticipantState,
  type MuteSource,
  type ParticipantRole,
  type ParticipantWait,
} from './participant/participant';
import type {
  Dialer,
  DialProgressListener,
  ParticipantSession,
  SessionConnector,
} from './participant/participant-session';
import { PROMPT_RATE, type PromptName, type PromptSource } from './room/prompts';
import type { Room } from './room/room';
import type { RoomMedia } from './room/room-media';
import type { RoomDeclaration, RoomManager } from './room/room-manager';

/**
 * Every change of every room and participant, for whoever watches the conference (dashboard, REST, webhooks,
 * RFC 4575 conference state, livestream). mediasoup style: `conference.observer.on('participantJoined', ...)`.
 */
export interface ConferenceObserverEvents {
  roomCreated: [room: Room];
  roomClosed: [room: Room];
  roomLocked: [room: Room, locked: boolean];
  /** In the room: waiting in the PIN lobby or completing its signalling (SIP 2xx/ACK, ringing for a dial-out). */
  participantAdmitted: [p: Participant, room: Room];
  /** In the conference: hears the room and is heard. */
  participantJoined: [p: Participant, room: Room];
  participantLeft: [p: Participant, reason: LeaveReason, room: Room];
  participantMuted: [p: Participant, muted: boolean, by: MuteSource];
  participantSpeaking: [p: Participant, speaking: boolean];
  participantRole: [p: Participant, role: ParticipantRole];
  participantHand: [p: Participant, raised: boolean];
  /** In a webinar's waiting room: for the host, or to be admitted (null: out of it, admitted or gone). */
  participantWaiting: [p: Participant, waiting: ParticipantWait];
  participantMoved: [p: Participant, from: Room, to: Room];
  /** Codec, SRTP, hold or video changed. */
  participantMedia: [p: Participant];
}

export interface ConferenceOptions {
  rooms: RoomManager;
  prompts: PromptSource;
  /** Chime on join and "you are the only participant" (default true). */
  joinTones?: boolean;
  /** Places outgoing calls (dialOut); absent: dial-out is unavailable. */
  dialer?: Dialer;
  /** PIN brute-force lockout across calls (per source and per room); absent: only the lobby's three tries. */
  pinLockout?: PinLockout;
  /**
   * Rooms whose media must be encrypted (`security.requireSrtp`, `conference.rooms[].requireSrtp`): the focus
   * refuses clear offers to them; here moves of unencrypted participants into them and dial-outs from them (we
   * offer RTP/AVP only) are refused with SEC_SRTP_REQUIRED. Absent: none.
   */
  srtpRequired?: (room: string) => boolean;
  log: Logger;
}

export interface JoinRequest {
  /** The room's name (the user part of `sip:<room>@host`). */
  room: string;
  connector: SessionConnector;
  /**
   * Aborts the join (SIP: CANCEL) until the signalling is established: a participant not admitted yet never is,
   * one admitted leaves with `cancelled`.
   */
  signal?: AbortSignal;
  /** Straight into the room, no PIN asked (a call we placed ourselves). */
  bypassPin?: boolean;
  /**
   * The room PIN given up front (a browser's join form): checked before anything is built, no PIN lobby. In a PIN
   * room a missing PIN is RTC_PIN_REQUIRED and a wrong one RTC_WRONG_PIN; the moderator PIN makes a moderator.
   */
  pin?: string;
  /**
   * Up-front joiners (browsers) never wait in the PIN lobby: without `pin`, a PIN room refuses them
   * (RTC_PIN_REQUIRED) instead.
   */
  upFront?: boolean;
  /**
   * The joiner's network address (SIP: the INVITE's source): rooms created on demand and wrong PINs are counted per
   * source (`security`). Absent: not counted.
   */
  source?: string;
  /** Told when the joiner waits in a webinar's lobby and how that ends (a browser's page shows it). */
  onWaiting?: WaitHooks['onWaiting'];
}

/** CONF_DRAINING with the Retry-After the answer carries (SIP 503 + Retry-After, HTTP 503 + Retry-After). */
export class DrainingError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('CONF_DRAINING');
  }
}

/** How a drain goes: joins refused with `retryAfterSeconds`; calls still in progress at `deadlineMs` hung up. */
export interface DrainOptions {
  deadlineMs: number;
  retryAfterSeconds: number;
}

const abandoned = (p: Participant): AppError =>
  new AppError('CONF_JOIN_ABANDONED', `participant left before joining (${p.leaveReason ?? 'unknown'})`);

/**
 * The conference service: the one place that joins participants (of any kind), mutes, kicks, moves, locks and
 * ends rooms, dials out, plays prompts and reports media figures. Transport adapters (the SIP focus) turn their
 * requests into `join()`; the REST API and the dashboard call the commands; everybody watches `observer`.
 * Per-room state lives in the Room; this service keeps none.
 */
export class Conference {
  readonly observer: TypedEmitter<ConferenceObserverEvents>;
  private readonly rooms: RoomManager;
  /** The waits in webinar rooms' waiting rooms, admit and deny (each room owns its policy and waiting room). */
  private readonly webinars: Webinars;
  private closed = false;
  /** Set by drain(): joins are refused; `done` resolves when the last participant has left. */
  private draining?: {
    retryAfterSeconds: number;
    done: Promise<void>;
    stop: () => void;
    /** Brings the deadline forward to `ms` from now (never later). */
    deadline: (ms: number) => void;
  };

  constructor(private readonly opts: ConferenceOptions) {
    this.rooms = opts.rooms;
    this.webinars = new Webinars();
    this.observer = new TypedEmitter<ConferenceObserverEvents>(opts.log);
    this.rooms.on('created', (room) => this.watchRoom(room));
  }

  // ------------------------------------------------------------------ queries

  listRooms(): Room[] {
    return this.rooms.list();
  }

  /** Throws CONF_ROOM_NOT_FOUND. */
  getRoom(name: string): Room {
    const room = this.rooms.get(name);
    if (!room || room.isClosed) throw new AppError('CONF_ROOM_NOT_FOUND', `room ${name} not found`);
    return room;
  }

  /** The participant `pid` of room `roomName`; throws CONF_ROOM_NOT_FOUND / CONF_PARTICIPANT_NOT_FOUND. */
  participantIn(roomName: string, pid: string): Participant {
    const p = this.getRoom(roomName).participant(pid);
    if (!p)
      throw new AppError('CONF_PARTICIPANT_NOT_FOUND', `participant ${pid} not found in room ${roomName}`);
    return p;
  }

  /** Where participant `pid` is; throws CONF_PARTICIPANT_NOT_FOUND. */
  locate(pid: string): { participant: Participant; room: Room } {
    for (const room of this.rooms.list()) {
      const participant = room.participant(pid);
      if (participant) return { participant, room };
    }
    throw new AppError('CONF_PARTICIPANT_NOT_FOUND', `participant ${pid} not found`);
  }

  /** The room's media figures (mixer tick cost, per participant packets and receive quality); null without a mix. */
  async stats(roomName: string): Promise<RoomAudioStats | null> {
    return this.getRoom(roomName).stats();
  }

  // ------------------------------------------------------------------ joining

  /**
   * Joins one participant: room admission (not found, locked, full, closed), its media built in the room, its
   * signalling completed, the PIN lobby for PIN rooms, then the conference. Resolves with the joined participant;
   * rejects with the catalogue's error (admission, media) or CONF_JOIN_ABANDONED when the participant left first
   * (cancelled, wrong PIN, hung up).
   */
  async join(req: JoinRequest): Promise<Participant> {
    if (this.closed) throw new AppError('CONF_SHUTTING_DOWN');
    if (this.draining) throw new DrainingError(this.draining.retryAfterSeconds);
    const { connector } = req;
    const room = await this.rooms.getOrCreate(req.room, req.source);
    room.checkAdmission();
    const webinar = this.webinars.policyFor(room);
    const upFrontRole = req.upFront && !req.bypassPin ? checkPin(room, req.pin, webinar) : undefined;
    // A webinar always asks a phone its PIN (its role); its joiners wait out of the mix until let in.
    const lobby = (room.needsPin || webinar !== undefined) && !req.bypassPin && !req.upFront;
    const seatFirst = lobby || webinar ? 'lobby' : 'mix';
    if (lobby && req.source !== undefined && this.opts.pinLockout?.isLocked(req.source, room.id))
      throw new AppError('SEC_PIN_LOCKED', `PIN entry locked for ${req.source} in room ${room.id}`);
    if (req.signal?.aborted) {
      connector.log.info('join cancelled before media setup');
      throw new AppError('CONF_JOIN_ABANDONED', 'cancelled before media setup');
    }
    // Claimed before any await: the room's media cannot be released under this join.
    const lease = room.acquireMedia();
    const p = new Participant(connector.kind, connector.identity, connector.log.child({ roomId: room.id }));
    if (upFrontRole) p.setRole(upFrontRole);
    // A call a moderator placed into a webinar is someone asked to speak.
    else if (webinar && req.bypassPin) p.setRole('panelist');
    const onCancel = (): void => p.close(LeaveReason.Cancelled);
    req.signal?.addEventListener('abort', onCancel);
    const stopCancel = (): void => {
      req.signal?.removeEventListener('abort', onCancel);
    };
    p.own(stopCancel);
    let session: ParticipantSession;
    try {
      try {
        // The room's audio first (the first caller creates it; concurrent callers share it).
        await (seatFirst === 'lobby' ? lease.media.lobby() : lease.media.audio());
        if (p.hasLeft()) throw abandoned(p);
        session = await connector.connect(p, lease.media.legs);
        p.bindSession(session);
        if (p.hasLeft()) throw abandoned(p);
        room.admit(p, lease);
      } finally {
        if (room.participant(p.id) !== p) lease.release();
      }
      this.watchParticipant(p);
      await room.seat(p, seatFirst);
    } catch (err) {
      const left = p.hasLeft();
      p.close(LeaveReason.MediaFailed);
      if (left) throw abandoned(p);
      // The room closed under the media setup (its router went with it): say so rather than how it broke.
      throw room.isClosed && !(err instanceof AppError) ? new AppError('CONF_ROOM_CLOSED') : err;
    }
    if (p.hasLeft()) throw abandoned(p);
    try {
      await connector.establish(p.signal);
    } catch (err) {
      const left = p.hasLeft();
      p.close(LeaveReason.MediaFailed);
      // The connector's own error says more (CONF_DIAL_FAILED: 486 Busy Here) than "left before joining".
      throw left && !(err instanceof AppError) ? abandoned(p) : err;
    }
    stopCancel();
    if (p.hasLeft()) throw abandoned(p);
    await this.enter(room, p, session, lobby, req.source, req.onWaiting);
    if (p.hasLeft()) throw abandoned(p);
    return p;
  }

  /**
   * Calls `target` through the dialer and joins it to `roomName` as a participant like any other: admission,
   * media (our offer), then the call (INVITE, 2xx, the answer applied). Resolves when it is in the room.
   * `onProgress` hears each step as a SIP status (180/183, 200, or the final failure: 486, 603, 408 timeout...).
   */
  async dialOut(
    roomName: string,
    target: string,
    opts: { onProgress?: DialProgressListener } = {},
  ): Promise<Participant> {
    if (!this.opts.dialer) throw new AppError('CONF_DIAL_UNAVAILABLE');
    if (this.opts.srtpRequired?.(roomName))
      throw new AppError(
        'SEC_SRTP_REQUIRED',
        `room ${roomName} requires SRTP and dial-out offers RTP/AVP only`,
      );
    const log = this.opts.log.child({ dialOut: target });
    const connector = this.opts.dialer.dial(target, {
      roomName,
      log,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return this.join({ room: roomName, connector, bypassPin: true });
  }

  // ------------------------------------------------------------------ moderation

  /** Mutes or unmutes a participant in the room (not one still in the PIN lobby: NOT_JOINED). */
  async mute(pid: string, muted: boolean, by: MuteSource = 'moderator'): Promise<void> {
    const { participant: p, room } = this.locate(pid);
    if (p.state !== ParticipantState.Joined)
      throw new AppError('NOT_JOINED', `participant ${pid} has not joined yet`);
    if (!muted && p.muted) this.checkUnmute(room, p);
    if (p.muted !== muted) await this.applyMute(room, p, muted, by);
  }

  /** Mutes (or unmutes) everyone joined in the room except moderators; resolves with those changed. */
  async muteAll(roomName: string, muted = true): Promise<Participant[]> {
    const room = this.getRoom(roomName);
    const changed = room
      .participants()
      .filter(
        (p) =>
          p.state === ParticipantState.Joined &&
          !WebinarPolicy.hasHostPowers(p.role) &&
          p.muted !== muted &&
          (muted || this.mayUnmute(room, p)),
      );
    await Promise.all(changed.map((p) => this.applyMute(room, p, muted, 'moderator')));
    return changed;
  }

  /** Ends the participant's session (SIP: BYE); it leaves with `kicked`. */
  kick(pid: string): void {
    const { participant: p } = this.locate(pid);
    p.log.info('participant kicked');
    if (p.session) p.session.hangup(LeaveReason.Kicked);
    else p.close(LeaveReason.Kicked);
  }

  setRole(pid: string, role: ParticipantRole): void {
    this.locate(pid).participant.setRole(role);
  }

  setHand(pid: string, raised: boolean): void {
    this.locate(pid).participant.setHand(raised);
  }

  /**
   * A webinar's attendee becomes a panelist: it may speak (unmuted at once, its hand lowered). CONF_NOT_WEBINAR,
   * CONF_NOT_ATTENDEE.
   */
  async promote(pid: string): Promise<Participant> {
    const { participant: p, room } = this.locate(pid);
    this.webinars.required(room);
    if (p.role !== 'attendee') throw new AppError('CONF_NOT_ATTENDEE', `${pid} is a ${p.role}`);
    p.setRole('panelist');
    p.setHand(false);
    if (p.muted && p.state === ParticipantState.Joined) await this.applyMute(room, p, false, 'moderator');
    p.log.info('promoted to panelist');
    return p;
  }

  /** A panelist goes back to the audience (muted as attendees are). CONF_NOT_WEBINAR, CONF_NOT_PANELIST. */
  async demote(pid: string): Promise<Participant> {
    const { participant: p, room } = this.locate(pid);
    const { policy } = this.webinars.required(room);
    if (p.role !== 'panelist') throw new AppError('CONF_NOT_PANELIST', `${pid} is a ${p.role}`);
    p.setRole('attendee');
    if (policy.joinsMuted('attendee') && !p.muted) {
      if (p.state === ParticipantState.Joined) await this.applyMute(room, p, true, 'moderator');
      else p.setMuted(true, 'moderator');
    }
    p.log.info('demoted to attendee');
    return p;
  }

  /** Lets a person waiting in a webinar's lobby in. CONF_NOT_WEBINAR, CONF_NOT_WAITING. */
  admit(pid: string): Participant {
    const { participant: p, room } = this.locate(pid);
    this.webinars.admit(room, pid);
    return p;
  }

  /** Turns a person waiting in a webinar's lobby away (a phone hears why, then BYE). CONF_NOT_WEBINAR, CONF_NOT_WAITING. */
  deny(pid: string): Participant {
    const { participant: p, room } = this.locate(pid);
    this.webinars.deny(room, pid);
    return p;
  }

  /** Who waits in room `roomName`'s lobby, longest first (empty for a plain room). */
  waiting(roomName: string): Participant[] {
    const room = this.getRoom(roomName);
    return this.webinars
      .waitingIn(room)
      .map((w) => room.participant(w.id))
      .filter((p): p is Participant => p !== undefined);
  }

  /** Whether room `roomName` is a webinar. */
  isWebinar(roomName: string): boolean {
    return this.webinars.policyFor(this.getRoom(roomName)) !== undefined;
  }

  /**
   * Declares a room (kept when empty; PINs for the next joiners) and opens it. Throws CONF_SHUTTING_DOWN.
   */
  async declareRoom(d: RoomDeclaration): Promise<Room> {
    this.rooms.declare(d);
    return this.rooms.getOrCreate(d.name);
  }

  /** Opens every declared room (at start: they are listed, lockable and dialable before anyone calls). */
  async openDeclaredRooms(): Promise<void> {
    for (const d of this.rooms.declarations()) await this.rooms.getOrCreate(d.name);
  }

  /** Whether room `roomName` is declared (config file or run time). */
  isDeclared(roomName: string): boolean {
    return this.rooms.declarations().some((d) => d.name === roomName);
  }

  /**
   * Removes a run-time declaration and ends the room if it is open (every call ends). Returns false, doing nothing,
   * when the room was not declared at run time (a config file's room stays; an on-demand room just ends).
   */
  forgetRoom(roomName: string): boolean {
    if (!this.rooms.undeclare(roomName)) return false;
    const room = this.rooms.get(roomName);
    if (room && !room.isClosed) room.close(LeaveReason.RoomClosed);
    return true;
  }

  /** Whether `pin` is room `roomName`'s moderator PIN (false when it has none or the room is unknown). */
  isModeratorPin(roomName: string, pin: string): boolean {
    const want = this.rooms.settingsFor(roomName)?.moderatorPin;
    if (want === undefined) return false;
    // Constant time: the comparison must not tell how many leading digits were right.
    const a = createHash('sha256').update(want).digest();
    const b = createHash('sha256').update(pin).digest();
    return timingSafeEqual(a, b);
  }

  /** A locked room admits nobody (SIP 403, REST 423); those inside stay. */
  setLocked(roomName: string, locked: boolean): void {
    this.getRoom(roomName).setLocked(locked);
  }

  /** Ends the room: every participant's session ends (SIP: BYE), the media is released, the room closes. */
  endRoom(roomName: string): void {
    this.getRoom(roomName).close(LeaveReason.RoomClosed);
  }

  /** Plays a prompt to one participant (in the lobby or the room); resolves when played or stopped. */
  async play(pid: string, prompt: PromptName): Promise<void> {
    const { participant: p, room } = this.locate(pid);
    await this.prompt(room, p, prompt);
  }

  /**
   * Moves a joined participant to another room (created on demand, admission checked). When its media can join
   * the target's audio where it is (same router and thread, or thread-only legs on the target's thread) the audio
   * is re-attached; otherwise the session renegotiates onto legs built in the target room (SIP: re-INVITE).
   * CONF_MOVE_UNSUPPORTED when neither is possible, CONF_MOVE_FAILED when the far end refused.
   */
  async move(pid: string, toRoomName: string): Promise<void> {
    const { participant: p, room: from } = this.locate(pid);
    if (p.state !== ParticipantState.Joined)
      throw new AppError('NOT_JOINED', `participant ${pid} has not joined yet`);
    const session = p.session;
    if (!session) throw new AppError('CONF_MOVE_UNSUPPORTED', 'participant has no session');
    if (!p.srtp && this.opts.srtpRequired?.(toRoomName))
      throw new AppError(
        'SEC_SRTP_REQUIRED',
        `room ${toRoomName} requires SRTP and this participant's media is clear`,
      );
    const to = await this.rooms.getOrCreate(toRoomName);
    if (to === from) throw new AppError('CONF_SAME_ROOM');
    to.checkAdmission();
    const lease = to.acquireMedia();
    let adopted = false;
    try {
      const reattach = canReattach(session, from.mediaOf(p), lease.media);
      if (!reattach && !session.renegotiate)
        throw new AppError(
          'CONF_MOVE_UNSUPPORTED',
          `a ${session.kind} participant cannot be moved to another media thread or router`,
        );
      await from.unseat(p);
      if (reattach) session.rehome(lease.media.legs);
      else {
        try {
          await session.renegotiate!(lease.media.legs, { room: to.id });
        } catch (err) {
          if (!p.hasLeft()) await from.seat(p, 'mix').catch(() => undefined);
          throw err instanceof AppError
            ? err
            : new AppError('CONF_MOVE_FAILED', `renegotiation failed: ${(err as Error).message}`);
        }
      }
      if (p.hasLeft()) throw abandoned(p);
      to.adopt(p, lease);
      adopted = true;
      from.release(p);
      await to.seat(p, 'mix');
      p.log.info({ from: from.id, to: to.id, renegotiated: !reattach }, 'participant moved');
      this.observer.safeEmit('participantMoved', p, from, to);
    } finally {
      if (!adopted) lease.release();
    }
  }

  /** Whether drain() was called: joins are refused. */
  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /** Participants in any room (admitted: in the PIN lobby, completing signalling, or joined). */
  participantCount(): number {
    return this.rooms.list().reduce((n, room) => n + room.participants().length, 0);
  }

  /**
   * Drains the conference (SIGTERM, an admin's action): every join is refused from now on (CONF_DRAINING with
   * `retryAfterSeconds`: phones, browsers and dial-outs alike), while the calls in progress go on until they end.
   * Those still there after `deadlineMs` are hung up (SIP: BYE with `Reason: SIP;cause=503`, RFC 3326). Resolves
   * when no participant is left. A second call returns the same drain, bringing its deadline forward when it asks
   * for an earlier one (an operator's "finish now"), never later. A join already past the check when the drain
   * began is let in, and counted once admitted.
   */
  drain(opts: DrainOptions): Promise<void> {
    if (this.draining) {
      this.draining.deadline(opts.deadlineMs);
      return this.draining.done;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    let timer: NodeJS.Timeout | undefined;
    let deadlineAt = Infinity;
    const onLeft = (): void => {
      if (this.participantCount() === 0) stop();
    };
    const hangUpAll = (): void => {
      const status = ERROR_CATALOGUE.CONF_DRAINING.sip.status;
      for (const room of this.rooms.list())
        for (const p of room.participants()) {
          p.log.info('drain deadline passed: hanging up');
          if (p.session) p.session.hangup(LeaveReason.Draining, { cause: status, text: 'Server draining' });
          else p.close(LeaveReason.Draining);
        }
      onLeft();
    };
    const deadline = (ms: number): void => {
      if (Date.now() + ms >= deadlineAt) return;
      deadlineAt = Date.now() + ms;
      clearTimeout(timer);
      timer = setTimeout(hangUpAll, ms);
    };
    const stop = (): void => {
      clearTimeout(timer);
      this.observer.off('participantLeft', onLeft);
      resolve();
    };
    this.observer.on('participantLeft', onLeft);
    this.draining = { retryAfterSeconds: opts.retryAfterSeconds, done, stop, deadline };
    this.opts.log.info({ participants: this.participantCount(), deadlineMs: opts.deadlineMs }, 'draining');
    deadline(opts.deadlineMs);
    onLeft();
    return done;
  }

  /** Ends every session (shutdown: SIP BYE); joins are refused from now on. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.draining?.stop();
    for (const room of this.rooms.list())
      for (const p of room.participants()) {
        if (p.session) p.session.hangup(LeaveReason.ServerShutdown);
        else p.close(LeaveReason.ServerShutdown);
      }
  }

  // ------------------------------------------------------------------ internals

  /** After the signalling: the keypad, the PIN lobby for PIN rooms, then the room itself. */
  private async enter(
    room: Room,
    p: Participant,
    session: ParticipantSession,
    pin: boolean,
    source?: string,
    onWaiting?: WaitHooks['onWaiting'],
  ): Promise<void> {
    const webinar = this.webinars.policyFor(room);
    const keypad = new Keypad();
    let lobby: PinLobby | undefined;
    const onDigit = (digit: string): void => {
      lobby?.keyPressed();
      const cmd = keypad.press(digit);
      if (cmd.kind === 'pin') lobby?.submit(cmd.pin);
      else if (cmd.kind === 'toggle-mute' && p.state === ParticipantState.Joined) {
        if (p.muted && !this.mayUnmute(room, p)) void this.prompt(room, p, 'listen-only');
        else
          void this.applyMute(room, p, !p.muted, 'self').catch((err: unknown) =>
            p.log.warn({ err }, 'self-mute failed'),
          );
      } else if (cmd.kind === 'toggle-hand' && p.state === ParticipantState.Joined) {
        p.setHand(!p.handRaised);
        void this.prompt(room, p, p.handRaised ? 'hand-raised' : 'hand-lowered');
      }
    };
    session.on('dtmf', onDigit);
    p.own(() => {
      session.off('dtmf', onDigit);
    });

    if (pin) {
      lobby = new PinLobby({
        pin: room.settings.pin,
        moderatorPin: room.settings.moderatorPin,
        roles: webinar && ((typed) => webinar.roleForPin(typed)),
        play: (name) => this.prompt(room, p, name),
        stopPlay: () => room.stopPlay(p),
        signal: p.signal,
        log: p.log,
        lockout: lockoutFor(this.opts.pinLockout, source, room.id),
      });
      keypad.collectPin();
      const role = await lobby.run();
      lobby = undefined;
      keypad.stopPin();
      if (p.hasLeft()) return;
      if (!role) {
        await this.prompt(room, p, 'goodbye');
        session.hangup(LeaveReason.PinFailed, { cause: 403, text: 'Wrong conference PIN' });
        return;
      }
      await room.stopPlay(p).catch(() => undefined);
      p.setRole(role);
      if (!webinar) await room.seat(p, 'mix');
      if (p.hasLeft()) return;
    }
    if (webinar && !(await this.enterWebinar(room, p, session, webinar, onWaiting))) return;
    p.markJoined();
    p.log.info({ codec: p.codec, srtp: p.srtp, role: p.role }, 'participant joined');
    this.observer.safeEmit('participantJoined', p, room);
    this.webinars.hostJoined(room, p);
    void this.announceJoin(room, p);
  }

  /**
   * A webinar's door, after the PIN: muted as the policy says (before the mix ever hears it), the waiting room
   * (for the host, for admission), then the mix. False when it did not get in (left); a denied caller hears "the
   * host declined", gets BYE (Reason 403) and the join fails with CONF_LOBBY_DENIED.
   */
  private async enterWebinar(
    room: Room,
    p: Participant,
    session: ParticipantSession,
    policy: WebinarPolicy,
    onWaiting: WaitHooks['onWaiting'],
  ): Promise<boolean> {
    // Joined muted by the room's policy: as if by itself when it may unmute itself (a page may then resume its mic).
    if (policy.joinsMuted(p.role)) p.setMuted(true, policy.canUnmute(p.role) ? 'self' : 'moderator');
    const outcome = await this.webinars.wait(room, p, {
      prompt: (name) => this.prompt(room, p, name),
      stopPrompt: () => room.stopPlay(p),
      onWaiting,
    });
    if (p.hasLeft() || outcome === WaiterState.Left) return false;
    if (outcome === WaiterState.Denied) {
      const { status, reason } = ERROR_CATALOGUE.CONF_LOBBY_DENIED.sip;
      session.hangup(LeaveReason.LobbyDenied, { cause: status, text: reason });
      throw new AppError('CONF_LOBBY_DENIED');
    }
    await room.seat(p, 'mix');
    return !p.hasLeft();
  }

  /** Whether the participant may be unmuted (a listen-only attendee may not, by anyone: promote it instead). */
  private mayUnmute(room: Room, p: Participant): boolean {
    return this.webinars.policyFor(room)?.canUnmute(p.role) ?? true;
  }

  /**
   * Throws CONF_ATTENDEE_CANNOT_UNMUTE when participant `pid` is a listen-only attendee: a page asks before it resumes
   * its microphone, so the refusal names the policy rather than who muted it.
   */
  assertMayUnmute(pid: string): void {
    const { participant: p, room } = this.locate(pid);
    this.checkUnmute(room, p);
  }

  /** Throws CONF_ATTENDEE_CANNOT_UNMUTE for a listen-only attendee. */
  private checkUnmute(room: Room, p: Participant): void {
    if (!this.mayUnmute(room, p))
      throw new AppError('CONF_ATTENDEE_CANNOT_UNMUTE', `${p.id} is a listen-only attendee`);
  }

  /** Mute from anywhere (keypad, REST, dashboard): out of everyone's mix at once, then "you are (no longer) muted". */
  private async applyMute(room: Room, p: Participant, muted: boolean, by: MuteSource): Promise<void> {
    p.setMuted(muted, by);
    await room.setMuted(p, muted);
    p.log.info({ muted, by }, muted ? 'participant muted' : 'participant unmuted');
    void this.prompt(room, p, muted ? 'muted' : 'unmuted');
  }

  private async prompt(room: Room, p: Participant, name: PromptName): Promise<void> {
    const clip = this.opts.prompts.get(name);
    if (clip && !p.hasLeft()) await room.play(p, clip, PROMPT_RATE).catch(() => undefined);
  }

  /**
   * A chime to the room, and "you are the only participant" to a lone caller. The chime goes into the shared mix
   * (the newcomer hears it too): a private clip per listener would cost every listener a private mix and encode,
   * and a 50-person room filling up would queue a chime per join per listener.
   */
  private async announceJoin(room: Room, p: Participant): Promise<void> {
    if (this.opts.joinTones === false) return;
    const others = room.participants().filter((x) => x !== p && x.state === ParticipantState.Joined);
    if (others.length === 0) {
      await this.prompt(room, p, 'only-participant');
      return;
    }
    const chime = this.opts.prompts.get('join');
    if (chime) await room.announce(chime, PROMPT_RATE).catch(() => undefined);
  }

  private watchRoom(room: Room): void {
    const o = this.observer;
    room.on('participantAdmitted', (p) => o.safeEmit('participantAdmitted', p, room));
    room.on('participantLeft', (p, reason) => o.safeEmit('participantLeft', p, reason, room));
    room.on('locked', (locked) => o.safeEmit('roomLocked', room, locked));
    room.once('closed', () => o.safeEmit('roomClosed', room));
    o.safeEmit('roomCreated', room);
  }

  /** Relays the participant's own events (once per participant, whatever room it moves to). */
  private watchParticipant(p: Participant): void {
    const o = this.observer;
    p.on('muted', (muted, by) => o.safeEmit('participantMuted', p, muted, by));
    p.on('speaking', (speaking) => o.safeEmit('participantSpeaking', p, speaking));
    p.on('role', (role) => o.safeEmit('participantRole', p, role));
    p.on('hand', (raised) => o.safeEmit('participantHand', p, raised));
    p.on('waiting', (waiting) => o.safeEmit('participantWaiting', p, waiting));
    p.on('media', () => o.safeEmit('participantMedia', p));
  }
}

/** The role an up-front PIN gives in `room` (participant without a PIN where none is needed); throws otherwise. */
/** The lobby's view of the PIN lockout for one caller (none without a lockout or a known source). */
function lockoutFor(
  lockout: PinLockout | undefined,
  source: string | undefined,
  room: string,
): PinLobbyOptions['lockout'] {
  if (!lockout || source === undefined) return undefined;
  return {
    isLocked: () => lockout.isLocked(source, room),
    recordFailure: () => void lockout.recordFailure(source, room),
  };
}

function checkPin(room: Room, pin: string | undefined, webinar?: WebinarPolicy): ParticipantRole {
  const { pin: roomPin, moderatorPin } = room.settings;
  if (pin !== undefined && moderatorPin !== undefined && pin === moderatorPin) return 'moderator';
  if (webinar) {
    const role = webinar.roleForPin(pin ?? '');
    if (role) return role;
    throw new AppError(pin === undefined || pin === '' ? 'RTC_PIN_REQUIRED' : 'RTC_WRONG_PIN');
  }
  if (!room.needsPin) return 'participant';
  if (pin === undefined || pin === '') throw new AppError('RTC_PIN_REQUIRED');
  if (roomPin !== undefined && pin === roomPin) return 'participant';
  throw new AppError('RTC_WRONG_PIN');
}

/**
 * A session's media can join `target`'s audio without renegotiation when it was built on the same router and
 * thread, or when every leg terminates in a media thread (no router Producer) and that thread is the target's.
 */
function canReattach(
  session: ParticipantSession,
  current: RoomMedia | undefined,
  target: RoomMedia,
): boolean {
  if (current && current.routerId === target.routerId && current.threadIndex === target.threadIndex)
    return true;
  return (
    session.legs.length > 0 &&
    session.legs.every(
      (l) =>
        l.mixerLeg !== undefined && l.producer === undefined && l.mixerLeg.threadIndex === target.threadIndex,
    )
  );
}
