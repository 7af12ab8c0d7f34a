/**
 * Conference-focus load: what Parley sustains as a focus (every call joins a room: RTP relay in a media thread and
 * a mediasoup PlainTransport + Producer/Consumer), next to SIPp's own UAS (signalling only, the ceiling) measured
 * in the same run with the same SIPp client.
 *
 * 1. The highest INVITE→200→ACK→(hold)→BYE call rate with zero failed calls (concurrency ≈ rate × hold), SIPp's
 *    and the server's CPU (Parley: server process + its mediasoup worker processes), ratio to the reference.
 * 2. Call setup latency (INVITE sent → 200 received, SIPp -trace_rtt, every call) at a moderate rate.
 * 3. Memory per idle participant: RSS of the server tree before and with N held calls (no RTP), then after BYE.
 *
 * Measures, never asserts. Loopback only; every loop is bounded in calls and time.
 *   node dist/bench/focus-load.js [--quick] [--rtp]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyServer, freeSipPort, sleep, type TreeSample } from './lib/parley-server';
import { cpuSeconds, percentile, printTable } from './lib/proc';
import { runNodeUac } from './lib/node-uac';
import { runHeldCalls, runLoad, startSippServer, type LoadResult } from './lib/sipp-load';

const SCEN = path.resolve(__dirname, '../../bench/scenarios');
const MB = 1024 * 1024;

export interface FocusLoadOptions {
  /** Shorter probes, no bisection, no confirmation run, fewer calls held (≈ 2 minutes). */
  quick?: boolean;
  sections?: Array<'rate' | 'latency' | 'memory'>;
  /** Also search the max rate with SIPp playing RTP (g711a.pcap) in every call. */
  rtp?: boolean;
  /** Call hold time, ms (default 5000). */
  holdMs?: number;
  /** Rooms the calls rotate over (default 20). */
  rooms?: number;
  /** Seconds of calls per ladder probe (default 8; quick 4). */
  probeSeconds?: number;
  /** Seconds of calls for the confirmation run at the best rate (default 20; quick 0 = none). */
  confirmSeconds?: number;
  /** Bisection steps between the last good and first bad rate (default 2; quick 0). */
  bisectSteps?: number;
  latencyRate?: number;
  latencySeconds?: number;
  /** Calls held open for the memory measurement (default 1000). */
  memoryCalls?: number;
  memoryRampRate?: number;
  /** Hold/BYE rounds (default 2; quick 1): a second round tells retained heap from a leak. */
  memoryRounds?: number;
  /** mediasoup workers = media threads (PARLEY_RTC_NUM_WORKERS; default 0 = one per core). */
  numWorkers?: number;
  /** Parley's conference.audio: 'mixer' (MCU) or 'forward' (SFU); default: the server's default. */
  audio?: 'mixer' | 'forward';
  /** Extra `conference` settings for Parley's --config file. */
  conference?: Record<string, unknown>;
}

export type Row = Record<string, string | number> & { table: 'max call rate' | 'setup latency' | 'memory' };

/** One side of the comparison: where SIPp sends calls, and whose CPU to count. */
interface Target {
  name: string;
  remote: string;
  cpuSeconds(): number;
  /** [main thread, mediasoup workers] CPU seconds, where that applies. */
  cpuSplit?(): [number, number];
  /** For a failed probe: what the server said (warn/error log counts). */
  problems(): string;
}

interface Probe {
  rate: number;
  res: LoadResult;
  ok: boolean;
  why: string;
  creationRate: number;
  serverCpuPct: number;
  /** Parley: % of a core used by the main (event-loop) thread and by the mediasoup workers. */
  split?: [number, number];
  /** 1-minute load average of the machine at the end of the probe (it is shared). */
  load: number;
  /** 2xx per second: (calls − 1) / (last 200 − first INVITE). */
  answerRate: number;
  p50: number;
  p99: number;
}

let nextSippPort = 26500 + (process.pid % 50) * 20;
function sippPort(): number {
  nextSippPort += 1;
  return nextSippPort;
}

function roomsFile(dir: string, rooms: number): string {
  const f = path.join(dir, 'rooms.csv');
  const names = Array.from({ length: rooms }, (_, i) => `bench${String(i).padStart(2, '0')}`);
  fs.writeFileSync(f, ['SEQUENTIAL', ...names].join('\n') + '\n');
  return f;
}

function latencies(res: LoadResult): number[] {
  return (res.rtts ?? []).map((r) => r.ms).sort((a, b) => a - b);
}

/** Calls created per second, from the INVITE send times (SIPp's own CallRate(C) includes the hold). */
function creationRate(res: LoadResult): number {
  const at = (res.rtts ?? []).map((r) => r.at - r.ms);
  if (at.length < 2) return NaN;
  const span = (Math.max(...at) - Math.min(...at)) / 1000;
  return span > 0 ? (at.length - 1) / span : NaN;
}

/** Calls answered per second: from the first INVITE sent to the last 200 received. A server that falls behind
 *  (answers queue up, SIPp retransmits) shows here even when no call fails within the 32 s INVITE timeout. */
function answerRate(res: LoadResult): number {
  const r = res.rtts ?? [];
  if (r.length < 2) return NaN;
  const span = (Math.max(...r.map((x) => x.at)) - Math.min(...r.map((x) => x.at - x.ms))) / 1000;
  return span > 0 ? (r.length - 1) / span : NaN;
}

async function probe(
  t: Target,
  scenario: string,
  inf: string,
  rate: number,
  seconds: number,
  holdMs: number,
): Promise<Probe> {
  const c0 = t.cpuSeconds();
  const s0 = t.cpuSplit?.();
  const t0 = Date.now();
  const res = await runHeldCalls({
    scenario,
    remote: t.remote,
    localPort: sippPort(),
    rate,
    seconds,
    holdMs,
    inf,
  });
  const wall = (Date.now() - t0) / 1000;
  const serverCpuPct = (100 * (t.cpuSeconds() - c0)) / wall;
  const s1 = t.cpuSplit?.();
  const split: [number, number] | undefined =
    s0 && s1 ? [(100 * (s1[0] - s0[0])) / wall, (100 * (s1[1] - s0[1])) / wall] : undefined;
  const ar = answerRate(res);
  const calls = Math.max(1, Math.round(rate * seconds));
  const cr = creationRate(res);
  const lat = latencies(res);
  const why: string[] = [];
  if (res.failed > 0) why.push(`${res.failed} failed`);
  if (res.successful < calls) why.push(`${res.successful}/${calls} succeeded`);
  if (!(cr >= 0.9 * rate)) why.push(`SIPp created only ${cr.toFixed(0)}/s`);
  else if (!(ar >= 0.9 * rate)) why.push(`answered only ${ar.toFixed(0)}/s (falling behind)`);
  if (why.length && res.errors)
    why.push(`SIPp: ${res.errors.split('\n').slice(-2).join(' | ').slice(0, 300)}`);
  if (why.length) {
    const p = t.problems();
    if (p) why.push(`server log: ${p}`);
  }
  return {
    rate,
    res,
    ok: why.length === 0,
    why: why.join('; '),
    creationRate: cr,
    answerRate: ar,
    load: os.loadavg()[0]!,
    serverCpuPct,
    ...(split ? { split } : {}),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

/**
 * Doubling ladder from `start` until a probe fails (or SIPp nears a full core, or `max`), then `bisect` steps
 * between the last good and the first bad rate. Returns every probe and the best passing one.
 */
async function searchMaxRate(
  t: Target,
  scenario: string,
  inf: string,
  o: {
    start: number;
    max: number;
    seconds: number;
    holdMs: number;
    bisect: number;
    log: (s: string) => void;
  },
): Promise<{ best?: Probe; probes: Probe[]; sippBound: boolean; capped: boolean }> {
  const probes: Probe[] = [];
  let best: Probe | undefined;
  let bad: number | undefined;
  let sippBound = false;
  const run = async (rate: number): Promise<Probe> => {
    const p = await probe(t, scenario, inf, rate, o.seconds, o.holdMs);
    probes.push(p);
    o.log(
      `  ${t.name} ${path.basename(scenario)} ${rate}/s: ${p.ok ? 'ok' : `FAIL (${p.why})`}; ` +
        `answered ${p.answerRate.toFixed(0)}/s; setup p50 ${p.p50.toFixed(1)} ms p99 ${p.p99.toFixed(1)} ms; ` +
        `retransmissions ${p.res.retransmissions ?? '?'}; server CPU ${p.serverCpuPct.toFixed(0)}%` +
        (p.split ? ` (main thread ${p.split[0].toFixed(0)}%, mediasoup ${p.split[1].toFixed(0)}%)` : '') +
        `, SIPp CPU ${p.res.sippCpuPct.toFixed(0)}%; load avg ${p.load.toFixed(1)}`,
    );
    // Let the server finish tearing down the previous probe's calls.
    await sleep(1500);
    return p;
  };
  for (let rate = o.start; rate <= o.max; rate *= 2) {
    const p = await run(rate);
    if (!p.ok) {
      bad = rate;
      break;
    }
    best = p;
    if (p.res.sippCpuPct > 90) {
      sippBound = true;
      break;
    }
  }
  for (let i = 0; i < o.bisect && bad !== undefined && !sippBound; i++) {
    const lo = best?.rate ?? 0;
    const mid = Math.round((lo + bad) / 2);
    if (mid <= lo || mid >= bad) break;
    const p = await run(mid);
    if (p.ok) best = p;
    else bad = mid;
    if (p.ok && p.res.sippCpuPct > 90) sippBound = true;
  }
  return { best, probes, sippBound, capped: bad === undefined && !sippBound };
}

function mb(b: number): number {
  return Math.round((10 * b) / MB) / 10;
}

async function startParley(
  o: FocusLoadOptions,
  extraConference: Record<string, unknown> = {},
): Promise<ParleyServer> {
  const port = await freeSipPort(25100 + (process.pid % 50) * 8);
  return ParleyServer.start(port, {
    config: {
      conference: {
        maxParticipants: 2000,
        emptyRoomGraceSeconds: 600,
        ...extraConference,
        ...(o.audio ? { audio: o.audio } : {}),
        ...o.conference,
      },
    },
    env: {
      PARLEY_RTC_MIN_PORT: '20000',
      PARLEY_RTC_MAX_PORT: '29999',
      PARLEY_RTC_NUM_WORKERS: String(o.numWorkers ?? 0),
      PARLEY_LOG_LEVEL: 'info',
    },
    openFiles: 65536,
  });
}

function parleyTarget(s: ParleyServer): Target {
  let seen = s.logs(40).length;
  return {
    name: 'Parley',
    remote: `127.0.0.1:${s.sipPort}`,
    cpuSeconds: () => s.sample().cpuSeconds,
    cpuSplit: () => {
      const x = s.sample();
      return [x.mainThreadCpuSeconds, x.workersCpuSeconds];
    },
    problems: () => {
      const lines = s.logs(40).slice(seen);
      seen += lines.length;
      const counts: Record<string, number> = {};
      for (const l of lines) {
        const err = l.err as { message?: string } | string | undefined;
        const detail = typeof err === 'string' ? err : (err?.message ?? (l.reason as string | undefined));
        const k = `${String(l.msg ?? l.raw)}${detail ? ` [${String(detail).slice(0, 100)}]` : ''}`;
        counts[k] = (counts[k] ?? 0) + 1;
      }
      return Object.entries(counts)
        .map(([k, n]) => `${n}× ${k}`)
        .join(', ');
    },
  };
}

async function withSippUas<T>(fn: (t: Target) => Promise<T>): Promise<T> {
  const port = sippPort();
  const uas = startSippServer('uas', port);
  await sleep(500);
  try {
    return await fn({
      name: 'SIPp UAS',
      remote: `127.0.0.1:${port}`,
      cpuSeconds: () => cpuSeconds(uas.pid!),
      problems: () => '',
    });
  } finally {
    uas.kill('SIGKILL');
  }
}

async function rateSection(
  o: Required<Pick<FocusLoadOptions, 'holdMs' | 'probeSeconds' | 'confirmSeconds' | 'bisectSteps'>> &
    FocusLoadOptions,
  inf: string,
  log: (s: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const scenarios = [
    path.join(SCEN, 'focus-uac.xml'),
    ...(o.rtp ? [path.join(SCEN, 'focus-uac-rtp.xml')] : []),
  ];
  for (const scenario of scenarios) {
    const media = `${scenario.endsWith('-rtp.xml') ? 'RTP (g711a.pcap)' : 'no RTP'}${o.audio ? `, audio: ${o.audio}` : ''}`;
    const measure = async (t: Target, start: number, max: number): Promise<Row> => {
      const s = await searchMaxRate(t, scenario, inf, {
        start,
        max,
        seconds: o.probeSeconds,
        holdMs: o.holdMs,
        bisect: o.bisectSteps,
        log,
      });
      let final = s.best;
      let note = s.sippBound
        ? 'SIPp-bound (client near 100% CPU)'
        : s.capped
          ? `ladder capped at ${max}/s`
          : '';
      if (final && o.confirmSeconds > 0) {
        let c = await probe(t, scenario, inf, final.rate, o.confirmSeconds, o.holdMs);
        log(
          `  ${t.name} confirm ${final.rate}/s × ${o.confirmSeconds} s: ${c.ok ? 'ok' : `FAIL (${c.why})`}`,
        );
        // Step down (at most 3 times) until a rate holds for the longer run.
        for (let step = 0; step < 3 && !c.ok; step++) {
          note = [note, `${c.rate}/s failed over ${o.confirmSeconds} s (${c.why.slice(0, 60)})`]
            .filter(Boolean)
            .join('; ');
          const lower = Math.max(1, Math.round(c.rate * 0.75));
          await sleep(1500);
          c = await probe(t, scenario, inf, lower, o.confirmSeconds, o.holdMs);
          log(`  ${t.name} confirm ${lower}/s × ${o.confirmSeconds} s: ${c.ok ? 'ok' : `FAIL (${c.why})`}`);
        }
        final = c;
        await sleep(1500);
      }
      const firstFail = s.probes.find((p) => !p.ok);
      if (firstFail)
        note = [note, `fails at ${firstFail.rate}/s: ${firstFail.why.slice(0, 160)}`]
          .filter(Boolean)
          .join('; ');
      return {
        table: 'max call rate',
        server: t.name,
        media,
        'max rate (/s)': final?.ok ? final.rate : 0,
        'concurrent (≈)': final?.ok ? Math.round((final.rate * o.holdMs) / 1000) : 0,
        calls: final?.res.successful ?? 0,
        failed: final?.res.failed ?? NaN,
        'setup p50 (ms)': final?.p50 ?? NaN,
        'setup p99 (ms)': final?.p99 ?? NaN,
        'answered (/s)': final?.ok ? Math.round(final.answerRate) : 0,
        retrans: final?.res.retransmissions ?? NaN,
        'server CPU %': Math.round(final?.serverCpuPct ?? NaN),
        'main thr %': final?.split ? Math.round(final.split[0]) : '-',
        'mediasoup %': final?.split ? Math.round(final.split[1]) : '-',
        'other thr %': final?.split ? Math.round(final.serverCpuPct - final.split[0] - final.split[1]) : '-',
        'SIPp CPU %': Math.round(final?.res.sippCpuPct ?? NaN),
        'load avg': final ? Math.round(final.load * 10) / 10 : NaN,
        note,
      };
    };
    const ref = await withSippUas((t) => measure(t, 50, o.quick ? 800 : 3200));
    const srv = await startParley(o, { rtpTimeoutSeconds: 0 });
    let ours: Row | undefined;
    try {
      const t = parleyTarget(srv);
      // Warm-up: every room (and its router) exists before the ladder, as in a running server.
      await probe(t, scenario, inf, 20, 2, 0);
      await sleep(1000);
      ours = await measure(t, 10, o.quick ? 320 : 640);
    } finally {
      const failedProbe = probeFailed(ours);
      await srv.stop(failedProbe);
      if (failedProbe) log(`  Parley log kept: ${srv.logFile}`);
    }
    const mine = ours!;
    const ratio = (mine['max rate (/s)'] as number) / Math.max(1, ref['max rate (/s)'] as number);
    mine.note = [`ratio vs SIPp UAS: ${ratio.toFixed(3)}`, mine.note].filter(Boolean).join('; ');
    rows.push(mine, ref);
  }
  return rows;
}

function probeFailed(r: Row | undefined): boolean {
  return !r || String(r.note).includes('fails at') || String(r.note).includes('failed over');
}

async function latencySection(
  o: FocusLoadOptions & { holdMs: number },
  inf: string,
  log: (s: string) => void,
): Promise<Row[]> {
  const rate = o.latencyRate ?? 20;
  const seconds = o.latencySeconds ?? (o.quick ? 8 : 20);
  const rooms = fs.readFileSync(inf, 'utf8').trim().split('\n').slice(1);
  const scenario = path.join(SCEN, 'focus-uac.xml');
  const row = (
    t: Target,
    client: string,
    lat: number[],
    failed: number,
    serverCpuPct: number,
    sippCpuPct: number,
  ): Row => ({
    table: 'setup latency',
    server: t.name,
    client,
    'rate (/s)': rate,
    calls: lat.length,
    failed,
    'p50 (ms)': percentile(lat, 50),
    'p90 (ms)': percentile(lat, 90),
    'p99 (ms)': percentile(lat, 99),
    'max (ms)': lat[lat.length - 1] ?? NaN,
    'server CPU %': Math.round(serverCpuPct),
    'SIPp CPU %': Number.isFinite(sippCpuPct) ? Math.round(sippCpuPct) : '-',
  });
  const both = async (t: Target): Promise<Row[]> => {
    const p = await probe(t, scenario, inf, rate, seconds, o.holdMs);
    log(`  ${t.name} SIPp latency ${rate}/s: ${p.ok ? 'ok' : `FAIL (${p.why})`}`);
    await sleep(1500);
    const c0 = t.cpuSeconds();
    const t0 = Date.now();
    const n = await runNodeUac({
      remote: t.remote,
      rooms,
      rate,
      calls: Math.round(rate * seconds),
      holdMs: o.holdMs,
    });
    const cpu = (100 * (t.cpuSeconds() - c0)) / ((Date.now() - t0) / 1000);
    log(
      `  ${t.name} Node UAC latency ${rate}/s: ${n.failed} failed${n.errors.length ? ` (${n.errors.join('; ')})` : ''}`,
    );
    return [
      row(t, 'Node UAC (µs clock)', n.setupMs, n.failed, cpu, NaN),
      row(t, 'SIPp (-trace_rtt, whole ms)', latencies(p.res), p.res.failed, p.serverCpuPct, p.res.sippCpuPct),
    ];
  };
  const srv = await startParley(o, { rtpTimeoutSeconds: 0 });
  let ours: Row[];
  try {
    const t = parleyTarget(srv);
    // Warm-up (rooms, routers, JIT) so the figures are of the steady state.
    await probe(t, scenario, inf, 20, 1, 0);
    ours = await both(t);
  } finally {
    await srv.stop();
  }
  const ref = await withSippUas(both);
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!['p50 (ms)'] as number;
    const b = ref[i]!['p50 (ms)'] as number;
    ours[i]!.note =
      b > 0 ? `p50 ${(a / b).toFixed(1)}× SIPp UAS` : `SIPp UAS p50 below ${i === 0 ? 'resolution' : '1 ms'}`;
    ref[i]!.note = '';
  }
  return [...ours, ...ref];
}

async function memorySection(o: FocusLoadOptions, inf: string, log: (s: string) => void): Promise<Row[]> {
  // 1,000 concurrent calls in quick runs too: the figure is quoted at that size
  const n = o.memoryCalls ?? 1000;
  const ramp = o.memoryRampRate ?? 100;
  const rounds = o.memoryRounds ?? (o.quick ? 1 : 2);
  const srv = await startParley(o, { rtpTimeoutSeconds: 0 });
  const rows: Row[] = [];
  try {
    const t = parleyTarget(srv);
    type Avg = TreeSample & { cpuPct: number };
    const avg = async (): Promise<Avg> => {
      const xs: TreeSample[] = [];
      for (let i = 0; i < 3; i++) {
        xs.push(srv.sample());
        await sleep(500);
      }
      const m = (f: (s: TreeSample) => number) => xs.reduce((a, s) => a + f(s), 0) / xs.length;
      const last = xs[xs.length - 1]!;
      return {
        ...last,
        // server tree CPU over the sampling window (2 × 500 ms)
        cpuPct: (100 * (last.cpuSeconds - xs[0]!.cpuSeconds)) / 1.0,
        rssBytes: m((s) => s.rssBytes),
        serverRssBytes: m((s) => s.serverRssBytes),
        workersRssBytes: m((s) => s.workersRssBytes),
        serverSockets: Math.round(m((s) => s.serverSockets)),
        workerSockets: Math.round(m((s) => s.workerSockets)),
      };
    };
    const r = (
      phase: string,
      parts: number,
      x: Avg,
      note: string,
      perPart?: { tree: number; server: number; workers: number },
    ): Row => ({
      table: 'memory',
      phase,
      participants: parts,
      'RSS total (MB)': mb(x.rssBytes),
      'server (MB)': mb(x.serverRssBytes),
      'workers (MB)': mb(x.workersRssBytes),
      // per participant over the idle baseline: the whole tree = server process + mediasoup worker processes
      'KB/participant tree': perPart ? perPart.tree : '-',
      'KB/p server': perPart ? perPart.server : '-',
      'KB/p workers': perPart ? perPart.workers : '-',
      'server sockets': x.serverSockets,
      'worker sockets': x.workerSockets,
      'server CPU %': Math.round(x.cpuPct),
      note,
    });
    // Warm-up: one call per room, so the rooms (routers) and the code paths exist before the baseline.
    await probe(t, path.join(SCEN, 'focus-uac.xml'), inf, 20, 2, 0);
    await sleep(2000);
    const base = await avg();
    const basePart = await srv.participants();
    rows.push(r('idle (after warm-up)', basePart, base, `${srv.workerPids.length} mediasoup workers`));
    let prev = base;
    for (let round = 1; round <= rounds; round++) {
      const rampS = n / ramp;
      // Held long enough to ramp up, settle and sample; SIPp then sends every BYE itself (in ramp order).
      const holdMs = Math.round((rampS + 25) * 1000);
      const running = runLoad({
        scenario: path.join(SCEN, 'focus-uac.xml'),
        remote: t.remote,
        localPort: sippPort(),
        rate: ramp,
        seconds: rampS,
        durationMs: holdMs,
        limit: n + 10,
        traceErr: true,
        extra: ['-inf', inf],
      });
      let up = 0;
      const deadline = Date.now() + (rampS + 20) * 1000;
      while (Date.now() < deadline) {
        up = await srv.participants();
        if (up >= n) break;
        await sleep(500);
      }
      log(`  memory round ${round}: ${up}/${n} participants up`);
      await sleep(2000);
      const held = await avg();
      const heldPart = await srv.participants();
      const res = await running;
      log(
        `  memory round ${round}: SIPp ${res.successful} ok, ${res.failed} failed${res.errors ? `; ${res.errors.split('\n').slice(-1)[0]}` : ''}`,
      );
      for (let i = 0; i < 40 && (await srv.participants()) > 0; i++) await sleep(250);
      await sleep(3000);
      const after = await avg();
      const afterPart = await srv.participants();
      const d = heldPart - basePart;
      const per = (a: number, b: number) => (d > 0 ? Math.round((b - a) / 1024 / d) : NaN);
      rows.push(
        r(
          `round ${round}: ${n} calls held`,
          heldPart,
          held,
          round === 1
            ? `per participant: ${per(base.rssBytes, held.rssBytes)} KB (server ${per(base.serverRssBytes, held.serverRssBytes)} KB, ` +
                `workers ${per(base.workersRssBytes, held.workersRssBytes)} KB); ramp ${ramp}/s; SIPp ${res.successful} ok / ${res.failed} failed`
            : `growth over the previous idle: ${per(prev.rssBytes, held.rssBytes)} KB/participant; SIPp ${res.successful} ok / ${res.failed} failed`,
          round === 1
            ? {
                tree: per(base.rssBytes, held.rssBytes),
                server: per(base.serverRssBytes, held.serverRssBytes),
                workers: per(base.workersRssBytes, held.workersRssBytes),
              }
            : undefined,
        ),
        r(
          `round ${round}: after BYE of all`,
          afterPart,
          after,
          `RSS kept vs first idle: ${mb(after.rssBytes - base.rssBytes)} MB; sockets vs idle: server ${after.serverSockets - base.serverSockets}, workers ${after.workerSockets - base.workerSockets}`,
        ),
      );
      prev = after;
    }
  } finally {
    await srv.stop();
  }
  return rows;
}

export async function run(opts: FocusLoadOptions = {}): Promise<Row[]> {
  const o = {
    ...opts,
    holdMs: opts.holdMs ?? 5000,
    probeSeconds: opts.probeSeconds ?? (opts.quick ? 4 : 8),
    confirmSeconds: opts.confirmSeconds ?? (opts.quick ? 0 : 20),
    bisectSteps: opts.bisectSteps ?? (opts.quick ? 0 : 2),
  };
  const sections = opts.sections ?? ['rate', 'latency', 'memory'];
  const log = (s: string) => console.error(`[focus-load ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-focus-load-'));
  const inf = roomsFile(dir, opts.rooms ?? 20);
  const rows: Row[] = [];
  try {
    if (sections.includes('memory')) {
      log('memory per idle participant');
      rows.push(...(await memorySection(o, inf, log)));
    }
    if (sections.includes('latency')) {
      log('setup latency');
      rows.push(...(await latencySection(o, inf, log)));
    }
    if (sections.includes('rate')) {
      log('max call rate');
      rows.push(...(await rateSection(o, inf, log)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function printRows(rows: Row[], hold = 5): void {
  const date = new Date().toISOString().slice(0, 10);
  const titles: Record<Row['table'], string> = {
    'max call rate': `Focus: max INVITE→200→ACK→(${hold} s)→BYE rate, zero failed calls (UDP, loopback, ${os.cpus().length} cores, ${date})`,
    'setup latency': 'Focus: call setup latency, INVITE sent → 200 received (every call; hold 5 s)',
    memory:
      'Focus: memory per idle participant at 1,000 concurrent calls (RSS of the whole tree: server process + ' +
      'mediasoup worker processes; KB/participant = held − idle baseline, over the participants added)',
  };
  for (const table of ['max call rate', 'setup latency', 'memory'] as const) {
    const rs = rows.filter((r) => r.table === table).map(({ table: _t, ...rest }) => rest);
    printTable(titles[table], rs);
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const t0 = Date.now();
  void run({
    quick,
    rtp: argv.includes('--rtp'),
    ...(argv.includes('--audio=forward')
      ? { audio: 'forward' as const }
      : argv.includes('--audio=mixer')
        ? { audio: 'mixer' as const }
        : {}),
    ...(only ? { sections: only.split(',') as FocusLoadOptions['sections'] } : {}),
  }).then(
    (rows) => {
      printRows(rows);
      console.log(`\n(${Math.round((Date.now() - t0) / 1000)} s)`);
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
