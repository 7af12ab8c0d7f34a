/**
 * G.711 µ-law (PCMU) and A-law (PCMA), ITU-T G.711 (11/1988) — table-driven.
 * Decode: 8-bit code → 16-bit linear (256-entry tables). Encode: µ-law from the 14-bit and A-law from the
 * 13-bit magnitude (16384 / 8192-entry tables indexed by the top bits of the 16-bit sample), which is
 * exactly the resolution the standard quantises from. Decision levels are those of G.711 Tables 1a/2a
 * (interval edges, e.g. µ-law 4063 | 4319 in 14-bit units), not the midpoints between reconstruction values
 * that some tools (e.g. FFmpeg's pcm_mulaw/pcm_alaw tables) use — they differ only at segment edges.
 */
import { allocPcm, FadeRepeatPlc, FRAME_MS } from './codec';
import type { AudioDecoder, AudioEncoder, CodecName } from './codec';

const ULAW_BIAS = 0x84; // 132, in 16-bit units (33 in 14-bit)

/** Reference µ-law decode of one code (used to build the table). */
function ulawDecodeRef(code: number): number {
  const u = ~code & 0xff;
  let t = ((u & 0x0f) << 3) + ULAW_BIAS;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

/** Reference A-law decode of one code. */
function alawDecodeRef(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/**
 * Encode one 14-bit two's-complement value (−8192..8191) to µ-law. Negative values take their one's
 * complement as magnitude (as the ITU-T G.191 STL reference `ulaw_compress` does), so the decision levels
 * of G.711 Table 2a are symmetric: x and −1−x land in mirrored intervals.
 */
function ulawEncode14(v14: number): number {
  let mask: number;
  let v = v14;
  if (v < 0) {
    v = -v - 1;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  v += ULAW_BIAS >> 2;
  if (v > 0x1fdf) v = 0x1fdf; // 8159: clip
  // segment = position of the highest set bit above bit 5
  let seg = 0;
  for (let s = v >> 6; s > 0; s >>= 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

/** Encode one 13-bit two's-complement value (−4096..4095) to A-law (one's complement magnitude, as G.191 STL). */
function alawEncode13(v13: number): number {
  let mask: number;
  let v = v13;
  if (v >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  for (let s = v >> 5; s > 0; s >>= 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | ((seg < 2 ? v >> 1 : v >> seg) & 0x0f);
  return aval ^ mask;
}

export const ULAW_DECODE = new Int16Array(256);
export const ALAW_DECODE = new Int16Array(256);
const ULAW_ENCODE = new Uint8Array(16384); // index: (sample >> 2) + 8192
const ALAW_ENCODE = new Uint8Array(8192); // index: (sample >> 3) + 4096
for (let c = 0; c < 256; c++) {
  ULAW_DECODE[c] = ulawDecodeRef(c);
  ALAW_DECODE[c] = alawDecodeRef(c);
}
for (let i = 0; i < 16384; i++) ULAW_ENCODE[i] = ulawEncode14(i - 8192);
for (let i = 0; i < 8192; i++) ALAW_ENCODE[i] = alawEncode13(i - 4096);

export function ulawEncodeSample(s: number): number {
  return ULAW_ENCODE[(s >> 2) + 8192];
}
export function alawEncodeSample(s: number): number {
  return ALAW_ENCODE[(s >> 3) + 4096];
}

export function encodeUlaw(pcm: Int16Array, out: Buffer = Buffer.allocUnsafe(pcm.length)): Buffer {
  for (let i = 0; i < pcm.length; i++) out[i] = ULAW_ENCODE[(pcm[i] >> 2) + 8192];
  return out;
}
export function decodeUlaw(data: Uint8Array, out: Int16Array = allocPcm(data.length)): Int16Array {
  for (let i = 0; i < data.length; i++) out[i] = ULAW_DECODE[data[i]];
  return out;
}
export function encodeAlaw(pcm: Int16Array, out: Buffer = Buffer.allocUnsafe(pcm.length)): Buffer {
  for (let i = 0; i < pcm.length; i++) out[i] = ALAW_ENCODE[(pcm[i] >> 3) + 4096];
  return out;
}
export function decodeAlaw(data: Uint8Array, out: Int16Array = allocPcm(data.length)): Int16Array {
  for (let i = 0; i < data.length; i++) out[i] = ALAW_DECODE[data[i]];
  return out;
}

const G711_RATE = 8000;
const G711_FRAME = (G711_RATE * FRAME_MS) / 1000;

export class G711Encoder implements AudioEncoder {
  readonly sampleRate = G711_RATE;
  readonly rtpClockRate = G711_RATE;
  readonly frameSamples = G711_FRAME;
  constructor(readonly name: Extract<CodecName, 'PCMU' | 'PCMA'>) {}
  encode(pcm: Int16Array): Buffer {
    return this.name === 'PCMU' ? encodeUlaw(pcm) : encodeAlaw(pcm);
  }
  close(): void {}
}

export class G711Decoder implements AudioDecoder {
  readonly sampleRate = G711_RATE;
  readonly rtpClockRate = G711_RATE;
  readonly frameSamples = G711_FRAME;
  private readonly fade = new FadeRepeatPlc(G711_FRAME);
  constructor(readonly name: Extract<CodecName, 'PCMU' | 'PCMA'>) {}
  decode(payload: Buffer): Int16Array {
    const pcm = this.name === 'PCMU' ? decodeUlaw(payload) : decodeAlaw(payload);
    this.fade.good(pcm);
    return pcm;
  }
  plc(): Int16Array {
    return this.fade.conceal();
  }
  close(): void {}
}
