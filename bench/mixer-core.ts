/**
 * Cost of the mixer's pure core on this machine, per 20 ms tick (one core = 20 000 µs per tick).
 *   node dist/bench/mixer-core.js
 * Bounded: every measurement is a fixed number of ticks/frames (a few seconds in total).
 */
import { Decoder as OpusDecoder, Encoder as OpusEncoder } from '@parley/opus';
import { G711Decoder, G711Encoder } from '../workers/mixer/codec/g711';
import { G722Decoder, G722Encoder } from '../workers/mixer/codec/g722';
import { OpusAudioDecoder, OpusAudioEncoder } from '../workers/mixer/codec/opus';
import type { OpusRate } from '../workers/mixer/codec/opus';
import type { CodecName } from '../workers/mixer/codec/codec';
import { InputPipeline } from '../workers/mixer/input-pipeline';
import { Mixer } from '../workers/mixer/mixer';
import type { MixInput } from '../workers/mixer/mixer';
import { Resampler } from '../workers/mixer/resampler';
import { RtpOutputStream } from '../workers/mixer/rtp';

export interface BenchRow {
  name: string;
  /** µs per 20 ms tick (or per 20 ms frame for codec rows). */
  usPerTick: number;
  /** Percent of one core at 50 ticks/s. */
  pctCore: number;
  note?: string;
}

const TICK_US = 20000;

function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/** Best-of-`batches` average µs per call of fn (min of batch means: least disturbed by the shared machine). */
function measure(
  fn: (i: number) => void,
  iterations: number,
  batches = 5,
  warmup = Math.min(50, iterations),
): number {
  for (let i = 0; i < warmup; i++) fn(i);
  let best = Infinity;
  let k = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = nowUs();
    for (let i = 0; i < iterations; i++) fn(k++);
    best = Math.min(best, (nowUs() - t0) / iterations);
  }
  return best;
}

/** Like `measure` for several cases, alternating them batch by batch so load changes hit all alike. */
function measureInterleaved(fns: Array<(i: number) => void>, iterations: number, batches = 7): number[] {
  const best = fns.map(() => Infinity);
  for (const fn of fns) for (let i = 0; i < Math.min(50, iterations); i++) fn(i);
  for (let b = 0; b < batches; b++) {
    fns.forEach((fn, f) => {
      const t0 = nowUs();
      for (let i = 0; i < iterations; i++) fn(b * iterations + i);
      best[f] = Math.min(best[f], (nowUs() - t0) / iterations);
    });
  }
  return best;
}

function row(name: string, us: number, note?: string): BenchRow {
  return { name, usPerTick: us, pctCore: (us / TICK_US) * 100, note };
}

/** Speech-like test signal: two harmonics with a 4 Hz syllable envelope and a little noise. */
function speech(rate: number, seconds: number, f0: number, seed: number): Int16Array {
  const n = rate * seconds;
  const out = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const t = i / rate;
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    const v = env * (7000 * Math.sin(2 * Math.PI * f0 * t) + 3000 * Math.sin(2 * Math.PI * 3.1 * f0 * t));
    out[i] = Math.round(v + ((x / 0x7fffffff) * 2 - 1) * 300);
  }
  return out;
}

function frames(signal: Int16Array, frameSamples: number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let i = 0; i + frameSamples <= signal.length; i += frameSamples)
    out.push(signal.slice(i, i + frameSamples));
  return out;
}

interface Room {
  tick(): void;
}

/**
 * One room: `talkers` PCMU talkers (full receive chain) and `listeners` PCMU listeners. Each tick: talkers'
 * packets → InputPipeline → mixOnce → an RTP packet stamped for every recipient (what the worker would hand
 * to the socket). `listenersSend`: listeners are un-muted and send line noise that must be decoded and gated.
 */
function buildRoom(
  talkers: number,
  listeners: number,
  listenersSend: boolean,
  maxTalkers = 3,
  listenerFormats: CodecName[] = ['PCMU'],
  mixRate: 8000 | 16000 = 16000,
): Room {
  const mixer = new Mixer({ sampleRate: mixRate, maxTalkers });
  const enc = new G711Encoder('PCMU');
  const talkerPackets = Array.from({ length: talkers }, (_, t) =>
    frames(speech(8000, 2, 140 + 37 * t, t + 1), 160).map((f) => enc.encode(f)),
  );
  const noisePackets = frames(
    speech(8000, 1, 100, 99).map((s) => s >> 9),
    160,
  ).map((f) => enc.encode(f));
  const pipes = new Map<string, InputPipeline>();
  const streams = new Map<string, RtpOutputStream>();
  const ids: string[] = [];
  for (let t = 0; t < talkers; t++) ids.push(`t${t}`);
  for (let l = 0; l < listeners; l++) ids.push(`l${l}`);
  ids.forEach((id, i) => {
    const isTalker = id.startsWith('t');
    const output = isTalker ? 'PCMU' : listenerFormats[i % listenerFormats.length];
    mixer.addParticipant(id, { output, muted: !isTalker && !listenersSend });
    if (isTalker || listenersSend) pipes.set(id, new InputPipeline({ codec: 'PCMU', mixRate }));
    streams.set(
      id,
      new RtpOutputStream({
        ssrc: i + 1,
        payloadType: 0,
        ticksPerFrame: 160,
        initialSeq: 0,
        initialTimestamp: 0,
      }),
    );
  });
  let n = 0;
  const inputs: MixInput[] = [];
  return {
    tick(): void {
      inputs.length = 0;
      for (const [id, pipe] of pipes) {
        const isTalker = id.startsWith('t');
        const src = isTalker ? talkerPackets[Number(id.slice(1))] : noisePackets;
        pipe.push(
          { seq: n & 0xffff, timestamp: (n * 160) >>> 0, ssrc: 1, payload: src[n % src.length] },
          n * 20,
        );
        inputs.push({ id, pcm: pipe.pull() });
      }
      const r = mixer.mixOnce(inputs);
      for (const o of r.outputs)
        for (const id of o.participants) (streams.get(id) as RtpOutputStream).next(o.payload);
      n++;
    },
  };
}

interface OpusLike {
  name: string;
  encode(pcm: Buffer): Buffer;
  decode(pkt: Buffer): Buffer;
}

function opusLibraries(rate: OpusRate): OpusLike[] {
  const libs: OpusLike[] = [];
  const enc = new OpusEncoder(rate, 1, 2048);
  enc.ctl(4010, 5);
  enc.ctl(4002, 32000);
  const dec = new OpusDecoder(rate, 1);
  const toPcm = (b: Buffer) => new Int16Array(b.buffer, b.byteOffset, b.length >> 1);
  libs.push({
    name: '@parley/opus (native, system libopus)',
    encode: (b) => enc.encode(toPcm(b)),
    decode: (p) => {
      const pcm = dec.decode(p, rate / 50, false);
      return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    },
  });
  try {
    // devDependency, only for this comparison
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const OpusScript = require('opusscript') as new (
      rate: number,
      channels: number,
      app: number,
    ) => {
      encode(b: Buffer, frameSize: number): Buffer;
      decode(p: Buffer): Buffer;
      encoderCTL(ctl: number, v: number): void;
      setBitrate(b: number): void;
    };
    const wasm = new OpusScript(rate, 1, 2048);
    wasm.encoderCTL(4010, 5);
    wasm.setBitrate(32000);
    libs.push({
      name: 'opusscript (wasm)',
      encode: (b) => wasm.encode(b, rate / 50),
      decode: (p) => wasm.decode(p),
    });
  } catch {
    // not installed: comparison row skipped
  }
  return libs;
}

export function run(print = true): BenchRow[] {
  const rows: BenchRow[] = [];
  const narrowbandRoom = buildRoom(3, 10, false, 3, ['PCMU'], 8000);

  // 1. Room ticks
  const roomUs = new Map<string, number>();
  for (const mode of ['muted', 'open'] as const) {
    for (const n of [10, 100, 500, 1000]) {
      const room = buildRoom(3, n, mode === 'open');
      const us = measure(() => room.tick(), n >= 500 ? 60 : 200, 7, 50);
      roomUs.set(`${mode}:${n}`, us);
      rows.push(
        row(
          `room tick: 3 talkers + ${n} PCMU listeners (${mode === 'muted' ? 'listeners muted' : 'listeners un-muted, sending noise'})`,
          us,
        ),
      );
    }
  }
  for (const mode of ['muted', 'open'] as const) {
    const per = ((roomUs.get(`${mode}:1000`) as number) - (roomUs.get(`${mode}:10`) as number)) / 990;
    rows.push(
      row(`  per listener (${mode}), slope 10→1000`, per, 'RTP stamping (+ decode & gate when un-muted)'),
    );
  }
  const mixedFormats = buildRoom(3, 1000, false, 3, ['PCMU', 'PCMA', 'G722', 'opus']);
  rows.push(
    row(
      'room tick: 3 talkers + 1000 listeners on PCMU/PCMA/G722/opus (muted)',
      measure(() => mixedFormats.tick(), 60, 7, 20),
      'one shared encode per format',
    ),
  );
  // 2. Per talker: 1 → 3 mixed talkers with 100 muted listeners
  const t1 = buildRoom(1, 100, false);
  const t3 = buildRoom(3, 100, false);
  const [us1, us3] = measureInterleaved([() => t1.tick(), () => t3.tick()], 200, 9);
  rows.push(
    row(
      '  per PCMU talker, slope 1→3 talkers',
      (us3 - us1) / 2,
      'jitter buffer, decode, 8→16k, mix-minus, 16→8k, encode',
    ),
  );

  // 2b. The same at an 8 kHz mix (a room of G.711 phones only: no resampling at all)
  const n1 = buildRoom(1, 100, false, 3, ['PCMU'], 8000);
  const n3 = buildRoom(3, 100, false, 3, ['PCMU'], 8000);
  const [nus1, nus3] = measureInterleaved([() => n1.tick(), () => n3.tick()], 200, 9);
  rows.push(
    row('  per PCMU talker, 8 kHz mix, slope 1→3 talkers', (nus3 - nus1) / 2, 'no resampler in or out'),
  );
  rows.push(
    row(
      'room tick: 3 talkers + 10 PCMU listeners, 8 kHz mix (muted)',
      measure(() => narrowbandRoom.tick(), 200, 7, 50),
    ),
  );

  // 3. Codecs per stream (one 20 ms frame)
  const s16 = frames(speech(16000, 2, 150, 7), 320);
  const s8 = frames(speech(8000, 2, 150, 7), 160);
  const s48 = frames(speech(48000, 2, 150, 7), 960);
  const g711e = new G711Encoder('PCMU');
  const g711d = new G711Decoder('PCMU');
  const g711p = s8.map((f) => g711e.encode(f));
  rows.push(
    row(
      'G.711 µ-law encode, 1 stream',
      measure((i) => g711e.encode(s8[i % s8.length]), 2000),
    ),
  );
  rows.push(
    row(
      'G.711 µ-law decode, 1 stream',
      measure((i) => g711d.decode(g711p[i % g711p.length]), 2000),
    ),
  );
  const g722e = new G722Encoder();
  const g722d = new G722Decoder();
  const g722p = s16.map((f) => new G722Encoder().encode(f));
  rows.push(
    row(
      'G.722 encode, 1 stream',
      measure((i) => g722e.encode(s16[i % s16.length]), 500),
    ),
  );
  rows.push(
    row(
      'G.722 decode, 1 stream',
      measure((i) => g722d.decode(g722p[i % g722p.length]), 500),
    ),
  );
  const up = new Resampler(8000, 16000);
  const down = new Resampler(16000, 8000);
  const d48 = new Resampler(48000, 16000);
  rows.push(
    row(
      'resample 8k→16k, 1 stream',
      measure((i) => up.process(s8[i % s8.length]), 1000),
    ),
  );
  rows.push(
    row(
      'resample 16k→8k, 1 stream',
      measure((i) => down.process(s16[i % s16.length]), 1000),
    ),
  );
  rows.push(
    row(
      'resample 48k→16k, 1 stream',
      measure((i) => d48.process(s48[i % s48.length]), 500),
    ),
  );

  // 4. Opus: wrapper cost per talker (as used by the mixer, 16 kHz), and the library comparison
  for (const rate of [16000, 48000] as const) {
    const src = rate === 16000 ? s16 : s48;
    const enc = new OpusAudioEncoder({ sampleRate: rate });
    const dec = new OpusAudioDecoder({ sampleRate: rate });
    const pk = src.map((f) => enc.encode(f));
    rows.push(
      row(
        `Opus encode ${rate / 1000} kHz (wrapper), per talker`,
        measure((i) => enc.encode(src[i % src.length]), 300),
      ),
    );
    rows.push(
      row(
        `Opus decode ${rate / 1000} kHz (wrapper), per talker`,
        measure((i) => dec.decode(pk[i % pk.length]), 300),
      ),
    );
    rows.push(
      row(
        `Opus PLC ${rate / 1000} kHz (wrapper), per lost frame`,
        measure(() => dec.plc(), 300),
      ),
    );
    rows.push(
      row(
        `Opus FEC ${rate / 1000} kHz (wrapper), per recovered frame`,
        measure((i) => dec.decodeFec(pk[i % pk.length], rate / 50), 300),
        'LBRR of the next packet (encoder planned for 5 % loss)',
      ),
    );
  }
  for (const rate of [48000, 16000] as const) {
    const src = (rate === 48000 ? s48 : s16).map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    const libs = opusLibraries(rate);
    const pks = libs.map((lib) => src.map((b) => lib.encode(b)));
    const enc = measureInterleaved(
      libs.map((lib) => (i: number) => lib.encode(src[i % src.length])),
      200,
    );
    const dec = measureInterleaved(
      libs.map((lib, l) => (i: number) => lib.decode(pks[l][i % pks[l].length])),
      300,
    );
    libs.forEach((lib, l) => {
      rows.push(
        row(
          `  ${lib.name} encode ${rate / 1000}k 20 ms mono`,
          enc[l],
          l > 0 ? `${(enc[l] / enc[0]).toFixed(2)}× native` : '',
        ),
      );
      rows.push(
        row(
          `  ${lib.name} decode ${rate / 1000}k 20 ms mono`,
          dec[l],
          l > 0 ? `${(dec[l] / dec[0]).toFixed(2)}× native` : '',
        ),
      );
    });
  }

  if (print) printTable(rows);
  return rows;
}

function printTable(rows: BenchRow[]): void {
  const w = Math.max(...rows.map((r) => r.name.length));
  const line = `${'case'.padEnd(w)}  ${'µs/tick'.padStart(9)}  ${'% core'.padStart(7)}  note`;
  console.log(line);
  console.log('-'.repeat(line.length + 20));
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${r.usPerTick.toFixed(1).padStart(9)}  ${r.pctCore.toFixed(2).padStart(7)}  ${r.note ?? ''}`,
    );
  }
}

if (require.main === module) run();
