/**
 * Resampling for the rational ratios the mixer needs: 8k↔16k (2:1), 16k↔48k (3:1), 8k↔48k (6:1). Stateful: the
 * last input samples are kept between frames so a stream cut into 20 ms frames gives the same output as one long
 * buffer (no clicks at frame edges).
 *
 * 2:1 and 1:2 (every G.711 leg of a 16 kHz mix, the hot path) use a half-band FIR: a 51-tap Kaiser-windowed sinc
 * (β = 6) whose even taps off the centre are exactly zero, so a 16→8 kHz output costs 13 multiplies (symmetric pairs)
 * plus the centre tap, and of each 8→16 kHz output pair one is a plain copy of an input sample and the other costs
 * 13 multiplies. Half-band: flat within 0.01 dB to 3.4 kHz, ≥ 63 dB down from 4.6 kHz (what aliases into the
 * telephone band, or images out of it, is ≥ 63 dB down), −6 dB at 4 kHz. The generic path below needs ≈ 5× more.
 *
 * Other ratios: polyphase windowed sinc (Kaiser). The prototype low-pass runs at the upsampled rate (in·L), 16 zero
 * crossings each side of the lower rate's Nyquist (2·16·max(L,M)+1 taps: 97 for 3:1, 193 for 6:1), cutoff at
 * 0.92 × the lower Nyquist frequency, Kaiser β = 7.
 */

import { allocPcm } from './codec/codec';

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

const ZERO_CROSSINGS = 16;
const KAISER_BETA = 7;
const CUTOFF = 0.92;

/** Half-band design: 13 non-zero odd taps each side of the 0.5 centre (51 taps), Kaiser β = 6. */
const HB_PAIRS = 13;
const HB_BETA = 6;

/**
 * The odd taps g[j] = h[±(2j+1)] of the half-band low-pass, normalised so that Σ h = 1 with h[0] = ½ exactly
 * (Σ g = ¼): then the interpolator's even phase is an exact copy and DC passes with unit gain.
 */
export const HALF_BAND_TAPS: Float64Array = (() => {
  const g = new Float64Array(HB_PAIRS);
  const span = 2 * HB_PAIRS; // window half-length (just past the last non-zero tap)
  const i0b = besselI0(HB_BETA);
  let sum = 0;
  for (let j = 0; j < HB_PAIRS; j++) {
    const n = 2 * j + 1;
    const sinc = Math.sin((Math.PI * n) / 2) / (Math.PI * n);
    const r = n / span;
    g[j] = (sinc * besselI0(HB_BETA * Math.sqrt(1 - r * r))) / i0b;
    sum += g[j];
  }
  for (let j = 0; j < HB_PAIRS; j++) g[j] *= 0.25 / sum;
  return g;
})();

/** Input history the half-band decimator keeps (taps reach 4·13−3 samples behind the newest pair). */
const HB_DOWN_HIST = 4 * HB_PAIRS - 3;
/** Input history the half-band interpolator keeps. */
const HB_UP_HIST = 2 * HB_PAIRS - 1;

function clamp16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

export class Resampler {
  readonly up: number;
  readonly down: number;
  /** 'half-down' (2:1), 'half-up' (1:2), 'copy' (same rate) or 'poly' (any other rational ratio). */
  private readonly mode: 'half-down' | 'half-up' | 'copy' | 'poly';
  /** phases[p][k] = h[p + k·L] · L (gain L restores level after zero stuffing); 'poly' only. */
  private readonly phases: Float32Array[] = [];
  private readonly tapsPerPhase: number = 0;
  /** Work buffer: history followed by the current block. */
  private work: Float64Array;
  /** 'poly': position of the next output in the upsampled time grid, relative to the current frame start. */
  private phaseAcc = 0;
  /** 'half-down': 1 when an input sample is waiting for its partner (odd-length blocks). */
  private pending = 0;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    const g = gcd(inRate, outRate);
    this.up = outRate / g;
    this.down = inRate / g;
    if (this.up === this.down) {
      this.mode = 'copy';
      this.work = new Float64Array(0);
      return;
    }
    if (this.up === 1 && this.down === 2) {
      this.mode = 'half-down';
      this.work = new Float64Array(HB_DOWN_HIST + 1 + 960);
      return;
    }
    if (this.up === 2 && this.down === 1) {
      this.mode = 'half-up';
      this.work = new Float64Array(HB_UP_HIST + 960);
      return;
    }
    this.mode = 'poly';
    const L = this.up;
    const M = this.down;
    const factor = Math.max(L, M);
    const half = ZERO_CROSSINGS * factor;
    const len = 2 * half + 1;
    // normalised cutoff (cycles per sample at the upsampled rate)
    const fc = (CUTOFF * 0.5) / factor;
    const h = new Float64Array(len);
    const i0b = besselI0(KAISER_BETA);
    for (let n = 0; n < len; n++) {
      const t = n - half;
      const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
      const r = t / half;
      const w = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0b;
      h[n] = sinc * w;
    }
    // normalise DC gain of each phase to 1
    let sum = 0;
    for (let n = 0; n < len; n++) sum += h[n];
    const scale = L / sum;
    this.tapsPerPhase = Math.ceil(len / L);
    for (let p = 0; p < L; p++) {
      const ph = new Float32Array(this.tapsPerPhase);
      for (let k = 0; k < this.tapsPerPhase; k++) {
        const idx = p + k * L;
        ph[k] = idx < len ? h[idx] * scale : 0;
      }
      this.phases.push(ph);
    }
    this.work = new Float64Array(this.tapsPerPhase - 1 + 960);
  }

  /** Group delay in output samples (for tests aligning input and output); a whole number for 2:1 and 1:2. */
  get delayOut(): number {
    switch (this.mode) {
      case 'copy':
        return 0;
      case 'half-down':
        return HB_PAIRS - 1;
      case 'half-up':
        return 2 * HB_PAIRS;
      default:
        return (ZERO_CROSSINGS * Math.max(this.up, this.down)) / this.down;
    }
  }

  /** Output samples `process` returns for `inputLength` input samples given the current state. */
  outputLength(inputLength: number): number {
    switch (this.mode) {
      case 'copy':
        return inputLength;
      case 'half-down':
        return (this.pending + inputLength) >> 1;
      case 'half-up':
        return inputLength * 2;
      default:
        return Math.floor((inputLength * this.up - this.phaseAcc + this.down - 1) / this.down);
    }
  }

  /** Resample one block into a new array; output length is in·L/M (exact for 20 ms frames at these rates). */
  process(input: Int16Array): Int16Array {
    if (this.mode === 'copy') return input.slice();
    const out = allocPcm(this.outputLength(input.length));
    this.processInto(input, out);
    return out;
  }

  /**
   * Like `process` but writes into `out` (at least `outputLength(input.length)` long: no allocation, for the
   * mixer's per-tick buffers); returns the number of samples written.
   */
  processInto(input: Int16Array, out: Int16Array): number {
    switch (this.mode) {
      case 'copy':
        out.set(input);
        return input.length;
      case 'half-down':
        return this.halfDown(input, out);
      case 'half-up':
        return this.halfUp(input, out);
      default:
        return this.poly(input, out);
    }
  }

  reset(): void {
    this.work.fill(0);
    this.phaseAcc = 0;
    this.pending = 0;
  }

  private ensureWork(n: number): Float64Array {
    if (this.work.length < n) {
      const w = new Float64Array(n);
      w.set(this.work);
      this.work = w;
    }
    return this.work;
  }

  /** 2:1 decimation: y[m] = ½·x[c] + Σ g[j]·(x[c−2j−1] + x[c+2j+1]), c = 2m + 2 − 2·13 (newest tap x[2m+1]). */
  private halfDown(input: Int16Array, out: Int16Array): number {
    const n = input.length;
    const base = HB_DOWN_HIST + this.pending; // index of input[0] in the work buffer
    const w = this.ensureWork(base + n);
    for (let i = 0; i < n; i++) w[base + i] = input[i];
    const total = this.pending + n; // samples after the history
    const outLen = total >> 1;
    const g = HALF_BAND_TAPS;
    const g0 = g[0];
    const g1 = g[1];
    const g2 = g[2];
    const g3 = g[3];
    const g4 = g[4];
    const g5 = g[5];
    const g6 = g[6];
    const g7 = g[7];
    const g8 = g[8];
    const g9 = g[9];
    const g10 = g[10];
    const g11 = g[11];
    const g12 = g[12];
    // centre of output m in the work buffer: HB_DOWN_HIST + 2m + 2 − 2·HB_PAIRS
    for (let m = 0, c = HB_DOWN_HIST + 2 - 2 * HB_PAIRS; m < outLen; m++, c += 2) {
      const v =
        0.5 * w[c] +
        g0 * (w[c - 1] + w[c + 1]) +
        g1 * (w[c - 3] + w[c + 3]) +
        g2 * (w[c - 5] + w[c + 5]) +
        g3 * (w[c - 7] + w[c + 7]) +
        g4 * (w[c - 9] + w[c + 9]) +
        g5 * (w[c - 11] + w[c + 11]) +
        g6 * (w[c - 13] + w[c + 13]) +
        g7 * (w[c - 15] + w[c + 15]) +
        g8 * (w[c - 17] + w[c + 17]) +
        g9 * (w[c - 19] + w[c + 19]) +
        g10 * (w[c - 21] + w[c + 21]) +
        g11 * (w[c - 23] + w[c + 23]) +
        g12 * (w[c - 25] + w[c + 25]);
      const r = Math.round(v);
      out[m] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
    }
    // keep the history (and an unpaired last sample) for the next block
    const consumed = outLen * 2;
    this.pending = total - consumed;
    w.copyWithin(0, consumed, HB_DOWN_HIST + total);
    return outLen;
  }

  /**
   * 1:2 interpolation, delayed by 13 input samples so it is causal: y[2k] = x[k−13] (the half-band's even phase is
   * the identity) and y[2k+1] = 2·Σ g[j]·(x[k−13+j+1] + x[k−13−j]).
   */
  private halfUp(input: Int16Array, out: Int16Array): number {
    const n = input.length;
    const w = this.ensureWork(HB_UP_HIST + n);
    for (let i = 0; i < n; i++) w[HB_UP_HIST + i] = input[i];
    const g = HALF_BAND_TAPS;
    const g0 = 2 * g[0];
    const g1 = 2 * g[1];
    const g2 = 2 * g[2];
    const g3 = 2 * g[3];
    const g4 = 2 * g[4];
    const g5 = 2 * g[5];
    const g6 = 2 * g[6];
    const g7 = 2 * g[7];
    const g8 = 2 * g[8];
    const g9 = 2 * g[9];
    const g10 = 2 * g[10];
    const g11 = 2 * g[11];
    const g12 = 2 * g[12];
    for (let k = 0, a = HB_UP_HIST - HB_PAIRS, o = 0; k < n; k++, a++, o += 2) {
      out[o] = w[a];
      const v =
        g0 * (w[a + 1] + w[a]) +
        g1 * (w[a + 2] + w[a - 1]) +
        g2 * (w[a + 3] + w[a - 2]) +
        g3 * (w[a + 4] + w[a - 3]) +
        g4 * (w[a + 5] + w[a - 4]) +
        g5 * (w[a + 6] + w[a - 5]) +
        g6 * (w[a + 7] + w[a - 6]) +
        g7 * (w[a + 8] + w[a - 7]) +
        g8 * (w[a + 9] + w[a - 8]) +
        g9 * (w[a + 10] + w[a - 9]) +
        g10 * (w[a + 11] + w[a - 10]) +
        g11 * (w[a + 12] + w[a - 11]) +
        g12 * (w[a + 13] + w[a - 12]);
      const r = Math.round(v);
      out[o + 1] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
    }
    w.copyWithin(0, n, n + HB_UP_HIST);
    return 2 * n;
  }

  private poly(input: Int16Array, out: Int16Array): number {
    const L = this.up;
    const M = this.down;
    const K = this.tapsPerPhase;
    const keep = K - 1;
    const buf = this.ensureWork(keep + input.length); // [keep samples of history | this block]
    for (let i = 0; i < input.length; i++) buf[keep + i] = input[i];
    const total = input.length * L; // upsampled positions in this block
    const outLen = this.outputLength(input.length);
    let pos = this.phaseAcc;
    const phases = this.phases;
    for (let o = 0; o < outLen; o++, pos += M) {
      const n = (pos / L) | 0; // newest input sample index (within this block)
      const ph = phases[pos - n * L];
      let acc = 0;
      // y[pos] = Σ_k h[p + kL] · x[n − k]
      for (let k = 0, xi = keep + n; k < K; k++, xi--) acc += ph[k] * buf[xi];
      out[o] = clamp16(acc);
    }
    this.phaseAcc = pos - total;
    buf.copyWithin(0, input.length, input.length + keep);
    return outLen;
  }
}
