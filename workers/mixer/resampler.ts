/**
 * Polyphase windowed-sinc (Kaiser) resampler for the rational ratios the mixer needs:
 * 8k↔16k (2:1), 16k↔48k (3:1), 8k↔48k (6:1). Stateful: the last input samples are kept between frames so
 * a stream cut into 20 ms frames gives the same output as one long buffer (no clicks at frame edges).
 *
 * The prototype low-pass runs at the upsampled rate (in·L), 16 zero crossings each side of the lower rate's
 * Nyquist (2·16·max(L,M)+1 taps: 65 for 2:1, 97 for 3:1, 193 for 6:1), cutoff at 0.92 × the lower
 * Nyquist frequency (8 kHz side: passes 3.4 kHz flat, ≈ −70 dB by 4.35 kHz), Kaiser β = 7.
 */

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

export class Resampler {
  readonly up: number;
  readonly down: number;
  /** phases[p][k] = h[p + k·L] · L (gain L restores level after zero stuffing). */
  private readonly phases: Float32Array[];
  private readonly tapsPerPhase: number;
  /** Work buffer: tapsPerPhase−1 samples of history followed by the current block. */
  private work: Float32Array;
  /** Position of the next output in the upsampled time grid, relative to the current frame start. */
  private phaseAcc = 0;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    const g = gcd(inRate, outRate);
    this.up = outRate / g;
    this.down = inRate / g;
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
    this.phases = [];
    for (let p = 0; p < L; p++) {
      const ph = new Float32Array(this.tapsPerPhase);
      for (let k = 0; k < this.tapsPerPhase; k++) {
        const idx = p + k * L;
        ph[k] = idx < len ? h[idx] * scale : 0;
      }
      this.phases.push(ph);
    }
    this.work = new Float32Array(this.tapsPerPhase - 1 + 960);
  }

  /** Group delay in output samples (for tests aligning input and output). */
  get delayOut(): number {
    return (ZERO_CROSSINGS * Math.max(this.up, this.down)) / this.down;
  }

  /** Resample one block; output length is in·L/M (exact for 20 ms frames at these rates). */
  process(input: Int16Array): Int16Array {
    if (this.up === this.down) return input.slice();
    const L = this.up;
    const M = this.down;
    const K = this.tapsPerPhase;
    const keep = K - 1;
    if (this.work.length < keep + input.length) {
      const w = new Float32Array(keep + input.length);
      w.set(this.work.subarray(0, keep));
      this.work = w;
    }
    const buf = this.work; // [keep samples of history | this block]
    for (let i = 0; i < input.length; i++) buf[keep + i] = input[i];
    const total = input.length * L; // upsampled positions in this block
    const outLen = Math.floor((total - this.phaseAcc + M - 1) / M);
    const out = new Int16Array(outLen);
    let pos = this.phaseAcc;
    const phases = this.phases;
    for (let o = 0; o < outLen; o++, pos += M) {
      const n = (pos / L) | 0; // newest input sample index (within this block)
      const ph = phases[pos - n * L];
      let acc = 0;
      // y[pos] = Σ_k h[p + kL] · x[n − k]
      for (let k = 0, xi = keep + n; k < K; k++, xi--) acc += ph[k] * buf[xi];
      const v = Math.round(acc);
      out[o] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    this.phaseAcc = pos - total;
    buf.copyWithin(0, input.length, input.length + keep);
    return out;
  }

  reset(): void {
    this.work.fill(0);
    this.phaseAcc = 0;
  }
}
