/**
 * The WHOLE phone media path of Parley against Janus AudioBridge, same participants, same run, same machine:
 *   node dist/bench/full-path.js [--quick] [--no-janus] [--no-parley] [--seconds=N] [--rows=5x3+7,1x3+250]
 *                                [--janus-prebuffering=N]
 *
 * Every participant is a plain-RTP phone of bench/lib/rtp-phones.ts (its own UDP socket, G.711 PCMU, 20 ms,
 * sending continuously on a wall-clock schedule: talkers a tone, listeners comfort noise).
 * - Parley: the built server as a black box (bench/lib/parley-server.ts, `conference.joinTones: false`), each phone
 *   a real SIP call (INVITE with an SDP offer → 200 with the answer → ACK, over Parley's own SIP stack as the UAC),
 *   its RTP to the port of the answer. CPU = the whole process tree: the server process (all its threads: main,
 *   media threads…) + every descendant process (mediasoup workers).
 * - Janus 1.1.x AudioBridge (bench/lib/janus.ts, loopback only, rooms at 16 kHz, defaults unless
 *   --janus-prebuffering), each phone a plain-RTP participant (`join` with `rtp: {ip, port, payload_type}`), its RTP
 *   to the port of the join answer. CPU = the Janus process (all threads).
 * Per row (K rooms × (talkers + listeners)), once for each system, a fresh server: join every phone, warm up, then a
 * window of N s: CPU (% of one core), delivery (audio packets every phone received / 50 per second; and per phone
 * by RTP sequence numbers), and the mouth-to-ear latency the server adds: in room 0 one talker (the "mouth") sends
 * a 2 kHz click every 500 ms over its tone, one listener (the "ear") times the click's onset in what it hears
 * (click sent → first sample of it heard, as bench/mixer-load.ts does for the mixer alone).
 * Measures, never asserts. Loopback only; bounded: fixed rows, fixed windows, every wait has a deadline.
 */
import os from 'node:os';
import { SipStack } from '../src/sip/ua/sip-stack';
import { silentLogger } from '../src/logging/logger';
import { JanusSession, janusAvailable, startJanus, type JanusInstance } from './lib/janus';
import { ParleyServer, freeSipPort, sleep } from './lib/parley-server';
import { printTable } from './lib/proc';
import { cpuBetween, snapTree, type CpuSnap, type CpuSplit } from './lib/tree-cpu';
import {
  Pacer,
  Phone,
  clickLatency,
  comfortNoiseFrames,
  mouthFrames,
  pcmuAnswerTarget,
  pcmuOffer,
  talkerFrames,
  udpDropsByPort,
  type Latency,
  type Role,
} from './lib/rtp-phones';

export interface Load {
  rooms: number;
  talkers: number;
  listeners: number;
}

export type SystemName = 'Parley' | 'Janus';

export interface FullPathOptions {
  quick?: boolean;
  /** Measurement window per row and system, s (default 10; quick 4). */
  seconds?: number;
  rows?: Load[];
  janus?: boolean;
  parley?: boolean;
  /** AudioBridge `default_prebuffering` for the rooms (Janus default: 6 packets). */
  janusPrebuffering?: number;
}

export interface Result {
  system: SystemName;
  load: Load;
  participants: number;
  joined: number;
  setupS: number;
  /** % of one core: Parley = server process + descendants; Janus = its process. */
  cpuPct: number;
  /** Parley: main thread, the busiest N other threads (the media threads, N = their configured number), the
   *  remaining threads of the server process (V8/GC/libuv helpers), the descendant processes (mediasoup). */
  split?: CpuSplit;
  maxThreadPct: number;
  threads: number;
  /** (audio packets received + dropped at the phones' sockets) / (phones × 50/s × window), %. */
  deliveredPct: number;
  /** Lowest per-phone received / RTP sequence span in the window, %. */
  worstPhonePct: number;
  /** Packets received / 20 ms frames their RTP timestamps span, all phones, %: below 100 when the server skips
   *  ticks of its own timeline (or they are lost), whatever the rig's timing. */
  timelinePct: number;
  /** 20 ms frames of the senders' timelines per phone per second of the window (50 when it keeps time). */
  timelineFps: number;
  /** Phones under 99.9 % by sequence, or under 99 % by rate (a stalled or silent stream). */
  phonesBelow: number;
  rigDrops: number;
  latency: Latency;
  /** CPU of this bench process (the phones), % of one core. */
  rigCpuPct: number;
  load1: number;
  /** The phones' schedule in the window: times it fell > 200 ms behind, and its largest lateness (ms). */
  pacerStalls: number;
  pacerLateMs: number;
  error?: string;
  notes?: string;
}

const WARMUP_MS = 2500;
const SETUP_LIMIT_MS = 180_000;
const JOIN_CONCURRENCY = 16;

export const QUICK_ROWS: Load[] = [
  { rooms: 5, talkers: 3, listeners: 7 },
  { rooms: 25, talkers: 3, listeners: 7 },
  { rooms: 1, talkers: 3, listeners: 250 },
  { rooms: 1, talkers: 13, listeners: 40 },
  { rooms: 50, talkers: 2, listeners: 2 },
];
export const DEFAULT_ROWS: Load[] = [...QUICK_ROWS, { rooms: 1, talkers: 3, listeners: 500 }];

export const loadLabel = (l: Load): string => `${l.rooms} × (${l.talkers} talk + ${l.listeners} listen)`;

// ---------------------------------------------------------------- helpers

async function parallel(jobs: Array<() => Promise<void>>, limit: number): Promise<Error[]> {
  let next = 0;
  const errors: Error[] = [];
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      try {
        await jobs[next++]!();
      } catch (err) {
        errors.push(err as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return errors;
}

/** Lets the event loop poll the sockets a few times (libuv reads up to 32 datagrams per socket per poll). */
async function drainIo(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

// ---------------------------------------------------------------- systems

interface Deployment {
  /** CPU of "the server" between two calls of snap(). */
  snap(): CpuSnap;
  cpu(a: CpuSnap, b: CpuSnap): CpuSplit;
  /** Whether the split (main / media threads / children) means something for this system. */
  split: boolean;
  /** Server-side warnings/errors worth a note. */
  problems(): string;
  teardown(): Promise<void>;
}

interface System {
  name: SystemName;
  /** Signals every phone; a phone starts sending (pacer.add) as soon as it has its remote address. */
  deploy(
    load: Load,
    rowNo: number,
    phones: Phone[][],
    pacer: Pacer,
  ): Promise<{ dep: Deployment; errors: Error[] }>;
}

function parleySystem(): System {
  return {
    name: 'Parley',
    async deploy(_load, rowNo, phones, pacer) {
      const port = await freeSipPort(15060 + (process.pid % 40) * 10);
      const srv = await ParleyServer.start(port, {
        config: {
          conference: {
            joinTones: false,
            maxParticipants: 2000,
            emptyRoomGraceSeconds: 600,
          },
        },
        env: {
          // 10,000 ports (half for mediasoup, half for phone legs): room for 1,000+ participants; below the
          // kernel's ephemeral range (32768+), where the phones' own sockets live
          PARLEY_RTC_MIN_PORT: '20000',
          PARLEY_RTC_MAX_PORT: '29999',
          PARLEY_LOG_LEVEL: 'info', // bench/lib/parley-server.ts waits for the info line 'parley started'
        },
        openFiles: 65536,
      });
      let stack: SipStack | null = null;
      const teardown = async (): Promise<void> => {
        // the server hangs up every call as it stops; the UAC stack answers the BYEs, then closes
        await srv.stop();
        await stack?.close();
      };
      try {
        const uac = await SipStack.create({
          listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
          logger: silentLogger(),
        });
        stack = uac;
        const deadline = Date.now() + SETUP_LIMIT_MS;
        const jobs: Array<() => Promise<void>> = [];
        phones.forEach((room, r) =>
          room.forEach((phone, p) =>
            jobs.push(async () => {
              if (Date.now() > deadline) throw new Error(`setup over ${SETUP_LIMIT_MS / 1000} s`);
              const user = `r${r}p${p}`;
              const dialog = await uac.invite(`sip:fp${rowNo}r${r}@127.0.0.1:${port}`, {
                sdp: pcmuOffer(user, phone.port),
                from: `"${user}" <sip:${user}@127.0.0.1>`,
                timeoutMs: 32000,
              });
              phone.remote = pcmuAnswerTarget(dialog.remoteSdp?.toString() ?? '');
              pacer.add(phone);
            }),
          ),
        );
        const errors = await parallel(jobs, JOIN_CONCURRENCY);
        const media = os.availableParallelism(); // PARLEY_RTC_NUM_WORKERS unset: one media thread per core
        return {
          errors,
          dep: {
            snap: () => snapTree(srv.pid, true),
            cpu: (a, b) => cpuBetween(srv.pid, a, b, media),
            split: true,
            problems: () =>
              Object.entries(srv.problemSummary())
                .map(([k, n]) => `${n}× ${k}`)
                .join(', ')
                .slice(0, 300),
            teardown,
          },
        };
      } catch (err) {
        await teardown();
        throw err;
      }
    },
  };
}

function janusSystem(prebuffering: number | undefined): System {
  return {
    name: 'Janus',
    async deploy(load, rowNo, phones, pacer) {
      // its plain-RTP ports below the ephemeral range too (Parley is not running meanwhile)
      const janus: JanusInstance = await startJanus({ rtpRange: '20000-29999' });
      let session: JanusSession | null = null;
      const teardown = async (): Promise<void> => {
        // no polite session destroy: an overloaded Janus may take minutes to answer; it is per row anyway
        session?.stopPolling();
        await janus.close();
      };
      try {
        const sess = await JanusSession.create(janus.url);
        session = sess;
        const admin = await sess.attach('janus.plugin.audiobridge');
        const deadline = Date.now() + SETUP_LIMIT_MS;
        const jobs: Array<() => Promise<void>> = [];
        for (let r = 0; r < load.rooms; r++) {
          const room = rowNo * 1000 + r + 1;
          await sess.createAudioBridgeRoom(admin, room, prebuffering);
          phones[r]!.forEach((phone, p) =>
            jobs.push(async () => {
              if (Date.now() > deadline) throw new Error(`setup over ${SETUP_LIMIT_MS / 1000} s`);
              const h = await sess.attach('janus.plugin.audiobridge');
              const joined = await sess.message(
                h,
                {
                  request: 'join',
                  room,
                  display: `r${r}p${p}`,
                  codec: 'pcmu',
                  rtp: { ip: '127.0.0.1', port: phone.port, payload_type: 0 },
                },
                30000,
              );
              const rtp = joined.rtp as { ip: string; port: number } | undefined;
              if (!rtp) throw new Error(`janus join without rtp: ${JSON.stringify(joined).slice(0, 200)}`);
              // AudioBridge sends to a plain-RTP participant once it received RTP from it: the phone sends anyway
              phone.remote = { ip: rtp.ip, port: rtp.port, pt: 0 };
              pacer.add(phone);
            }),
          );
        }
        const errors = await parallel(jobs, JOIN_CONCURRENCY);
        return {
          errors,
          dep: {
            snap: () => snapTree(janus.pid, false),
            cpu: (a, b) => cpuBetween(janus.pid, a, b, 0),
            split: false,
            problems: () => '',
            teardown,
          },
        };
      } catch (err) {
        await teardown();
        throw err;
      }
    },
  };
}

// ---------------------------------------------------------------- one row on one system

async function openPhones(load: Load): Promise<Phone[][]> {
  const noise = comfortNoiseFrames(7);
  const mouth = mouthFrames();
  const tones = Array.from({ length: 13 }, (_, k) => talkerFrames(k));
  const rooms: Phone[][] = [];
  let n = 0;
  for (let r = 0; r < load.rooms; r++) {
    const room: Phone[] = [];
    for (let p = 0; p < load.talkers + load.listeners; p++) {
      const talker = p < load.talkers;
      const role: Role =
        r === 0 && p === 0 ? 'mouth' : r === 0 && p === load.talkers ? 'ear' : talker ? 'talker' : 'listener';
      const frames = role === 'mouth' ? mouth : talker ? tones[(p + r) % tones.length]! : noise;
      room.push(await Phone.open(role, frames, role === 'mouth' ? 0 : (n * 7) % 50));
      n++;
    }
    rooms.push(room);
  }
  return rooms;
}

async function measure(sys: System, load: Load, rowNo: number, seconds: number): Promise<Result> {
  const participants = load.rooms * (load.talkers + load.listeners);
  const res: Result = {
    system: sys.name,
    load,
    participants,
    joined: 0,
    setupS: NaN,
    cpuPct: NaN,
    maxThreadPct: NaN,
    threads: NaN,
    deliveredPct: NaN,
    worstPhonePct: NaN,
    timelinePct: NaN,
    timelineFps: NaN,
    phonesBelow: NaN,
    rigDrops: NaN,
    latency: { clicksSent: 0, clicksHeard: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN },
    rigCpuPct: NaN,
    load1: NaN,
    pacerStalls: 0,
    pacerLateMs: NaN,
  };
  const rooms = await openPhones(load);
  const all = rooms.flat();
  const mouth = all.find((p) => p.role === 'mouth')!;
  const ear = all.find((p) => p.role === 'ear');
  // bounded: setup + warm-up + window + tail, with a wide margin
  const pacer = new Pacer(SETUP_LIMIT_MS / 1000 + seconds + 60);
  pacer.start();
  let dep: Deployment | null = null;
  try {
    const t0 = Date.now();
    const d = await sys.deploy(load, rowNo, rooms, pacer);
    dep = d.dep;
    res.setupS = (Date.now() - t0) / 1000;
    const live = all.filter((p) => p.remote);
    res.joined = live.length;
    if (d.errors.length)
      res.error = `${d.errors.length} joins failed (${d.errors[0]!.message.slice(0, 120)})`;
    await sleep(WARMUP_MS);

    // counters are read after the loop has drained the phones' sockets (a late timer would otherwise leave the
    // packets of the rig's own delay unread at one window edge and not at the other)
    await drainIo();
    const rx0 = live.map((p) => p.received);
    const drops0 = udpDropsByPort();
    for (const p of live) p.markWindow();
    pacer.resetStats();
    const rig0 = process.cpuUsage();
    const s0 = dep.snap();
    await sleep(seconds * 1000);
    const s1 = dep.snap();
    const rig1 = process.cpuUsage(rig0);
    res.pacerStalls = pacer.stalls;
    res.pacerLateMs = pacer.maxLateMs;
    await drainIo();
    const counts = live.map((p) => p.windowCount());
    const drops1 = udpDropsByPort();
    const rx1 = live.map((p) => p.received);
    const wallS = (s1.at - s0.at) / 1000;

    const cpu = dep.cpu(s0, s1);
    res.cpuPct = cpu.totalPct;
    res.maxThreadPct = cpu.maxThreadPct;
    res.threads = cpu.threads;
    if (dep.split) res.split = cpu;
    res.rigCpuPct = (100 * (rig1.user + rig1.system)) / 1e6 / wallS;
    res.load1 = os.loadavg()[0]!;
    const expected = 50 * wallS;
    let got = 0;
    let drops = 0;
    let worst = Infinity;
    let below = 0;
    let tlGot = 0;
    let tlFrames = 0;
    live.forEach((p, i) => {
      const dr = (drops1.get(p.port) ?? 0) - (drops0.get(p.port) ?? 0);
      const rx = rx1[i]! - rx0[i]!;
      got += rx + dr;
      drops += dr;
      const c = counts[i]!;
      tlGot += c.received;
      tlFrames += c.tsFrames;
      const bySeq = c.seqSpan > 0 ? c.received / c.seqSpan : 0;
      worst = Math.min(worst, bySeq);
      if (bySeq < 0.999 || (rx + dr) / expected < 0.99) below++;
    });
    res.deliveredPct = live.length ? (100 * got) / (live.length * expected) : 0;
    res.worstPhonePct = live.length ? 100 * worst : 0;
    res.timelinePct = tlFrames ? (100 * tlGot) / tlFrames : 0;
    res.timelineFps = live.length ? tlFrames / (live.length * wallS) : 0;
    res.phonesBelow = below + (participants - live.length);
    res.rigDrops = drops;

    // clicks sent in the window; their onsets may arrive up to ~0.5 s later
    const clicks = mouth.clicksSent.filter((t) => t >= s0.at && t < s1.at);
    await sleep(600);
    res.latency = clickLatency(clicks, ear?.detector?.onsets ?? []);
    const problems = dep.problems();
    if (problems) res.notes = problems;
  } catch (err) {
    res.error = (err as Error).message.slice(0, 300);
  } finally {
    await pacer.stop();
    await dep?.teardown().catch(() => undefined);
    for (const p of all) p.close();
  }
  return res;
}

// ---------------------------------------------------------------- run + tables

export async function run(opts: FullPathOptions = {}): Promise<Result[]> {
  const seconds = Math.min(60, Math.max(2, opts.seconds ?? (opts.quick ? 4 : 10)));
  const rows = opts.rows ?? (opts.quick ? QUICK_ROWS : DEFAULT_ROWS);
  const systems: System[] = [];
  if (opts.parley ?? true) systems.push(parleySystem());
  const withJanus = (opts.janus ?? true) && janusAvailable();
  if (withJanus) systems.push(janusSystem(opts.janusPrebuffering));
  else if (opts.janus ?? true) console.error('[full-path] janus not installed: Parley only');
  const out: Result[] = [];
  for (const [i, load] of rows.entries()) {
    // each row on Parley, then at once on Janus: both see the same machine
    for (const sys of systems) {
      const r = await measure(sys, load, i, seconds);
      out.push(r);
      console.error(`[full-path ${new Date().toISOString().slice(11, 19)}] ${progress(r)}`);
      await sleep(1000);
    }
  }
  return out;
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
const f3 = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : '-');

function progress(r: Result): string {
  return (
    `${r.system} ${loadLabel(r.load)}: joined ${r.joined}/${r.participants} in ${f1(r.setupS)} s, ` +
    `CPU ${f1(r.cpuPct)} %` +
    (r.split
      ? ` (main ${f1(r.split.mainPct)}, media thr ${f1(r.split.mediaPct)}, other thr ${f1(r.split.otherPct)}, children ${f1(r.split.childrenPct)})`
      : '') +
    `, delivered ${f2(r.deliveredPct)} %, worst phone ${f2(r.worstPhonePct)} %, timeline ${f2(r.timelinePct)} % at ${f1(r.timelineFps)} frames/s, latency p50 ${f1(r.latency.p50Ms)} ms ` +
    `(${r.latency.clicksHeard}/${r.latency.clicksSent} clicks), rig ${f1(r.rigCpuPct)} %` +
    (r.error ? `; ERROR ${r.error}` : '') +
    (r.notes ? `; server: ${r.notes}` : '')
  );
}

export function printResults(results: Result[], seconds: number, prebuffering?: number): void {
  const key = (l: Load): string => `${l.rooms}|${l.talkers}|${l.listeners}`;
  const loads = [...new Map(results.map((r) => [key(r.load), r.load])).values()];
  const find = (sys: SystemName, l: Load): Result | undefined =>
    results.find((r) => r.system === sys && key(r.load) === key(l));
  const lat = (r?: Result): string =>
    r && r.latency.clicksHeard > 0 ? `${f1(r.latency.p50Ms)} / ${f1(r.latency.p99Ms)}` : '-';
  const del = (r?: Result): string => (r ? `${f2(r.deliveredPct)} (${f2(r.worstPhonePct)})` : '-');
  printTable(
    `Full phone media path: Parley (whole process tree) vs Janus AudioBridge (process), plain-RTP G.711 phones, ` +
      `${seconds} s per row, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}; CPU in % of one core; ` +
      `delivered = audio packets all phones received / (50 per s × phones), worst phone in brackets (received / ` +
      `RTP sequence span); phones short = phones under 99.9 % by sequence or 99 % by rate; latency = added ` +
      `mouth-to-ear, click train, p50 / p99 (ms)`,
    loads.map((l) => {
      const p = find('Parley', l);
      const j = find('Janus', l);
      return {
        load: loadLabel(l),
        parts: l.rooms * (l.talkers + l.listeners),
        'Parley tree %': f1(p?.cpuPct ?? NaN),
        'Janus %': f1(j?.cpuPct ?? NaN),
        'Parley/Janus': f2((p?.cpuPct ?? NaN) / (j?.cpuPct ?? NaN)),
        'Parley delivered % (worst)': del(p),
        'Janus delivered % (worst)': del(j),
        'Parley lat p50/p99': lat(p),
        'Janus lat p50/p99': lat(j),
        'phones short P/J': `${p?.phonesBelow ?? '-'}/${j?.phonesBelow ?? '-'}`,
      };
    }),
  );
  const parley = results.filter((r) => r.system === 'Parley');
  if (parley.length)
    printTable(
      'Parley CPU split (% of one core): main thread; media threads = the busiest N other threads of the server ' +
        '(N = one per core, PARLEY_RTC_NUM_WORKERS unset); other threads (V8/GC/libuv); descendant processes ' +
        '(mediasoup workers); timeline = packets received / 20 ms frames their RTP timestamps span (ticks the ' +
        'server skipped or lost); rig = this bench process (the phones)',
      parley.map((r) => ({
        load: loadLabel(r.load),
        'tree %': f1(r.cpuPct),
        'main %': f1(r.split?.mainPct ?? NaN),
        [`media thr (${r.split?.mediaThreads ?? '?'}) %`]: f1(r.split?.mediaPct ?? NaN),
        'other thr %': f1(r.split?.otherPct ?? NaN),
        'children %': `${f1(r.split?.childrenPct ?? NaN)} (${r.split?.nChildren ?? '-'} procs)`,
        'busiest thread %': f1(r.maxThreadPct),
        '% / participant': f3(r.cpuPct / r.participants),
        joined: `${r.joined}/${r.participants}`,
        'setup s': f1(r.setupS),
        'timeline %': f2(r.timelinePct),
        'clicks heard': `${r.latency.clicksHeard}/${r.latency.clicksSent}`,
        'rig drops': r.rigDrops,
        'rig CPU %': f1(r.rigCpuPct),
        'rig late max ms': f1(r.pacerLateMs),
        'load avg': f1(r.load1),
        note: [r.error, r.notes, r.pacerStalls ? `rig stalls ${r.pacerStalls}` : '']
          .filter(Boolean)
          .join('; '),
      })),
    );
  const janus = results.filter((r) => r.system === 'Janus');
  if (janus.length)
    printTable(
      `Janus AudioBridge details (${prebuffering !== undefined ? `default_prebuffering ${prebuffering}` : 'AudioBridge defaults: prebuffering 6 packets'})`,
      janus.map((r) => ({
        load: loadLabel(r.load),
        'process %': f1(r.cpuPct),
        'busiest thread %': f1(r.maxThreadPct),
        threads: r.threads,
        '% / participant': f3(r.cpuPct / r.participants),
        joined: `${r.joined}/${r.participants}`,
        'setup s': f1(r.setupS),
        'timeline %': f2(r.timelinePct),
        'clicks heard': `${r.latency.clicksHeard}/${r.latency.clicksSent}`,
        'rig drops': r.rigDrops,
        'rig CPU %': f1(r.rigCpuPct),
        'rig late max ms': f1(r.pacerLateMs),
        'load avg': f1(r.load1),
        note: [r.error, r.pacerStalls ? `rig stalls ${r.pacerStalls}` : ''].filter(Boolean).join('; '),
      })),
    );
}

/** "5x3+7" = 5 rooms of 3 talkers + 7 listeners. */
export function parseRows(spec: string): Load[] {
  return spec.split(',').map((s) => {
    const m = /^(\d+)x(\d+)\+(\d+)$/.exec(s.trim());
    if (!m) throw new Error(`bad row "${s}" (want e.g. 5x3+7)`);
    const l = { rooms: Number(m[1]), talkers: Number(m[2]), listeners: Number(m[3]) };
    if (l.rooms < 1 || l.talkers < 1 || l.listeners < 1 || l.rooms * (l.talkers + l.listeners) > 2000)
      throw new Error(`row "${s}": 1+ rooms, 1+ talkers, 1+ listeners, at most 2,000 participants`);
    return l;
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const val = (name: string): string | undefined =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  // SIGTERM/SIGINT end the process through 'exit', where bench/lib/janus.ts kills its Janus
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(130));
  const rows = val('rows');
  const pre = val('janus-prebuffering');
  const opts: FullPathOptions = {
    quick: args.includes('--quick'),
    janus: !args.includes('--no-janus'),
    parley: !args.includes('--no-parley'),
    ...(val('seconds') ? { seconds: Number(val('seconds')) } : {}),
    ...(rows ? { rows: parseRows(rows) } : {}),
    ...(pre !== undefined ? { janusPrebuffering: Number(pre) } : {}),
  };
  const t0 = Date.now();
  const results = await run(opts);
  printResults(
    results,
    Math.min(60, Math.max(2, opts.seconds ?? (opts.quick ? 4 : 10))),
    opts.janusPrebuffering,
  );
  console.log(`\n(${Math.round((Date.now() - t0) / 1000)} s)`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
