/**
 * Media-call rate: calls that carry audio both ways, Parley (the built server, a black box) next to SIPp's own UAS
 * with media (bench/scenarios/uas-rtp.xml) measured in the same run with the same SIPp client:
 *   node dist/bench/media-call-rate.js [--quick] [--hold=5000] [--confirm=60] [--media=pcap]
 *
 * Each call: INVITE (PCMA offer) → 200 → ACK → SIPp sends the G.711 A-law audio of /usr/share/sip-tester/g711a.pcap
 * (20 ms packets, 50/s, SIPp's rtp_stream; --media=pcap: play_pcap_audio of the pcap itself, see SippMedia) to the
 * answer's port for the hold (5 s) while the server sends its audio back (Parley: every caller's mix; SIPp UAS: the
 * same audio) → BYE (bench/scenarios/media-uac-rtpstream.xml; calls rotate over 20 rooms).
 * 1. The highest rate with zero failed calls: a doubling ladder of short probes, bisection, then a confirmation of
 *    60 s (stepping down ×0.75 when it fails), as bench/sip-load.ts and bench/focus-load.ts do. A probe fails on any
 *    failed call, a call missing, SIPp unable to create the rate, or answers falling behind (< 90 % of the rate).
 * 2. Setup latency (INVITE sent → 200 received, SIPp -trace_rtt, whole ms, every call) at 80 % of the rate found.
 * 3. CPU during the confirmation: Parley's whole tree (server process + descendants), split into main thread, media
 *    threads (the busiest N other threads, N = one per core), other threads, mediasoup worker processes.
 * Measures, never asserts. Loopback only; every loop is bounded in probes, calls and time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyServer, freeSipPort, sleep } from './lib/parley-server';
import { cpuSeconds, percentile, printTable } from './lib/proc';
import { runHeldCalls, startSippServer, type LoadResult } from './lib/sipp-load';
import { cpuBetween, snapTree, type CpuSplit } from './lib/tree-cpu';

const SCEN = path.resolve(__dirname, '../../bench/scenarios');
const PCAP = '/usr/share/sip-tester/g711a.pcap';

/**
 * How SIPp sends its audio:
 * - 'rtpstream' (default): `rtp_stream` of the A-law payload taken from g711a.pcap, 20 ms packets, ordinary UDP
 *   sockets (media-uac-rtpstream.xml / media-uas-rtpstream.xml);
 * - 'pcap': `play_pcap_audio` of g711a.pcap itself (30 ms packets; focus-uac-rtp.xml / uas-rtp.xml). SIPp opens a
 *   raw IPPROTO_UDP socket per call for it, and the kernel hands every such socket a copy of every UDP packet on the
 *   host: with hundreds of calls up, each RTP packet costs hundreds of clones, charged to whoever sends it (the
 *   server included). Kept for comparison only.
 */
export type SippMedia = 'rtpstream' | 'pcap';

interface Scenarios {
  uac: string;
  uas: string;
  what: string;
}

/** The A-law payload of g711a.pcap (classic pcap, Ethernet or Linux cooked capture, IPv4/UDP/RTP). */
function pcapPayload(file: string): Buffer {
  const d = fs.readFileSync(file);
  if (d.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian classic pcap`);
  const link = d.readUInt32LE(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : 0;
  const parts: Buffer[] = [];
  let off = 24;
  for (let n = 0; off + 16 <= d.length && n < 100000; n++) {
    const len = d.readUInt32LE(off + 8);
    const pkt = d.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    const ip = pkt.subarray(l2);
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    const rtp = ip.subarray((ip[0]! & 0x0f) * 4 + 8);
    if (rtp.length <= 12 || rtp[0]! >> 6 !== 2) continue;
    parts.push(rtp.subarray(12 + 4 * (rtp[0]! & 0x0f)));
  }
  if (parts.length === 0) throw new Error(`${file}: no RTP found`);
  return Buffer.concat(parts);
}

function prepareScenarios(dir: string, media: SippMedia): Scenarios {
  if (media === 'pcap')
    return {
      uac: path.join(SCEN, 'focus-uac-rtp.xml'),
      uas: path.join(SCEN, 'uas-rtp.xml'),
      what: 'SIPp play_pcap_audio of g711a.pcap (PCMA, 30 ms packets)',
    };
  const audio = path.join(dir, 'g711a.alaw');
  fs.writeFileSync(audio, pcapPayload(PCAP));
  const fill = (name: string): string => {
    const out = path.join(dir, name);
    fs.writeFileSync(out, fs.readFileSync(path.join(SCEN, name), 'utf8').replaceAll('@AUDIO@', audio));
    return out;
  };
  return {
    uac: fill('media-uac-rtpstream.xml'),
    uas: fill('media-uas-rtpstream.xml'),
    what: 'SIPp rtp_stream of the A-law audio of g711a.pcap (PCMA, 20 ms packets)',
  };
}

export interface MediaCallRateOptions {
  quick?: boolean;
  /** Call hold with RTP, ms (default 5000). */
  holdMs?: number;
  /** Seconds of calls per ladder probe (default 8; quick 4). */
  probeSeconds?: number;
  /** Seconds of calls of the confirmation run (default 60; quick 10). */
  confirmSeconds?: number;
  /** Bisection steps between the last good and the first bad rate (default 2; quick 1). */
  bisectSteps?: number;
  /** Seconds of calls for the latency run at 80 % (default 30; quick 10). */
  latencySeconds?: number;
  rooms?: number;
  media?: SippMedia;
}

interface Target {
  name: 'Parley' | 'SIPp UAS';
  remote: string;
  cpu(): { at: number; read(): CpuSplit };
  problems(): string;
}

interface Probe {
  rate: number;
  seconds: number;
  res: LoadResult;
  ok: boolean;
  why: string;
  answerRate: number;
  cpu: CpuSplit;
  p50: number;
  p99: number;
  load1: number;
}

let nextSippPort = 27500 + (process.pid % 50) * 20;
const sippPort = (): number => ++nextSippPort;

function rtts(res: LoadResult): number[] {
  return (res.rtts ?? []).map((r) => r.ms).sort((a, b) => a - b);
}

/** 2xx per second, from the first INVITE sent to the last 200 received (a server that falls behind shows here). */
function answerRate(res: LoadResult): number {
  const r = res.rtts ?? [];
  if (r.length < 2) return NaN;
  const span = (Math.max(...r.map((x) => x.at)) - Math.min(...r.map((x) => x.at - x.ms))) / 1000;
  return span > 0 ? (r.length - 1) / span : NaN;
}

function creationRate(res: LoadResult): number {
  const at = (res.rtts ?? []).map((r) => r.at - r.ms);
  if (at.length < 2) return NaN;
  const span = (Math.max(...at) - Math.min(...at)) / 1000;
  return span > 0 ? (at.length - 1) / span : NaN;
}

async function probe(
  t: Target,
  sc: Scenarios,
  inf: string,
  rate: number,
  seconds: number,
  holdMs: number,
): Promise<Probe> {
  const cpu = t.cpu();
  const res = await runHeldCalls({
    scenario: sc.uac,
    remote: t.remote,
    localPort: sippPort(),
    rate,
    seconds,
    holdMs,
    inf,
  });
  const split = cpu.read();
  const calls = Math.max(1, Math.round(rate * seconds));
  const ar = answerRate(res);
  const cr = creationRate(res);
  const lat = rtts(res);
  const why: string[] = [];
  if (res.failed > 0) why.push(`${res.failed} failed`);
  if (res.successful < calls) why.push(`${res.successful}/${calls} succeeded`);
  if (!(cr >= 0.9 * rate)) why.push(`SIPp created only ${cr.toFixed(0)}/s`);
  else if (!(ar >= 0.9 * rate)) why.push(`answered only ${ar.toFixed(0)}/s (falling behind)`);
  const sippSays = (res.errors ?? '')
    .split('\n')
    .filter((l) => l.trim() && !/Overload warning: the (minor|major) watchdog/.test(l))
    .slice(-2)
    .join(' | ');
  if (why.length && sippSays) why.push(`SIPp: ${sippSays.slice(0, 200)}`);
  if (why.length) {
    const p = t.problems();
    if (p) why.push(`server log: ${p}`);
  }
  return {
    rate,
    seconds,
    res,
    ok: why.length === 0,
    why: why.join('; '),
    answerRate: ar,
    cpu: split,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    load1: os.loadavg()[0]!,
  };
}

interface Found {
  best?: Probe;
  probes: Probe[];
  note: string;
  latency?: Probe;
}

async function findRate(
  t: Target,
  sc: Scenarios,
  inf: string,
  o: Required<MediaCallRateOptions>,
  ladder: { start: number; max: number },
  log: (s: string) => void,
): Promise<Found> {
  const probes: Probe[] = [];
  const notes: string[] = [];
  const say = (p: Probe, what: string): void =>
    log(
      `  ${t.name} ${what} ${p.rate}/s × ${p.seconds} s: ${p.ok ? 'ok' : `FAIL (${p.why})`}; answered ` +
        `${p.answerRate.toFixed(0)}/s; setup p50 ${p.p50} ms p99 ${p.p99} ms; server CPU ${p.cpu.totalPct.toFixed(0)} %` +
        ` (main ${p.cpu.mainPct.toFixed(0)}, media thr ${p.cpu.mediaPct.toFixed(0)}, children ${p.cpu.childrenPct.toFixed(0)})` +
        `, SIPp ${p.res.sippCpuPct.toFixed(0)} %; load ${p.load1.toFixed(1)}`,
    );
  const step = async (rate: number, seconds: number, what: string): Promise<Probe> => {
    const p = await probe(t, sc, inf, rate, seconds, o.holdMs);
    probes.push(p);
    say(p, what);
    await sleep(2000); // the previous probe's calls are torn down
    return p;
  };
  let good: Probe | undefined;
  let bad: number | undefined;
  let sippBound = false;
  for (let rate = ladder.start; rate <= ladder.max; rate *= 2) {
    const p = await step(rate, o.probeSeconds, 'probe');
    if (!p.ok) {
      bad = rate;
      break;
    }
    good = p;
    if (p.res.sippCpuPct > 90) {
      sippBound = true;
      notes.push('SIPp-bound (client near a full core)');
      break;
    }
  }
  if (bad === undefined && !sippBound) notes.push(`ladder capped at ${ladder.max}/s`);
  for (let i = 0; i < o.bisectSteps && bad !== undefined; i++) {
    const lo = good?.rate ?? 0;
    const mid = Math.round((lo + bad) / 2);
    if (mid <= lo || mid >= bad) break;
    const p = await step(mid, o.probeSeconds, 'bisect');
    if (p.ok) good = p;
    else bad = mid;
  }
  const firstFail = probes.find((p) => !p.ok);
  if (firstFail) notes.push(`fails at ${firstFail.rate}/s: ${firstFail.why.slice(0, 140)}`);
  if (!good) return { probes, note: notes.join('; ') };
  // the confirmation: zero failures over the long run, stepping down ×0.75 at most 3 times
  let rate = good.rate;
  let best: Probe | undefined;
  for (let attempt = 0; attempt < 4 && rate >= 1; attempt++) {
    const c = await step(rate, o.confirmSeconds, 'confirm');
    if (c.ok) {
      best = c;
      break;
    }
    notes.push(`${rate}/s failed over ${o.confirmSeconds} s (${c.why.slice(0, 80)})`);
    rate = Math.floor(rate * 0.75);
  }
  if (!best) return { probes, note: notes.join('; ') };
  const latRate = Math.max(1, Math.round(best.rate * 0.8));
  const latency = await step(latRate, o.latencySeconds, 'latency at 80 %');
  return { best, probes, note: notes.join('; '), latency };
}

function roomsFile(dir: string, rooms: number): string {
  const f = path.join(dir, 'rooms.csv');
  const names = Array.from({ length: rooms }, (_, i) => `media${String(i).padStart(2, '0')}`);
  fs.writeFileSync(f, ['SEQUENTIAL', ...names].join('\n') + '\n');
  return f;
}

export interface Row extends Record<string, string | number> {
  server: string;
}

function row(t: Target['name'], f: Found, holdMs: number, media: SippMedia): Row {
  const b = f.best;
  const l = f.latency;
  const c = b?.cpu;
  const n = (v: number | undefined): number | string =>
    v === undefined || !Number.isFinite(v) ? '-' : Math.round(v);
  return {
    server: t,
    'SIPp media': media,
    'max rate (/s)': b ? b.rate : 0,
    'concurrent (≈)': b ? Math.round((b.rate * holdMs) / 1000) : 0,
    'confirmed (s)': b ? b.seconds : 0,
    calls: b?.res.successful ?? 0,
    failed: b?.res.failed ?? '-',
    'answered (/s)': n(b?.answerRate),
    'CPU %': n(c?.totalPct),
    'main %': t === 'Parley' ? n(c?.mainPct) : '-',
    'media thr %': t === 'Parley' ? n(c?.mediaPct) : '-',
    'other thr %': t === 'Parley' ? n(c?.otherPct) : '-',
    'mediasoup %': t === 'Parley' ? `${n(c?.childrenPct)} (${c?.nChildren ?? '-'})` : '-',
    'SIPp client %': n(b?.res.sippCpuPct),
    '80 % rate (/s)': l ? l.rate : '-',
    'setup p50/p99 (ms)': l ? `${l.p50} / ${l.p99}` : '-',
    'latency run': l ? (l.ok ? 'ok' : `FAIL (${l.why.slice(0, 60)})`) : '-',
    'load avg': b ? Math.round(b.load1 * 10) / 10 : '-',
    note: f.note,
  };
}

export async function run(opts: MediaCallRateOptions = {}): Promise<Row[]> {
  const o: Required<MediaCallRateOptions> = {
    quick: opts.quick ?? false,
    holdMs: opts.holdMs ?? 5000,
    probeSeconds: opts.probeSeconds ?? (opts.quick ? 4 : 8),
    confirmSeconds: opts.confirmSeconds ?? (opts.quick ? 10 : 60),
    bisectSteps: opts.bisectSteps ?? (opts.quick ? 1 : 2),
    latencySeconds: opts.latencySeconds ?? (opts.quick ? 8 : 30),
    rooms: opts.rooms ?? 20,
    media: opts.media ?? 'rtpstream',
  };
  const log = (s: string): void =>
    console.error(`[media-call-rate ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-media-rate-'));
  const inf = roomsFile(dir, o.rooms);
  const rows: Row[] = [];
  try {
    const sc = prepareScenarios(dir, o.media);
    log(`media: ${sc.what}`);
    // the reference first: SIPp's UAS with the same media
    const port = sippPort();
    const uas = startSippServer(sc.uas, port);
    await sleep(500);
    let ref: Found;
    try {
      const t: Target = {
        name: 'SIPp UAS',
        remote: `127.0.0.1:${port}`,
        cpu: () => {
          const c0 = cpuSeconds(uas.pid!);
          const at = performance.now();
          return {
            at,
            read: () => {
              const wallS = (performance.now() - at) / 1000;
              const pct = (100 * (cpuSeconds(uas.pid!) - c0)) / wallS;
              return {
                totalPct: pct,
                mainPct: NaN,
                mediaPct: NaN,
                mediaThreads: 0,
                otherPct: NaN,
                childrenPct: 0,
                nChildren: 0,
                maxThreadPct: NaN,
                threads: NaN,
              };
            },
          };
        },
        problems: () => '',
      };
      log('SIPp UAS (reference)');
      ref = await findRate(t, sc, inf, o, { start: 50, max: o.quick ? 800 : 1600 }, log);
    } finally {
      uas.kill('SIGKILL');
    }

    log('Parley');
    const srv = await ParleyServer.start(await freeSipPort(15560 + (process.pid % 40) * 10), {
      config: {
        conference: { joinTones: false, maxParticipants: 2000, emptyRoomGraceSeconds: 600 },
      },
      env: {
        PARLEY_RTC_MIN_PORT: '20000',
        PARLEY_RTC_MAX_PORT: '29999',
        PARLEY_LOG_LEVEL: 'info', // bench/lib/parley-server.ts waits for the info line 'parley started'
      },
      openFiles: 65536,
    });
    let ours: Found | undefined;
    try {
      const media = os.availableParallelism(); // PARLEY_RTC_NUM_WORKERS unset: one media thread per core
      let seen = srv.logs(40).length;
      const t: Target = {
        name: 'Parley',
        remote: `127.0.0.1:${srv.sipPort}`,
        cpu: () => {
          const a = snapTree(srv.pid);
          return { at: a.at, read: () => cpuBetween(srv.pid, a, snapTree(srv.pid), media) };
        },
        problems: () => {
          const lines = srv.logs(40).slice(seen);
          seen += lines.length;
          const counts: Record<string, number> = {};
          for (const l of lines) {
            const k = String(l.msg ?? l.raw).slice(0, 80);
            counts[k] = (counts[k] ?? 0) + 1;
          }
          return Object.entries(counts)
            .map(([k, n]) => `${n}× ${k}`)
            .join(', ')
            .slice(0, 200);
        },
      };
      // warm-up: every room exists before the ladder, as in a running server
      await probe(t, sc, inf, 20, 2, 1000);
      await sleep(2000);
      ours = await findRate(t, sc, inf, o, { start: 10, max: o.quick ? 320 : 640 }, log);
    } finally {
      const keep = !ours?.best;
      await srv.stop(keep);
      if (keep) log(`Parley log kept: ${srv.logFile}`);
    }
    const mine = row('Parley', ours!, o.holdMs, o.media);
    const theirs = row('SIPp UAS', ref, o.holdMs, o.media);
    const ratio = (mine['max rate (/s)'] as number) / Math.max(1, theirs['max rate (/s)'] as number);
    mine.note = [`ratio vs SIPp UAS: ${ratio.toFixed(3)}`, mine.note].filter(Boolean).join('; ');
    rows.push(mine, theirs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function printRows(
  rows: Row[],
  o: { holdMs: number; confirmSeconds: number; media: SippMedia },
): void {
  const how =
    o.media === 'pcap' ? 'SIPp play_pcap_audio of g711a.pcap' : "SIPp rtp_stream of g711a.pcap's A-law audio";
  printTable(
    `Media-call rate: INVITE→200→ACK→(${o.holdMs / 1000} s of G.711 RTP both ways, ${how})→BYE, ` +
      `highest rate with zero failed calls confirmed over ${o.confirmSeconds} s (UDP, loopback, ${os.cpus().length} cores, ` +
      `${new Date().toISOString().slice(0, 10)}); CPU in % of one core during the confirmation (Parley: server ` +
      `process + descendants; media thr = the busiest N non-main threads, N = one per core); setup latency ` +
      `INVITE→200 (SIPp -trace_rtt, whole ms) at 80 % of the rate found`,
    rows,
  );
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const num = (name: string): number | undefined => {
    const v = argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    return v === undefined ? undefined : Number(v);
  };
  const quick = argv.includes('--quick');
  const media: SippMedia = argv.includes('--media=pcap') ? 'pcap' : 'rtpstream';
  const opts: MediaCallRateOptions = {
    quick,
    media,
    ...(num('hold') ? { holdMs: num('hold') } : {}),
    ...(num('confirm') ? { confirmSeconds: num('confirm') } : {}),
  };
  const t0 = Date.now();
  void run(opts).then(
    (rows) => {
      printRows(rows, {
        holdMs: opts.holdMs ?? 5000,
        confirmSeconds: opts.confirmSeconds ?? (quick ? 10 : 60),
        media,
      });
      console.log(`\n(${Math.round((Date.now() - t0) / 1000)} s)`);
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
