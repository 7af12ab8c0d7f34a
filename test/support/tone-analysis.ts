import fs from 'node:fs';

/**
 * Tone analysis for the MCU e2e tests: how much of a given frequency a recording holds (Goertzel on
 * Hann-windowed blocks), overall levels, tone generation, and a minimal WAV reader for what softphones record.
 */

/** Power (dBFS, full-scale sine = 0 dB) of frequency `freq` in `pcm`, averaged over Hann-windowed blocks. */
export function toneDb(pcm: Int16Array, rate: number, freq: number, blockMs = 200): number {
  const n = Math.floor((rate * blockMs) / 1000);
  if (pcm.length < n) return -120;
  const w = new Float64Array(n);
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    wsum += w[i]!;
  }
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let total = 0;
  let blocks = 0;
  for (let off = 0; off + n <= pcm.length; off += n) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const s0 = (pcm[off + i]! / 32768) * w[i]! + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // A full-scale sine gives |X| = wsum / 2 at its bin: normalise so that it reads 0 dB.
    total += power / ((wsum / 2) * (wsum / 2));
    blocks++;
  }
  return total > 0 ? 10 * Math.log10(total / blocks) : -120;
}

/** RMS level in dBFS (−120 for silence). */
export function rmsDb(pcm: Int16Array): number {
  if (pcm.length === 0) return -120;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  const ms = sum / pcm.length / (32768 * 32768);
  return ms > 0 ? Math.max(-120, 10 * Math.log10(ms)) : -120;
}

/** Per-tone levels (dBFS) of a recording: `{ 450: -12.3, 750: -60.1, ... }`. */
export function toneLevels(pcm: Int16Array, rate: number, freqs: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const f of freqs) out[f] = Math.round(toneDb(pcm, rate, f) * 10) / 10;
  return out;
}

/** A continuous sine generator (phase kept across frames). `amplitude` is linear, 0..1 of full scale. */
export class ToneSource {
  private phase = 0;

  constructor(
    public freq: number | null,
    private readonly rate: number,
    private readonly amplitude = 0.25,
  ) {}

  next(samples: number): Int16Array {
    const out = new Int16Array(samples);
    if (this.freq === null) return out;
    const step = (2 * Math.PI * this.freq) / this.rate;
    for (let i = 0; i < samples; i++) {
      out[i] = Math.round(this.amplitude * 32767 * Math.sin(this.phase));
      this.phase += step;
    }
    this.phase %= 2 * Math.PI;
    return out;
  }
}

export interface Wav {
  rate: number;
  channels: number;
  /** the first channel, 16-bit */
  pcm: Int16Array;
}

/**
 * Reads a 16-bit PCM WAV (first channel). Tolerates a header whose sizes were never finalised (a recorder
 * still writing, or killed): the data chunk then runs to the end of the file.
 */
export function readWav(file: string): Wav {
  const buf = fs.readFileSync(file);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error(`${file}: not a WAV file`);
  let off = 12;
  let rate = 0;
  let channels = 1;
  let bits = 16;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(off + 10);
      rate = buf.readUInt32LE(off + 12);
      bits = buf.readUInt16LE(off + 22);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`${file}: ${bits}-bit WAV not supported`);
      if (size === 0 || off + 8 + size > buf.length) size = buf.length - off - 8;
      const frames = Math.floor(size / 2 / channels);
      const pcm = new Int16Array(frames);
      for (let i = 0; i < frames; i++) pcm[i] = buf.readInt16LE(off + 8 + i * 2 * channels);
      return { rate, channels, pcm };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** The samples of `pcm` (at `rate`) between `fromSec` and `toSec`. */
export function slice(pcm: Int16Array, rate: number, fromSec: number, toSec: number): Int16Array {
  return pcm.subarray(Math.max(0, Math.floor(fromSec * rate)), Math.max(0, Math.floor(toSec * rate)));
}

/** Writes a mono 16-bit WAV of a sine tone at `amplitude` (0..1 of full scale); returns the file. */
export function writeToneWav(
  file: string,
  freq: number,
  seconds: number,
  rate: number,
  amplitude: number,
): string {
  const n = Math.round(rate * seconds);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    data.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * freq * i) / rate)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([h, data]));
  return file;
}
