/**
 * G.722 at 64 kbit/s (mode 1): sub-band ADPCM per ITU-T G.722 (09/2012) §3 (encoder) and §4 (decoder).
 * Written from the block descriptions of the recommendation (QMF → lower band 6-bit ADPCM with a 4-bit
 * feedback loop, higher band 2-bit ADPCM; blocks named as in the standard: SUBTRA, QUANTL, INVQAL, LOGSCL,
 * SCALEL, RECONS, PARREC, UPPOL1/2, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC). Input/output is 16-bit PCM
 * at 16 kHz; the QMF scales it to the standard's 15-bit sub-band range and back.
 * RTP: clock rate 8000 although the audio is 16 kHz (RFC 3551 §4.5.2) — 20 ms = 160 bytes = 160 ticks.
 */
import { FadeRepeatPlc, FRAME_MS } from './codec';
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
const QMF = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];

function sat(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Adaptive predictor + scale factor state of one sub-band. */
class Band {
  s = 0; // predicted signal
  sp = 0; // pole contribution
  sz = 0; // zero contribution
  r = [0, 0, 0]; // reconstructed signal
  a = [0, 0, 0]; // pole coefficients
  ap = [0, 0, 0];
  p = [0, 0, 0]; // partial reconstructed signal
  d = [0, 0, 0, 0, 0, 0, 0]; // quantized difference
  b = [0, 0, 0, 0, 0, 0, 0]; // zero coefficients
  bp = [0, 0, 0, 0, 0, 0, 0];
  sg = [0, 0, 0, 0, 0, 0, 0];
  nb = 0; // log scale factor
  det: number;
  constructor(det: number) {
    this.det = det;
  }

  /** Block 4: predictor update with the quantized difference `dx`. */
  update(dx: number): void {
    const { r, a, ap, p, d, b, bp, sg } = this;
    // RECONS, PARREC
    d[0] = dx;
    r[0] = sat(this.s + dx);
    p[0] = sat(this.sz + dx);
    // UPPOL2
    sg[0] = p[0] >> 15;
    sg[1] = p[1] >> 15;
    sg[2] = p[2] >> 15;
    let wd1 = sat(a[1] * 4);
    let wd2 = sg[0] === sg[1] ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (sg[0] === sg[2] ? 128 : -128) + (wd2 >> 7) + ((a[2] * 32512) >> 15);
    if (wd3 > 12288) wd3 = 12288;
    else if (wd3 < -12288) wd3 = -12288;
    ap[2] = wd3;
    // UPPOL1
    wd1 = sg[0] === sg[1] ? 192 : -192;
    wd2 = (a[1] * 32640) >> 15;
    ap[1] = sat(wd1 + wd2);
    wd3 = sat(15360 - ap[2]);
    if (ap[1] > wd3) ap[1] = wd3;
    else if (ap[1] < -wd3) ap[1] = -wd3;
    // UPZERO
    wd1 = dx === 0 ? 0 : 128;
    sg[0] = dx >> 15;
    for (let i = 1; i < 7; i++) {
      sg[i] = d[i] >> 15;
      wd2 = sg[i] === sg[0] ? wd1 : -wd1;
      wd3 = (b[i] * 32640) >> 15;
      bp[i] = sat(wd2 + wd3);
    }
    // DELAYA
    for (let i = 6; i > 0; i--) {
      d[i] = d[i - 1];
      b[i] = bp[i];
    }
    for (let i = 2; i > 0; i--) {
      r[i] = r[i - 1];
      p[i] = p[i - 1];
      a[i] = ap[i];
    }
    // FILTEP
    wd1 = (a[1] * sat(r[1] + r[1])) >> 15;
    wd2 = (a[2] * sat(r[2] + r[2])) >> 15;
    this.sp = sat(wd1 + wd2);
    // FILTEZ
    let sz = 0;
    for (let i = 6; i > 0; i--) sz += (b[i] * sat(d[i] + d[i])) >> 15;
    this.sz = sat(sz);
    // PREDIC
    this.s = sat(this.sp + this.sz);
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

const G722_RATE = 16000;
const G722_FRAME = (G722_RATE * FRAME_MS) / 1000;

export class G722Encoder implements AudioEncoder {
  readonly name = 'G722' as const;
  readonly sampleRate = G722_RATE;
  readonly rtpClockRate = 8000;
  readonly frameSamples = G722_FRAME;
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private readonly x = new Int32Array(24); // transmit QMF delay line

  encode(pcm: Int16Array): Buffer {
    const n = pcm.length >> 1;
    const out = Buffer.allocUnsafe(n);
    const x = this.x;
    const low = this.low;
    const high = this.high;
    for (let j = 0, k = 0; k < n; k++) {
      // Transmit QMF (§3.2): two input samples in, one low and one high sub-band sample out.
      x.copyWithin(0, 2);
      x[22] = pcm[j++];
      x[23] = pcm[j++];
      let sumOdd = 0;
      let sumEven = 0;
      for (let i = 0; i < 12; i++) {
        sumOdd += x[2 * i] * QMF[i];
        sumEven += x[2 * i + 1] * QMF[11 - i];
      }
      const xl = (sumEven + sumOdd) >> 14;
      const xh = (sumEven - sumOdd) >> 14;

      // Lower band: SUBTRA, QUANTL (6 bit)
      const el = sat(xl - low.s);
      let wd = el >= 0 ? el : -(el + 1);
      let i = 1;
      for (; i < 30; i++) if (wd < (Q6[i] * low.det) >> 12) break;
      const ilow = el < 0 ? ILN[i] : ILP[i];
      // INVQAL uses only the 4 MSBs (the decoder's feedback loop must not depend on dropped bits)
      const ril = ilow >> 2;
      const dlow = (low.det * QM4[ril]) >> 15;
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
    return out;
  }

  close(): void {}
}

export class G722Decoder implements AudioDecoder {
  readonly name = 'G722' as const;
  readonly sampleRate = G722_RATE;
  readonly rtpClockRate = 8000;
  readonly frameSamples = G722_FRAME;
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  private readonly x = new Int32Array(24); // receive QMF delay line
  private readonly fade = new FadeRepeatPlc(G722_FRAME);

  decode(payload: Buffer): Int16Array {
    const out = new Int16Array(payload.length * 2);
    const x = this.x;
    const low = this.low;
    const high = this.high;
    let o = 0;
    for (let j = 0; j < payload.length; j++) {
      const code = payload[j];
      const ilr = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;
      // Lower band: INVQBL (6 bit), RECONS, LIMIT
      let rlow = low.s + ((low.det * QM6[ilr]) >> 15);
      if (rlow > 16383) rlow = 16383;
      else if (rlow < -16384) rlow = -16384;
      // INVQAL (4 bit) feeds the predictor, exactly as in the encoder
      const ril = ilr >> 2;
      const dlowt = (low.det * QM4[ril]) >> 15;
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
      x.copyWithin(0, 2);
      x[22] = rlow + rhigh;
      x[23] = rlow - rhigh;
      let xout1 = 0;
      let xout2 = 0;
      for (let i = 0; i < 12; i++) {
        xout2 += x[2 * i] * QMF[i];
        xout1 += x[2 * i + 1] * QMF[11 - i];
      }
      out[o++] = sat(xout1 >> 11);
      out[o++] = sat(xout2 >> 11);
    }
    this.fade.good(out);
    return out;
  }

  plc(): Int16Array {
    return this.fade.conceal();
  }

  close(): void {}
}
