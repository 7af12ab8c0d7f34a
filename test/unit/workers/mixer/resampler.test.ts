import { HALF_BAND_TAPS, Resampler } from '../../../../workers/mixer/resampler';
import { alignedSnr, byFrames, chirp, constant, rms, sine, snrAt, tonePower } from './audio-helpers';

function run(inRate: number, outRate: number, x: Int16Array): Int16Array {
  const r = new Resampler(inRate, outRate);
  return byFrames(x, inRate / 50, (f) => r.process(f));
}

describe('Resampler (polyphase windowed sinc)', () => {
  const pairs: Array<[number, number]> = [
    [8000, 16000],
    [16000, 8000],
    [16000, 48000],
    [48000, 16000],
    [8000, 48000],
    [48000, 8000],
  ];

  it.each(pairs)('%i → %i: 20 ms in gives exactly 20 ms out', (a, b) => {
    const r = new Resampler(a, b);
    for (let k = 0; k < 5; k++) expect(r.process(new Int16Array(a / 50)).length).toBe(b / 50);
  });

  it.each(pairs)('%i → %i: a 1 kHz tone comes out as the same 1 kHz tone (> 40 dB SNR vs. ideal)', (a, b) => {
    const x = sine(1000, a, a, 10000);
    const y = run(a, b, x);
    const r = new Resampler(a, b);
    const ideal = sine(1000, b, b, 10000);
    expect(snrAt(ideal, y, Math.round(r.delayOut), b / 10)).toBeGreaterThan(40);
  });

  it.each(pairs)('%i → %i: the group delay is what delayOut says (non-periodic chirp)', (a, b) => {
    const top = Math.min(a, b) * 0.4;
    const x = chirp(200, top, a, a);
    const y = run(a, b, x);
    const ideal = chirp(200, top, b, b);
    const r = new Resampler(a, b);
    const { lag, snr } = alignedSnr(ideal, y, Math.round(r.delayOut) + 10, b / 10);
    expect(lag).toBe(Math.round(r.delayOut));
    expect(snr).toBeGreaterThan(30);
  });

  it('frame boundaries do not click: framed output equals one-shot output', () => {
    const x = sine(440, 16000, 16000, 12000);
    const framed = run(16000, 8000, x);
    const whole = new Resampler(16000, 8000).process(x);
    expect(framed.length).toBe(whole.length);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(framed[i] - whole[i]));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it('16k → 8k: a 5 kHz tone (above the 4 kHz Nyquist) is rejected by > 50 dB instead of aliasing to 3 kHz', () => {
    const x = sine(5000, 16000, 16000, 16000);
    const y = run(16000, 8000, x).subarray(800);
    const alias = tonePower(y, 3000, 8000);
    const ref = tonePower(sine(3000, 8000, y.length, 16000), 3000, 8000);
    expect(10 * Math.log10(ref / Math.max(alias, 1e-12))).toBeGreaterThan(50);
  });

  it('48k → 16k: a 10 kHz tone is rejected by > 50 dB', () => {
    const x = sine(10000, 48000, 48000, 16000);
    const y = run(48000, 16000, x).subarray(1600);
    expect(20 * Math.log10(16000 / Math.SQRT2 / Math.max(rms(y), 1e-3))).toBeGreaterThan(50);
  });

  it('8k → 16k: 3.4 kHz (top of the telephone band) passes within 1 dB, no image at 4.6 kHz', () => {
    const x = sine(3400, 8000, 8000, 10000);
    const y = run(8000, 16000, x).subarray(1600);
    const pass =
      10 * Math.log10(tonePower(y, 3400, 16000) / tonePower(sine(3400, 16000, y.length, 10000), 3400, 16000));
    expect(Math.abs(pass)).toBeLessThan(1);
    const image = 10 * Math.log10(tonePower(y, 4600, 16000) / tonePower(y, 3400, 16000));
    expect(image).toBeLessThan(-50);
  });

  it('reset() clears the history', () => {
    const r = new Resampler(8000, 16000);
    r.process(sine(1000, 8000, 160, 20000));
    r.reset();
    expect(rms(r.process(new Int16Array(160)))).toBe(0);
  });

  describe('2:1 / 1:2 half-band path (G.711 legs of a 16 kHz mix)', () => {
    /** Gain (dB) of a steady tone through `inRate → outRate`, measured at the output by Goertzel. */
    function gainDb(inRate: number, outRate: number, f: number): number {
      const x = sine(f, inRate, inRate, 10000);
      const y = run(inRate, outRate, x).subarray(outRate / 10);
      const ref = sine(f, outRate, y.length, 10000);
      return 10 * Math.log10(tonePower(y, f, outRate) / tonePower(ref, f, outRate));
    }

    it('is a half-band filter: centre ½, odd taps summing to ¼ each side (unit DC gain, exact even phase)', () => {
      expect(HALF_BAND_TAPS.length).toBe(13);
      expect(HALF_BAND_TAPS.reduce((a, b) => a + b, 0)).toBeCloseTo(0.25, 12);
      const r = new Resampler(8000, 16000);
      const y = r.process(constant(12345, 160));
      const z = r.process(constant(12345, 160));
      expect(Math.max(...z.map((v) => Math.abs(v - 12345)))).toBeLessThanOrEqual(1);
      expect(y.length).toBe(320);
    });

    it.each([
      [16000, 8000],
      [8000, 16000],
    ])(
      '%i → %i: a 407 Hz tone passes within 0.5 dB, and the whole 300–3400 Hz band within 0.1 dB',
      (a, b) => {
        expect(Math.abs(gainDb(a, b, 407))).toBeLessThan(0.5);
        for (const f of [300, 1000, 2000, 3000, 3400]) expect(Math.abs(gainDb(a, b, f))).toBeLessThan(0.1);
      },
    );

    it('16k → 8k: a 5 kHz tone is attenuated by ≥ 40 dB (it would alias to 3 kHz), everything from 4.6 kHz by ≥ 60 dB', () => {
      for (const f of [4600, 5000, 6000, 7000, 7900]) {
        const x = sine(f, 16000, 16000, 16000);
        const y = run(16000, 8000, x).subarray(800);
        const alias = 8000 - f;
        const ref = tonePower(sine(alias, 8000, y.length, 16000), alias, 8000);
        const rejection = 10 * Math.log10(ref / Math.max(tonePower(y, alias, 8000), 1e-12));
        expect(rejection).toBeGreaterThan(f === 5000 ? 40 : 60);
      }
    });

    it('has whole-sample group delays (12 samples at 8 kHz, 26 at 16 kHz): 1.5 and 1.6 ms', () => {
      expect(new Resampler(16000, 8000).delayOut).toBe(12);
      expect(new Resampler(8000, 16000).delayOut).toBe(26);
    });

    it('processInto writes the same samples as process, and odd-length blocks give the same stream', () => {
      const x = chirp(200, 3000, 16000, 16000);
      const a = new Resampler(16000, 8000);
      const b = new Resampler(16000, 8000);
      const c = new Resampler(16000, 8000);
      const viaProcess = run(16000, 8000, x);
      const out = new Int16Array(160);
      const viaInto: number[] = [];
      for (let i = 0; i + 320 <= x.length; i += 320) {
        expect(b.processInto(x.subarray(i, i + 320), out)).toBe(160);
        viaInto.push(...out);
      }
      expect(Int16Array.from(viaInto)).toEqual(viaProcess);
      // blocks of 321 and 319 samples: an unpaired sample waits for the next block
      const odd: number[] = [];
      for (let i = 0; i + 640 <= x.length; i += 640) {
        odd.push(...c.process(x.subarray(i, i + 321)));
        odd.push(...c.process(x.subarray(i + 321, i + 640)));
      }
      expect(Int16Array.from(odd)).toEqual(viaProcess.subarray(0, odd.length));
      expect(a.outputLength(321)).toBe(160);
    });

    it('same rate is a copy', () => {
      const r = new Resampler(16000, 16000);
      const x = sine(1000, 16000, 320);
      expect(r.process(x)).toEqual(x);
      expect(r.delayOut).toBe(0);
    });
  });
});
