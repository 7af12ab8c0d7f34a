import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds } from './proc';

export interface LoadRun {
  scenario: string; // built-in name (uac) or XML path
  remote: string;
  localPort: number;
  rate: number;
  seconds: number;
  transport?: 'u1' | 't1';
  service?: string;
  /** max simultaneous calls */
  limit?: number;
  extra?: string[];
  /** -d: length of each `<pause/>` in ms (default 0). */
  durationMs?: number;
  /** Collect every call's response times (-trace_rtt -rtt_freq 1; the scenario marks them with rtd="true"). */
  rtt?: boolean;
  /** Keep the tail of SIPp's -trace_err log (for failures). */
  traceErr?: boolean;
}

export interface LoadResult {
  rate: number;
  attempted: number;
  successful: number;
  failed: number;
  achievedRate: number;
  sippCpuPct: number;
  responseTimeMs?: number;
  /** With `rtt`: one entry per call, in order of arrival (at = wall clock ms when measured, ms = response time 1). */
  rtts?: Array<{ at: number; ms: number }>;
  /** With `traceErr`: the last lines of SIPp's error log ('' when none). */
  errors?: string;
  /** Messages SIPp had to retransmit (no answer within its timer): a sign of a server falling behind. */
  retransmissions?: number;
  /** The tail of SIPp's stderr, when it wrote any. */
  stderr?: string;
}

/** Runs a SIPp client at a fixed rate for a bounded number of calls; reads its final statistics file. */
export async function runLoad(r: LoadRun): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  const stf = path.join(dir, 'stat.csv');
  const calls = Math.max(1, Math.round(r.rate * r.seconds));
  const args = [
    ...(r.scenario.endsWith('.xml') ? ['-sf', r.scenario] : ['-sn', r.scenario]),
    r.remote,
    '-i',
    '127.0.0.1',
    '-p',
    String(r.localPort),
    '-t',
    r.transport ?? 'u1',
    '-r',
    String(r.rate),
    '-m',
    String(calls),
    '-d',
    '0',
    '-l',
    String(r.limit ?? Math.max(100, r.rate * 5)),
    '-s',
    r.service ?? 'bench',
    '-nostdin',
    '-trace_stat',
    '-stf',
    stf,
    '-fd',
    '1',
    '-timeout',
    `${r.seconds + Math.ceil((r.durationMs ?? 0) / 1000) + 30}s`,
    ...['-max_recv_loops', '10000', '-max_sched_loops', '10000'],
    ...(r.durationMs ? ['-d', String(r.durationMs)] : []),
    ...(r.rtt ? ['-trace_rtt', '-rtt_freq', '1'] : []),
    ...(r.traceErr ? ['-trace_err'] : []),
    ...(r.extra ?? []),
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  // Drain stderr: SIPp reports every failed call there, and a full pipe blocks it (its watchdog then trips and
  // calls fail for the client's sake, not the server's). Keep the tail for the caller.
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // Safety net beyond SIPp's own -timeout.
  const killer = setTimeout(
    () => child.kill('SIGKILL'),
    (r.seconds + (r.durationMs ?? 0) / 1000 + 90) * 1000,
  );
  const c0 = cpuSeconds(child.pid!);
  const t0 = Date.now();
  let lastCpu = c0;
  const sampler = setInterval(() => {
    const c = cpuSeconds(child.pid!);
    if (Number.isFinite(c)) lastCpu = c;
  }, 200);
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  clearInterval(sampler);
  clearTimeout(killer);
  const wall = (Date.now() - t0) / 1000;
  const lines = fs.existsSync(stf) ? fs.readFileSync(stf, 'utf8').trim().split('\n') : [];
  const traces = collectTraces(dir, r);
  fs.rmSync(dir, { recursive: true, force: true });
  if (lines.length < 2)
    return { rate: r.rate, attempted: 0, successful: 0, failed: calls, achievedRate: 0, sippCpuPct: NaN };
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const col = (name: string) => Number(last[head.indexOf(name)]);
  const successful = col('SuccessfulCall(C)');
  const failed = col('FailedCall(C)');
  const rt = last[head.indexOf('ResponseTime1(C)')];
  return {
    rate: r.rate,
    attempted: col('TotalCallCreated'),
    successful,
    failed,
    // SIPp's own cumulative call rate (calls created per second while it ran).
    achievedRate: col('CallRate(C)'),
    sippCpuPct: (100 * (lastCpu - c0)) / wall,
    ...(rt ? { responseTimeMs: parseRt(rt) } : {}),
    ...(head.includes('Retransmissions(C)') ? { retransmissions: col('Retransmissions(C)') } : {}),
    ...(stderr ? { stderr } : {}),
    ...traces,
  };
}

/** Reads the -trace_rtt / -trace_err files SIPp left in its working directory. */
function collectTraces(dir: string, r: LoadRun): Pick<LoadResult, 'rtts' | 'errors'> {
  const out: Pick<LoadResult, 'rtts' | 'errors'> = {};
  const files = fs.readdirSync(dir);
  if (r.rtt) {
    // "Date_ms;response_time_ms;rtd_no", one row per rtd per call.
    const f = files.find((n) => n.endsWith('_rtt.csv'));
    out.rtts = [];
    if (f)
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n').slice(1)) {
        const [at, ms] = line.split(';').map(Number);
        if (Number.isFinite(at) && Number.isFinite(ms)) out.rtts.push({ at: at!, ms: ms! });
      }
  }
  if (r.traceErr) {
    const f = files.find((n) => n.endsWith('_errors.log'));
    out.errors = f ? fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').slice(-20).join('\n') : '';
  }
  return out;
}

/** SIPp 3.6 writes times as HH:MM:SS:uuuuuu (microseconds). */
function parseRt(v: string): number {
  const [h, m, sec, us] = v.split(':').map(Number);
  return (h ?? 0) * 3600000 + (m ?? 0) * 60000 + (sec ?? 0) * 1000 + (us ?? 0) / 1000;
}

/** Starts a long-running SIPp server (reference UAS); the caller kills it. */
/**
 * Calls placed at `rate` for `seconds`, each held `holdMs`, into the rooms of an -inf file (SEQUENTIAL), with every
 * response time kept: the probe both call-rate benches make. SIPp's limit leaves room for the held calls plus 3 s
 * of slow setups, so it never throttles below the asked rate.
 */
export function runHeldCalls(o: {
  scenario: string;
  remote: string;
  localPort: number;
  rate: number;
  seconds: number;
  holdMs: number;
  inf: string;
}): Promise<LoadResult> {
  return runLoad({
    scenario: o.scenario,
    remote: o.remote,
    localPort: o.localPort,
    rate: o.rate,
    seconds: o.seconds,
    durationMs: o.holdMs,
    limit: Math.ceil(o.rate * (o.holdMs / 1000 + 3)) + 50,
    rtt: true,
    traceErr: true,
    extra: ['-inf', o.inf],
  });
}

export function startSippServer(scenario: string, port: number, transport: 'u1' | 't1' = 'u1'): ChildProcess {
  return spawn(
    'sipp',
    [
      ...(scenario.endsWith('.xml') ? ['-sf', scenario] : ['-sn', scenario]),
      ...['-i', '127.0.0.1', '-p', String(port), '-t', transport, '-nostdin'],
      ...['-max_recv_loops', '10000', '-max_sched_loops', '10000', '-timeout', '900s'],
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
}

/**
 * Finds the highest rate with zero failed calls on a ladder of short probes, then confirms it for `confirmSeconds`.
 * Stops climbing when SIPp itself nears a full core (then the figure is SIPp's limit, not the server's).
 */
export async function findMaxRate(
  base: Omit<LoadRun, 'rate' | 'seconds'>,
  ladder: number[],
  probeSeconds: number,
  confirmSeconds: number,
  serverPid: number,
): Promise<{ best: LoadResult | null; serverCpuPct: number; sippBound: boolean; probes: LoadResult[] }> {
  const probes: LoadResult[] = [];
  let best: number | null = null;
  let sippBound = false;
  for (const rate of ladder) {
    const r = await runLoad({ ...base, rate, seconds: probeSeconds });
    probes.push(r);
    const ok = r.failed === 0 && r.successful >= 0.98 * rate * probeSeconds && r.achievedRate >= 0.9 * rate;
    if (!ok) break;
    best = rate;
    if (r.sippCpuPct > 90) {
      sippBound = true;
      break;
    }
  }
  if (best === null) return { best: null, serverCpuPct: NaN, sippBound, probes };
  // The long run must have zero failures; step down (×0.75, at most 4 times) when it does not.
  for (let attempt = 0, rate = best; attempt < 4; attempt++, rate = Math.max(1, Math.floor(rate * 0.75))) {
    const c0 = cpuSeconds(serverPid);
    const t0 = Date.now();
    const confirm = await runLoad({ ...base, rate, seconds: confirmSeconds });
    const serverCpuPct = (100 * (cpuSeconds(serverPid) - c0)) / ((Date.now() - t0) / 1000);
    if (confirm.failed === 0 && confirm.successful >= 0.98 * rate * confirmSeconds)
      return { best: confirm, serverCpuPct, sippBound, probes };
    probes.push(confirm);
  }
  return { best: null, serverCpuPct: NaN, sippBound, probes };
}
