/** Test-only signal helpers: tones, SNR with delay alignment, Goertzel tone power. */
export function sine(freq: number, rate: number, n: number, amp = 10000, phase0 = 0): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin(phase0 + (2 * Math.PI * freq * i) / rate));
  return out;
}

export function constant(value: number, n: number): Int16Array {
  return new Int16Array(n).fill(value);
}

/** Best SNR (dB) of `out` against `ref` over lags 0..maxLag, skipping `skip` warm-up samples. */
export function alignedSnr(
  ref: Int16Array,
  out: Int16Array,
  maxLag: number,
  skip: number,
): { snr: number; lag: number } {
  let best = { snr: -Infinity, lag: -1 };
  for (let lag = 0; lag <= maxLag; lag++) {
    let s = 0;
    let e = 0;
    for (let i = skip; i + lag < out.length && i < ref.length; i++) {
      s += ref[i] * ref[i];
      const d = out[i + lag] - ref[i];
      e += d * d;
    }
    const snr = 10 * Math.log10(s / Math.max(e, 1e-9));
    if (snr > best.snr) best = { snr, lag };
  }
  return best;
}

/** Run a frame-by-frame processor over a long signal. */
export function byFrames(input: Int16Array, frame: number, fn: (f: Int16Array) => Int16Array): Int16Array {
  const parts: Int16Array[] = [];
  let total = 0;
  for (let i = 0; i + frame <= input.length; i += frame) {
    const o = fn(input.slice(i, i + frame));
    parts.push(o);
    total += o.length;
  }
  const out = new Int16Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Goertzel power of `freq` in `x` (normalised by length²). */
export function tonePower(x: Int16Array, freq: number, rate: number): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.length * x.length);
}

export function rms(x: Int16Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, x.length));
}

export function maxAbs(x: Int16Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** SNR (dB) of `out` delayed by exactly `lag` samples against `ref`, from sample `skip` on. */
export function snrAt(ref: Int16Array, out: Int16Array, lag: number, skip: number): number {
  let s = 0;
  let e = 0;
  for (let i = skip; i + lag < out.length && i < ref.length; i++) {
    s += ref[i] * ref[i];
    const d = out[i + lag] - ref[i];
    e += d * d;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-9));
}

/** Linear chirp (non-periodic, so delay alignment is unambiguous). */
export function chirp(f0: number, f1: number, rate: number, n: number, amp = 8000): Int16Array {
  const out = new Int16Array(n);
  const k = (f1 - f0) / (n / rate);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    out[i] = Math.round(amp * Math.sin(2 * Math.PI * (f0 * t + (k * t * t) / 2)));
  }
  return out;
}
