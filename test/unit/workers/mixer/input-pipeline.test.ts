import { InputPipeline } from '../../../../workers/mixer/input-pipeline';
import { G711Encoder } from '../../../../workers/mixer/codec/g711';
import { G722Encoder } from '../../../../workers/mixer/codec/g722';
import { OpusAudioEncoder } from '../../../../workers/mixer/codec/opus';
import { sine, tonePower } from './audio-helpers';

function feed(p: InputPipeline, payloads: Buffer[], ticksPerFrame: number): Array<Int16Array | null> {
  const out: Array<Int16Array | null> = [];
  payloads.forEach((payload, i) => {
    p.push({ seq: i, timestamp: i * ticksPerFrame, ssrc: 1, payload }, i * 20);
    out.push(p.pull());
  });
  return out;
}

describe('InputPipeline', () => {
  it('PCMU 8 kHz in → 16 kHz mix-rate frames carrying the same tone', () => {
    const enc = new G711Encoder('PCMU');
    const payloads = Array.from({ length: 10 }, (_, k) =>
      enc.encode(sine(1000, 8000, 160, 8000, (2 * Math.PI * 1000 * k * 160) / 8000)),
    );
    const out = feed(new InputPipeline({ codec: 'PCMU', mixRate: 16000 }), payloads, 160);
    const last = out[9] as Int16Array;
    expect(last.length).toBe(320);
    expect(tonePower(last, 1000, 16000)).toBeGreaterThan(tonePower(last, 3000, 16000) * 1000);
  });

  it('G.722 comes out at 16 kHz without resampling; Opus is decoded at the mix rate', () => {
    const g = new G722Encoder();
    const gOut = feed(
      new InputPipeline({ codec: 'G722', mixRate: 16000 }),
      [g.encode(sine(500, 16000, 320, 8000))],
      160,
    );
    expect(gOut[0]?.length).toBe(320);
    const o = new OpusAudioEncoder({ sampleRate: 16000 });
    const oOut = feed(
      new InputPipeline({ codec: 'opus', mixRate: 16000 }),
      [o.encode(sine(500, 16000, 320, 8000))],
      960,
    );
    expect(oOut[0]?.length).toBe(320);
  });

  it('gates quiet frames (line noise) to null, loud ones pass', () => {
    const enc = new G711Encoder('PCMU');
    const noise = new Int16Array(160).map((_, i) => (i % 2 ? 8 : -8)); // −72 dBFS
    const p = new InputPipeline({ codec: 'PCMU', mixRate: 16000 });
    const out = feed(p, [enc.encode(noise), enc.encode(sine(440, 8000, 160, 5000))], 160);
    expect(out[0]).toBeNull();
    expect(p.lastLevelDb).toBeGreaterThan(-30);
    expect(out[1]).not.toBeNull();
  });
});
