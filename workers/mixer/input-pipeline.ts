/**
 * One participant's receive chain, everything a worker does per input per tick:
 * RTP payload → JitterBuffer (reorder, loss/PLC, DTX) → decoder → level gate → resampler → mix-rate frame.
 *
 * The gate keeps hundreds of un-muted phone listeners cheap: a frame whose level at the codec rate is below
 * `gateDb` (line noise, a quiet room) is not resampled and is handed to the mixer as null ("nothing to mix"),
 * which the mixer treats as silence. The resampler history is cleared while gated, so a talker starting
 * again starts from silence instead of stale samples. Opus is decoded straight at the mix rate (no resampler).
 */
import { createDecoder } from './codec';
import type { AudioDecoder, CodecName } from './codec';
import { JitterBuffer } from './jitter-buffer';
import type { JitterBufferOptions, PushResult, RtpAudioPacket } from './jitter-buffer';
import { Resampler } from './resampler';
import { frameLevelDb } from './vad';

export interface InputPipelineOptions {
  codec: CodecName;
  /** The mixer's rate (frames come out at this rate; 8000 for a room of narrowband phones only). */
  mixRate: 8000 | 16000 | 48000;
  /** Frames quieter than this (dBFS) are passed on as null (default −60). */
  gateDb?: number;
  jitter?: Omit<JitterBufferOptions, 'decoder'>;
  /** Inject a decoder (tests); default from `createDecoder`. */
  decoder?: AudioDecoder;
}

export class InputPipeline {
  readonly jitterBuffer: JitterBuffer;
  readonly decoder: AudioDecoder;
  private readonly resampler: Resampler | null;
  private readonly gateDb: number;
  private gated = true;
  /** Level (dBFS) of the last frame pulled, at the codec rate; −120 when there was none. */
  lastLevelDb = -120;

  constructor(opts: InputPipelineOptions) {
    this.decoder = opts.decoder ?? createDecoder(opts.codec, opts.mixRate);
    this.jitterBuffer = new JitterBuffer({ ...opts.jitter, decoder: this.decoder });
    this.resampler =
      this.decoder.sampleRate === opts.mixRate ? null : new Resampler(this.decoder.sampleRate, opts.mixRate);
    this.gateDb = opts.gateDb ?? -60;
  }

  push(pkt: RtpAudioPacket, arrivalMs: number): PushResult {
    return this.jitterBuffer.push(pkt, arrivalMs);
  }

  /** Call once per 20 ms tick. */
  pull(): Int16Array | null {
    const frame = this.jitterBuffer.pop();
    if (!frame) {
      this.lastLevelDb = -120;
      this.gate();
      return null;
    }
    this.lastLevelDb = frameLevelDb(frame);
    if (this.lastLevelDb < this.gateDb) {
      this.gate();
      return null;
    }
    this.gated = false;
    return this.resampler ? this.resampler.process(frame) : frame;
  }

  /** Drop everything buffered (e.g. on unmute after packets were ignored). */
  reset(): void {
    this.jitterBuffer.reset();
    this.gate();
  }

  close(): void {
    this.jitterBuffer.reset();
    this.decoder.close();
  }

  private gate(): void {
    if (!this.gated) this.resampler?.reset();
    this.gated = true;
  }
}
