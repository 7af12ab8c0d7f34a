/**
 * Common codec interface for the mixer. Frames are always 20 ms of mono 16-bit PCM at the codec's own
 * `sampleRate`; `rtpClockRate` is what RTP timestamps count in (G.722: 8000 although audio is 16 kHz,
 * RFC 3551 §4.5.2; Opus: always 48000, RFC 7587 §4.1).
 */
export type CodecName = 'PCMU' | 'PCMA' | 'G722' | 'opus';

export interface AudioCodecInfo {
  readonly name: CodecName;
  /** PCM sample rate of `encode` input / `decode` output. */
  readonly sampleRate: number;
  /** Samples per 20 ms frame at `sampleRate`. */
  readonly frameSamples: number;
  /** RTP timestamp units per second. */
  readonly rtpClockRate: number;
}

export interface AudioEncoder extends AudioCodecInfo {
  encode(pcm: Int16Array): Buffer;
  close(): void;
}

export interface AudioDecoder extends AudioCodecInfo {
  decode(payload: Buffer): Int16Array;
  /** One concealment frame for a lost packet (codec PLC, or fade/repeat of the last frame). */
  plc(): Int16Array;
  /**
   * Recover a lost packet of `samples` duration from the in-band FEC of the packet after it (Opus LBRR), or
   * conceal it when that packet carries none; absent if the codec has no FEC. Must be called before `decode`
   * of that next packet.
   */
  decodeFec?(nextPayload: Buffer, samples: number): Int16Array;
  close(): void;
}

export const FRAME_MS = 20;

const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/**
 * A new zero-filled Int16Array of `n` samples: a view on a shared 64 KiB slab (like Buffer's pool), because
 * `new Int16Array(320)` gets its own off-heap backing store and costs about 1 µs, several times the work done on a
 * 20 ms G.711 frame. Each view owns its bytes (nothing is handed out twice); a slab is freed with its last view.
 */
export function allocPcm(n: number): Int16Array {
  const bytes = n * 2;
  if (bytes > SLAB_BYTES / 4) return new Int16Array(n);
  if (slabOffset + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const a = new Int16Array(slab, slabOffset, n);
  slabOffset += (bytes + 7) & ~7;
  return a;
}

/**
 * Fade/repeat concealment for codecs without their own PLC (G.711, G.722): each lost frame repeats the
 * last good frame attenuated further; after `FADE_GAINS.length` frames (60 ms) it is silence.
 */
export class FadeRepeatPlc {
  private static readonly FADE_GAINS = [0.7, 0.4, 0.15];
  private last: Int16Array;
  private lostRun = 0;

  constructor(frameSamples: number) {
    this.last = new Int16Array(frameSamples);
  }

  /** Remember a good frame (resets the fade). Copied: callers may reuse or modify what they were given. */
  good(frame: Int16Array): void {
    if (frame.length >= this.last.length) this.last.set(frame.subarray(frame.length - this.last.length));
    else {
      this.last.copyWithin(0, frame.length);
      this.last.set(frame, this.last.length - frame.length);
    }
    this.lostRun = 0;
  }

  conceal(): Int16Array {
    const gains = FadeRepeatPlc.FADE_GAINS;
    const out = allocPcm(this.last.length);
    if (this.lostRun < gains.length) {
      const g = gains[this.lostRun];
      for (let i = 0; i < out.length; i++) out[i] = Math.round(this.last[i] * g);
    }
    this.lostRun++;
    return out;
  }
}
