import type { Logger } from 'pino';
import type { MediaLegFactory } from '../../media/media-leg';
import type { RoomAudio, RoomAudioStats } from '../../media/room-audio/room-audio';
import type { VideoCodecName } from '../../media/video/keyframe';
import type { SpeakerVideo } from '../../media/video/speaker-video';
import type { PlacementLoad } from './room-fanout';

/**
 * The media a room needs, injected (the app: mediasoup routers, media threads and mixers; unit tests: fakes). The
 * conference layer sees no router, thread or transport, only these narrow interfaces.
 */
export interface RoomMediaProvider {
  /** One room's media host (its router): lives as long as the room. */
  createRoom(roomId: string, log: Logger): Promise<RoomMediaHost>;
}

/** One room's router. */
export interface RoomMediaHost {
  /** Identifies the router: legs built on another router cannot be mixed here without renegotiation. */
  readonly routerId: string;
  /** Called once if the router goes away under the room (its worker died). */
  onClosed(listener: () => void): void;
  /**
   * Starts one media instance: thread placement, the legs' factory and the audio. `instanceId` is unique per
   * instance (`<room>#<n>`), so a closing instance and a new one of the same room never collide in a thread.
   * `preferThread`: place it on that media thread when it is alive (a rebuild after the router died keeps the
   * phones' legs, which live on their thread).
   */
  open(instanceId: string, log: Logger, preferThread?: number): RoomMediaInstance;
  /** One speaker-video output on the router (video phones, livestream); absent: this host has no video. */
  createSpeakerVideo?(codec: VideoCodecName, log: Logger): Promise<SpeakerVideo>;
  /** Resolves once an instance can be opened on a live media thread (after a thread died, its replacement). */
  ready?(): Promise<void>;
  /**
   * Where the room's audience receives (`rtc.fanout`): per worker, the consumers on the room's router there and the
   * receive-only browsers placed on it. Absent or undefined: no fan-out (everyone on the room's router).
   */
  audience?(): PlacementLoad[] | undefined;
  /** Closes the router (and with it whatever still lives on it). */
  close(): void;
}

export interface CreateAudioOptions {
  /** `mix`: the conference (everyone hears everyone else); `lobby`: nobody is mixed, prompts only. */
  name: 'mix' | 'lobby';
  log: Logger;
  /** Voice activity of a mixed participant. */
  onSpeaking?: (participantId: string, speaking: boolean) => void;
}

/** One lifetime of a room's media: created for the first participant, released when the last one leaves. */
export interface RoomMediaInstance {
  readonly id: string;
  /** The media thread hosting this instance's audio and legs. */
  readonly threadIndex: number;
  readonly routerId: string;
  /** Builds the legs of this room's participants (on this instance's router and thread). */
  readonly legs: MediaLegFactory;
  createAudio(opts: CreateAudioOptions): Promise<RoomAudio>;
  /** Called once if the instance's media thread dies (its mixers and the legs living there are gone). */
  onLost?(listener: () => void): void;
  /** Gives back the thread placement; the audio was closed before. */
  close(): void;
}

/**
 * A room's media while it has users: the instance, its conference mix and its PIN lobby, each created once (the
 * first caller creates it, concurrent callers share the promise) and closed with the instance.
 */
export class RoomMedia {
  private mix?: Promise<RoomAudio>;
  private lobbyAudio?: Promise<RoomAudio>;
  private closed = false;

  constructor(
    private readonly instance: RoomMediaInstance,
    private readonly log: Logger,
    private readonly onSpeaking: (participantId: string, speaking: boolean) => void,
  ) {}

  get id(): string {
    return this.instance.id;
  }

  get threadIndex(): number {
    return this.instance.threadIndex;
  }

  get routerId(): string {
    return this.instance.routerId;
  }

  get legs(): MediaLegFactory {
    return this.instance.legs;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once if this instance's media thread dies. */
  onLost(listener: () => void): void {
    this.instance.onLost?.(listener);
  }

  /** The conference mix. */
  audio(): Promise<RoomAudio> {
    this.mix ??= this.create('mix');
    return this.mix;
  }

  /** Where callers wait while entering the PIN: a mix of nobody, so they hear only their prompts. */
  lobby(): Promise<RoomAudio> {
    this.lobbyAudio ??= this.create('lobby');
    return this.lobbyAudio;
  }

  /** The mix's figures; null when there is no mix (yet) or it measures nothing (forwarding). */
  async stats(): Promise<RoomAudioStats | null> {
    if (!this.mix || this.closed) return null;
    return (await this.mix).stats();
  }

  /** Idempotent. Audio still being created is closed when it arrives. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of [this.mix, this.lobbyAudio]) {
      void pending?.then(
        (a) => a.close(),
        () => undefined,
      );
    }
    this.instance.close();
    this.log.info({ media: this.instance.id }, 'room media released');
  }

  private create(name: 'mix' | 'lobby'): Promise<RoomAudio> {
    const created = this.instance.createAudio({
      name,
      log: this.log.child({ component: name === 'mix' ? 'mixer' : 'lobby', media: this.instance.id }),
      ...(name === 'mix' ? { onSpeaking: this.onSpeaking } : {}),
    });
    // A failure is not cached: the next caller tries again.
    created.catch(() => {
      if (name === 'mix' && this.mix === created) this.mix = undefined;
      if (name === 'lobby' && this.lobbyAudio === created) this.lobbyAudio = undefined;
    });
    return created;
  }
}

/**
 * A claim on a room's media: the media stays up while any lease is held (a join being set up, a participant in
 * the room). Released once; a second release is a no-op.
 */
export class MediaLease {
  private released = false;

  constructor(
    readonly media: RoomMedia,
    private readonly onRelease: () => void,
  ) {}

  get isReleased(): boolean {
    return this.released;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}
