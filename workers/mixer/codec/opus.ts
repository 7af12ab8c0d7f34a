/**
 * Opus via `@discordjs/opus` (native libopus addon, built from bundled sources at install time).
 * Chosen over the WebAssembly `opusscript` after `bench/mixer-core.ts` (interleaved runs on this shared 2-core
 * machine, 20 ms mono frames): native encode 1.3–3.7× and decode 1.9–3.9× faster than the wasm build,
 * depending on load and complexity; both built/installed offline from the npm registry.
 *
 * RTP clock is always 48000 (RFC 7587 §4.1) whatever `sampleRate` the PCM side uses; libopus resamples
 * internally, so the mixer runs its Opus legs at its own mix rate and needs no resampler for them.
 *
 * Loss handling: neither binding exposes `opus_decode(..., decode_fec=1)`, so `decodeFec` is not offered and
 * the jitter buffer falls back to PLC. PLC is libopus's own: decoding a 1-byte packet (just the last TOC, code
 * 0, i.e. one empty frame) makes libopus conceal exactly one frame of the last frame size (RFC 6716 §3.2.1:
 * a 0-length frame; libopus treats len ≤ 1 as lost), instead of the 120 ms an empty buffer would conceal.
 */
import { OpusEncoder as NativeOpus } from '@discordjs/opus';
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

// opus_defines.h CTL request numbers
const OPUS_SET_APPLICATION = 4000;
const OPUS_APPLICATION_VOIP = 2048;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_COMPLEXITY = 4010;

function toLe(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

function fromLe(buf: Buffer): Int16Array {
  const out = new Int16Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}

export class OpusAudioEncoder implements AudioEncoder {
  readonly name = 'opus' as const;
  readonly rtpClockRate = 48000;
  readonly sampleRate: OpusRate;
  readonly frameSamples: number;
  private readonly enc: NativeOpus;

  constructor(opts: OpusOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 48000;
    this.frameSamples = (this.sampleRate * FRAME_MS) / 1000;
    this.enc = new NativeOpus(this.sampleRate, 1);
    this.enc.applyEncoderCTL(OPUS_SET_APPLICATION, OPUS_APPLICATION_VOIP);
    this.enc.applyEncoderCTL(OPUS_SET_COMPLEXITY, opts.complexity ?? 5);
    this.enc.setBitrate(opts.bitrate ?? 32000);
    if (opts.inbandFec ?? true) {
      this.enc.applyEncoderCTL(OPUS_SET_INBAND_FEC, 1);
      this.enc.applyEncoderCTL(OPUS_SET_PACKET_LOSS_PERC, opts.packetLossPercent ?? 5);
    }
  }

  encode(pcm: Int16Array): Buffer {
    if (pcm.length !== this.frameSamples) throw new RangeError(`opus: expected ${this.frameSamples} samples`);
    return this.enc.encode(toLe(pcm));
  }

  close(): void {}
}

export class OpusAudioDecoder implements AudioDecoder {
  readonly name = 'opus' as const;
  readonly rtpClockRate = 48000;
  readonly sampleRate: OpusRate;
  readonly frameSamples: number;
  private readonly dec: NativeOpus;
  /** TOC byte of the last good packet, code 0 (one frame); null before the first packet. */
  private lastToc: number | null = null;

  constructor(opts: Pick<OpusOptions, 'sampleRate'> = {}) {
    this.sampleRate = opts.sampleRate ?? 48000;
    this.frameSamples = (this.sampleRate * FRAME_MS) / 1000;
    this.dec = new NativeOpus(this.sampleRate, 1);
  }

  decode(payload: Buffer): Int16Array {
    const pcm = fromLe(this.dec.decode(payload));
    if (payload.length > 0) this.lastToc = payload[0] & 0xfc;
    return pcm;
  }

  plc(): Int16Array {
    if (this.lastToc === null) return new Int16Array(this.frameSamples);
    const toc = Buffer.from([this.lastToc]);
    const pcm = fromLe(this.dec.decode(toc));
    if (pcm.length === this.frameSamples) return pcm;
    // the sender's frames are not 20 ms: conceal as many of them as one 20 ms frame needs
    const out = new Int16Array(this.frameSamples);
    let filled = Math.min(pcm.length, out.length);
    out.set(pcm.subarray(0, filled));
    for (let guard = 0; filled < out.length && guard < 8; guard++) {
      const more = fromLe(this.dec.decode(toc));
      if (more.length === 0) break;
      const n = Math.min(more.length, out.length - filled);
      out.set(more.subarray(0, n), filled);
      filled += n;
    }
    return out;
  }

  close(): void {}
}
