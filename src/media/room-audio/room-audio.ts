import type { types } from 'mediasoup';
import type { MixerLegInfo } from '../media-leg';
import type { MixerRoomStats } from '../mixer/mixer-room-handle';

/** What a room's audio router needs of a participant's audio leg. */
export interface AudioEndpoint {
  readonly participantId: string;
  /** The phone's (or browser's) audio, once known. */
  readonly producer?: types.Producer;
  /** The codec this endpoint receives (router mimeType, e.g. audio/PCMU), once negotiated. */
  readonly receiveMimeType?: string;
  /** Set when the endpoint's audio terminates in a media thread: the mixer attaches it there directly. */
  readonly mixerLeg?: MixerLegInfo;
  /** Make this endpoint hear `producerId` (null: nothing). */
  setSource(producerId: string | null): Promise<void>;
  /**
   * RFC 4733 digits the room's mixer read from this endpoint's Producer (its consumer on the mixer-input transport
   * carries the negotiated telephone-event). Only for endpoints whose digits nothing else reads: a WebRTC leg ends
   * in mediasoup, while phones' legs read theirs in the relay and emit `dtmf` themselves (an implementation drops
   * what its leg already reports, so a digit never counts twice). Absent: the mixer does not look for digits.
   */
  onDtmf?(digit: string, durationMs: number): void;
}

/**
 * Decides what every participant hears. The mixer (MCU) implementation gives each participant its own mix-minus;
 * `ForwardingRoomAudio` forwards the other party's audio as-is (SFU), which serves two-party rooms without
 * transcoding and proves the return path when no mixer runs.
 */
/** How an endpoint enters a room's audio. */
export interface AddAudioOptions {
  /**
   * It enters muted: never one frame of its voice in anyone's mix (a listen-only attendee). Told with the add, not
   * by a `setMuted` after it: the mixer thread ticks every 20 ms and would mix a frame in between.
   */
  muted?: boolean;
}

export interface RoomAudio {
  add(ep: AudioEndpoint, opts?: AddAudioOptions): Promise<void>;
  /** The endpoint's producer appeared or was replaced (SSRC or codec change). */
  producerChanged(ep: AudioEndpoint): Promise<void>;
  remove(participantId: string): Promise<void>;
  setMuted(participantId: string, muted: boolean): Promise<void>;
  /** Play 16-bit mono PCM to one participant only (prompts, tones); resolves when played or stopped. */
  play(participantId: string, pcm: Int16Array, rate: number): Promise<void>;
  /** Play 16-bit mono PCM to everyone at once, in the shared mix (join chimes); resolves when queued. */
  announce(pcm: Int16Array, rate: number): Promise<void>;
  /** Stops whatever is playing or queued for this participant (barge-in: a key press cuts the prompt). */
  stopPlay(participantId: string): Promise<void>;
  /** Media figures of the room's audio; null when nothing is measured (forwarding). */
  stats(): Promise<RoomAudioStats | null>;
  close(): void;
}

/** What the mixer measures, per room and per participant (the API shows it as is). */
export type RoomAudioStats = MixerRoomStats;

export class ForwardingRoomAudio implements RoomAudio {
  private readonly eps = new Map<string, AudioEndpoint>();
  private readonly muted = new Set<string>();

  async add(ep: AudioEndpoint, opts: AddAudioOptions = {}): Promise<void> {
    this.eps.set(ep.participantId, ep);
    if (opts.muted) this.muted.add(ep.participantId);
    await this.rewire();
  }

  async producerChanged(_ep: AudioEndpoint): Promise<void> {
    await this.rewire();
  }

  async remove(participantId: string): Promise<void> {
    this.eps.delete(participantId);
    this.muted.delete(participantId);
    await this.rewire();
  }

  async setMuted(participantId: string, muted: boolean): Promise<void> {
    if (muted) this.muted.add(participantId);
    else this.muted.delete(participantId);
    await this.rewire();
  }

  /** Forwarding has no mixer to play into: prompts are skipped. */
  async play(): Promise<void> {}

  async announce(): Promise<void> {}

  async stopPlay(): Promise<void> {}

  async stats(): Promise<null> {
    return null;
  }

  close(): void {
    this.eps.clear();
  }

  /** Each endpoint hears the most recently joined other endpoint that is sending and not muted. */
  private async rewire(): Promise<void> {
    const list = [...this.eps.values()];
    await Promise.all(
      list.map((ep) => {
        const other = list
          .filter((o) => o !== ep && o.producer && !o.producer.closed && !this.muted.has(o.participantId))
          .pop();
        return ep.setSource(other?.producer?.id ?? null).catch(() => undefined);
      }),
    );
  }
}
