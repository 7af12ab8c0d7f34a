/**
 * Soak: the built Parley server (a black box) under a steady load of real calls for a long time, watched for leaks.
 *   node dist/bench/soak.js [--minutes=10] [--quick] [--target=60] [--rooms=4]
 *
 * SIPp places calls at a steady rate into a few rooms (bench/scenarios/soak-uac.xml): each call joins, talks (SIPp's
 * rtp_stream of μ-law talk spurts both ways: the server sends the room's mix back), puts itself on hold (re-INVITE
 * a=sendonly, the answer must say recvonly), resumes (re-INVITE a=sendrecv) and leaves after random talk and hold
 * times, so the number of concurrent calls stays around the target (rate = target / mean call length, Little's law).
 * Calls are placed for --minutes (default 10; --quick: 2), then the last ones end on their own.
 *
 * Every 10 s: RSS of the server process and of its mediasoup workers, their open file descriptors and UDP sockets
 * (/proc/<pid>/fd matched against /proc/net/udp{,6} by inode; a worker's UDP socket is a PlainTransport), the server's
 * threads (its media threads are worker threads), and from `/metrics`: rooms, calls, media-thread relays, mediasoup
 * routers; from `GET /api/rooms/:id/media`: mixer legs receiving and sending RTP.
 *
 * The reference is the server itself, idle, measured before the load (SIPp's own UAS taking the same load says
 * nothing about leaks); the leak checks compare to it:
 * - RSS (server, workers): from the warm-up sample (the first of the second half of the load)
 *   to the end of the load, the lowest sample of each minute (RSS of a collected heap is a sawtooth; a leak raises
 *   its troughs), least-squares slope per 10 minutes; "leak" when it is above max(8 MiB, 5 % of the idle RSS) per
 *   10 minutes for the server, max(4 MiB, 5 %) for the workers, and the last trough is above the first as much.
 *   Why the second half: the server's RSS rises for its first minutes under load for reasons that stop by design —
 *   the call ladder keeps the last `ladder.maxCalls` (500) calls' SIP messages (≈ 10 KB per soak call: a heap
 *   snapshot diff, `node dist/bench/heap-diff.js`, shows the raw messages as the growth), V8 and the media threads'
 *   isolates size their heaps to the allocation rate, malloc arenas fill — while a leak that grows with calls grows in
 *   the second half as in the first. Runs of 20 minutes or more make the second half long enough to see one.
 * - fds, UDP sockets, threads, relays, routers after every call ended and the rooms closed: "leak" when above the idle
 *   baseline.
 * - calls: zero failed is the goal; SIP failure codes (and BYEs from the server) are listed from SIPp's error log.
 * Exits 1 when a check fails. Loopback only; bounded: --minutes of calls, a drain of at most 2 minutes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyServer, freeSipPort, sleep } from './lib/parley-server';
import { cpuSeconds, printTable, rssBytes } from './lib/proc';
import { comfortNoiseFrames, talkerFrames } from './lib/rtp-phones';

const SCEN = path.resolve(__dirname, '../../bench/scenarios');
const MiB = 1024 * 1024;

/** Random talk and hold times of a call (uniform, ms). The mean call lasts ≈ 35.5 s plus two re-INVITEs. */
const TIMES = {
  TALK1_MIN: 10000,
  TALK1_MAX: 30000,
  HOLD_MIN: 3000,
  HOLD_MAX: 8000,
  TALK2_MIN: 5000,
  TALK2_MAX: 15000,
} as const;
const MEAN_CALL_S =
  (TIMES.TALK1_MIN + TIMES.TALK1_MAX + TIMES.HOLD_MIN + TIMES.HOLD_MAX + TIMES.TALK2_MIN + TIMES.TALK2_MAX) /
  2000;
const MAX_CALL_S = (TIMES.TALK1_MAX + TIMES.HOLD_MAX + TIMES.TALK2_MAX) / 1000;

export interface SoakOptions {
  minutes: number;
  /** Concurrent calls aimed at (default 60). */
  target: number;
  rooms: number;
  sampleSeconds: number;
}

type Phase = 'idle' | 'load' | 'drain' | 'after';

interface Sample {
  /** wall clock, ms */
  at: number;
  /** seconds since the first call was placed (negative while idle), set when the load starts */
  t: number;
  phase: Phase;
  serverRss: number;
  workersRss: number;
  /** V8 heap in use (parley_nodejs_heap_size_used_bytes), whenever the sample falls between collections */
  heapUsed: number;
  /** memory of the main isolate's Buffers/ArrayBuffers outside the V8 heap (parley_nodejs_external_memory_bytes) */
  external: number;
  serverFds: number;
  workerFds: number;
  serverUdp: number;
  workerUdp: number;
  serverThreads: number;
  workers: number;
  rooms: number;
  calls: number;
  relays: number;
  routers: number;
  /** SIPp's calls in progress (in setup, talking, on hold, hanging up) */
  sippCalls: number;
  mixerLegs: number;
  legsIn: number;
  legsOut: number;
  load1: number;
}

// ------------------------------------------------------------------ /proc

function udpInodes(): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) out.add(cols[9]!);
    }
  }
  return out;
}

/** Open fds of a process, and how many are UDP sockets. */
function fdsOf(pid: number, udp: Set<string>): { fds: number; udp: number } {
  let fds = 0;
  let n = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { fds: NaN, udp: NaN };
  }
  for (const fd of names) {
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      fds++;
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && udp.has(m[1]!)) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return { fds, udp: n };
}

function threadsOf(pid: number): number {
  try {
    return Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

// ------------------------------------------------------------------ server figures

/** Prometheus text → metric name → sum over its series (labels ignored), and the labelled series themselves. */
function parseMetrics(text: string): { sum: Map<string, number>; series: Map<string, number> } {
  const sum = new Map<string, number>();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    sum.set(m[1]!, (sum.get(m[1]!) ?? 0) + v);
    series.set(`${m[1]!}${m[2] ?? ''}`, v);
  }
  return { sum, series };
}

async function metrics(srv: ParleyServer): Promise<ReturnType<typeof parseMetrics>> {
  try {
    const res = await fetch(`${srv.http}/metrics`, {
      headers: { authorization: `Bearer ${srv.token}` },
      signal: AbortSignal.timeout(5000),
    });
    return parseMetrics(await res.text());
  } catch {
    return { sum: new Map(), series: new Map() };
  }
}

/** Mixer legs of the rooms (those open), and how many have received and sent RTP. */
async function mixerLegs(
  srv: ParleyServer,
  rooms: string[],
): Promise<{ legs: number; in: number; out: number }> {
  const out = { legs: 0, in: 0, out: 0 };
  for (const room of rooms) {
    try {
      const res = await fetch(`${srv.http}/api/rooms/${room}/media`, {
        headers: { authorization: `Bearer ${srv.token}` },
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) continue;
      const body = (await res.json()) as {
        mixer: { participants?: Array<{ packetsIn: number; packetsOut: number }> } | null;
      };
      for (const p of body.mixer?.participants ?? []) {
        out.legs++;
        if (p.packetsIn > 0) out.in++;
        if (p.packetsOut > 0) out.out++;
      }
    } catch {
      /* the room closed meanwhile */
    }
  }
  return out;
}

// ------------------------------------------------------------------ SIPp

/** 10 s of μ-law talk spurts (a 407 Hz tone, ≈ −27 dBFS) and pauses (low comfort noise), looped by rtp_stream. */
function writeAudio(file: string): void {
  const talk = talkerFrames(0);
  const quiet = comfortNoiseFrames(7);
  const seconds = [talk, talk, quiet, talk, quiet, quiet, talk, talk, talk, quiet];
  fs.writeFileSync(file, Buffer.concat(seconds.flat()));
}

function prepare(dir: string, rooms: string[]): { scenario: string; inf: string } {
  const audio = path.join(dir, 'talk.ulaw');
  writeAudio(audio);
  let xml = fs.readFileSync(path.join(SCEN, 'soak-uac.xml'), 'utf8').replaceAll('@AUDIO@', audio);
  for (const [k, v] of Object.entries(TIMES)) xml = xml.replaceAll(`@${k}@`, String(v));
  const scenario = path.join(dir, 'soak-uac.xml');
  fs.writeFileSync(scenario, xml);
  const inf = path.join(dir, 'rooms.csv');
  fs.writeFileSync(inf, ['SEQUENTIAL', ...rooms].join('\n') + '\n');
  return { scenario, inf };
}

interface SippStats {
  created: number;
  current: number;
  successful: number;
  failed: number;
  retransmissions: number;
}

function readStats(stf: string): SippStats | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(stf, 'utf8').trim().split('\n');
  } catch {
    return undefined;
  }
  if (lines.length < 2) return undefined;
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const col = (name: string): number => Number(last[head.indexOf(name)] ?? NaN);
  return {
    created: col('TotalCallCreated'),
    current: col('CurrentCall'),
    successful: col('SuccessfulCall(C)'),
    failed: col('FailedCall(C)'),
    retransmissions: head.includes('Retransmissions(C)') ? col('Retransmissions(C)') : NaN,
  };
}

/**
 * Why calls failed, from SIPp's -trace_err log: the SIP status of an unexpected answer ("SIP 503"), a request the
 * server sent instead ("BYE from server", with its Reason), a retransmission timeout, a hold/resume answer without
 * the expected direction. Other lines (e.g. a late retransmission for a call already ended) are counted apart.
 */
function failureCauses(errorsLog: string): { causes: Record<string, number>; other: Record<string, number> } {
  const causes: Record<string, number> = {};
  const other: Record<string, number> = {};
  let text = '';
  try {
    text = fs.readFileSync(errorsLog, 'utf8');
  } catch {
    return { causes, other };
  }
  const add = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);
  // entries start with a date (SIPp: "YYYY-MM-DD\tHH:MM:SS.uuuuuu\tepoch: message"); a message may span lines
  for (const entry of text.split(/\n(?=\d{4}-\d\d-\d\d\s)/)) {
    if (!entry.trim()) continue;
    const status = /received 'SIP\/2\.0 (\d{3})[^\r\n']*/.exec(entry);
    const request = /received '([A-Z]+) sip:/.exec(entry);
    if (status) add(causes, `SIP ${status[1]!}`);
    else if (request) {
      const reason = /Reason:\s*([^\r\n']+)/i.exec(entry);
      add(causes, `${request[1]!} from server${reason ? ` (${reason[1]!.trim().slice(0, 60)})` : ''}`);
    } else if (/retransmission timeout/i.test(entry)) add(causes, 'retransmission timeout');
    else if (/regexp|ereg/i.test(entry)) add(causes, 'hold/resume answer without the expected direction');
    else if (/Aborting call/i.test(entry))
      add(
        causes,
        entry
          .split('\n')[0]!
          .replace(/^.*?: /, '')
          .slice(0, 80),
      );
    else if (/^The following events occurred/.test(entry.replace(/^.*?: /, ''))) continue;
    else
      add(
        other,
        entry
          .split('\n')[0]!
          .replace(/^.*?: /, '')
          .replace(/'[^']*'/g, "'…'")
          .slice(0, 80),
      );
  }
  return { causes, other };
}

// ------------------------------------------------------------------ the run

function slopePer10Min(points: Array<{ t: number; v: number }>): number {
  const p = points.filter((x) => Number.isFinite(x.v));
  if (p.length < 2) return NaN;
  const mx = p.reduce((s, x) => s + x.t, 0) / p.length;
  const my = p.reduce((s, x) => s + x.v, 0) / p.length;
  const sxx = p.reduce((s, x) => s + (x.t - mx) ** 2, 0);
  const sxy = p.reduce((s, x) => s + (x.t - mx) * (x.v - my), 0);
  return sxx > 0 ? (sxy / sxx) * 600 : NaN;
}

const mib = (b: number): number => Math.round((b / MiB) * 10) / 10;

export async function run(o: SoakOptions): Promise<boolean> {
  const log = (s: string): void => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const loadS = Math.round(o.minutes * 60);
  // the second half of the load (see the header): a leak that grows with calls grows there as in the first half,
  // while the bounded stores and the heaps' sizing have settled
  const warmupS = loadS / 2;
  const rate = o.target / MEAN_CALL_S;
  const calls = Math.max(1, Math.round(rate * loadS));
  const rooms = Array.from({ length: o.rooms }, (_, i) => `soak${i}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-soak-'));
  const { scenario, inf } = prepare(dir, rooms);
  log(
    `${o.minutes} min of calls at ${rate.toFixed(2)}/s (${calls} calls, mean ${MEAN_CALL_S} s, target ${o.target} ` +
      `concurrent) into ${o.rooms} rooms; load average ${os.loadavg()[0]!.toFixed(2)}`,
  );

  const srv = await ParleyServer.start(await freeSipPort(16300 + (process.pid % 40) * 10), {
    config: { conference: { emptyRoomGraceSeconds: 5 } },
    env: {
      PARLEY_RTC_MIN_PORT: '31000',
      PARLEY_RTC_MAX_PORT: '34999',
      PARLEY_WEBRTC_PORT: '0',
      PARLEY_LOG_LEVEL: 'info', // bench/lib/parley-server.ts waits for the info line 'parley started'
    },
  });
  const samples: Sample[] = [];
  let t0 = Date.now() + 3600_000; // set when SIPp starts
  let sipp: ReturnType<typeof spawn> | undefined;
  const stf = path.join(dir, 'stat.csv');
  const take = async (phase: Phase): Promise<Sample> => {
    const udp = udpInodes();
    const workers = srv.workerPids;
    const s = fdsOf(srv.pid, udp);
    const w = workers.map((p) => fdsOf(p, udp));
    const sumW = (k: 'fds' | 'udp'): number => w.reduce((a, x) => a + (Number.isFinite(x[k]) ? x[k] : 0), 0);
    const m = await metrics(srv);
    const legs = await mixerLegs(srv, rooms);
    const at = Date.now();
    const sample: Sample = {
      at,
      t: Math.round((at - t0) / 1000),
      phase,
      serverRss: rssBytes(srv.pid),
      workersRss: workers.map(rssBytes).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      heapUsed: m.sum.get('parley_nodejs_heap_size_used_bytes') ?? NaN,
      external: m.sum.get('parley_nodejs_external_memory_bytes') ?? NaN,
      serverFds: s.fds,
      workerFds: sumW('fds'),
      serverUdp: s.udp,
      workerUdp: sumW('udp'),
      serverThreads: threadsOf(srv.pid),
      workers: workers.length,
      // a gauge with no series (no call of any kind) is absent from the text: 0
      rooms: m.sum.get('parley_rooms') ?? 0,
      calls: m.sum.get('parley_calls') ?? 0,
      relays: m.sum.get('parley_media_thread_relays') ?? 0,
      routers: m.sum.get('parley_mediasoup_worker_routers') ?? 0,
      sippCalls: phase === 'load' || phase === 'drain' ? (readStats(stf)?.current ?? NaN) : 0,
      mixerLegs: legs.legs,
      legsIn: legs.in,
      legsOut: legs.out,
      load1: os.loadavg()[0]!,
    };
    samples.push(sample);
    return sample;
  };

  let ok = false;
  let final: SippStats | undefined;
  let sippCpu = NaN;
  let serverCpu = NaN;
  let m0: ReturnType<typeof parseMetrics> | undefined;
  let m1: ReturnType<typeof parseMetrics> | undefined;
  const errorsLog = (): string =>
    path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('_errors.log')) ?? 'none');
  try {
    // the reference: the idle server, three samples 5 s apart after it settled
    await sleep(5000);
    for (let i = 0; i < 3; i++) {
      if (i) await sleep(5000);
      await take('idle');
    }
    m0 = await metrics(srv);
    const treeCpu = (): number =>
      [srv.pid, ...srv.workerPids].map(cpuSeconds).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    const cpu0 = treeCpu();

    const sippPort = 27000 + (process.pid % 50) * 20;
    const args = [
      ...['-sf', scenario, `127.0.0.1:${srv.sipPort}`, '-i', '127.0.0.1', '-p', String(sippPort), '-t', 'u1'],
      // the rate as calls per 100 s: SIPp spreads them evenly, an integer count keeps the fraction
      ...['-r', String(Math.round(rate * 100)), '-rp', '100000', '-m', String(calls)],
      ...['-l', String(o.target * 2), '-inf', inf, '-mp', String(36000 + (process.pid % 20) * 100)],
      ...['-nostdin', '-trace_stat', '-stf', stf, '-fd', String(o.sampleSeconds), '-trace_err'],
      ...['-timeout', `${loadS + MAX_CALL_S + 90}s`, '-max_recv_loops', '10000', '-max_sched_loops', '10000'],
    ];
    t0 = Date.now();
    for (const s of samples) s.t = Math.round((s.at - t0) / 1000);
    const logsBefore = srv.logs(40).length;
    sipp = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    sipp.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
    const sippPid = sipp.pid!;
    const killer = setTimeout(() => sipp?.kill('SIGKILL'), (loadS + MAX_CALL_S + 150) * 1000);
    let sippCpuLast = cpuSeconds(sippPid);
    const sippCpu0 = sippCpuLast;
    const exited = new Promise<void>((r) => sipp!.once('close', () => r()));
    let done = false;
    void exited.then(() => (done = true));
    // during the load: a sample every sampleSeconds, on the wall clock
    for (let k = 1; !done; k++) {
      const due = t0 + k * o.sampleSeconds * 1000;
      while (!done && Date.now() < due) await Promise.race([sleep(Math.min(1000, due - Date.now())), exited]);
      if (done) break;
      const c = cpuSeconds(sippPid);
      if (Number.isFinite(c)) sippCpuLast = c;
      // SIPp places its last call at ≈ loadS: the sample due then still counts as the load
      const s = await take(Date.now() - t0 <= (loadS + o.sampleSeconds / 2) * 1000 ? 'load' : 'drain');
      if (k % 6 === 0)
        log(
          `t=${s.t}s ${s.phase}: SIPp calls ${s.sippCalls}, server calls ${s.calls}, RSS ${mib(s.serverRss)} + ` +
            `${mib(s.workersRss)} MiB, fds ${s.serverFds}/${s.workerFds}, load ${s.load1.toFixed(1)}`,
        );
    }
    clearTimeout(killer);
    const wall = (Date.now() - t0) / 1000;
    sippCpu = (100 * (sippCpuLast - sippCpu0)) / wall;
    serverCpu = (100 * (treeCpu() - cpu0)) / wall;
    final = readStats(stf);
    if (stderr.trim()) log(`SIPp stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    // after the last call: the rooms close (emptyRoomGraceSeconds: 5); bounded wait, then the "after" samples
    const until = Date.now() + 120_000;
    for (;;) {
      const s = await take('drain');
      if ((s.rooms === 0 && s.calls === 0 && s.relays === 0) || Date.now() > until) break;
      await sleep(5000);
    }
    for (let i = 0; i < 2; i++) {
      await sleep(5000);
      await take('after');
    }
    m1 = await metrics(srv);
    const problems = srv.logs(40).slice(logsBefore);
    ok = report(
      o,
      { rate, calls, warmupS, loadS, samples, final, sippCpu, serverCpu, m0, m1, problems },
      errorsLog(),
    );
  } finally {
    sipp?.kill('SIGKILL');
    await srv.stop(!ok);
    if (!ok) log(`Parley log kept: ${srv.logFile}; SIPp files: ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  return ok;
}

interface Outcome {
  rate: number;
  calls: number;
  warmupS: number;
  loadS: number;
  samples: Sample[];
  final: SippStats | undefined;
  sippCpu: number;
  serverCpu: number;
  m0: ReturnType<typeof parseMetrics>;
  m1: ReturnType<typeof parseMetrics>;
  /** the server's pino lines at warn and above logged once the load started */
  problems: Array<Record<string, unknown>>;
}

/** Prints the tables and the verdicts; true when every check passes. */
function report(o: SoakOptions, r: Outcome, errorsLog: string): boolean {
  const idle = r.samples.filter((s) => s.phase === 'idle').at(-1)!;
  const load = r.samples.filter((s) => s.phase === 'load');
  const warm = load.find((s) => s.t >= r.warmupS) ?? load.at(-1);
  const end = load.at(-1);
  const after = r.samples.filter((s) => s.phase === 'after').at(-1)!;
  const steady = load.filter((s) => warm && s.t >= warm.t);
  const { causes, other } = failureCauses(errorsLog);
  const f = r.final;

  // server-side counts over the run (metric deltas)
  const delta = (key: string): number => (r.m1.series.get(key) ?? 0) - (r.m0.series.get(key) ?? 0);
  const attemptsBy: string[] = [];
  for (const [k, v] of r.m1.series) {
    const m = /^parley_call_attempts_total\{.*result="([^"]+)".*\}$/.exec(k);
    if (m && v - (r.m0.series.get(k) ?? 0) > 0) attemptsBy.push(`${m[1]!}: ${v - (r.m0.series.get(k) ?? 0)}`);
  }
  let invite200 = 0;
  for (const k of r.m1.series.keys())
    if (/^parley_sip_responses_sent_total\{/.test(k) && /code="200"/.test(k) && /method="INVITE"/.test(k))
      invite200 += delta(k);
  const answered = [...r.m1.series.keys()]
    .filter((k) => /^parley_call_attempts_total\{.*result="200"/.test(k))
    .reduce((a, k) => a + delta(k), 0);

  printTable(
    `Soak: ${o.minutes} min of calls at ${r.rate.toFixed(2)}/s into ${o.rooms} rooms, target ${o.target} concurrent ` +
      `(each call: INVITE → talk ${TIMES.TALK1_MIN / 1000}-${TIMES.TALK1_MAX / 1000} s → hold (re-INVITE sendonly) ` +
      `${TIMES.HOLD_MIN / 1000}-${TIMES.HOLD_MAX / 1000} s → resume (sendrecv) → talk ${TIMES.TALK2_MIN / 1000}-` +
      `${TIMES.TALK2_MAX / 1000} s → BYE; SIPp rtp_stream PCMU 20 ms both ways; UDP, loopback, ${os.cpus().length} ` +
      `cores, ${new Date().toISOString().slice(0, 10)})`,
    [
      {
        'calls placed (plan)': r.calls,
        attempted: f?.created ?? '-',
        completed: f?.successful ?? '-',
        failed: f?.failed ?? '-',
        'failure causes':
          Object.entries(causes)
            .map(([k, n]) => `${n}× ${k}`)
            .join(', ') || '-',
        'SIPp retransmissions': f?.retransmissions ?? '-',
        'server: INVITE answers by status': attemptsBy.join(', ') || '-',
        'server: re-INVITEs answered 200': invite200 - answered,
        'server tree CPU %': Math.round(r.serverCpu),
        'SIPp CPU %': Math.round(r.sippCpu),
      },
    ],
  );
  if (Object.keys(other).length)
    printTable(
      'Other SIPp error-log lines (not failed calls)',
      Object.entries(other).map(([line, n]) => ({ count: n, line })),
    );

  const stat = (xs: number[]): { min: number; avg: number; max: number } => {
    const v = xs.filter(Number.isFinite);
    return v.length
      ? {
          min: Math.min(...v),
          avg: Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10,
          max: Math.max(...v),
        }
      : { min: NaN, avg: NaN, max: NaN };
  };
  const cs = stat(steady.map((s) => s.sippCalls));
  const cp = stat(steady.map((s) => s.calls));
  const li = stat(steady.map((s) => (s.mixerLegs ? (100 * s.legsIn) / s.mixerLegs : NaN)));
  const lo = stat(steady.map((s) => (s.mixerLegs ? (100 * s.legsOut) / s.mixerLegs : NaN)));
  printTable(
    `Concurrent calls from the warm-up (t=${warm?.t ?? '-'} s) to the end of the load (t=${end?.t ?? '-'} s), ` +
      `${steady.length} samples`,
    [
      { figure: 'SIPp calls in progress', min: cs.min, avg: cs.avg, max: cs.max },
      { figure: 'server calls (parley_calls)', min: cp.min, avg: cp.avg, max: cp.max },
      { figure: 'mixer legs with RTP in (%)', min: li.min, avg: li.avg, max: li.max },
      { figure: 'mixer legs with RTP out (%)', min: lo.min, avg: lo.avg, max: lo.max },
    ],
  );

  const row = (name: string, s: Sample | undefined): Record<string, string | number> =>
    s
      ? {
          when: name,
          't (s)': s.t,
          'server RSS (MiB)': mib(s.serverRss),
          'workers RSS (MiB)': mib(s.workersRss),
          'V8 heap used (MiB)': mib(s.heapUsed),
          'external (MiB)': mib(s.external),
          'server fds': s.serverFds,
          'server UDP': s.serverUdp,
          'server threads': s.serverThreads,
          'worker fds': s.workerFds,
          'worker UDP (transports)': s.workerUdp,
          workers: s.workers,
          rooms: s.rooms,
          calls: s.calls,
          relays: s.relays,
          routers: s.routers,
        }
      : { when: name };
  printTable('Resources (reference: the idle server before the load)', [
    row('idle baseline (reference)', idle),
    row('after warm-up', warm),
    row('end of load', end),
    row('after all calls ended', after),
  ]);

  printTable(
    'Timeline (every minute of the load, every drain sample)',
    r.samples
      .filter((s) => s.phase !== 'load' || s.t % 60 < o.sampleSeconds)
      .map((s) => ({
        't (s)': s.t,
        phase: s.phase,
        'SIPp calls': s.sippCalls,
        'server calls': s.calls,
        'legs in/out': `${s.legsIn}/${s.legsOut} of ${s.mixerLegs}`,
        'server RSS': mib(s.serverRss),
        'workers RSS': mib(s.workersRss),
        'fds srv/wrk': `${s.serverFds}/${s.workerFds}`,
        'UDP srv/wrk': `${s.serverUdp}/${s.workerUdp}`,
        threads: s.serverThreads,
        'relays/routers': `${s.relays}/${s.routers}`,
        load: Math.round(s.load1 * 10) / 10,
      })),
  );

  // ---------------------------------------------------------------- verdicts
  const verdicts: Array<{ check: string; measured: string; limit: string; verdict: string }> = [];
  const failedCalls = f ? f.failed + Math.max(0, f.created - f.successful - f.failed) : NaN;
  verdicts.push({
    check: 'failed calls',
    measured: f
      ? `${f.failed} failed, ${f.created - f.successful - f.failed} unfinished of ${f.created}`
      : 'no SIPp stats',
    limit: '0',
    verdict: failedCalls === 0 && (f?.created ?? 0) > 0 ? 'ok' : 'FAIL',
  });
  /**
   * RSS of a garbage-collected process is a sawtooth (the server's swings by tens of MiB between collections at this
   * load), so a least-squares line through every sample mostly measures where the collections fell. A leak raises
   * the troughs: the check takes the lowest sample of each minute from the warm-up on, and calls it a leak when
   * their slope is above the limit and the last minute's trough is above the first one's by as much (the raw slope
   * is printed beside it).
   */
  const rssCheck = (what: string, key: 'serverRss' | 'workersRss', floorMiB: number): void => {
    const raw = slopePer10Min(steady.map((s) => ({ t: s.t, v: s[key] })));
    const troughs: Array<{ t: number; v: number; n: number }> = [];
    for (const s of steady) {
      const minute = Math.floor((s.t - steady[0]!.t) / 60);
      const tr = (troughs[minute] ??= { t: s.t, v: s[key], n: 0 });
      tr.n++;
      if (s[key] < tr.v) Object.assign(tr, { t: s.t, v: s[key] });
    }
    // whole minutes only: the sample at the very end of the load alone is no trough
    const mins = troughs.filter((tr) => tr && tr.n >= Math.max(1, 60 / o.sampleSeconds - 1));
    const slope = slopePer10Min(mins);
    const limit = Math.max(floorMiB * MiB, 0.05 * idle[key]);
    const first = mins[0];
    const last = mins.at(-1);
    const grew = first && last ? last.v - first.v : NaN;
    const window = first && last ? last.t - first.t : 0;
    const leak = slope > limit && grew > Math.max(floorMiB * MiB, (limit * window) / 600);
    verdicts.push({
      check: `${what} RSS after warm-up`,
      measured:
        `${mib(warm?.[key] ?? NaN)} → ${mib(end?.[key] ?? NaN)} MiB (idle ${mib(idle[key])}, after all calls ` +
        `${mib(after[key])}); per-minute troughs ${mib(first?.v ?? NaN)} → ${mib(last?.v ?? NaN)}, slope ` +
        `${mib(slope)} MiB/10 min (every sample: ${mib(raw)})`,
      limit: `${mib(limit)} MiB/10 min`,
      verdict: !Number.isFinite(slope) || mins.length < 3 ? 'too few samples' : leak ? 'LEAK' : 'flat',
    });
  };
  rssCheck('server', 'serverRss', 8);
  rssCheck('mediasoup workers', 'workersRss', 4);
  const back = (what: string, key: keyof Sample): void => {
    const a = after[key] as number;
    const i = idle[key] as number;
    verdicts.push({
      check: `${what} after all calls ended`,
      measured: `${a} (idle ${i}, after warm-up ${warm ? (warm[key] as number) : '-'}, end ${end ? (end[key] as number) : '-'})`,
      limit: `≤ idle ${i}`,
      verdict: a <= i ? 'flat' : 'LEAK',
    });
  };
  back('server fds', 'serverFds');
  back('server UDP sockets', 'serverUdp');
  back('server threads', 'serverThreads');
  back('worker fds', 'workerFds');
  back('worker UDP sockets (transports)', 'workerUdp');
  back('media-thread relays', 'relays');
  back('mediasoup routers', 'routers');
  back('rooms', 'rooms');
  printTable('Verdicts (leak checks relative to the idle baseline)', verdicts);
  const counts: Record<string, number> = {};
  for (const l of r.problems) {
    const k = `${String(l.msg ?? l.raw)}${l.reason ? ` (${String(l.reason)})` : ''}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  const problems = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (problems.length)
    printTable(
      'Server warnings/errors logged during the load (pino level ≥ warn)',
      problems.slice(0, 10).map(([msg, n]) => ({ count: n, msg: msg.slice(0, 120) })),
    );
  const loads = r.samples.map((s) => s.load1);
  console.log(
    `\nLoad average (1 min) during the run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} ` +
      `(machine shared; > 3 means other work ran beside the soak).`,
  );
  // a run too short for the RSS trend (--quick) is not a failure: only FAIL and LEAK are
  return verdicts.every((v) => v.verdict !== 'FAIL' && v.verdict !== 'LEAK');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const num = (name: string): number | undefined => {
    const v = argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    return v === undefined ? undefined : Number(v);
  };
  const quick = argv.includes('--quick');
  const o: SoakOptions = {
    minutes: num('minutes') ?? (quick ? 2 : 10),
    target: num('target') ?? 60,
    rooms: num('rooms') ?? 4,
    sampleSeconds: 10,
  };
  if (!(o.minutes > 0 && o.minutes <= 240) || !(o.target >= 1 && o.target <= 1000) || !(o.rooms >= 1)) {
    console.error('usage: soak.js [--minutes=1..240] [--quick] [--target=1..1000] [--rooms=N]');
    process.exit(2);
  }
  const t0 = Date.now();
  void run(o).then(
    (ok) => {
      console.log(`\n(${Math.round((Date.now() - t0) / 1000)} s)`);
      process.exitCode = ok ? 0 : 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
