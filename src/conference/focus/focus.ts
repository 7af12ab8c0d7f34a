import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { MediaThreadPool } from '../../media/mixer/media-thread-pool';
import type { PortAllocator } from '../../media/rtp/port-allocator';
import { SdpNegotiationError } from '../../media/sdp';
import type { IncomingInvite } from '../../sip/ua/incoming-invite';
import { LeaveReason } from '../participant/leave-reason';
import { Participant, ParticipantState } from '../participant/participant';
import type { Room } from '../room/room';
import { ForwardingRoomAudio, type RoomAudio, type RoomAudioStats } from '../../media/room-audio/room-audio';
import type { RoomManager } from '../room/room-manager';
import { MixedRoomAudio } from '../../media/room-audio/mixed-room-audio';
import { RoomLegFactory } from '../../media/room-leg-factory';
import { Prompts, PROMPT_RATE, type PromptName } from '../room/prompts';
import { Keypad } from './keypad';
import { SipCall } from './sip-call';

export interface InviteSource {
  onInvite(handler: (invite: IncomingInvite) => void): unknown;
}

export interface FocusOptions {
  sip: InviteSource;
  rooms: RoomManager;
  threads: MediaThreadPool;
  ports: PortAllocator;
  listenIp: string;
  announcedIp: string;
  rtpTimeoutMs: number;
  log: Logger;
  /** What phones hear: the MCU mix (default) or the other party forwarded as-is. */
  audio?: 'mixer' | 'forward';
  /** Chime on join/leave and "you are the only participant". */
  joinTones?: boolean;
  prompts?: Prompts;
}

/** PIN entry: three tries, then goodbye (issue: "three tries, then BYE"). */
const PIN_TRIES = 3;
/** How long a caller may take to enter the PIN. */
const PIN_TIMEOUT_MS = 60_000;

/**
 * The conference focus (RFC 4353, RFC 4579): answers INVITEs to `sip:<room>@<host>` and puts the caller in the
 * room. Gates: a named room (404), room policy (404 for unknown rooms when configured, 486/503 full, 403 locked),
 * SDP (488 when nothing can be served). Our Contact carries `;isfocus` (RFC 4579 §4.5).
 */
export class Focus {
  private readonly audio = new WeakMap<Room, Promise<RoomAudio>>();
  private readonly lobbies = new WeakMap<Room, Promise<RoomAudio>>();
  /** Calls by participant id, with their room (moderation by id: REST API, dashboard). */
  private readonly calls = new Map<string, { call: SipCall; room: Room }>();
  /** Calls between "room found" and "admitted" per room: an empty room's mixer must not close under them. */
  private readonly joining = new Map<Room, number>();
  private readonly watched = new WeakSet<Room>();
  private readonly prompts: Prompts;

  constructor(private readonly opts: FocusOptions) {
    this.prompts = opts.prompts ?? new Prompts();
    opts.sip.onInvite((invite) => {
      this.handle(invite).catch((err: unknown) => {
        opts.log.error({ err, callId: invite.callId }, 'INVITE handling failed');
        invite.reject(500, 'Server Internal Error');
      });
    });
  }

  /**
   * An empty room (declared rooms stay open) gives back its mixer and lobby: two PlainTransports and two thread
   * sockets each. The next caller creates them again.
   */
  private releaseIdleAudio(room: Room): void {
    if (room.participants.size > 0 || (this.joining.get(room) ?? 0) > 0) return;
    for (const cache of [this.audio, this.lobbies]) {
      const pending = cache.get(room);
      if (!pending) continue;
      cache.delete(room);
      void pending.then(
        (x) => x.close(),
        () => undefined,
      );
    }
  }

  /** The room's audio (one mixer room per conference room, in the room's media thread). */
  private audioFor(room: Room): Promise<RoomAudio> {
    return this.roomAudio(room, this.audio, room.id, true);
  }

  /** Where callers wait while entering the PIN: a mixer room that mixes nobody, so they hear only prompts. */
  private lobbyFor(room: Room): Promise<RoomAudio> {
    return this.roomAudio(room, this.lobbies, `${room.id}~lobby`, false);
  }

  private roomAudio(
    room: Room,
    cache: WeakMap<Room, Promise<RoomAudio>>,
    id: string,
    mixInputs: boolean,
  ): Promise<RoomAudio> {
    let a = cache.get(room);
    if (!a) {
      a = (async (): Promise<RoomAudio> => {
        if (this.opts.audio === 'forward') return new ForwardingRoomAudio();
        const mixed = await MixedRoomAudio.create({
          router: room.router,
          thread: this.opts.threads.threadFor(room.id),
          roomId: id,
          listenIp: this.opts.listenIp,
          mixInputs,
          log: room.log.child({ component: mixInputs ? 'mixer' : 'lobby' }),
        });
        if (mixInputs)
          mixed.on('speaking', (pid, speaking) => room.participants.get(pid)?.update({ speaking }));
        return mixed;
      })();
      cache.set(room, a);
      const pending = a;
      room.once('closed', () => {
        void pending.then(
          (x) => x.close(),
          () => undefined,
        );
        if (mixInputs) this.opts.threads.releaseRoom(room.id);
      });
      a.catch(() => cache.delete(room));
      if (!this.watched.has(room)) {
        this.watched.add(room);
        room.on('participantLeft', () => this.releaseIdleAudio(room));
      }
    }
    return a;
  }

  private reject(invite: IncomingInvite, err: unknown, log: Logger): void {
    // SdpNegotiationError is an AppError too: test it first, so that its 488/400 carries the standard reason
    // phrase and the why in a Warning header (RFC 3261 §20.43, code 304 "Media type not available").
    if (err instanceof SdpNegotiationError) {
      log.info({ status: err.status, why: err.reason }, 'INVITE rejected: SDP');
      invite.reject(err.status, err.reasonPhrase, {
        Warning: `304 parley "${err.reason.replace(/"/g, "'")}"`,
      });
    } else if (err instanceof AppError && err.sipStatus) {
      log.info({ status: err.sipStatus, why: err.message }, 'INVITE rejected');
      invite.reject(err.sipStatus, err.sipReason ?? err.message);
    } else {
      log.error({ err }, 'INVITE failed');
      invite.reject(500, 'Server Internal Error');
    }
  }

  private async handle(invite: IncomingInvite): Promise<void> {
    const req = invite.request;
    const log = this.opts.log.child({ callId: invite.callId });
    // A CANCEL can arrive during any await below (RFC 3261 §9.2: the stack already answered 487); listen from the
    // start and stop at each step, so that a cancelled caller is never admitted to a room.
    let cancelled = false;
    let onCancel = (): void => {
      cancelled = true;
    };
    invite.once('cancel', () => onCancel());
    const roomName = req.uri.user;
    if (!roomName) {
      this.reject(invite, new AppError('CONF_NO_ROOM_IN_URI'), log);
      return;
    }
    let room: Room;
    try {
      room = await this.opts.rooms.getOrCreate(roomName);
      room.checkAdmission();
    } catch (err) {
      this.reject(invite, err, log);
      return;
    }
    if (cancelled) {
      log.info('INVITE cancelled before media setup');
      return;
    }
    const from = req.from;
    const participant = new Participant(
      from.displayName ?? from.uri.user ?? from.uri.host,
      from.uri.toString(),
      invite.flow.protocol,
      log.child({ roomId: room.id }),
    );
    const plog = participant.log.child({ participantId: participant.id });
    this.joining.set(room, (this.joining.get(room) ?? 0) + 1);
    try {
      await this.join(
        invite,
        room,
        participant,
        plog,
        () => cancelled,
        (fn) => (onCancel = fn),
      );
    } finally {
      const n = (this.joining.get(room) ?? 1) - 1;
      if (n > 0) this.joining.set(room, n);
      else this.joining.delete(room);
      this.releaseIdleAudio(room);
    }
  }

  /** Media, admission, answer and (for PIN rooms) the lobby, for one caller of `room`. */
  private async join(
    invite: IncomingInvite,
    room: Room,
    participant: Participant,
    plog: Logger,
    isCancelled: () => boolean,
    setOnCancel: (fn: () => void) => void,
  ): Promise<void> {
    const needsPin = room.settings.pin !== undefined || room.settings.moderatorPin !== undefined;
    let audio: RoomAudio;
    try {
      audio = await (needsPin ? this.lobbyFor(room) : this.audioFor(room));
    } catch (err) {
      this.reject(invite, err, plog);
      return;
    }
    if (isCancelled()) return; // the stack answered 487 already
    const call = new SipCall(
      participant,
      {
        legs: new RoomLegFactory({
          router: room.router,
          thread: this.opts.threads.threadFor(room.id),
          ports: this.opts.ports,
          listenIp: this.opts.listenIp,
          latch: true,
          audio: this.opts.audio === 'forward' ? 'router' : 'thread',
        }),
        announcedIp: this.opts.announcedIp,
        rtpTimeoutMs: this.opts.rtpTimeoutMs,
      },
      audio,
      plog,
    );
    this.calls.set(participant.id, { call, room });
    participant.once('left', () => this.calls.delete(participant.id));
    setOnCancel(() => participant.close(LeaveReason.Cancelled));
    const hasLeft = (): boolean => participant.state === ParticipantState.Left;

    let localSdp: string;
    try {
      localSdp = invite.sdp
        ? await call.answerOffer(invite.sdp, invite.flow.address)
        : await call.makeOffer();
      if (hasLeft()) return; // cancelled while media was being set up: its legs are closed already
      room.admit(participant);
      await audio.add(call);
    } catch (err) {
      participant.close(LeaveReason.MediaFailed);
      this.reject(invite, err, plog);
      return;
    }
    if (hasLeft()) return; // cancelled while joining the room audio

    let dialog;
    try {
      dialog = await invite.accept({ sdp: localSdp, contactParams: ';isfocus' });
    } catch (err) {
      plog.info({ err: (err as Error).message }, 'call not established');
      participant.close(LeaveReason.Cancelled);
      return;
    }
    call.attachDialog(dialog);
    if (!invite.sdp) {
      try {
        if (!dialog.ackBody?.length)
          throw new SdpNegotiationError(400, 'ACK without the answer to our offer');
        await call.applyAckAnswer(dialog.ackBody.toString(), localSdp);
      } catch (err) {
        plog.warn({ err: (err as Error).message }, 'delayed offer failed');
        call.hangup(LeaveReason.MediaFailed, { cause: 488, text: (err as Error).message });
        return;
      }
    }
    this.wireKeypad(room, call);
    if (needsPin && !(await this.enterPin(room, call))) return;
    participant.joined();
    plog.info(
      { codec: participant.codec, srtp: participant.srtp, role: participant.role },
      'participant joined',
    );
    void this.announceJoin(room, call);
  }

  /** `*6` toggles self-mute ("you are muted" / "you are no longer muted"). */
  private wireKeypad(room: Room, call: SipCall): void {
    const keypad = new Keypad();
    call.keypad = keypad;
    call.on('dtmf', (digit) => {
      const cmd = keypad.press(digit);
      if (cmd.kind === 'pin') call.safeEmit('pin', cmd.pin);
      else if (cmd.kind === 'toggle-mute' && call.participant.state === ParticipantState.Joined) {
        void this.setMuted(room, call, !call.participant.muted, 'self');
      }
    });
  }

  /**
   * Mute or unmute a participant by id (REST API, dashboard). Only a participant in the room (not one still
   * entering its PIN) can be muted: 409 otherwise.
   */
  async muteParticipant(roomId: string, participantId: string, muted: boolean): Promise<void> {
    const found = this.calls.get(participantId);
    if (!found || found.room.id !== roomId)
      throw new AppError(
        'CONF_PARTICIPANT_NOT_FOUND',
        `participant ${participantId} not found in room ${roomId}`,
      );
    if (found.call.participant.state !== ParticipantState.Joined)
      throw new AppError('NOT_JOINED', `participant ${participantId} has not joined yet`);
    if (found.call.participant.muted !== muted)
      await this.setMuted(found.room, found.call, muted, 'moderator');
  }

  /** The room's media figures (mixer tick cost, per-participant packets and receive quality); null without a mixer. */
  async mediaStats(room: Room): Promise<RoomAudioStats | null> {
    const audio = this.audio.get(room);
    if (!audio) return null;
    return (await audio).stats();
  }

  /** Mute from anywhere (keypad, dashboard): the participant leaves everyone's mix at once. */
  async setMuted(room: Room, call: SipCall, muted: boolean, by: 'self' | 'moderator'): Promise<void> {
    call.participant.update({ muted });
    await (await this.audioFor(room)).setMuted(call.participant.id, muted);
    call.participant.log.info({ muted, by }, muted ? 'participant muted' : 'participant unmuted');
    const clip = this.prompts.get(muted ? 'muted' : 'unmuted');
    if (clip) await call.roomAudio.play(call.participant.id, clip, PROMPT_RATE).catch(() => undefined);
  }

  /**
   * PIN entry in the lobby: "enter the conference PIN", digits until '#', three tries, then goodbye and BYE. The
   * moderator PIN makes the caller a moderator. Resolves true when the caller is in the room.
   * Callers type over prompts: a key press stops the prompt playing (barge-in), and a PIN completed while a prompt
   * plays (type-ahead) is kept for the next try rather than lost.
   */
  private async enterPin(room: Room, call: SipCall): Promise<boolean> {
    const p = call.participant;
    const play = async (name: PromptName): Promise<void> => {
      const clip = this.prompts.get(name);
      if (clip && p.state !== ParticipantState.Left)
        await call.roomAudio.play(p.id, clip, PROMPT_RATE).catch(() => undefined);
    };
    const entered: string[] = [];
    let wake: (() => void) | undefined;
    const onPin = (v: string): void => {
      entered.push(v);
      wake?.();
    };
    const onKey = (): void => void call.roomAudio.stopPlay(p.id).catch(() => undefined);
    const onLeft = (): void => wake?.();
    /** The next PIN typed (or already typed ahead); null on timeout or when the caller left. */
    const nextPin = (): Promise<string | null> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => finish(), PIN_TIMEOUT_MS);
        const finish = (): void => {
          clearTimeout(timer);
          wake = undefined;
          resolve(entered.shift() ?? null);
        };
        wake = finish;
        if (entered.length > 0 || p.state === ParticipantState.Left) finish();
      });
    call.on('pin', onPin);
    call.on('dtmf', onKey);
    p.once('left', onLeft);
    call.keypad?.collectPin();
    try {
      for (let attempt = 1; attempt <= PIN_TRIES; attempt++) {
        if (entered.length === 0) void play('enter-pin');
        const pin = await nextPin();
        if (p.state === ParticipantState.Left) return false;
        const role =
          pin === null
            ? undefined
            : pin === room.settings.moderatorPin
              ? 'moderator'
              : pin === room.settings.pin
                ? 'participant'
                : undefined;
        if (role) {
          call.keypad?.stopPin();
          await call.roomAudio.stopPlay(p.id).catch(() => undefined);
          p.update({ role });
          await call.moveTo(await this.audioFor(room));
          return !p.leaveReason;
        }
        p.log.info({ attempt }, 'wrong PIN');
        if (pin === null) break;
        if (attempt < PIN_TRIES && entered.length === 0) await play('wrong-pin');
      }
    } finally {
      call.off('pin', onPin);
      call.off('dtmf', onKey);
      p.off('left', onLeft);
    }
    call.keypad?.stopPin();
    await play('goodbye');
    call.hangup(LeaveReason.PinFailed, { cause: 403, text: 'Wrong conference PIN' });
    return false;
  }

  /** A chime to the others, and "you are the only participant" to a lone caller. */
  private async announceJoin(room: Room, call: SipCall): Promise<void> {
    if (this.opts.joinTones === false) return;
    const audio = await this.audioFor(room);
    const others = [...room.participants.values()].filter(
      (x) => x !== call.participant && x.state === ParticipantState.Joined,
    );
    if (others.length === 0) {
      const clip = this.prompts.get('only-participant');
      if (clip) await audio.play(call.participant.id, clip, PROMPT_RATE).catch(() => undefined);
      return;
    }
    const chime = this.prompts.get('join');
    if (chime)
      await Promise.all(others.map((o) => audio.play(o.id, chime, PROMPT_RATE).catch(() => undefined)));
  }

  /** Ends every call with BYE (shutdown). */
  close(): void {
    for (const { call } of [...this.calls.values()]) call.hangup(LeaveReason.ServerShutdown);
  }
}
