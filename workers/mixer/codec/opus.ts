/**
 * Opus through `@parley/opus` (`native/opus`): our own small N-API binding over the system libopus (Debian
 * libopus-dev), built by node-gyp at install time. We wrote it because neither npm binding that builds offline
 * can recover a lost packet from the in-band FEC of the next one: `@discordjs/opus` hardcodes `decode_fec = 0`
 * and `opusscript` does not expose it. `bench/mixer-core.ts` compares it with the WebAssembly `opusscript`.
 *
 * RTP clock is always 48000 (RFC 7587 §4.1) whatever `sampleRate` the PCM side uses; libopus resamples
 * internally, so the mixer runs its Opus legs at its own mix rate and needs no resampler for them.
 *
 * Loss handling (RFC 6716 §4.2.7.8, libopus `opus_decode`):
 * - `decodeFec(next, n)`: the packet after a lost one carries a low-bitrate copy of the lost frame (LBRR,
 *   RFC 6716 §2.1.7) when its sender enabled in-band FEC (`useinbandfec=1`, RFC 7587 §6.1) and coded in SILK or
 *   hybrid mode. libopus decodes it with `decode_fec = 1` and a frame size equal to the lost duration; without
 *   LBRR data it conceals instead, so asking is never worse than PLC.
 * - `plc()`: `opus_decode(NULL)` conceals exactly one 20 ms frame whatever the sender's packet duration.
 */
import { Decoder as NativeDecoder, Encoder as NativeEncoder } from '@parley/opus';
import { FRAME_MS } from './codec';
import type { AudioDecoder, AudioEncoder } from './codec';

export type OpusRate = 8000 | 12000 | 16000 | 24000 | 48000;

export interface OpusOptions {
  /** PCM rate of encode input / decode output (default 48000). */
  sampleRate?: OpusRate;
  /** Target bitrate in bit/s (default 32000: transparent wideband speech). */
  bitrate?: number;
  /** Ask the encoder to add in-band FEC for the far end (default true). */
  inbandFec?: boolean;
  /** Expected packet loss percentage the encoder plans FEC for (default 5). */
  packetLossPercent?: number;
  /** Encoder complexity 0–10 (default 5: about half the CPU of 10, still clean wideband speech). */
  complexity?: number;
}

/** opus_defines.h request numbers and values. */
export const OpusCtl = {
  SET_APPLICATION: 4000,
  SET_BITRATE: 4002,
  SET_COMPLEXITY: 4010,
  SET_INBAND_FEC: 4012,
  SET_PACKET_LOSS_PERC: 4014,
  APPLICATION_VOIP: 2048,
} as const;

export class OpusAudioEncoder implements AudioEncoder {
  readonly name = 'opus' as const;
  readonly rtpClockRate = 48000;
  readonly sampleRate: OpusRate;
  readonly frameSamples: number;
  private readonly enc: NativeEncoder;

  constructor(opts: OpusOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 48000;
    this.frameSamples = (this.sampleRate * FRAME_MS) / 1000;
    this.enc = new NativeEncoder(this.sampleRate, 1, OpusCtl.APPLICATION_VOIP);
    this.enc.ctl(OpusCtl.SET_COMPLEXITY, opts.complexity ?? 5);
    this.enc.ctl(OpusCtl.SET_BITRATE, opts.bitrate ?? 32000);
    if (opts.inbandFec ?? true) {
      this.enc.ctl(OpusCtl.SET_INBAND_FEC, 1);
      this.enc.ctl(OpusCtl.SET_PACKET_LOSS_PERC, opts.packetLossPercent ?? 5);
    }
  }

  encode(pcm: Int16Array): Buffer {
    if (pcm.length !== this.frameSamples) throw new RangeError(`opus: expected ${this.frameSamples} samples`);
    return this.enc.encode(pcm);
  }

  /** Re-plan FEC for the loss the far end reports (RTCP fraction lost); 0 turns the redundancy off. */
  setPacketLossPercent(percent: number): void {
    this.enc.ctl(OpusCtl.SET_PACKET_LOSS_PERC, Math.max(0, Math.min(100, Math.round(percent))));
  }

  close(): void {
    this.enc.close();
  }
}

export class OpusAudioDecoder implements AudioDecoder {
  readonly name = 'opus' as const;
  readonly rtpClockRate = 48000;
  readonly sampleRate: OpusRate;
  readonly frameSamples: number;
  /** Longest packet: 120 ms (RFC 6716 §3.2.5). */
  private readonly maxSamples: number;
  private readonly dec: NativeDecoder;

  constructor(opts: Pick<OpusOptions, 'sampleRate'> = {}) {
    this.sampleRate = opts.sampleRate ?? 48000;
    this.frameSamples = (this.sampleRate * FRAME_MS) / 1000;
    this.maxSamples = (this.sampleRate * 120) / 1000;
    this.dec = new NativeDecoder(this.sampleRate, 1);
  }

  decode(payload: Buffer): Int16Array {
    return this.dec.decode(payload, this.maxSamples, false);
  }

  plc(): Int16Array {
    return this.dec.decode(null, this.frameSamples, false);
  }

  decodeFec(nextPayload: Buffer, samples: number): Int16Array {
    // libopus wants the lost duration in whole 2.5 ms steps
    const step = this.sampleRate / 400;
    const n = Math.max(step, Math.min(this.maxSamples, Math.round(samples / step) * step));
    return this.dec.decode(nextPayload, n, true);
  }

  close(): void {
    this.dec.close();
  }
}
