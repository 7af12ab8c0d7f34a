import { G722Decoder, G722Encoder } from '../../../../workers/mixer/codec/g722';
import { alignedSnr, byFrames, chirp, maxAbs, rms, sine, snrAt, tonePower } from './audio-helpers';

function roundTrip(x: Int16Array): Int16Array {
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  return byFrames(x, 320, (f) => dec.decode(enc.encode(f)));
}

describe('G.722 64 kbit/s SB-ADPCM', () => {
  it('20 ms = 320 samples at 16 kHz = 160 bytes = 160 RTP ticks (clock 8000, RFC 3551 §4.5.2)', () => {
    const enc = new G722Encoder();
    expect(enc.sampleRate).toBe(16000);
    expect(enc.rtpClockRate).toBe(8000);
    const payload = enc.encode(sine(1000, 16000, 320));
    expect(payload.length).toBe(160);
    expect(new G722Decoder().decode(payload).length).toBe(320);
  });

  it('codec delay is 22 samples (QMF pair): a non-periodic 100 Hz–3 kHz chirp aligns best there', () => {
    const x = chirp(100, 3000, 16000, 16000);
    const { snr, lag } = alignedSnr(x, roundTrip(x), 60, 1600);
    expect(lag).toBe(22);
    expect(snr).toBeGreaterThan(20);
  });

  it('1 kHz tone: > 30 dB SNR after aligning the codec delay', () => {
    const x = sine(1000, 16000, 16000, 10000);
    expect(snrAt(x, roundTrip(x), 22, 3200)).toBeGreaterThan(30);
  });

  it('mid-band tones (300 Hz, 2 kHz, 3 kHz) in the 6-bit lower band: > 30 dB', () => {
    for (const f of [300, 2000, 3000]) {
      const x = sine(f, 16000, 16000, 8000);
      expect(snrAt(x, roundTrip(x), 22, 3200)).toBeGreaterThan(30);
    }
  });

  it('5 kHz tone goes through the 2-bit higher band: recognisable (> 15 dB) at the same 22-sample delay', () => {
    const x = sine(5000, 16000, 16000, 10000);
    const y = roundTrip(x);
    // 5 kHz has a period of 3.2 samples; check the 22-sample alignment explicitly
    let s = 0;
    let e = 0;
    for (let i = 3200; i < 15000; i++) {
      s += x[i] * x[i];
      e += (y[i + 22] - x[i]) ** 2;
    }
    expect(10 * Math.log10(s / e)).toBeGreaterThan(15);
  });

  it('a 100 Hz–7 kHz sweep keeps every band: tone power preserved within 3 dB', () => {
    for (const f of [100, 500, 1500, 3500, 4500, 6000, 7000]) {
      const x = sine(f, 16000, 8000, 8000);
      const y = roundTrip(x);
      const inP = tonePower(x.subarray(3200), f, 16000);
      const outP = tonePower(y.subarray(3222, 8000), f, 16000);
      const ratioDb = 10 * Math.log10(outP / inP);
      expect(Math.abs(ratioDb)).toBeLessThan(3);
    }
  });

  it('keeps a 1 kHz tone when the stream is cut into frames (state carried across frames)', () => {
    const x = sine(1000, 16000, 16000, 10000);
    const enc = new G722Encoder();
    const whole = enc.encode(x);
    const enc2 = new G722Encoder();
    const framed = Buffer.concat(
      Array.from({ length: 50 }, (_, k) => enc2.encode(x.subarray(k * 320, (k + 1) * 320))),
    );
    expect(framed.equals(whole)).toBe(true);
  });

  it('silence stays silent (only the quantiser idle noise, below −70 dBFS)', () => {
    const y = roundTrip(new Int16Array(16000));
    expect(maxAbs(y)).toBeLessThanOrEqual(8);
    expect(rms(y)).toBeLessThan(8);
  });

  it('full-scale square wave does not wrap around', () => {
    const x = new Int16Array(3200);
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(i / 40) % 2 ? 32767 : -32768;
    const y = roundTrip(x);
    // a wrapped sample would flip sign in the middle of a half period
    let flips = 0;
    for (let i = 400; i < 3000; i++) {
      const phase = (i - 22) % 80;
      if (phase > 10 && phase < 30 && y[i] > 0) flips++; // expected negative here
      if (phase > 50 && phase < 70 && y[i] < 0) flips++;
    }
    expect(flips).toBe(0);
  });

  it('PLC fades the last frame out within 60 ms', () => {
    const enc = new G722Encoder();
    const dec = new G722Decoder();
    for (let k = 0; k < 5; k++) dec.decode(enc.encode(sine(1000, 16000, 320, 10000, k)));
    const a = maxAbs(dec.plc());
    const b = maxAbs(dec.plc());
    const c = maxAbs(dec.plc());
    expect(a).toBeGreaterThan(b);
    expect(b).toBeGreaterThan(c);
    expect(maxAbs(dec.plc())).toBe(0);
  });
});
