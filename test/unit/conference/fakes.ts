/**
 * In-memory test doubles for the conference core: a fake RoomAudio that records every call, a fake media provider
 * (hosts, instances, a "thread" that refuses a mixer id still in use, like the real media thread), a fake
 * ParticipantSession and a connector that builds it. No SIP, no mediasoup, no sockets.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../../../src/config/schema';
import { Conference, type ConferenceOptions } from '../../../src/conference/conference';
import { LeaveReason } from '../../../src/conference/participant/leave-reason';
import type { Participant } from '../../../src/conference/participant/participant';
import { ParticipantKind } from '../../../src/conference/participant/participant-kind';
import type {
  HangupCause,
  ParticipantIdentity,
  ParticipantSession,
  ParticipantSessionEvents,
  SessionConnector,
} from '../../../src/conference/participant/participant-session';
import { PROMPT_NAMES, type PromptName, type PromptSource } from '../../../src/conference/room/prompts';
import type {
  CreateAudioOptions,
  RoomMediaHost,
  RoomMediaInstance,
  RoomMediaProvider,
} from '../../../src/conference/room/room-media';
import { RoomManager } from '../../../src/conference/room/room-manager';
import { silentLogger } from '../../../src/logging/logger';
import type { MediaLeg, MediaLegFactory, MixerLegInfo } from '../../../src/media/media-leg';
import type {
  AddAudioOptions,
  AudioEndpoint,
  RoomAudio,
  RoomAudioStats,
} from '../../../src/media/room-audio/room-audio';

export const log: Logger = silentLogger();

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Resolves after every pending promise and immediate has run a few rounds. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await tick();
}

export class Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
}

// ------------------------------------------------------------------ audio

export type AudioCall =
  | ['add', string]
  /** Added muted (RoomAudio.add's `muted`): never one frame in the mix. */
  | ['add', string, 'muted']
  | ['producerChanged', string]
  | ['remove', string]
  | ['setMuted', string, boolean]
  | ['play', string, number]
  | ['announce', number]
  | ['stopPlay', string]
  | ['close'];

export class FakeRoomAudio implements RoomAudio {
  readonly calls: AudioCall[] = [];
  readonly members = new Set<string>();
  closed = false;
  /** play() resolves at once unless a test holds it. */
  playGate?: Promise<void>;

  constructor(
    readonly id: string,
    readonly name: 'mix' | 'lobby',
  ) {}

  async add(ep: AudioEndpoint, opts: AddAudioOptions = {}): Promise<void> {
    this.calls.push(opts.muted ? ['add', ep.participantId, 'muted'] : ['add', ep.participantId]);
    this.members.add(ep.participantId);
  }

  async producerChanged(ep: AudioEndpoint): Promise<void> {
    this.calls.push(['producerChanged', ep.participantId]);
  }

  async remove(participantId: string): Promise<void> {
    this.calls.push(['remove', participantId]);
    this.members.delete(participantId);
  }

  async setMuted(participantId: string, muted: boolean): Promise<void> {
    this.calls.push(['setMuted', participantId, muted]);
  }

  async play(participantId: string, pcm: Int16Array): Promise<void> {
    this.calls.push(['play', participantId, pcm[0] ?? -1]);
    await this.playGate;
  }

  async announce(pcm: Int16Array): Promise<void> {
    this.calls.push(['announce', pcm[0] ?? -1]);
  }

  async stopPlay(participantId: string): Promise<void> {
    this.calls.push(['stopPlay', participantId]);
  }

  async stats(): Promise<RoomAudioStats | null> {
    // Only what the tests read; the mixer's full figures belong to the media layer.
    return { roomId: this.id, ticks: 1, participants: [] } as unknown as RoomAudioStats;
  }

  close(): void {
    this.calls.push(['close']);
    this.closed = true;
  }

  /** The clips announced to the whole room, by name. */
  announced(): PromptName[] {
    return this.calls
      .filter((c): c is ['announce', number] => c[0] === 'announce')
      .map((c) => PROMPT_BY_MARK[c[1]]!);
  }

  /** The prompts played to `pid`, by name. */
  playedTo(pid: string): PromptName[] {
    return this.calls
      .filter((c): c is ['play', string, number] => c[0] === 'play' && c[1] === pid)
      .map((c) => PROMPT_BY_MARK[c[2]]!);
  }
}

// ------------------------------------------------------------------ prompts

/** Each fake clip's first sample names it (played clips are recognised in FakeRoomAudio.calls). */
const PROMPT_BY_MARK: Record<number, PromptName> = Object.fromEntries(PROMPT_NAMES.map((n, i) => [i + 1, n]));

export const fakePrompts: PromptSource = {
  get: (name) => Int16Array.of(PROMPT_NAMES.indexOf(name) + 1, 0, 0),
};

// ------------------------------------------------------------------ media provider

/**
 * A media thread's mixer rooms by id: like the real thread, creating an id that still exists fails ("mixer room
 * exists"); closing takes a while (the thread answers asynchronously).
 */
export class FakeThread {
  readonly live = new Set<string>();
  created = 0;

  constructor(readonly index: number) {}

  async create(id: string): Promise<void> {
    await tick();
    if (this.live.has(id)) throw new Error(`mixer room ${id} exists`);
    this.live.add(id);
    this.created++;
  }

  close(id: string): void {
    setTimeout(() => this.live.delete(id), 5);
  }
}

export class FakeInstance implements RoomMediaInstance {
  readonly audios: FakeRoomAudio[] = [];
  closed = false;
  readonly legs: MediaLegFactory;
  private readonly lostListeners: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly routerId: string,
    readonly thread: FakeThread,
    private readonly onCreateAudio?: (opts: CreateAudioOptions) => Promise<void>,
    legs?: MediaLegFactory,
  ) {
    this.legs = legs ?? {
      codecs: [],
      create: () => Promise.reject(new Error('fake sessions build no real legs')),
    };
  }

  get threadIndex(): number {
    return this.thread.index;
  }

  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** The media thread holding this instance died. */
  lose(): void {
    for (const l of this.lostListeners) l();
  }

  async createAudio(opts: CreateAudioOptions): Promise<RoomAudio> {
    await this.onCreateAudio?.(opts);
    const id = opts.name === 'mix' ? this.id : `${this.id}~lobby`;
    await this.thread.create(id);
    const audio = new FakeRoomAudio(id, opts.name);
    const close = audio.close.bind(audio);
    audio.close = () => {
      close();
      this.thread.close(id);
    };
    this.audios.push(audio);
    if (opts.onSpeaking) this.speaking = opts.onSpeaking;
    return audio;
  }

  speaking?: (pid: string, speaking: boolean) => void;

  close(): void {
    this.closed = true;
  }

  mix(): FakeRoomAudio | undefined {
    return this.audios.find((a) => a.name === 'mix');
  }

  lobby(): FakeRoomAudio | undefined {
    return this.audios.find((a) => a.name === 'lobby');
  }
}

export class FakeHost implements RoomMediaHost {
  readonly instances: FakeInstance[] = [];
  closed = false;
  private readonly closedListeners: Array<() => void> = [];

  constructor(
    readonly roomId: string,
    readonly thread: FakeThread,
    private readonly onCreateAudio?: (opts: CreateAudioOptions) => Promise<void>,
    private readonly legsFor?: (instanceId: string, thread: FakeThread) => MediaLegFactory,
  ) {}

  get routerId(): string {
    return `router-${this.roomId}`;
  }

  onClosed(listener: () => void): void {
    this.closedListeners.push(listener);
  }

  open(instanceId: string): RoomMediaInstance {
    const i = new FakeInstance(
      instanceId,
      this.routerId,
      this.thread,
      this.onCreateAudio,
      this.legsFor?.(instanceId, this.thread),
    );
    this.instances.push(i);
    return i;
  }

  close(): void {
    this.closed = true;
  }

  /** The router died under the room. */
  die(): void {
    for (const l of this.closedListeners) l();
  }

  current(): FakeInstance | undefined {
    return this.instances.filter((i) => !i.closed).at(-1);
  }
}

export class FakeMediaProvider implements RoomMediaProvider {
  readonly hosts = new Map<string, FakeHost>();
  /** Rooms are placed on these threads, by name (default thread 0). */
  threadOf: (roomId: string) => FakeThread;
  onCreateAudio?: (opts: CreateAudioOptions) => Promise<void>;
  /** The legs' factory of each media instance (default: one that builds nothing). */
  legsFor?: (instanceId: string, thread: FakeThread) => MediaLegFactory;

  constructor(readonly threads: FakeThread[] = [new FakeThread(0)]) {
    this.threadOf = () => this.threads[0]!;
  }

  async createRoom(roomId: string): Promise<RoomMediaHost> {
    const h = new FakeHost(
      roomId,
      this.threadOf(roomId),
      (o) => this.onCreateAudio?.(o) ?? Promise.resolve(),
      this.legsFor,
    );
    this.hosts.set(roomId, h);
    return h;
  }

  host(roomId: string): FakeHost {
    const h = this.hosts.get(roomId);
    if (!h) throw new Error(`no host for ${roomId}`);
    return h;
  }
}

// ------------------------------------------------------------------ sessions

/** A leg that terminates in a media thread (no router Producer): movable on its thread without renegotiation. */
export function threadLeg(threadIndex: number): MediaLeg {
  const mixerLeg: MixerLegInfo = {
    legId: `leg-${threadIndex}`,
    threadIndex,
    codec: 'PCMU',
    payloadType: 0,
    sends: true,
    receives: true,
  };
  const e = new EventEmitter();
  const leg = {
    kind: 'audio' as const,
    localPort: 40000,
    mixerLeg,
    update: async () => undefined,
    setSource: async () => undefined,
    setInactivityTimeout: async () => undefined,
    close: () => undefined,
    on: (ev: string, l: (...a: unknown[]) => void) => (e.on(ev, l), leg),
    once: (ev: string, l: (...a: unknown[]) => void) => (e.once(ev, l), leg),
    off: (ev: string, l: (...a: unknown[]) => void) => (e.off(ev, l), leg),
  };
  return leg as unknown as MediaLeg;
}

/** A leg whose media is a Producer on a router (needs renegotiation to move elsewhere). */
export function routerLeg(): MediaLeg {
  const leg = threadLeg(0) as unknown as Record<string, unknown>;
  return { ...leg, mixerLeg: undefined, producer: { id: 'producer', closed: false } } as unknown as MediaLeg;
}

/** A SIP-over-WebSocket call's leg: a WebRtcTransport on the router (ICE, DTLS, SRTP in mediasoup). */
export function webRtcLeg(): MediaLeg {
  return { ...routerLeg(), webRtc: { fingerprints: [] } } as unknown as MediaLeg;
}

export class FakeSession extends EventEmitter implements ParticipantSession {
  readonly kind = ParticipantKind.Sip;
  readonly hangups: Array<{ reason: LeaveReason; why?: HangupCause }> = [];
  legs: MediaLeg[];
  renegotiated: MediaLegFactory[] = [];
  renegotiate?: (legs: MediaLegFactory) => Promise<void>;
  readonly audio: AudioEndpoint;
  readonly mediaOnRouter?: boolean;

  constructor(
    readonly participant: Participant,
    opts: {
      legs?: MediaLeg[];
      renegotiable?: boolean;
      renegotiateFails?: boolean;
      mediaOnRouter?: boolean;
    } = {},
  ) {
    super();
    this.legs = opts.legs ?? [threadLeg(0)];
    if (opts.mediaOnRouter) this.mediaOnRouter = true;
    this.audio = {
      participantId: participant.id,
      setSource: async () => undefined,
    };
    if (opts.renegotiable) {
      this.renegotiate = async (legs) => {
        await tick();
        if (opts.renegotiateFails) throw new Error('488 Not Acceptable Here');
        this.renegotiated.push(legs);
      };
    }
    participant.own(() => {
      this.closed = true;
    });
  }

  closed = false;
  rehomed: MediaLegFactory[] = [];

  rehome(legs: MediaLegFactory): void {
    this.rehomed.push(legs);
  }

  hangup(reason: LeaveReason, why?: HangupCause): void {
    this.hangups.push(why ? { reason, why } : { reason });
    this.participant.close(reason);
  }

  /** The far end hangs up. */
  remoteBye(): void {
    this.participant.close(LeaveReason.RemoteBye);
  }

  press(keys: string): void {
    for (const k of keys) this.emit('dtmf', k);
  }

  override on<K extends keyof ParticipantSessionEvents>(
    event: K,
    listener: (...args: ParticipantSessionEvents[K]) => void,
  ): this {
    return super.on(event, listener as (...a: unknown[]) => void);
  }

  override off<K extends keyof ParticipantSessionEvents>(
    event: K,
    listener: (...args: ParticipantSessionEvents[K]) => void,
  ): this {
    return super.off(event, listener as (...a: unknown[]) => void);
  }
}

export interface FakeConnectorOptions {
  name?: string;
  legs?: MediaLeg[];
  renegotiable?: boolean;
  renegotiateFails?: boolean;
  /** A browser's session: all its media on the router, no legs. */
  mediaOnRouter?: boolean;
  /** Hold connect() (media setup) until released. */
  connectGate?: Promise<void>;
  /** Hold establish() (signalling) until released; reject to fail it. */
  establishGate?: Promise<void>;
}

/** Builds a FakeSession; remembers it and the participant. */
export class FakeConnector implements SessionConnector {
  readonly kind = ParticipantKind.Sip;
  readonly identity: ParticipantIdentity;
  readonly log = log;
  session?: FakeSession;
  participant?: Participant;
  establishedWith?: AbortSignal;

  constructor(private readonly opts: FakeConnectorOptions = {}) {
    const name = opts.name ?? 'alice';
    this.identity = { displayName: name, uri: `sip:${name}@example.com`, transport: 'UDP' };
  }

  async connect(p: Participant): Promise<ParticipantSession> {
    this.participant = p;
    this.session = new FakeSession(p, {
      ...(this.opts.legs ? { legs: this.opts.legs } : {}),
      ...(this.opts.renegotiable ? { renegotiable: true } : {}),
      ...(this.opts.renegotiateFails ? { renegotiateFails: true } : {}),
      ...(this.opts.mediaOnRouter ? { mediaOnRouter: true } : {}),
    });
    await this.opts.connectGate;
    return this.session;
  }

  async establish(signal: AbortSignal): Promise<void> {
    this.establishedWith = signal;
    await this.opts.establishGate;
  }
}

// ------------------------------------------------------------------ the conference under test

export function conferenceConfig(over: Partial<Config['conference']> = {}): Config['conference'] {
  return {
    unknownRooms: 'create',
    audio: 'mixer',
    joinTones: true,
    maxParticipants: 100,
    fullRoomStatus: 486,
    emptyRoomGraceSeconds: 30,
    rtpTimeoutSeconds: 60,
    sessionExpiresSeconds: 1800,
    activeSpeakerHoldMs: 1200,
    moveByRefer: true,
    moveByReferTimeoutSeconds: 10,
    rooms: [],
    ...over,
  };
}

export interface TestConference {
  conference: Conference;
  rooms: RoomManager;
  media: FakeMediaProvider;
  /** Joins `name` to `room` through a FakeConnector; resolves with the connector once joined. */
  join(room: string, name?: string, opts?: FakeConnectorOptions): Promise<FakeConnector>;
}

export function makeConference(
  over: Partial<Config['conference']> = {},
  extra: Partial<ConferenceOptions> = {},
  media = new FakeMediaProvider(),
): TestConference {
  const rooms = new RoomManager(conferenceConfig(over), media, log);
  const conference = new Conference({ rooms, prompts: fakePrompts, log, ...extra });
  return {
    conference,
    rooms,
    media,
    async join(room, name = 'alice', opts = {}) {
      const connector = new FakeConnector({ name, ...opts });
      await conference.join({ room, connector });
      return connector;
    },
  };
}
