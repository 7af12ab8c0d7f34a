import { Resampler } from '../../../../workers/mixer/resampler';
import { alignedSnr, byFrames, chirp, rms, sine, snrAt, tonePower } from './audio-helpers';

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
});
