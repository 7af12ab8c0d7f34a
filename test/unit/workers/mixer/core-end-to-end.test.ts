/**
 * The whole pure core, frame by frame, without sockets or timers: RTP payloads of three phones on three
 * codecs → InputPipeline (jitter buffer, decode, resample) → Mixer (16 kHz) → per-participant payloads →
 * decode as the phone would. Every phone sends its own tone (livekit siptest style) and must hear the two
 * others but not itself; the G.722 and Opus phones also keep a 6 kHz tone that G.711 cannot carry.
 */
import { createDecoder, createEncoder } from '../../../../workers/mixer/codec';
import type { CodecName } from '../../../../workers/mixer/codec';
import { InputPipeline } from '../../../../workers/mixer/input-pipeline';
import { Mixer } from '../../../../workers/mixer/mixer';
import type { MixResult } from '../../../../workers/mixer/mixer';
import { sine, tonePower } from './audio-helpers';

interface Phone {
  id: string;
  codec: CodecName;
  tone: number;
}

const phones: Phone[] = [
  { id: 'pcmu', codec: 'PCMU', tone: 440 },
  { id: 'g722', codec: 'G722', tone: 1000 },
  { id: 'opus', codec: 'opus', tone: 1700 },
];

function ticksPerFrame(c: CodecName): number {
  return c === 'opus' ? 960 : 160;
}

function run(ticks: number, extraTone?: { from: string; freq: number }): Map<string, Int16Array> {
  const mixer = new Mixer();
  const pipes = new Map<string, InputPipeline>();
  const senders = new Map<string, ReturnType<typeof createEncoder>>();
  const receivers = new Map<string, ReturnType<typeof createDecoder>>();
  for (const p of phones) {
    mixer.addParticipant(p.id, { output: p.codec });
    pipes.set(p.id, new InputPipeline({ codec: p.codec, mixRate: 16000 }));
    senders.set(p.id, createEncoder(p.codec, 16000));
    receivers.set(p.id, createDecoder(p.codec, 16000));
  }
  const heard = new Map<string, Int16Array[]>(phones.map((p) => [p.id, []]));
  for (let k = 0; k < ticks; k++) {
    // each phone sends one packet per tick (own clock, own seq/ts)
    for (const p of phones) {
      const enc = senders.get(p.id)!;
      const n = enc.frameSamples;
      const rate = enc.sampleRate;
      let pcm = sine(p.tone, rate, n, 6000, (2 * Math.PI * p.tone * k * n) / rate);
      if (extraTone?.from === p.id) {
        const hi = sine(extraTone.freq, rate, n, 6000, (2 * Math.PI * extraTone.freq * k * n) / rate);
        pcm = pcm.map((s, i) => s + hi[i]);
      }
      const payload = enc.encode(pcm);
      pipes.get(p.id)!.push({ seq: k, timestamp: k * ticksPerFrame(p.codec), ssrc: 1, payload }, k * 20);
    }
    const r: MixResult = mixer.mixOnce(phones.map((p) => ({ id: p.id, pcm: pipes.get(p.id)!.pull() })));
    for (const out of r.outputs) {
      for (const id of out.participants) heard.get(id)!.push(receivers.get(id)!.decode(out.payload));
    }
  }
  const result = new Map<string, Int16Array>();
  for (const [id, frames] of heard) {
    const tail = frames.slice(-10); // steady state
    const all = new Int16Array(tail.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of tail) {
      all.set(f, off);
      off += f.length;
    }
    result.set(id, all);
  }
  return result;
}

describe('pure mixer core end to end (PCMU + G.722 + Opus phones)', () => {
  it('every phone hears the other two tones and not its own', () => {
    const heard = run(40);
    for (const p of phones) {
      const pcm = heard.get(p.id)!;
      const rate = p.codec === 'PCMU' ? 8000 : 16000;
      const own = tonePower(pcm, p.tone, rate);
      for (const other of phones) {
        if (other.id === p.id) continue;
        const theirs = tonePower(pcm, other.tone, rate);
        expect(theirs).toBeGreaterThan(own * 100);
        expect(theirs).toBeGreaterThan(1e5);
      }
    }
  });

  it('wideband among wideband phones: a 6 kHz component from the G.722 phone reaches the Opus phone, and is not aliased into the G.711 phone', () => {
    const heard = run(40, { from: 'g722', freq: 6000 });
    const opus = heard.get('opus')!;
    expect(tonePower(opus, 6000, 16000)).toBeGreaterThan(tonePower(opus, 1000, 16000) * 0.1);
    const pcmu = heard.get('pcmu')!;
    // 6 kHz would fold to 2 kHz at 8 kHz without the anti-alias filter
    expect(tonePower(pcmu, 2000, 8000)).toBeLessThan(tonePower(pcmu, 1000, 8000) * 1e-3);
  });
});
