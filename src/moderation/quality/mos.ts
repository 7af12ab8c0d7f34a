/**
 * An estimated MOS for a call from its network figures: a simplified ITU-T G.107 E-model (the approach of Cole &
 * Rosenbluth, "Voice over IP performance monitoring", 2001). Pure and cheap: the quality monitor runs it for every
 * participant every few seconds.
 *
 *   R = R0 − Is − Id − Ie,eff (+ A = 0), with R0 − Is = 93.2 (G.107 defaults)
 *   Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3), d the one-way mouth-to-ear delay in ms
 *   Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl) (random loss, BurstR = 1), Ppl in percent
 *   MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶ for 0 < R < 100 (G.107 Annex B)
 *
 * The one-way delay is estimated as half the RTT, plus a jitter buffer of twice the jitter, plus the codec's
 * framing and look-ahead. Unknown RTT counts as 0 and unknown loss as none: the estimate is then of what is known.
 */

/** Equipment impairment Ie and packet-loss robustness Bpl per codec (G.113 Appendix I; with PLC). */
const CODEC_IMPAIRMENT: Record<string, { ie: number; bpl: number; framingMs: number }> = {
  pcmu: { ie: 0, bpl: 25.1, framingMs: 20 },
  pcma: { ie: 0, bpl: 25.1, framingMs: 20 },
  // Wideband codecs score at least as well as G.711 on this narrowband scale; their loss robustness differs.
  g722: { ie: 0, bpl: 25.1, framingMs: 20 },
  opus: { ie: 0, bpl: 30, framingMs: 26.5 },
};
const DEFAULT_CODEC = CODEC_IMPAIRMENT.pcmu!;

/** G.107 defaults: R0 − Is. */
const R_BASE = 93.2;

export interface MosInput {
  /** Fraction of packets lost, 0..1. */
  loss: number | null;
  jitterMs: number | null;
  rttMs: number | null;
  /** Codec name (PCMU, PCMA, G722, opus...; case-insensitive); unknown ones are scored as G.711. */
  codec?: string | null;
}

/** The E-model's transmission rating factor R for the figures. */
export function rFactor({ loss, jitterMs, rttMs, codec }: MosInput): number {
  const c = CODEC_IMPAIRMENT[(codec ?? '').toLowerCase().replace(/^audio\//, '')] ?? DEFAULT_CODEC;
  const d = Math.max(0, rttMs ?? 0) / 2 + 2 * Math.max(0, jitterMs ?? 0) + c.framingMs;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ppl = Math.min(100, Math.max(0, (loss ?? 0) * 100));
  const ieEff = c.ie + ((95 - c.ie) * ppl) / (ppl + c.bpl);
  return R_BASE - id - ieEff;
}

/** G.107 Annex B: MOS (conversational quality, estimated) from R; 1 below R = 0, 4.5 above R = 100. */
export function rToMos(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

/**
 * The estimated MOS (1..4.5, two decimals) for the figures; null when nothing is known (loss, jitter and RTT all
 * null): a score of silence would mislead.
 */
export function estimateMos(input: MosInput): number | null {
  if (input.loss === null && input.jitterMs === null && input.rttMs === null) return null;
  return Math.round(rToMos(rFactor(input)) * 100) / 100;
}
