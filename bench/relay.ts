/**
 * Cost of the phone-leg RTP relay (workers/mixer/relay) in a media worker thread, on loopback.
 *   node dist/bench/relay.js [legs] [seconds]
 *   node dist/bench/relay.js --mixer [seconds]      (mixer rooms hosted in a media thread)
 * N legs × 50 pps in each direction (phone → relay → "mediasoup" socket and back) for a bounded time. Reports the
 * relay thread's busy time (event loop utilisation of the worker: the relay's own JS + syscalls), per 1000 pps,
 * and the latency the relay adds (one-way, hrtime stamped in the payload; a direct phone → mediasoup run of the
 * same load gives the baseline, the difference is the relay's share).
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { MediaThreadPool } from '../src/media/mixer/media-thread-pool';
import type { MixerRoomHandle } from '../src/media/mixer/mixer-room-handle';
import type { RelayHandle } from '../src/media/mixer/relay-handle';

export interface RelayBenchOptions {
  legs?: number;
  seconds?: number;
  pps?: number;
}

export interface RelayBenchResult {
  legs: number;
  seconds: number;
  /** Packets per second through the relay, both directions together (as sent). */
  pps: number;
  delivered: number;
  sent: number;
  /** Relay thread event-loop busy fraction (0..1) during the run. */
  threadElu: number;
  /** Percent of one core the relay thread spends per 1000 packets per second. */
  pctCorePer1000pps: number;
  /** Thread busy µs per relayed packet. */
  usPerPacket: number;
  relayP50Us: number;
  relayP99Us: number;
  directP50Us: number;
  directP99Us: number;
  addedP50Us: number;
  addedP99Us: number;
}

const MAX_SECONDS = 60;
const MAX_LEGS = 500;

function hrNs(): bigint {
  return process.hrtime.bigint();
}

function packet(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 160);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.writeBigUInt64BE(hrNs(), 12);
  return b;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

interface Pair {
  phone: dgram.Socket;
  ms: dgram.Socket;
  relay?: RelayHandle;
}

/** Drives `pairs` at `pps` per direction for `seconds`; returns one-way latencies (µs) and counts. */
async function drive(
  pairs: Pair[],
  pps: number,
  seconds: number,
): Promise<{ lat: number[]; sent: number; delivered: number }> {
  const lat: number[] = [];
  let delivered = 0;
  const onMsg = (m: Buffer): void => {
    if (m.length < 20) return;
    delivered++;
    lat.push(Number(hrNs() - m.readBigUInt64BE(12)) / 1000);
  };
  for (const p of pairs) {
    p.phone.on('message', onMsg);
    p.ms.on('message', onMsg);
  }
  let sent = 0;
  // Legs are spread over SLOTS phases of the packet interval, as independent phones would be (a single burst of
  // every leg at once would measure queueing behind the burst, not the relay).
  const slots = Math.min(pairs.length, 10);
  const intervalMs = 1000 / pps / slots;
  const steps = Math.round(seconds * pps) * slots;
  let step = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const slot = step % slots;
      const seq = Math.floor(step / slots);
      for (let i = slot; i < pairs.length; i += slots) {
        const p = pairs[i]!;
        const toMsSide = p.relay ? p.relay.port : p.ms.address().port;
        const toPhoneSide = p.relay ? p.relay.innerPort : p.phone.address().port;
        p.phone.send(packet(seq, 0x1000 + i), toMsSide, '127.0.0.1');
        p.ms.send(packet(seq, 0x2000 + i), toPhoneSide, '127.0.0.1');
        sent += 2;
      }
      step++;
      if (step >= steps) return void setTimeout(resolve, 200);
      // drift-free schedule: step n at start + n * interval
      setTimeout(tick, Math.max(0, start + step * intervalMs - performance.now()));
    };
    tick();
  });
  for (const p of pairs) {
    p.phone.off('message', onMsg);
    p.ms.off('message', onMsg);
  }
  return { lat: lat.sort((a, b) => a - b), sent, delivered };
}

export async function run(opts: RelayBenchOptions = {}): Promise<RelayBenchResult> {
  const legs = Math.min(MAX_LEGS, Math.max(1, opts.legs ?? 20));
  const seconds = Math.min(MAX_SECONDS, Math.max(1, opts.seconds ?? 10));
  const pps = opts.pps ?? 50;
  const pool = await MediaThreadPool.create({ threads: 1, logger: pino({ level: 'silent' }) });
  const thread = pool.threadFor('bench');
  const pairs: Pair[] = [];
  try {
    for (let i = 0; i < legs; i++) pairs.push({ phone: await udp(), ms: await udp() });

    // baseline: the same load straight from socket to socket (no relay), shorter
    const direct = await drive(pairs, pps, Math.min(3, seconds));

    for (const [i, p] of pairs.entries()) {
      p.relay = await thread.createRelay({
        legId: `bench-${i}`,
        ip: '127.0.0.1',
        port: 0,
        remote: { ip: '127.0.0.1', port: p.phone.address().port },
        latch: true,
      });
      await p.relay.connectInner('127.0.0.1', p.ms.address().port);
    }
    const before = await thread.stats();
    const t0 = performance.now();
    const relayed = await drive(pairs, pps, seconds);
    const wallMs = performance.now() - t0;
    const after = await thread.stats();

    const busyMs = after.activeMs - before.activeMs;
    const elu = busyMs / wallMs;
    const relayedPps = (relayed.delivered / wallMs) * 1000;
    const rP50 = percentile(relayed.lat, 50);
    const rP99 = percentile(relayed.lat, 99);
    const dP50 = percentile(direct.lat, 50);
    const dP99 = percentile(direct.lat, 99);
    return {
      legs,
      seconds,
      pps: legs * pps * 2,
      sent: relayed.sent,
      delivered: relayed.delivered,
      threadElu: elu,
      pctCorePer1000pps: relayedPps > 0 ? (elu * 100) / (relayedPps / 1000) : NaN,
      usPerPacket: relayed.delivered > 0 ? (busyMs * 1000) / relayed.delivered : NaN,
      relayP50Us: rP50,
      relayP99Us: rP99,
      directP50Us: dP50,
      directP99Us: dP99,
      addedP50Us: rP50 - dP50,
      addedP99Us: rP99 - dP99,
    };
  } finally {
    for (const p of pairs) {
      await p.relay?.close();
      p.phone.close();
      p.ms.close();
    }
    await pool.close();
  }
}

export interface MixerBenchOptions {
  rooms?: number;
  participants?: number;
  /** Participants per room sending speech-like audio (the rest send low line noise). */
  talkers?: number;
  seconds?: number;
}

export interface MixerBenchResult {
  rooms: number;
  participants: number;
  talkers: number;
  threadElu: number;
  tickMeanUs: number;
  tickMaxUs: number;
  packetsOut: number;
  expectedOut: number;
}

/**
 * Mixer rooms in one media thread, fed over loopback as mediasoup's mixer-input transport would (PCMU, 50 pps
 * per participant), mixed RTP out to a sink socket. Thread busy time covers receive + jitter buffer + decode +
 * mix + encode + send.
 */
export async function runMixer(opts: MixerBenchOptions = {}): Promise<MixerBenchResult> {
  const rooms = Math.min(50, Math.max(1, opts.rooms ?? 1));
  const participants = Math.min(200, Math.max(2, opts.participants ?? 10));
  const talkers = Math.min(participants, opts.talkers ?? 3);
  const seconds = Math.min(MAX_SECONDS, Math.max(1, opts.seconds ?? 10));
  const pool = await MediaThreadPool.create({ threads: 1, logger: pino({ level: 'silent' }) });
  const thread = pool.threadFor('bench');
  const sink = await udp();
  const src = await udp();
  let received = 0;
  sink.on('message', () => received++);
  // µ-law of a tone (talkers) and of faint noise (listeners): precomputed 20 ms payloads
  const ulaw = (v: number): number => {
    const s = Math.max(-32635, Math.min(32635, v));
    const sign = s < 0 ? 0x80 : 0;
    let m = Math.abs(s) + 132;
    let e = 7;
    for (let mask = 0x4000; (m & mask) === 0 && e > 0; mask >>= 1) e--;
    m = (m >> (e + 3)) & 0x0f;
    return ~(sign | (e << 4) | m) & 0xff;
  };
  const voice = (p: number, frame: number): Buffer =>
    Buffer.from(
      Array.from({ length: 160 }, (_, i) =>
        ulaw(
          p < talkers
            ? 8000 * Math.sin((2 * Math.PI * (200 + 50 * p) * (frame * 160 + i)) / 8000)
            : ((i * 7919 + frame) % 64) - 32,
        ),
      ),
    );
  const handles: MixerRoomHandle[] = [];
  try {
    for (let r = 0; r < rooms; r++) {
      const room = await thread.createMixerRoom({ roomId: `room-${r}` });
      await room.connectOutput('127.0.0.1', sink.address().port);
      for (let p = 0; p < participants; p++) {
        await room.addParticipant({
          participantId: `p${p}`,
          input: { ssrc: r * 1000 + p + 1, payloadType: 0, codec: 'PCMU' },
          output: { ssrc: 0x10000 + r * 1000 + p, payloadType: 0, codec: 'PCMU' },
        });
      }
      handles.push(room);
    }
    const frames = Array.from({ length: participants }, (_, p) =>
      Array.from({ length: 50 }, (_, f) => voice(p, f)),
    );
    const before = await thread.stats();
    const t0 = performance.now();
    const steps = seconds * 50;
    let step = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        for (const [r, room] of handles.entries()) {
          for (let p = 0; p < participants; p++) {
            const h = Buffer.alloc(12);
            h[0] = 0x80;
            h.writeUInt16BE(step & 0xffff, 2);
            h.writeUInt32BE((step * 160) >>> 0, 4);
            h.writeUInt32BE(r * 1000 + p + 1, 8);
            src.send([h, frames[p]![step % 50]!], room.inputPort, '127.0.0.1');
          }
        }
        step++;
        if (step >= steps) return void setTimeout(resolve, 100);
        setTimeout(tick, Math.max(0, t0 + step * 20 - performance.now()));
      };
      tick();
    });
    const wallMs = performance.now() - t0;
    const after = await thread.stats();
    const stats = await Promise.all(handles.map((h) => h.stats()));
    return {
      rooms,
      participants,
      talkers,
      threadElu: (after.activeMs - before.activeMs) / wallMs,
      tickMeanUs: stats.reduce((a, s) => a + s.tickMeanUs, 0) / stats.length,
      tickMaxUs: Math.max(...stats.map((s) => s.tickMaxUs)),
      packetsOut: received,
      expectedOut: rooms * participants * steps,
    };
  } finally {
    for (const h of handles) await h.close();
    sink.close();
    src.close();
    await pool.close();
  }
}

export function printMixerTable(rows: MixerBenchResult[]): void {
  console.log('rooms  parts  talkers  thread %  tick mean µs  tick max µs  out/expected');
  for (const r of rows) {
    console.log(
      [
        String(r.rooms).padStart(5),
        String(r.participants).padStart(5),
        String(r.talkers).padStart(7),
        (r.threadElu * 100).toFixed(1).padStart(8),
        r.tickMeanUs.toFixed(0).padStart(12),
        r.tickMaxUs.toFixed(0).padStart(11),
        `${r.packetsOut}/${r.expectedOut}`.padStart(13),
      ].join('  '),
    );
  }
}

export function printTable(rows: RelayBenchResult[]): void {
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const head = [
    'legs',
    'pps',
    'loss %',
    'thread %',
    '% core/1k pps',
    'µs/pkt',
    'p50 µs',
    'p99 µs',
    '+p50 µs',
    '+p99 µs',
  ];
  const lines = rows.map((r) => [
    String(r.legs),
    String(r.pps),
    f((1 - r.delivered / r.sent) * 100, 2),
    f(r.threadElu * 100),
    f(r.pctCorePer1000pps, 2),
    f(r.usPerPacket),
    f(r.relayP50Us, 0),
    f(r.relayP99Us, 0),
    f(r.addedP50Us, 0),
    f(r.addedP99Us, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--mixer') {
    const rows: MixerBenchResult[] = [];
    for (const [rooms, participants] of [
      [1, 10],
      [1, 50],
      [5, 10],
    ] as const) {
      rows.push(await runMixer({ rooms, participants, talkers: 3, seconds: Number(process.argv[3] ?? 10) }));
    }
    console.log('Mixer rooms in one media thread, PCMU in/out at 16 kHz mix, 3 talkers per room');
    printMixerTable(rows);
    return;
  }
  const legsArg = process.argv[2] ? Number(process.argv[2]) : undefined;
  const secondsArg = process.argv[3] ? Number(process.argv[3]) : undefined;
  const legCounts = legsArg ? [legsArg] : [10, 50, 100];
  const rows: RelayBenchResult[] = [];
  for (const legs of legCounts) rows.push(await run({ legs, seconds: secondsArg ?? 10 }));
  console.log(
    'RTP relay, one media thread, loopback, 50 pps per direction per leg (+p50/p99: added vs direct)',
  );
  printTable(rows);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
