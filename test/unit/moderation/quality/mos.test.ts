import { estimateMos, rFactor, rToMos } from '../../../../src/moderation/quality/mos';

describe('rToMos (ITU-T G.107 Annex B)', () => {
  it.each([
    [0, 1],
    [-5, 1],
    [50, 2.575],
    [70, 3.597],
    [80, 4.024],
    [93.2, 4.409],
    [100, 4.5],
    [120, 4.5],
  ])('R = %p gives MOS %p', (r, mos) => {
    expect(rToMos(r)).toBeCloseTo(mos, 3);
  });
});

describe('rFactor', () => {
  it('is the G.107 default 93.2 less the framing delay for a perfect G.711 call', () => {
    // d = 20 ms framing: Id = 0.024 · 20 = 0.48
    expect(rFactor({ loss: 0, jitterMs: 0, rttMs: 0, codec: 'PCMU' })).toBeCloseTo(92.72, 2);
  });

  it('applies the loss impairment Ie,eff = 95 · Ppl / (Ppl + Bpl) with G.711 + PLC (Bpl 25.1)', () => {
    // 5 % loss: Ie,eff = 95 · 5 / 30.1 = 15.78
    expect(rFactor({ loss: 0.05, jitterMs: 0, rttMs: 0, codec: 'PCMA' })).toBeCloseTo(92.72 - 15.781, 2);
  });

  it('adds the extra delay impairment beyond 177.3 ms one way', () => {
    // rtt 400: d = 200 + 20 = 220; Id = 0.024 · 220 + 0.11 · 42.7 = 5.28 + 4.697
    expect(rFactor({ loss: 0, jitterMs: 0, rttMs: 400, codec: 'pcmu' })).toBeCloseTo(93.2 - 9.977, 2);
  });

  it('counts a jitter buffer of twice the jitter into the delay', () => {
    expect(rFactor({ loss: 0, jitterMs: 10, rttMs: 0, codec: 'pcmu' })).toBeCloseTo(92.72 - 0.48, 2);
  });
});

describe('estimateMos', () => {
  it('scores a clean call about 4.4, and worse as loss, jitter and RTT grow', () => {
    const clean = estimateMos({ loss: 0, jitterMs: 1, rttMs: 10, codec: 'PCMU' })!;
    expect(clean).toBeCloseTo(4.4, 1);
    const lossy = estimateMos({ loss: 0.05, jitterMs: 1, rttMs: 10, codec: 'PCMU' })!;
    const veryLossy = estimateMos({ loss: 0.2, jitterMs: 1, rttMs: 10, codec: 'PCMU' })!;
    const far = estimateMos({ loss: 0, jitterMs: 1, rttMs: 800, codec: 'PCMU' })!;
    expect(lossy).toBeCloseTo(3.93, 1);
    expect(veryLossy).toBeLessThan(lossy);
    expect(veryLossy).toBeGreaterThanOrEqual(1);
    expect(far).toBeLessThan(clean);
  });

  it('is null when nothing is known, and scores unknown codecs as G.711', () => {
    expect(estimateMos({ loss: null, jitterMs: null, rttMs: null, codec: 'PCMU' })).toBeNull();
    expect(estimateMos({ loss: 0.01, jitterMs: null, rttMs: null, codec: 'x-unknown' })).toBe(
      estimateMos({ loss: 0.01, jitterMs: null, rttMs: null, codec: 'PCMU' }),
    );
  });

  it('stays within 1..4.5 at the extremes', () => {
    expect(estimateMos({ loss: 1, jitterMs: 500, rttMs: 5000, codec: 'opus' })).toBe(1);
    expect(estimateMos({ loss: 0, jitterMs: 0, rttMs: 0, codec: 'opus' })).toBeLessThanOrEqual(4.5);
  });
});
