import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { RoomAudio, RoomAudioStats } from '../../media/room-audio/room-audio';
import { TypedEmitter } from '../../util/typed-emitter';
import { LeaveReason } from '../participant/leave-reason';
import type { Participant, ParticipantView } from '../participant/participant';
import { MediaLease, RoomMedia, type RoomMediaHost } from './room-media';
import { RoomSfu, type SfuFeed } from './room-sfu';
import { RoomChat } from '../chat/room-chat';
import type { MediaSource } from '../../media/media-source';
import type { ParticipantSession } from '../participant/participant-session';
import { systemClock, type Clock } from '../../sip/transaction/clock';
import { RoomWebinar } from '../webinar/room-webinar';
import { ActiveSpeaker } from './active-speaker';
import type { PlacementLoad } from './room-fanout';
import { RoomVideo } from '../video/room-video';
import type { WebinarSettings } from '../webinar/webinar-policy';

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
  /** Chat messages kept (oldest dropped first). */
  chatHistory: number;
  /** The room is a webinar with this policy (`conference.rooms[].webinar`, or `webinar` in POST /api/rooms). */
  webinar?: Readonly<WebinarSettings> | undefined;
  /** Speech (ms, without a break) that makes a participant the active speaker; default 1200. */
  speakerHoldMs?: number;
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
  /** In the room (waiting in the PIN lobby or completing its signalling, then joined). */
  participantAdmitted: [p: Participant];
  participantLeft: [p: Participant, reason: LeaveReason];
  locked: [locked: boolean];
  closed: [];
}

/** Which of the room's audios a participant hears and is heard in. */
export type Seat = 'lobby' | 'mix';

/** What a media fault took away: the room's router (its mediasoup worker died) or its media thread. */
export enum MediaFault {
  Router = 'router',
  Thread = 'thread',
}

/**
 * Rebuilds a room's media after a fault and re-homes its participants (the conference service). Without one, a
 * fault of the router closes the room.
 */
export type MediaRecovery = (room: Room, fault: MediaFault) => Promise<void>;

interface Member {
  participant: Participant;
  /** Keeps the room's media up while the participant is here (replaced when a fault rebuilds the media). */
  lease: MediaLease;
  seat?: { name: Seat; audio: RoomAudio };
  /** Stops following the participant (it left, or moved to another room). */
  detach(): void;
}

/**
 * A conference room (a conference URI, RFC 4353) on one media host (router). Owns its participants, its media
 * (mix, PIN lobby, thread placement: created for the first user, released when the last leaves, each lifetime
 * under its own id) and which audio each participant is seated in. A room created on demand closes itself after
 * `emptyGraceMs` without anyone.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly createdAt = new Date();
  private readonly members = new Map<string, Member>();
  private isLocked = false;
  private closed = false;
  private emptyTimer?: NodeJS.Timeout;
  private media?: RoomMedia;
  private leases = 0;
  private mediaSeq = 0;
  /** Who publishes which stream, for the participants that receive the room as separate streams (browsers). */
  private readonly sfu: RoomSfu;
  /** The room's chat (browsers today; SIP MESSAGE later): closed with the room. */
  readonly chat: RoomChat;
  private recovery?: MediaRecovery;
  /** Recoveries run one after the other (a thread dying while the router's recovery runs waits its turn). */
  private recovering: Promise<void> = Promise.resolve();
  private recoveries = 0;
  /** A webinar's policy and waiting room (closed with the room); undefined: a plain room. */
  readonly webinar?: RoomWebinar;
  /** Whose video the room shows (video phones, livestream): fed the mixer's speaking events and who has video. */
  readonly activeSpeaker: ActiveSpeaker;
  /** Speaker-video outputs following `activeSpeaker` (video phones get one each; the livestream may open one). */
  readonly video: RoomVideo;

  constructor(
    readonly settings: RoomSettings,
    private host: RoomMediaHost,
    readonly log: Logger,
    /** A new router for the room after its worker died; absent: such a room closes. */
    private readonly rehost?: () => Promise<RoomMediaHost>,
    /** The webinar waiting room's reminders. */
    clock: Clock = systemClock,
  ) {
    super(log);
    if (settings.webinar)
      this.webinar = new RoomWebinar(settings.webinar, clock, log.child({ webinar: true }));
    this.sfu = new RoomSfu(log);
    this.activeSpeaker = new ActiveSpeaker({
      clock,
      ...(settings.speakerHoldMs !== undefined ? { holdMs: settings.speakerHoldMs } : {}),
    });
    this.video = new RoomVideo({
      feed: this.sfu,
      speaker: this.activeSpeaker,
      open: (codec, videoLog) => this.host.createSpeakerVideo?.(codec, videoLog),
      log: log.child({ video: 'speaker' }),
    });
    this.chat = new RoomChat({ historySize: settings.chatHistory, log });
    this.watchHost(host);
    this.armEmptyTimer();
  }

  /** Who rebuilds the room's media after a fault (the conference service). */
  setMediaRecovery(recovery: MediaRecovery): void {
    this.recovery = recovery;
  }

  /** A media fault is being recovered (joins are refused meanwhile: their media would be built on what died). */
  get isRecovering(): boolean {
    return this.recoveries > 0;
  }

  /** Resolves once no media recovery is running (at once when none is). */
  async whenRecovered(): Promise<void> {
    while (this.recoveries > 0) await this.recovering;
  }

  private watchHost(host: RoomMediaHost): void {
    host.onClosed(() => {
      if (this.closed || host !== this.host) return;
      if (!this.recovery || !this.rehost) {
        this.log.error('room router closed under the room (worker died?)');
        this.close(LeaveReason.MediaFailed);
        return;
      }
      this.log.warn({ fault: MediaFault.Router }, 'room router closed under the room: recovering');
      this.startRecovery(MediaFault.Router);
    });
  }

  private watchMedia(media: RoomMedia): void {
    media.onLost(() => {
      if (this.closed || media !== this.media || !this.recovery) return;
      this.log.warn({ fault: MediaFault.Thread, media: media.id }, 'room media thread died: recovering');
      this.startRecovery(MediaFault.Thread);
    });
  }

  private startRecovery(fault: MediaFault): void {
    const recovery = this.recovery!;
    this.recoveries++;
    this.recovering = this.recovering
      .then(() => (this.closed ? undefined : recovery(this, fault)))
      .catch((err: unknown) => {
        this.log.error({ err, fault }, 'media recovery failed: ending the room');
        this.close(LeaveReason.MediaFailed);
      })
      .finally(() => this.recoveries--);
  }

  /**
   * The first step of a recovery: a new router when the old one died, then a new media instance (preferably on
   * the old one's thread when that is alive, so legs living there survive). Returns the media the participants'
   * legs were built on; they are re-homed one by one (`rebind`), then `retireMedia(old)` closes it.
   */
  async rebuildMedia(fault: MediaFault): Promise<RoomMedia | undefined> {
    if (this.closed) throw new AppError('CONF_ROOM_CLOSED');
    const old = this.media;
    // From now on nobody gets the old media: a lease taken meanwhile gets the new one.
    this.media = undefined;
    if (fault === MediaFault.Router) {
      const fresh = await this.rehost!();
      if (this.closed) {
        fresh.close();
        throw new AppError('CONF_ROOM_CLOSED');
      }
      this.host = fresh;
      this.watchHost(fresh);
      this.log.info({ routerId: fresh.routerId }, 'room router rebuilt');
    }
    await this.host.ready?.();
    if (old && !this.media) this.openMedia(fault === MediaFault.Router ? old.threadIndex : undefined);
    return old;
  }

  /** The participant's media now lives on `lease` (taken after `rebuildMedia`): the old claim is given back. */
  rebind(p: Participant, lease: MediaLease): void {
    const m = this.members.get(p.id);
    if (!m) {
      lease.release();
      return;
    }
    const old = m.lease;
    m.lease = lease;
    old.release();
  }

  /** Closes media replaced by `rebuildMedia` (its mixers, its thread placement). */
  retireMedia(old: RoomMedia | undefined): void {
    if (old && old !== this.media) old.close();
  }

  get id(): string {
    return this.settings.name;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get locked(): boolean {
    return this.isLocked;
  }

  /** The router this room's legs are built on. */
  get routerId(): string {
    return this.host.routerId;
  }

  get needsPin(): boolean {
    return this.settings.pin !== undefined || this.settings.moderatorPin !== undefined;
  }

  get size(): number {
    return this.members.size;
  }

  participant(id: string): Participant | undefined {
    return this.members.get(id)?.participant;
  }

  participants(): Participant[] {
    return [...this.members.values()].map((m) => m.participant);
  }

  /** Checks that one more participant may come in; throws the catalogue's error otherwise. */
  checkAdmission(): void {
    if (this.closed) throw new AppError('CONF_ROOM_CLOSED');
    if (this.isRecovering) throw new AppError('MEDIA_FAILURE', 'the room is rebuilding its media');
    if (this.isLocked) throw new AppError('CONF_ROOM_LOCKED');
    if (this.members.size >= this.settings.maxParticipants)
      throw new AppError(
        this.settings.fullStatus === 503 ? 'CONF_ROOM_FULL_UNAVAILABLE' : 'CONF_ROOM_FULL_BUSY',
      );
  }

  setLocked(locked: boolean): void {
    if (this.closed) throw new AppError('CONF_ROOM_CLOSED');
    if (locked === this.isLocked) return;
    this.isLocked = locked;
    this.log.info({ locked }, locked ? 'room locked' : 'room unlocked');
    this.safeEmit('locked', locked);
  }

  /**
   * A claim on the room's media, taken before any await of a join: the media is created for the first claim and
   * released when the last one goes, so a join that arrives while the last participant leaves either keeps the
   * current media or gets a fresh one (under a new id), never a half-closed one.
   */
  acquireMedia(): MediaLease {
    if (this.closed) throw new AppError('CONF_ROOM_CLOSED');
    const media = this.media ?? this.openMedia();
    this.leases++;
    clearTimeout(this.emptyTimer);
    return new MediaLease(media, () => this.releaseLease(media));
  }

  private openMedia(preferThread?: number): RoomMedia {
    const id = `${this.id}#${++this.mediaSeq}`;
    const media = new RoomMedia(this.host.open(id, this.log, preferThread), this.log, (pid, speaking) =>
      this.members.get(pid)?.participant.setSpeaking(speaking),
    );
    this.media = media;
    this.watchMedia(media);
    return media;
  }

  /** Puts an admitted participant (whose media was built under `lease`) in the room. */
  admit(p: Participant, lease: MediaLease): void {
    this.checkAdmission();
    this.adopt(p, lease);
    this.log.info({ participantId: p.id, uri: p.uri }, 'participant admitted');
    this.safeEmit('participantAdmitted', p);
  }

  /**
   * Takes in a participant moved from another room (admission was checked before the move started). The lease
   * belongs to the room from now on.
   */
  adopt(p: Participant, lease: MediaLease): void {
    if (this.closed) throw new AppError('CONF_ROOM_CLOSED');
    const session = p.session;
    const onAudioChanged = (): void => {
      const seat = this.members.get(p.id)?.seat;
      if (seat && session) void seat.audio.producerChanged(session.audio).catch(() => undefined);
      onSourcesChanged();
    };
    const onSourcesChanged = (): void => {
      const seat = this.members.get(p.id)?.seat;
      if (seat?.name !== 'mix' || !session) return;
      this.sfu.sync(p.id, this.published(p, session));
      this.video.watch(p.id, sourcesOf(session));
    };
    const onLeft = (reason: LeaveReason): void => {
      const m = this.members.get(p.id);
      if (!m) return;
      this.drop(m);
      this.safeEmit('participantLeft', p, reason);
    };
    // Leaving starts by aborting the participant's signal, before its legs close: take it out of the room's audio
    // then, so the others stop consuming its media before its Producer goes (mediasoup would otherwise be asked to
    // close consumers it has already closed with their producer, and says so at error level).
    const onLeaving = (): void => {
      const m = this.members.get(p.id);
      const seat = m?.seat;
      if (!m || !seat) return;
      m.seat = undefined;
      this.leaveSfu(p);
      void seat.audio.remove(p.id).catch(() => undefined);
    };
    // A muted participant is out of the mix: whatever its VAD says, it does not take the floor.
    const onSpeaking = (on: boolean): void => this.activeSpeaker.speaking(p.id, on && !p.muted);
    const onMuted = (muted: boolean): void => this.activeSpeaker.speaking(p.id, !muted && p.speaking);
    const onMedia = (): void => this.activeSpeaker.setEligible(p.id, p.video);
    session?.on('audioChanged', onAudioChanged);
    session?.on('sourcesChanged', onSourcesChanged);
    p.on('role', onSourcesChanged);
    p.on('speaking', onSpeaking);
    p.on('muted', onMuted);
    p.on('media', onMedia);
    onMedia();
    p.once('left', onLeft);
    p.signal.addEventListener('abort', onLeaving, { once: true });
    this.members.set(p.id, {
      participant: p,
      lease,
      detach: () => {
        session?.off('audioChanged', onAudioChanged);
        session?.off('sourcesChanged', onSourcesChanged);
        p.off('role', onSourcesChanged);
        p.off('speaking', onSpeaking);
        p.off('muted', onMuted);
        p.off('media', onMedia);
        this.activeSpeaker.remove(p.id);
        p.off('left', onLeft);
        p.signal.removeEventListener('abort', onLeaving);
      },
    });
    clearTimeout(this.emptyTimer);
  }

  /** Lets a participant go to another room without closing it: out of this room's audio and list. */
  release(p: Participant): void {
    const m = this.members.get(p.id);
    if (m) this.drop(m);
  }

  /** The media the participant's legs were built on (its lease's). */
  mediaOf(p: Participant): RoomMedia | undefined {
    return this.members.get(p.id)?.lease.media;
  }

  /** Which audio the participant is seated in, if any. */
  seatOf(p: Participant): Seat | undefined {
    return this.members.get(p.id)?.seat?.name;
  }

  /**
   * Seats the participant's audio in the lobby or the mix (leaving the other). The participant's mute state is
   * carried over.
   */
  async seat(p: Participant, name: Seat): Promise<void> {
    const m = this.members.get(p.id);
    const session = p.session;
    if (!m || !session || m.seat?.name === name) return;
    const audio = await (name === 'mix' ? m.lease.media.audio() : m.lease.media.lobby());
    if (this.members.get(p.id) !== m || m.seat?.name === name) return; // left or moved meanwhile
    const prev = m.seat;
    m.seat = { name, audio };
    if (prev) await prev.audio.remove(p.id).catch(() => undefined);
    // Muted from the mixer's first tick on (a listen-only attendee), not added and then muted a frame later. A
    // change while the add is in flight goes through setMuted (the seat is already set), queued after it.
    await audio.add(session.audio, { muted: p.muted && name === 'mix' });
    if (name === 'mix' && m.seat?.audio === audio) this.enterSfu(p, session);
    else this.leaveSfu(p);
  }

  /** The room's streams, as a participant that receives them separately (a browser) sees them. */
  get feed(): SfuFeed {
    return this.sfu;
  }

  private enterSfu(p: Participant, session: ParticipantSession): void {
    this.sfu.setMuted(p.id, p.muted);
    this.sfu.sync(p.id, this.published(p, session));
    // Attendees publish nothing but may watch: a video phone among them gets the speaker video all the same.
    this.video.watch(p.id, sourcesOf(session));
    session.subscribe?.(this.sfu);
  }

  /**
   * What a participant shows the others: a webinar's attendee is the audience, neither heard nor seen, so nobody
   * consumes its streams (with a large audience that would be a consumer per attendee pair); promoted, it publishes.
   */
  private published(p: Participant, session: ParticipantSession): readonly MediaSource[] {
    return this.webinar && p.role === 'attendee' ? [] : sourcesOf(session);
  }

  private leaveSfu(p: Participant): void {
    this.sfu.remove(p.id);
    this.video.watch(p.id, []);
    p.session?.subscribe?.(undefined);
  }

  /** Takes the participant's audio out of whatever it is seated in (the start of a move). */
  async unseat(p: Participant): Promise<void> {
    const m = this.members.get(p.id);
    const seat = m?.seat;
    if (!m || !seat) return;
    m.seat = undefined;
    this.leaveSfu(p);
    await seat.audio.remove(p.id).catch(() => undefined);
  }

  /** Out of everyone's mix, and its streams paused for those who receive them separately. */
  async setMuted(p: Participant, muted: boolean): Promise<void> {
    const seat = this.members.get(p.id)?.seat;
    if (seat?.name !== 'mix') return;
    this.sfu.setMuted(p.id, muted);
    await seat.audio.setMuted(p.id, muted);
  }

  /** Plays a clip to one participant, in whatever audio it is seated; resolves when played or stopped. */
  async play(p: Participant, pcm: Int16Array, rate: number): Promise<void> {
    const seat = this.members.get(p.id)?.seat;
    if (seat) await seat.audio.play(p.id, pcm, rate);
  }

  /** Plays a clip to everyone in the conference mix at once (chimes): one shared frame, no private mixes. */
  async announce(pcm: Int16Array, rate: number): Promise<void> {
    if (this.media) await (await this.media.audio()).announce(pcm, rate);
  }

  async stopPlay(p: Participant): Promise<void> {
    const seat = this.members.get(p.id)?.seat;
    if (seat) await seat.audio.stopPlay(p.id);
  }

  /** The mix's figures (tick cost, per participant packets and receive quality); null without a mix. */
  async stats(): Promise<RoomAudioStats | null> {
    return this.media ? this.media.stats() : null;
  }

  /** Ends every participant's session (SIP: BYE), releases the media and closes the router. Idempotent. */
  close(reason: LeaveReason = LeaveReason.RoomClosed): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.emptyTimer);
    for (const m of [...this.members.values()]) {
      const p = m.participant;
      if (p.session) p.session.hangup(reason);
      else p.close(reason);
    }
    this.video.close();
    this.sfu.close();
    this.activeSpeaker.close();
    this.chat.close();
    this.media?.close();
    this.media = undefined;
    this.host.close();
    this.webinar?.close();
    this.log.info('room closed');
    this.safeEmit('closed');
  }

  view(): RoomView {
    return {
      id: this.id,
      displayName: this.settings.displayName,
      participants: this.members.size,
      locked: this.isLocked,
      hasPin: this.settings.pin !== undefined,
      createdAt: this.createdAt.toISOString(),
    };
  }

  /** The room, its participants and, with fan-out on (`rtc.fanout`), where its audience receives. */
  detail(): RoomView & { participantList: ParticipantView[]; audience?: PlacementLoad[] } {
    const audience = this.host.audience?.();
    return {
      ...this.view(),
      participantList: this.participants().map((p) => p.view()),
      ...(audience ? { audience } : {}),
    };
  }

  private drop(m: Member): void {
    this.members.delete(m.participant.id);
    m.detach();
    const seat = m.seat;
    m.seat = undefined;
    this.leaveSfu(m.participant);
    void seat?.audio.remove(m.participant.id).catch(() => undefined);
    m.lease.release();
  }

  private releaseLease(media: RoomMedia): void {
    this.leases--;
    // Media replaced after a fault goes with its last member (or with `retireMedia`, whichever comes first).
    if (this.media !== media && ![...this.members.values()].some((m) => m.lease.media === media))
      media.close();
    if (this.leases > 0 || this.media !== media) return;
    // Nobody left and nobody joining: give back the mix, the lobby and the thread placement. The next caller
    // gets a fresh instance under a new id.
    this.media = undefined;
    media.close();
    this.armEmptyTimer();
  }

  private armEmptyTimer(): void {
    if (this.closed || this.settings.declared || this.members.size > 0 || this.leases > 0) return;
    clearTimeout(this.emptyTimer);
    this.emptyTimer = setTimeout(() => {
      if (this.members.size === 0 && this.leases === 0) this.close(LeaveReason.RoomClosed);
    }, this.settings.emptyGraceMs);
    this.emptyTimer.unref();
  }
}

/** A session's streams for SFU consumers: what it says it sends, else its legs. */
function sourcesOf(session: ParticipantSession): readonly MediaSource[] {
  return session.sources?.() ?? session.legs;
}
