import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import type {
  AddMixerParticipantParams,
  MixerRoomStats,
  Notification,
} from '../../../workers/mixer/protocol';
import type { MediaThread, ThreadChild } from './media-thread';

export type MixerParticipantOptions = Omit<AddMixerParticipantParams, 'roomId'>;
export type { MixerRoomStats };

export interface MixerRoomHandleEvents {
  speaking: [participantId: string, speaking: boolean];
  /** RFC 4733 digit from a participant's input (reported once per key press). */
  dtmf: [participantId: string, digit: string, durationMs: number];
  /** A clip queued with play() has been played out (or was stopped / its participant removed). */
  playDone: [participantId: string, playId: string, stopped: boolean];
  /** The room is gone: closed by us, or its thread died. */
  closed: [];
}

interface Init {
  roomId: string;
  inputIp: string;
  inputPort: number;
  outputIp: string;
  outputPort: number;
}

/**
 * Main-thread handle of one room's audio mix, running in a media thread. Media path (no packet touches the main
 * thread):
 *   phone leg Producer → consumer on the room's "mixer input" PlainTransport (connect() to inputIp:inputPort)
 *   → thread: demux by that consumer's SSRC, jitter buffer, decode, mix every 20 ms, encode per participant
 *   → "mixer output" PlainTransport (connect() to outputIp:outputPort; connectOutput() with its tuple) where a
 *   Producer per participant has encodings [{ ssrc: output.ssrc }] → consumed on the participant's own leg.
 */
export class MixerRoomHandle extends TypedEmitter<MixerRoomHandleEvents> implements ThreadChild {
  readonly roomId: string;
  /** Where the mixer-input PlainTransport must send (its connect() target). */
  readonly inputIp: string;
  readonly inputPort: number;
  /** Where mixed RTP comes from (the mixer-output PlainTransport's connect() target). */
  readonly outputIp: string;
  readonly outputPort: number;
  private isClosed = false;
  private closing: Promise<void> | null = null;
  private playSeq = 0;

  /** @internal created by MediaThread.createMixerRoom */
  constructor(
    private readonly thread: MediaThread,
    init: Init,
    log?: Logger,
  ) {
    super(log);
    this.roomId = init.roomId;
    this.inputIp = init.inputIp;
    this.inputPort = init.inputPort;
    this.outputIp = init.outputIp;
    this.outputPort = init.outputPort;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The mixer-output PlainTransport's tuple.localIp/localPort: where the thread sends mixed RTP. */
  async connectOutput(ip: string, port: number): Promise<void> {
    await this.thread.request('mixer.connectOutput', { roomId: this.roomId, ip, port });
  }

  async addParticipant(opts: MixerParticipantOptions): Promise<void> {
    await this.thread.request('mixer.addParticipant', { roomId: this.roomId, ...opts });
  }

  /** Re-describe a participant in place (new input SSRC/codec, new output): queued prompts keep playing. */
  async updateParticipant(opts: MixerParticipantOptions): Promise<void> {
    await this.thread.request('mixer.updateParticipant', { roomId: this.roomId, ...opts });
  }

  async removeParticipant(participantId: string): Promise<void> {
    await this.thread.request('mixer.removeParticipant', { roomId: this.roomId, participantId });
  }

  async setMuted(participantId: string, muted: boolean): Promise<void> {
    await this.thread.request('mixer.setMuted', { roomId: this.roomId, participantId, muted });
  }

  /** Linear gain of this participant's voice in the others' mix. */
  async setGain(participantId: string, gain: number): Promise<void> {
    await this.thread.request('mixer.setGain', { roomId: this.roomId, participantId, gain });
  }

  /**
   * Play mono 16-bit PCM at `rate` (8000/16000/48000) to this participant only, over the mix. Resolves with a
   * playId once queued; `playDone` carries it when played out.
   */
  async play(participantId: string, pcm: Int16Array, rate: number): Promise<string> {
    const playId = `${this.roomId}:${participantId}:${++this.playSeq}`;
    await this.thread.request('mixer.play', { roomId: this.roomId, participantId, playId, pcm, rate });
    return playId;
  }

  /** play() and wait for its end; resolves with whether it was stopped early. */
  async playAndWait(participantId: string, pcm: Int16Array, rate: number): Promise<{ stopped: boolean }> {
    let wanted: string | null = null;
    const early = new Map<string, boolean>();
    return new Promise((resolve, reject) => {
      const onDone = (pid: string, playId: string, stopped: boolean): void => {
        if (pid !== participantId) return;
        if (wanted === null) return void early.set(playId, stopped);
        if (playId !== wanted) return;
        finish({ stopped });
      };
      const onClosed = (): void => finish({ stopped: true });
      const finish = (r: { stopped: boolean }): void => {
        this.off('playDone', onDone);
        this.off('closed', onClosed);
        resolve(r);
      };
      this.on('playDone', onDone);
      this.once('closed', onClosed);
      this.play(participantId, pcm, rate).then(
        (id) => {
          wanted = id;
          if (early.has(id)) finish({ stopped: early.get(id)! });
        },
        (err: unknown) => {
          this.off('playDone', onDone);
          this.off('closed', onClosed);
          reject(err as Error);
        },
      );
    });
  }

  /** Play mono 16-bit PCM at `rate` to the whole room, in the shared mix (chimes). Resolves when queued. */
  async announce(pcm: Int16Array, rate: number): Promise<void> {
    await this.thread.request('mixer.announce', { roomId: this.roomId, pcm, rate });
  }

  async stopPlay(participantId: string): Promise<void> {
    await this.thread.request('mixer.stopPlay', { roomId: this.roomId, participantId });
  }

  async stats(): Promise<MixerRoomStats> {
    return this.thread.request('mixer.stats', { roomId: this.roomId });
  }

  /** Idempotent: stops the mix and frees the room's sockets. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      try {
        if (!this.isClosed && this.thread.alive)
          await this.thread.request('mixer.closeRoom', { roomId: this.roomId });
      } catch {
        // the thread died meanwhile
      } finally {
        this.onThreadGone();
      }
    })();
    return this.closing;
  }

  /** @internal */
  onThreadNotification(n: Notification): void {
    if (this.isClosed) return;
    switch (n.event) {
      case 'mixer.speaking':
        this.safeEmit('speaking', n.participantId, n.speaking);
        break;
      case 'mixer.dtmf':
        this.safeEmit('dtmf', n.participantId, n.digit, n.durationMs);
        break;
      case 'mixer.playDone':
        this.safeEmit('playDone', n.participantId, n.playId, n.stopped);
        break;
      default:
        break;
    }
  }

  /** @internal */
  onThreadGone(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.thread.forgetRoom(this.roomId, this);
    this.safeEmit('closed');
  }
}
