import { Vad, energyToDb, frameLevelDb } from '../../../../workers/mixer/vad';
import { sine } from './audio-helpers';

describe('Vad', () => {
  it('measures dBFS: full-scale square is 0 dB, a full-scale sine −3 dB, silence −120', () => {
    expect(frameLevelDb(new Int16Array(320).fill(32767))).toBeCloseTo(0, 1);
    expect(frameLevelDb(sine(1000, 16000, 320, 32767))).toBeCloseTo(-3, 0);
    expect(frameLevelDb(new Int16Array(320))).toBe(-120);
    expect(energyToDb(0)).toBe(-120);
  });

  it('starts after attackFrames consecutive loud frames (a single click does not start it)', () => {
    const v = new Vad({ startDb: -40, stopDb: -48, attackFrames: 3, releaseFrames: 5 });
    expect(v.processLevel(-20)).toBeNull();
    expect(v.processLevel(-90)).toBeNull(); // click interrupted
    expect(v.processLevel(-20)).toBeNull();
    expect(v.processLevel(-20)).toBeNull();
    expect(v.processLevel(-20)).toBe('start');
    expect(v.speaking).toBe(true);
  });

  it('stops after releaseFrames quiet frames; levels between stopDb and startDb keep it on (hysteresis)', () => {
    const v = new Vad({ startDb: -40, stopDb: -48, attackFrames: 1, releaseFrames: 3 });
    expect(v.processLevel(-30)).toBe('start');
    for (let i = 0; i < 50; i++) expect(v.processLevel(-44)).toBeNull(); // between thresholds: no flapping
    expect(v.processLevel(-60)).toBeNull();
    expect(v.processLevel(-60)).toBeNull();
    expect(v.processLevel(-44)).toBeNull(); // resets the release count
    expect(v.processLevel(null)).toBeNull();
    expect(v.processLevel(null)).toBeNull();
    expect(v.processLevel(null)).toBe('stop');
    expect(v.speaking).toBe(false);
  });

  it('reset() reports stop only when it was speaking', () => {
    const v = new Vad({ attackFrames: 1 });
    expect(v.reset()).toBeNull();
    v.process(sine(300, 16000, 320, 10000));
    expect(v.reset()).toBe('stop');
  });

  it('rejects stopDb above startDb', () => {
    expect(() => new Vad({ startDb: -50, stopDb: -40 })).toThrow(RangeError);
  });
});
