import { Mixer } from '../../../../workers/mixer/mixer';
import type { MixOutput, MixResult } from '../../../../workers/mixer/mixer';
import type { AudioEncoder, CodecName } from '../../../../workers/mixer/codec/codec';
import { decodeUlaw } from '../../../../workers/mixer/codec/g711';
import { SOFT_CLIP_KNEE, softClipSample } from '../../../../workers/mixer/soft-clip';
import { constant, sine, tonePower } from './audio-helpers';

const N = 320; // 20 ms at 16 kHz

/** Encoder at the mix rate whose payload is the PCM itself, counting calls. */
class RawEncoder implements AudioEncoder {
  static calls = 0;
  readonly sampleRate = 16000;
  readonly frameSamples = N;
  readonly rtpClockRate = 16000;
  constructor(readonly name: CodecName) {}
  encode(pcm: Int16Array): Buffer {
    RawEncoder.calls++;
    return Buffer.from(new Int16Array(pcm).buffer);
  }
  close(): void {}
}

function rawMixer(opts: ConstructorParameters<typeof Mixer>[0] = {}): Mixer {
  return new Mixer({ createEncoder: (f) => new RawEncoder(f), ...opts });
}

function pcmOf(o: MixOutput): Int16Array {
  const b = Buffer.from(o.payload);
  return new Int16Array(b.buffer, b.byteOffset, b.length / 2);
}

function outputFor(r: MixResult, id: string): MixOutput {
  const o = r.outputs.find((x) => x.participants.includes(id));
  if (!o) throw new Error(`no output for ${id}`);
  return o;
}

function runTicks(m: Mixer, ticks: number, inputs: Record<string, Int16Array | null>): MixResult {
  let r: MixResult | undefined;
  for (let i = 0; i < ticks; i++) r = m.mixOnce(Object.entries(inputs).map(([id, pcm]) => ({ id, pcm })));
  return r as MixResult;
}

describe('Mixer.mixOnce', () => {
  beforeEach(() => {
    RawEncoder.calls = 0;
  });

  it('silence in, silence out: listeners share one silent frame', () => {
    const m = rawMixer();
    m.addParticipant('a', { output: 'PCMU' });
    m.addParticipant('b', { output: 'PCMU' });
    const r = m.mixOnce();
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0].kind).toBe('shared');
    expect(r.outputs[0].participants.sort()).toEqual(['a', 'b']);
    expect(pcmOf(r.outputs[0]).every((s) => s === 0)).toBe(true);
    expect(r.talkers).toEqual([]);
  });

  it('sums talkers exactly and gives each talker the mix-minus (nobody hears themselves)', () => {
    const m = rawMixer();
    for (const id of ['a', 'b', 'l']) m.addParticipant(id, { output: 'PCMU' });
    const r = runTicks(m, 1, { a: constant(1000, N), b: constant(2000, N) });
    expect(r.talkers.sort()).toEqual(['a', 'b']);
    const la = outputFor(r, 'a');
    const lb = outputFor(r, 'b');
    const ll = outputFor(r, 'l');
    expect(la.kind).toBe('mix-minus');
    expect(ll.kind).toBe('shared');
    expect(pcmOf(la).every((s) => s === 2000)).toBe(true);
    expect(pcmOf(lb).every((s) => s === 1000)).toBe(true);
    expect(pcmOf(ll).every((s) => s === 3000)).toBe(true);
  });

  it('per-participant tones through real PCMU: each hears the others but not itself', () => {
    const m = new Mixer();
    const freqs: Record<string, number> = { a: 440, b: 1000, c: 1700 };
    for (const id of Object.keys(freqs)) m.addParticipant(id, { output: 'PCMU' });
    m.addParticipant('listener', { output: 'PCMU' });
    let r: MixResult | undefined;
    for (let k = 0; k < 10; k++) {
      r = m.mixOnce(
        Object.entries(freqs).map(([id, f]) => ({
          id,
          pcm: sine(f, 16000, N, 6000, (2 * Math.PI * f * k * N) / 16000),
        })),
      );
    }
    const res = r as MixResult;
    for (const [id, f] of Object.entries(freqs)) {
      const heard = decodeUlaw(outputFor(res, id).payload);
      expect(heard.length).toBe(160); // 8 kHz G.711 frame from the 16 kHz mix
      const own = tonePower(heard, f, 8000);
      for (const [other, g] of Object.entries(freqs)) {
        if (other === id) continue;
        expect(tonePower(heard, g, 8000)).toBeGreaterThan(own * 100);
      }
    }
    const all = decodeUlaw(outputFor(res, 'listener').payload);
    for (const f of Object.values(freqs)) expect(tonePower(all, f, 8000)).toBeGreaterThan(1e5);
  });

  it('many loud talkers: soft clip, no wrap-around, never beyond full scale', () => {
    const m = rawMixer({ maxTalkers: 5 });
    for (let i = 0; i < 5; i++) m.addParticipant(`t${i}`, { output: 'PCMU' });
    m.addParticipant('l', { output: 'PCMU' });
    const loud = sine(300, 16000, N, 30000);
    const r = runTicks(m, 1, Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`t${i}`, loud])));
    const mix = pcmOf(outputFor(r, 'l'));
    for (let i = 0; i < N; i++) {
      expect(Math.sign(mix[i])).toBe(Math.sign(loud[i])); // a wrapped sum would flip sign
      expect(Math.abs(mix[i])).toBeLessThanOrEqual(32767);
    }
    expect(Math.max(...mix)).toBeGreaterThan(32000);
  });

  it('soft clip is linear below the knee, continuous and monotonic above it', () => {
    expect(softClipSample(12345)).toBe(12345);
    expect(softClipSample(-SOFT_CLIP_KNEE)).toBe(-SOFT_CLIP_KNEE);
    let prev = softClipSample(SOFT_CLIP_KNEE);
    for (let v = SOFT_CLIP_KNEE + 1; v < 200000; v += 1) {
      const y = softClipSample(v);
      if (y < prev || y - prev > 1) throw new Error(`not smooth at ${v}`);
      prev = y;
    }
    expect(prev).toBe(32767);
    expect(softClipSample(-1e6)).toBe(-32767);
  });

  it('mixes only the N loudest talkers (default 3)', () => {
    const m = rawMixer();
    const levels = [500, 4000, 1000, 3000, 2000];
    levels.forEach((_, i) => m.addParticipant(`t${i}`, { output: 'PCMU' }));
    m.addParticipant('l', { output: 'PCMU' });
    const r = runTicks(m, 1, Object.fromEntries(levels.map((lv, i) => [`t${i}`, constant(lv, N)])));
    expect(r.talkers).toEqual(['t1', 't3', 't4']);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(4000 + 3000 + 2000);
    // a non-selected talker hears the full mix of the selected ones
    expect(outputFor(r, 't0').kind).toBe('shared');
  });

  it('talker set has hysteresis: a slightly louder newcomer does not displace, a much louder one does', () => {
    const m = rawMixer({ maxTalkers: 2, minHoldFrames: 5 });
    for (const id of ['a', 'b', 'c']) m.addParticipant(id, { output: 'PCMU' });
    let r = runTicks(m, 10, { a: constant(4000, N), b: constant(3000, N) });
    expect(r.talkers).toEqual(['a', 'b']);
    // c is 1 dB louder than b: below the 3 dB margin, set stays
    r = runTicks(m, 20, { a: constant(4000, N), b: constant(3000, N), c: constant(3370, N) });
    expect(r.talkers).toEqual(['a', 'b']);
    // c is 10 dB louder than b: replaces b
    r = runTicks(m, 3, { a: constant(4000, N), b: constant(3000, N), c: constant(9500, N) });
    expect(r.talkers).toEqual(['c', 'a']);
  });

  it('a talker that stops is released after its level decays, not instantly', () => {
    const m = rawMixer();
    m.addParticipant('a', { output: 'PCMU' });
    runTicks(m, 5, { a: constant(3000, N) });
    let r = runTicks(m, 1, { a: constant(0, N) });
    expect(r.talkers).toEqual(['a']); // smoothed level still above the floor
    r = runTicks(m, 100, { a: constant(0, N) });
    expect(r.talkers).toEqual([]);
  });

  it('listeners share ONE encode per codec; each talker gets its own mix-minus encode', () => {
    const m = rawMixer();
    for (let i = 0; i < 3; i++) m.addParticipant(`t${i}`, { output: 'PCMU' });
    for (let i = 0; i < 100; i++) m.addParticipant(`l${i}`, { output: 'PCMU' });
    const r = runTicks(m, 1, { t0: constant(1000, N), t1: constant(1200, N), t2: constant(1400, N) });
    expect(RawEncoder.calls).toBe(4);
    const shared = r.outputs.filter((o) => o.kind === 'shared');
    expect(shared).toHaveLength(1);
    expect(shared[0].participants).toHaveLength(100);
    expect(r.outputs.filter((o) => o.kind === 'mix-minus')).toHaveLength(3);
  });

  it('one shared payload per output format', () => {
    const m = new Mixer();
    m.addParticipant('t', { output: 'G722' });
    m.addParticipant('u', { output: 'PCMU' });
    m.addParticipant('a', { output: 'PCMA' });
    m.addParticipant('g', { output: 'G722' });
    m.addParticipant('o', { output: 'opus' });
    const r = runTicks(m, 3, { t: sine(1000, 16000, N, 8000) });
    const shared = r.outputs.filter((o) => o.kind === 'shared');
    expect(shared.map((o) => o.format).sort()).toEqual(['G722', 'PCMA', 'PCMU', 'opus']);
    expect(shared.find((o) => o.format === 'G722')?.payload.length).toBe(160);
    expect(shared.find((o) => o.format === 'PCMU')?.payload.length).toBe(160);
    expect(outputFor(r, 't').kind).toBe('mix-minus');
  });

  it('mute takes effect immediately for everyone; the muted participant still listens', () => {
    const m = rawMixer();
    for (const id of ['a', 'b', 'l']) m.addParticipant(id, { output: 'PCMU' });
    runTicks(m, 5, { a: constant(1000, N), b: constant(2000, N) });
    m.setMuted('a', true);
    const r = runTicks(m, 1, { a: constant(1000, N), b: constant(2000, N) });
    expect(r.talkers).toEqual(['b']);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(2000);
    expect(pcmOf(outputFor(r, 'a'))[0]).toBe(2000);
    expect(pcmOf(outputFor(r, 'b'))[0]).toBe(0);
    m.setMuted('a', false);
    expect(pcmOf(outputFor(runTicks(m, 1, { a: constant(1000, N), b: constant(2000, N) }), 'l'))[0]).toBe(
      3000,
    );
  });

  it('applies per-participant input gain', () => {
    const m = rawMixer();
    m.addParticipant('a', { output: null, gain: 0.5 });
    m.addParticipant('l', { output: 'PCMU' });
    expect(pcmOf(outputFor(runTicks(m, 1, { a: constant(3000, N) }), 'l'))[0]).toBe(1500);
    m.setGain('a', 2);
    expect(pcmOf(outputFor(runTicks(m, 1, { a: constant(3000, N) }), 'l'))[0]).toBe(6000);
    expect(() => m.setGain('a', -1)).toThrow(RangeError);
  });

  it('listen-only participants are never mixed; input-only participants get no output', () => {
    const m = rawMixer();
    m.addParticipant('listenOnly', { output: 'PCMU', input: false });
    m.addParticipant('webrtc', { output: null });
    m.addParticipant('l', { output: 'PCMU' });
    const r = runTicks(m, 1, { listenOnly: constant(5000, N), webrtc: constant(700, N) });
    expect(r.talkers).toEqual(['webrtc']);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(700);
    expect(r.outputs.some((o) => o.participants.includes('webrtc'))).toBe(false);
  });

  it('a prompt/tone is heard only by its target, who gets a private frame until the clip ends', () => {
    const m = rawMixer();
    for (const id of ['t', 'p', 'l']) m.addParticipant(id, { output: 'PCMU' });
    m.playPrompt('p', constant(100, N + N / 2)); // 30 ms clip
    let r = runTicks(m, 1, { t: constant(1000, N) });
    expect(outputFor(r, 'p').kind).toBe('private');
    expect(outputFor(r, 'p').participants).toEqual(['p']);
    expect(pcmOf(outputFor(r, 'p'))[0]).toBe(1100);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(1000);
    r = runTicks(m, 1, { t: constant(1000, N) });
    const second = pcmOf(outputFor(r, 'p'));
    expect(second[0]).toBe(1100);
    expect(second[N - 1]).toBe(1000); // clip ended half-way
    expect(m.isPlayingPrompt('p')).toBe(false);
    r = runTicks(m, 1, { t: constant(1000, N) });
    expect(outputFor(r, 'p').kind).toBe('shared');
  });

  it('a prompt to a talker keeps the mix-minus (still does not hear itself)', () => {
    const m = rawMixer();
    for (const id of ['a', 'b']) m.addParticipant(id, { output: 'PCMU' });
    m.playPrompt('a', constant(50, N));
    const r = runTicks(m, 1, { a: constant(1000, N), b: constant(2000, N) });
    expect(pcmOf(outputFor(r, 'a'))[0]).toBe(2050);
  });

  it('emits speaking start/stop events from the VAD', () => {
    const m = rawMixer({ vad: { attackFrames: 2, releaseFrames: 3 } });
    m.addParticipant('a', { output: 'PCMU' });
    const events: string[] = [];
    const loud = sine(500, 16000, N, 8000);
    for (let k = 0; k < 4; k++)
      for (const e of m.mixOnce([{ id: 'a', pcm: loud }]).events) events.push(`${e.id}:${e.speaking}`);
    for (let k = 0; k < 4; k++)
      for (const e of m.mixOnce([{ id: 'a', pcm: null }]).events) events.push(`${e.id}:${e.speaking}`);
    expect(events).toEqual(['a:true', 'a:false']);
  });

  it('mute stops the speaking state at once', () => {
    const m = rawMixer({ vad: { attackFrames: 1 } });
    m.addParticipant('a', { output: 'PCMU' });
    expect(m.mixOnce([{ id: 'a', pcm: sine(500, 16000, N, 8000) }]).events).toEqual([
      { id: 'a', speaking: true },
    ]);
    m.setMuted('a', true);
    expect(m.mixOnce([{ id: 'a', pcm: sine(500, 16000, N, 8000) }]).events).toEqual([
      { id: 'a', speaking: false },
    ]);
  });

  it('validates frame size, participant ids, and close() is idempotent', () => {
    const m = rawMixer();
    m.addParticipant('a');
    expect(() => m.addParticipant('a')).toThrow();
    expect(() => m.setMuted('zz', true)).toThrow();
    expect(() => m.mixOnce([{ id: 'a', pcm: new Int16Array(160) }])).toThrow(RangeError);
    m.removeParticipant('a');
    m.removeParticipant('a');
    expect(m.size).toBe(0);
    m.close();
    m.close();
    expect(() => m.mixOnce()).toThrow();
  });

  it('a removed talker leaves the mix', () => {
    const m = rawMixer();
    for (const id of ['a', 'l']) m.addParticipant(id, { output: 'PCMU' });
    runTicks(m, 2, { a: constant(1000, N) });
    m.removeParticipant('a');
    const r = runTicks(m, 1, { a: constant(1000, N) });
    expect(r.talkers).toEqual([]);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(0);
  });

  it('also runs at a 48 kHz mix rate (G.711 output through the 6:1 resampler)', () => {
    const m = new Mixer({ sampleRate: 48000 });
    expect(m.frameSamples).toBe(960);
    m.addParticipant('a', { output: 'PCMU' });
    m.addParticipant('l', { output: 'PCMU' });
    let r: MixResult | undefined;
    for (let k = 0; k < 5; k++)
      r = m.mixOnce([{ id: 'a', pcm: sine(1000, 48000, 960, 8000, (2 * Math.PI * 1000 * k * 960) / 48000) }]);
    const heard = decodeUlaw(outputFor(r as MixResult, 'l').payload);
    expect(heard.length).toBe(160);
    expect(tonePower(heard, 1000, 8000)).toBeGreaterThan(tonePower(heard, 3000, 8000) * 1000);
  });

  it('steady background noise below the start level is not mixed, even with free talker slots', () => {
    const m = rawMixer();
    m.addParticipant('noisy', { output: 'PCMU' });
    m.addParticipant('l', { output: 'PCMU' });
    const noise = constant(200, N); // −44 dBFS: above the release floor, below the −40 dBFS start level
    let r = runTicks(m, 50, { noisy: noise });
    expect(r.talkers).toEqual([]);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(0);
    // once speaking, the same participant stays mixed down to the floor (e.g. a soft word)
    runTicks(m, 5, { noisy: constant(3000, N) });
    r = runTicks(m, 30, { noisy: noise });
    expect(r.talkers).toEqual(['noisy']);
  });

  it('runs at an 8 kHz mix rate for a room of G.711 phones: nothing resampled, PCMU out is the mix itself', () => {
    const m = new Mixer({ sampleRate: 8000 });
    expect(m.frameSamples).toBe(160);
    m.addParticipant('a', { output: 'PCMU' });
    m.addParticipant('l', { output: 'PCMA' });
    m.addParticipant('g', { output: 'G722' });
    let r: MixResult | undefined;
    for (let k = 0; k < 5; k++)
      r = m.mixOnce([{ id: 'a', pcm: sine(407, 8000, 160, 8000, (2 * Math.PI * 407 * k * 160) / 8000) }]);
    const res = r as MixResult;
    expect(outputFor(res, 'l').payload.length).toBe(160);
    expect(outputFor(res, 'g').payload.length).toBe(160); // 20 ms of G.722 (16 kHz through the 1:2 half-band)
    expect(outputFor(res, 'a').kind).toBe('mix-minus');
  });

  it('shared groups follow joins, leaves, output changes, talkers and prompts (cached only while nothing changed)', () => {
    const m = rawMixer();
    for (const id of ['a', 'b', 'c']) m.addParticipant(id, { output: 'PCMU' });
    const groupIds = (r: MixResult): Record<string, string[]> =>
      Object.fromEntries(
        r.outputs.filter((o) => o.kind === 'shared').map((o) => [o.format, [...o.participants]]),
      );
    let r = runTicks(m, 1, {});
    const first = r.outputs[0].participants;
    expect(groupIds(r)).toEqual({ PCMU: ['a', 'b', 'c'] });
    r = runTicks(m, 1, {});
    expect(r.outputs[0].participants).toBe(first); // nothing changed: the same list
    m.addParticipant('d', { output: 'PCMA' });
    expect(groupIds(runTicks(m, 1, {}))).toEqual({ PCMU: ['a', 'b', 'c'], PCMA: ['d'] });
    m.setOutput('a', 'PCMA');
    expect(groupIds(runTicks(m, 1, {}))).toEqual({ PCMU: ['b', 'c'], PCMA: ['a', 'd'] });
    r = runTicks(m, 1, { b: constant(2000, N) });
    expect(groupIds(r)).toEqual({ PCMU: ['c'], PCMA: ['a', 'd'] });
    expect(outputFor(r, 'b').kind).toBe('mix-minus');
    m.removeParticipant('c');
    m.playPrompt('d', constant(10, N));
    r = runTicks(m, 1, { b: constant(2000, N) });
    expect(groupIds(r)).toEqual({ PCMA: ['a'] });
    expect(outputFor(r, 'd').kind).toBe('private');
    r = runTicks(m, 100, {}); // b released, prompt over
    expect(groupIds(r)).toEqual({ PCMA: ['a', 'd'], PCMU: ['b'] });
  });

  it('events and individual outputs are listed in join order whatever the order of the inputs', () => {
    const m = rawMixer({ vad: { attackFrames: 1 } });
    for (const id of ['x', 'y', 'z']) m.addParticipant(id, { output: 'PCMU' });
    const loud = constant(3000, N);
    const r = m.mixOnce([
      { id: 'z', pcm: loud },
      { id: 'x', pcm: loud },
      { id: 'y', pcm: loud },
    ]);
    expect(r.events.map((e) => e.id)).toEqual(['x', 'y', 'z']);
    expect(r.outputs.map((o) => o.participants[0])).toEqual(['x', 'y', 'z']);
  });

  it('a participant at rest costs nothing but still wakes up: silence after speech decays, then a new start is seen', () => {
    const m = rawMixer({ vad: { attackFrames: 1, releaseFrames: 2 } });
    m.addParticipant('a', { output: 'PCMU' });
    m.addParticipant('l', { output: 'PCMU' });
    expect(m.mixOnce([{ id: 'a', pcm: constant(3000, N) }]).events).toEqual([{ id: 'a', speaking: true }]);
    const stops = [];
    for (let k = 0; k < 400; k++) stops.push(...m.mixOnce([]).events);
    expect(stops).toEqual([{ id: 'a', speaking: false }]);
    const r = m.mixOnce([{ id: 'a', pcm: constant(3000, N) }]);
    expect(r.events).toEqual([{ id: 'a', speaking: true }]);
    expect(r.talkers).toEqual(['a']);
    expect(pcmOf(outputFor(r, 'l'))[0]).toBe(3000);
  });
});
