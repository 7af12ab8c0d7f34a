/**
 * Soft clipper for int32 mix accumulators: linear up to the knee (−2.5 dBFS), above it a tanh curve that
 * approaches full scale asymptotically, C¹-continuous at the knee. Table-driven (one lookup per sample
 * above the knee), so many simultaneous talkers never wrap around and never hard-clip harshly.
 */
export const SOFT_CLIP_KNEE = 24576;
const RANGE = 32767 - SOFT_CLIP_KNEE;
const TABLE_SPAN = RANGE * 8; // tanh(8) ≈ 1 − 2e−7: beyond this the output is 32767
const TABLE = new Int16Array(TABLE_SPAN);
for (let i = 0; i < TABLE_SPAN; i++) TABLE[i] = Math.round(SOFT_CLIP_KNEE + RANGE * Math.tanh(i / RANGE));

export function softClipSample(v: number): number {
  if (v >= 0) {
    if (v <= SOFT_CLIP_KNEE) return v;
    const i = v - SOFT_CLIP_KNEE;
    return i < TABLE_SPAN ? TABLE[i] : 32767;
  }
  if (v >= -SOFT_CLIP_KNEE) return v;
  const i = -v - SOFT_CLIP_KNEE;
  return i < TABLE_SPAN ? -TABLE[i] : -32767;
}

/** out[i] = softClip(a[i] + sign·b[i]) (b optional), for the mix-minus and overlay cases in one pass. */
export function softClipInto(
  out: Int16Array,
  a: Int32Array,
  b?: Int32Array | Int16Array,
  sign = 1,
): Int16Array {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const v = b ? a[i] + sign * b[i] : a[i];
    out[i] = v <= SOFT_CLIP_KNEE && v >= -SOFT_CLIP_KNEE ? v : softClipSample(v);
  }
  return out;
}
