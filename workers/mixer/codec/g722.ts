/**
 * G.722 at 64 kbit/s (mode 1): sub-band ADPCM per ITU-T G.722 (09/2012) §3 (encoder) and §4 (decoder).
 * Written from the block descriptions of the recommendation (QMF → lower band 6-bit ADPCM with a 4-bit
 * feedback loop, higher band 2-bit ADPCM; blocks named as in the standard: SUBTRA, QUANTL, INVQAL, LOGSCL,
 * SCALEL, RECONS, PARREC, UPPOL1/2, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC). Input/output is 16-bit PCM
 * at 16 kHz, mapped onto the standard's 14-bit uniform PCM as `G722Mapping` says (default 'itu': full scale on
 * full scale, as linphone and PJSIP; 'ffmpeg' is 6 dB hotter on the wire and bit-exact with FFmpeg).
 * RTP: clock rate 8000 although the audio is 16 kHz (RFC 3551 §4.5.2) — 20 ms = 160 bytes = 160 ticks.
 */
import { allocPcm, FadeRepeatPlc, FRAME_MS } from './codec';
import type { AudioDecoder, AudioEncoder } from './codec';

const Q6 = [
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219,
  1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
const ILN = [
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
  6, 5, 4, 0,
];
const ILP = [
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36,
  35, 34, 33, 32, 0,
];
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960,
  3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
const QM4 = [
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
];
const QM6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360,
  -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688,
  -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192,
  6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432,
  -136,
];
const QM2 = [-7408, -1616, 7408, 1616];
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];

function sat(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/**
 * Adaptive predictor + scale factor state of one sub-band, one field per delayed variable of the standard (no arrays:
 * this runs 16 000 times a second per stream).
 */
class Band {
  s = 0; // predicted signal
  sp = 0; // pole contribution
  sz = 0; // zero contribution
  r1 = 0; // reconstructed signal, delayed 1 and 2
  r2 = 0;
  a1 = 0; // pole coefficients
  a2 = 0;
  p1 = 0; // partial reconstructed signal, delayed 1 and 2
  p2 = 0;
  d1 = 0; // quantized difference, delayed 1..6
  d2 = 0;
  d3 = 0;
  d4 = 0;
  d5 = 0;
  d6 = 0;
  b1 = 0; // zero coefficients
  b2 = 0;
  b3 = 0;
  b4 = 0;
  b5 = 0;
  b6 = 0;
  nb = 0; // log scale factor
  det: number;
  constructor(det: number) {
    this.det = det;
  }

  /** Block 4: predictor update with the quantized difference `dx`. */
  update(dx: number): void {
    // RECONS, PARREC
    const r0 = sat(this.s + dx);
    const p0 = sat(this.sz + dx);
    // UPPOL2
    const sg0 = p0 >> 15;
    const sg1 = this.p1 >> 15;
    const sg2 = this.p2 >> 15;
    const a1 = this.a1;
    let wd1 = sat(a1 * 4);
    let wd2 = sg0 === sg1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let ap2 = (sg0 === sg2 ? 128 : -128) + (wd2 >> 7) + ((this.a2 * 32512) >> 15);
    if (ap2 > 12288) ap2 = 12288;
    else if (ap2 < -12288) ap2 = -12288;
    // UPPOL1
    wd1 = sg0 === sg1 ? 192 : -192;
    wd2 = (a1 * 32640) >> 15;
    let ap1 = sat(wd1 + wd2);
    const lim = sat(15360 - ap2);
    if (ap1 > lim) ap1 = lim;
    else if (ap1 < -lim) ap1 = -lim;
    // UPZERO (with the old d1..d6), then DELAYA
    const step = dx === 0 ? 0 : 128;
    const sgd = dx >> 15;
    const d1 = this.d1;
    const d2 = this.d2;
    const d3 = this.d3;
    const d4 = this.d4;
    const d5 = this.d5;
    const d6 = this.d6;
    const b1 = sat((d1 >> 15 === sgd ? step : -step) + ((this.b1 * 32640) >> 15));
    const b2 = sat((d2 >> 15 === sgd ? step : -step) + ((this.b2 * 32640) >> 15));
    const b3 = sat((d3 >> 15 === sgd ? step : -step) + ((this.b3 * 32640) >> 15));
    const b4 = sat((d4 >> 15 === sgd ? step : -step) + ((this.b4 * 32640) >> 15));
    const b5 = sat((d5 >> 15 === sgd ? step : -step) + ((this.b5 * 32640) >> 15));
    const b6 = sat((d6 >> 15 === sgd ? step : -step) + ((this.b6 * 32640) >> 15));
    this.b1 = b1;
    this.b2 = b2;
    this.b3 = b3;
    this.b4 = b4;
    this.b5 = b5;
    this.b6 = b6;
    this.d6 = d5;
    this.d5 = d4;
    this.d4 = d3;
    this.d3 = d2;
    this.d2 = d1;
    this.d1 = dx;
    const r1 = r0;
    const r2 = this.r1;
    this.r2 = r2;
    this.r1 = r1;
    this.p2 = this.p1;
    this.p1 = p0;
    this.a1 = ap1;
    this.a2 = ap2;
    // FILTEP
    const sp = sat(((ap1 * sat(r1 + r1)) >> 15) + ((ap2 * sat(r2 + r2)) >> 15));
    this.sp = sp;
    // FILTEZ (d6..d1 after the shift: d5..d1 before it, and dx)
    const sz = sat(
      ((b6 * sat(d5 + d5)) >> 15) +
        ((b5 * sat(d4 + d4)) >> 15) +
        ((b4 * sat(d3 + d3)) >> 15) +
        ((b3 * sat(d2 + d2)) >> 15) +
        ((b2 * sat(d1 + d1)) >> 15) +
        ((b1 * sat(dx + dx)) >> 15),
    );
    this.sz = sz;
    // PREDIC
    this.s = sat(sp + sz);
  }

  /** LOGSCL + SCALEL (lower band). */
  scaleLow(il4: number): void {
    let nb = ((this.nb * 127) >> 7) + WL[il4];
    if (nb < 0) nb = 0;
    else if (nb > 18432) nb = 18432;
    this.nb = nb;
    const wd1 = (nb >> 6) & 31;
    const wd2 = 8 - (nb >> 11);
    this.det = (wd2 < 0 ? ILB[wd1] << -wd2 : ILB[wd1] >> wd2) << 2;
  }

  /** LOGSCH + SCALEH (higher band). */
  scaleHigh(ih2: number): void {
    let nb = ((this.nb * 127) >> 7) + WH[ih2];
    if (nb < 0) nb = 0;
    else if (nb > 22528) nb = 22528;
    this.nb = nb;
    const wd1 = (nb >> 6) & 31;
    const wd2 = 10 - (nb >> 11);
    this.det = (wd2 < 0 ? ILB[wd1] << -wd2 : ILB[wd1] >> wd2) << 2;
  }
}

/**
 * How 16-bit PCM maps onto G.722's 14-bit uniform PCM (§1.1, §3.2: the transmit QMF has unity gain, Σh = 1, and the
 * receive QMF's factor 2 makes it unity too, so a sub-band signal is in 14-bit units):
 * - 'itu' (default): the 14 bits are the top of the 16-bit word (x14 = x16/4, as for G.711's 13/14-bit codes), so
 *   digital full scale is the same on both sides. mediastreamer2 (linphone) and PJSIP convert this way.
 * - 'ffmpeg': x14 = x16/2, as FFmpeg's adpcm_g722 and spandsp (hence Asterisk, FreeSWITCH, baresip) do: the same
 *   PCM goes out 6 dB hotter, and what comes in is played 6 dB quieter. Bit-exact with FFmpeg.
 */
export type G722Mapping = 'itu' | 'ffmpeg';

export interface G722Options {
  mapping?: G722Mapping;
}

/**
 * QMF (§3.2 / §4.4) over a linear delay line `x` whose window for pair k is x[2k .. 2k+23] (newest last): returns
 * Σ x[2k+2i]·QMF[i] and Σ x[2k+2i+1]·QMF[11−i] with QMF = 3, −11, 12, 32, −210, 951, 3876, −805, 362, −156, 53, −11.
 */
function qmfEven(x: Int32Array, o: number): number {
  return (
    3 * x[o] -
    11 * x[o + 2] +
    12 * x[o + 4] +
    32 * x[o + 6] -
    210 * x[o + 8] +
    951 * x[o + 10] +
    3876 * x[o + 12] -
    805 * x[o + 14] +
    362 * x[o + 16] -
    156 * x[o + 18] +
    53 * x[o + 20] -
    11 * x[o + 22]
  );
}

function qmfOdd(x: Int32Array, o: number): number {
  return (
    -11 * x[o + 1] +
    53 * x[o + 3] -
    156 * x[o + 5] +
    362 * x[o + 7] -
    805 * x[o + 9] +
    3876 * x[o + 11] +
    951 * x[o + 13] -
    210 * x[o + 15] +
    32 * x[o + 17] +
    12 * x[o + 19] -
    11 * x[o + 21] +
    3 * x[o + 23]
  );
}

/** QMF history kept between calls: 22 samples. */
const QMF_HIST = 22;

const G722_RATE = 16000;
const G722_FRAME = (G722_RATE * FRAME_MS) / 1000;

export class G722Encoder implements AudioEncoder {
  readonly name = 'G722' as const;
  readonly sampleRate = G722_RATE;
  readonly rtpClockRate = 8000;
  readonly frameSamples = G722_FRAME;
  readonly mapping: G722Mapping;
  private readonly shift: number;
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  /** Transmit QMF delay line: 22 samples of history, then the block being encoded. */
  private x = new Int32Array(QMF_HIST + G722_FRAME);

  constructor(opts: G722Options = {}) {
    this.mapping = opts.mapping ?? 'itu';
    // Σ QMF = 4096 per branch, two branches summed: >> 13 would be unity gain; 'itu' takes x16/4, 'ffmpeg' x16/2
    this.shift = this.mapping === 'itu' ? 15 : 14;
  }

  encode(pcm: Int16Array): Buffer {
    const n = pcm.length >> 1;
    const out = Buffer.allocUnsafe(n);
    if (this.x.length < QMF_HIST + 2 * n) {
      const bigger = new Int32Array(QMF_HIST + 2 * n);
      bigger.set(this.x.subarray(0, QMF_HIST));
      this.x = bigger;
    }
    const x = this.x;
    for (let i = 0; i < 2 * n; i++) x[QMF_HIST + i] = pcm[i];
    const shift = this.shift;
    const low = this.low;
    const high = this.high;
    for (let k = 0, o = 0; k < n; k++, o += 2) {
      // Transmit QMF (§3.2): two input samples in, one low and one high sub-band sample out.
      const sumOdd = qmfEven(x, o);
      const sumEven = qmfOdd(x, o);
      const xl = (sumEven + sumOdd) >> shift;
      const xh = (sumEven - sumOdd) >> shift;

      // Lower band: SUBTRA, QUANTL (6 bit)
      const el = sat(xl - low.s);
      let wd = el >= 0 ? el : -(el + 1);
      const det = low.det;
      let i = 1;
      for (; i < 30; i++) if (wd < (Q6[i] * det) >> 12) break;
      const ilow = el < 0 ? ILN[i] : ILP[i];
      // INVQAL uses only the 4 MSBs (the decoder's feedback loop must not depend on dropped bits)
      const ril = ilow >> 2;
      const dlow = (det * QM4[ril]) >> 15;
      low.scaleLow(RL42[ril]);
      low.update(dlow);

      // Higher band: SUBTRA, QUANTH (2 bit)
      const eh = sat(xh - high.s);
      wd = eh >= 0 ? eh : -(eh + 1);
      const mih = wd >= (564 * high.det) >> 12 ? 2 : 1;
      const ihigh = eh < 0 ? IHN[mih] : IHP[mih];
      const dhigh = (high.det * QM2[ihigh]) >> 15;
      high.scaleHigh(RH2[ihigh]);
      high.update(dhigh);

      out[k] = (ihigh << 6) | ilow;
    }
    x.copyWithin(0, 2 * n, 2 * n + QMF_HIST);
    return out;
  }

  close(): void {}
}

export class G722Decoder implements AudioDecoder {
  readonly name = 'G722' as const;
  readonly sampleRate = G722_RATE;
  readonly rtpClockRate = 8000;
  readonly frameSamples = G722_FRAME;
  readonly mapping: G722Mapping;
  private readonly shift: number;
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  /** Receive QMF delay line: 22 values of history, then this payload's (rL ± rH) pairs. */
  private x = new Int32Array(QMF_HIST + G722_FRAME);
  private readonly fade = new FadeRepeatPlc(G722_FRAME);

  constructor(opts: G722Options = {}) {
    this.mapping = opts.mapping ?? 'itu';
    // Σ QMF = 4096 per branch: >> 12 is unity gain (14-bit units); 'itu' gives 4·x14, 'ffmpeg' 2·x14
    this.shift = this.mapping === 'itu' ? 10 : 11;
  }

  decode(payload: Buffer): Int16Array {
    const n = payload.length;
    const out = allocPcm(n * 2);
    if (this.x.length < QMF_HIST + 2 * n) {
      const bigger = new Int32Array(QMF_HIST + 2 * n);
      bigger.set(this.x.subarray(0, QMF_HIST));
      this.x = bigger;
    }
    const x = this.x;
    const shift = this.shift;
    const low = this.low;
    const high = this.high;
    for (let j = 0, o = 0; j < n; j++, o += 2) {
      const code = payload[j];
      const ilr = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;
      // Lower band: INVQBL (6 bit), RECONS, LIMIT
      const det = low.det;
      let rlow = low.s + ((det * QM6[ilr]) >> 15);
      if (rlow > 16383) rlow = 16383;
      else if (rlow < -16384) rlow = -16384;
      // INVQAL (4 bit) feeds the predictor, exactly as in the encoder
      const ril = ilr >> 2;
      const dlowt = (det * QM4[ril]) >> 15;
      low.scaleLow(RL42[ril]);
      low.update(dlowt);

      // Higher band: INVQAH, RECONS, LIMIT
      const dhigh = (high.det * QM2[ihigh]) >> 15;
      let rhigh = dhigh + high.s;
      if (rhigh > 16383) rhigh = 16383;
      else if (rhigh < -16384) rhigh = -16384;
      high.scaleHigh(RH2[ihigh]);
      high.update(dhigh);

      // Receive QMF (§4.4)
      x[QMF_HIST + o] = rlow + rhigh;
      x[QMF_HIST + o + 1] = rlow - rhigh;
      const xout2 = qmfEven(x, o);
      const xout1 = qmfOdd(x, o);
      out[o] = sat(xout1 >> shift);
      out[o + 1] = sat(xout2 >> shift);
    }
    x.copyWithin(0, 2 * n, 2 * n + QMF_HIST);
    this.fade.good(out);
    return out;
  }

  plc(): Int16Array {
    return this.fade.conceal();
  }

  close(): void {}
}
