import {
  ALAW_DECODE,
  G711Decoder,
  G711Encoder,
  ULAW_DECODE,
  alawEncodeSample,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  ulawEncodeSample,
} from '../../../../workers/mixer/codec/g711';
import { sine, alignedSnr } from './audio-helpers';

/**
 * ITU-T G.711 Tables 1a/2a written as formulas, independently of the implementation:
 * µ-law: code bits are inverted; sign, 3-bit exponent e, 4-bit mantissa m; 14-bit magnitude
 *        ((2m + 33)·2^e − 33), scaled ×4 to 16 bits.
 * A-law: even bits inverted (XOR 0x55); 13-bit magnitude seg 0: 2m + 1, seg e ≥ 1: (2m + 33)·2^(e−1),
 *        scaled ×8 to 16 bits; sign bit set = positive.
 */
function ituUlaw(code: number): number {
  const u = ~code & 0xff;
  const e = (u >> 4) & 7;
  const m = u & 15;
  const mag = ((2 * m + 33) * 2 ** e - 33) * 4;
  return u & 0x80 && mag !== 0 ? -mag : mag;
}
function ituAlaw(code: number): number {
  const a = code ^ 0x55;
  const e = (a >> 4) & 7;
  const m = a & 15;
  const mag = (e === 0 ? 2 * m + 1 : (2 * m + 33) * 2 ** (e - 1)) * 8;
  return a & 0x80 ? mag : -mag;
}

describe('G.711 µ-law', () => {
  it('decodes all 256 codes to the ITU reference values', () => {
    for (let c = 0; c < 256; c++) expect(ULAW_DECODE[c]).toBe(ituUlaw(c));
  });
  it('has the known anchor values', () => {
    expect(ULAW_DECODE[0xff]).toBe(0);
    expect(ULAW_DECODE[0x7f]).toBe(0);
    expect(ULAW_DECODE[0x00]).toBe(-32124);
    expect(ULAW_DECODE[0x80]).toBe(32124);
    expect(ulawEncodeSample(0)).toBe(0xff);
  });
  it('encode(decode(code)) === code for every code except the negative zero 0x7F', () => {
    for (let c = 0; c < 256; c++) {
      const back = ulawEncodeSample(ULAW_DECODE[c]);
      if (c === 0x7f) expect(back).toBe(0xff);
      else expect(back).toBe(c);
    }
  });
  it('encodes every 16-bit value to the nearest-or-interval code (monotonic, error within one step)', () => {
    let prev = -Infinity;
    let nonMonotonic = 0;
    let tooFar = 0;
    for (let s = -32768; s <= 32767; s++) {
      const d = ULAW_DECODE[ulawEncodeSample(s)];
      if (d < prev) nonMonotonic++;
      prev = d;
      // quantisation error stays within one step of the segment (steps grow with the magnitude)
      if (Math.abs(s) < 32000 && Math.abs(d - s) > Math.max(16, Math.abs(s) / 16)) tooFar++;
    }
    expect(nonMonotonic).toBe(0);
    expect(tooFar).toBe(0);
  });
  it('round-trips a 1 kHz tone with the G.711 SNR (≈ 38 dB)', () => {
    const x = sine(1000, 8000, 8000, 10000);
    const y = decodeUlaw(encodeUlaw(x));
    expect(alignedSnr(x, y, 0, 0).snr).toBeGreaterThan(33);
  });
});

describe('G.711 A-law', () => {
  it('decodes all 256 codes to the ITU reference values', () => {
    for (let c = 0; c < 256; c++) expect(ALAW_DECODE[c]).toBe(ituAlaw(c));
  });
  it('has the known anchor values', () => {
    expect(ALAW_DECODE[0xd5]).toBe(8);
    expect(ALAW_DECODE[0x55]).toBe(-8);
    expect(ALAW_DECODE[0xaa]).toBe(32256);
    expect(ALAW_DECODE[0x2a]).toBe(-32256);
    expect(alawEncodeSample(0)).toBe(0xd5);
  });
  it('encode(decode(code)) === code for all 256 codes (A-law has no duplicate zero)', () => {
    for (let c = 0; c < 256; c++) expect(alawEncodeSample(ALAW_DECODE[c])).toBe(c);
  });
  it('is monotonic over the full 16-bit range', () => {
    let prev = -Infinity;
    let nonMonotonic = 0;
    let tooFar = 0;
    for (let s = -32768; s <= 32767; s++) {
      const d = ALAW_DECODE[alawEncodeSample(s)];
      if (d < prev) nonMonotonic++;
      prev = d;
      if (Math.abs(s) < 32000 && Math.abs(d - s) > Math.max(16, Math.abs(s) / 16)) tooFar++;
    }
    expect(nonMonotonic).toBe(0);
    expect(tooFar).toBe(0);
  });
  it('round-trips a 1 kHz tone', () => {
    const x = sine(1000, 8000, 8000, 10000);
    expect(alignedSnr(x, decodeAlaw(encodeAlaw(x)), 0, 0).snr).toBeGreaterThan(33);
  });
});

describe('G711Encoder/G711Decoder', () => {
  it('20 ms frames: 160 samples ↔ 160 bytes at 8 kHz, RTP clock 8000', () => {
    for (const name of ['PCMU', 'PCMA'] as const) {
      const enc = new G711Encoder(name);
      const dec = new G711Decoder(name);
      expect(enc.frameSamples).toBe(160);
      expect(dec.rtpClockRate).toBe(8000);
      const payload = enc.encode(sine(440, 8000, 160));
      expect(payload.length).toBe(160);
      expect(dec.decode(payload).length).toBe(160);
    }
  });
  it('PLC repeats the last frame attenuated, and is silent after 60 ms', () => {
    const dec = new G711Decoder('PCMU');
    const good = dec.decode(new G711Encoder('PCMU').encode(sine(440, 8000, 160, 8000)));
    const peak = Math.max(...good.map(Math.abs));
    const p1 = dec.plc();
    const p2 = dec.plc();
    const p3 = dec.plc();
    const p4 = dec.plc();
    const m = (x: Int16Array): number => Math.max(...x.map(Math.abs));
    expect(m(p1)).toBeLessThan(peak);
    expect(m(p1)).toBeGreaterThan(0);
    expect(m(p2)).toBeLessThan(m(p1));
    expect(m(p3)).toBeLessThan(m(p2));
    expect(m(p4)).toBe(0);
  });
});

describe('G.711 decision levels (G.711 Tables 1a/2a) and symmetry', () => {
  it('µ-law: 14-bit magnitude 4063 is the first value of the top segment, 4062 the last of the one below', () => {
    expect(ULAW_DECODE[ulawEncodeSample(4063 * 4)]).toBe(4191 * 4);
    expect(ULAW_DECODE[ulawEncodeSample(4062 * 4 + 3)]).toBe(3999 * 4);
    // first segment edge: 31 (values up to 30 stay in the first segment, reconstructed at even values)
    expect(ULAW_DECODE[ulawEncodeSample(31 * 4)]).toBe(33 * 4);
    expect(ULAW_DECODE[ulawEncodeSample(30 * 4)]).toBe(30 * 4);
  });
  it('A-law: 13-bit magnitude 2048 starts the top segment, 2047 ends the one below', () => {
    expect(ALAW_DECODE[alawEncodeSample(2048 * 8)]).toBe(2112 * 8);
    expect(ALAW_DECODE[alawEncodeSample(2047 * 8 + 7)]).toBe(2016 * 8);
  });
  it('both laws are symmetric: decode(encode(−1−x)) === −decode(encode(x)) for every x ≥ 0', () => {
    let bad = 0;
    for (let x = 0; x <= 32767; x++) {
      if (ULAW_DECODE[ulawEncodeSample(-1 - x)] !== -ULAW_DECODE[ulawEncodeSample(x)] + 0) bad++;
      if (ALAW_DECODE[alawEncodeSample(-1 - x)] !== -ALAW_DECODE[alawEncodeSample(x)]) bad++;
    }
    expect(bad).toBe(0);
  });
});
