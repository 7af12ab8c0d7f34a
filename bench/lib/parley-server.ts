/**
 * The built Parley server (`dist/src/index.js`) as a measured process for benchmarks: started with a YAML --config
 * file and env overrides, with a raised open-files limit, its pino log written to a file (never a pipe the bench
 * could forget to drain). Measures the process tree: the server process (its media worker threads included) and
 * its mediasoup worker child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds, rssBytes } from './proc';

const ENTRY = path.resolve(__dirname, '../../src/index.js'); // dist/bench/lib → dist/src/index.js

export interface ParleyServerOptions {
  /** Merged into the YAML config file (JSON is YAML). */
  config?: Record<string, unknown>;
  /** PARLEY_* overrides (SIP port, RTP range...). */
  env?: Record<string, string>;
  /** `ulimit -n` for the server (it is spawned through bash; root may raise the hard limit). */
  openFiles?: number;
  startTimeoutMs?: number;
}

export interface TreeSample {
  cpuSeconds: number;
  /** CPU of the server's main (event-loop) thread alone. */
  mainThreadCpuSeconds: number;
  /** CPU of the mediasoup worker processes. */
  workersCpuSeconds: number;
  rssBytes: number;
  serverRssBytes: number;
  workersRssBytes: number;
  /** Open sockets (fds) of the server process: SIP transports, HTTP, phone-facing relay sockets. */
  serverSockets: number;
  /** Open sockets of the mediasoup workers: one UDP socket per PlainTransport (rtcp-mux). */
  workerSockets: number;
}

/** Whether a port is free for both UDP and TCP on 127.0.0.1 (Parley's SIP listens on both). */
async function bothFree(port: number): Promise<boolean> {
  const udp = dgram.createSocket('udp4');
  const tcp = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    udp.once('error', () => resolve(false));
    udp.bind(port, '127.0.0.1', () => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
  });
  udp.close();
  await new Promise<void>((r) => (tcp.listening ? tcp.close(() => r()) : r()));
  return ok;
}

/** A port in [from, from+500) free on UDP and TCP. */
export async function freeSipPort(from: number): Promise<number> {
  for (let p = from; p < from + 500; p++) if (await bothFree(p)) return p;
  throw new Error(`no free port in ${from}-${from + 499}`);
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const c = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    /* the process is gone */
  }
  return out;
}

/** Every descendant process of `pid` (children, grandchildren…), bounded to 10,000. */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  const queue = childPids(pid);
  while (queue.length > 0 && out.length < 10000) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...childPids(p));
  }
  return out;
}

/** CPU seconds of every thread of a process: tid → seconds (from /proc/<pid>/task/<tid>/stat). */
export function threadCpuSnapshot(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    const c = threadCpuSeconds(pid, Number(t));
    if (Number.isFinite(c)) out.set(Number(t), c);
  }
  return out;
}

/** CPU seconds of one thread, from /proc/<pid>/task/<tid>/stat. */
function threadCpuSeconds(pid: number, tid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function socketCount(pid: number): number {
  let n = 0;
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    return NaN;
  }
  return n;
}

export class ParleyServer {
  private constructor(
    readonly proc: ChildProcess,
    readonly dir: string,
    readonly logFile: string,
    readonly sipPort: number,
    readonly http: string,
    /** The admin API token the server was started with (the REST API needs it). */
    readonly token: string,
  ) {}

  /** The server's child processes (mediasoup workers and anything they start), read live from /proc. */
  get workerPids(): number[] {
    return descendantPids(this.pid);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  static async start(sipPort: number, opts: ParleyServerOptions = {}): Promise<ParleyServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-srv-'));
    const cfg = path.join(dir, 'parley.yaml');
    // Load generators all send from 127.0.0.1 far above a phone's rate: allow-listed like a trunk (issue 14's
    // per-source limits would otherwise throttle the measurement), unless the benchmark gives its own `security`.
    const config = { security: { allow: ['127.0.0.1'] }, ...opts.config };
    fs.writeFileSync(cfg, JSON.stringify(config));
    const logFile = path.join(dir, 'parley.log');
    const logFd = fs.openSync(logFile, 'w');
    const nofile = opts.openFiles ?? 65536;
    const token = `bench-${crypto.randomBytes(24).toString('base64url')}`;
    // `exec` keeps the pid: the child is node itself, its children the mediasoup workers.
    const proc = spawn(
      'bash',
      [
        '-c',
        `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`,
        process.execPath,
        ENTRY,
        '--config',
        cfg,
      ],
      {
        cwd: path.resolve(__dirname, '../../..'),
        env: {
          ...process.env,
          PARLEY_SIP_PORT: String(sipPort),
          PARLEY_SIP_TLS_PORT: 'off',
          PARLEY_SIP_WS_PORT: 'off',
          PARLEY_HTTP_PORT: '0',
          PARLEY_LOG_LEVEL: 'info',
          PARLEY_DATA_DIR: dir,
          PARLEY_API_TOKEN: token,
          ...opts.env,
        },
        stdio: ['ignore', logFd, logFd],
      },
    );
    fs.closeSync(logFd);
    // never leave a server behind when the bench process ends (runner timeout, Ctrl-C, crash); its mediasoup
    // workers exit with it
    const killOnExit = (): void => void proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    const end = Date.now() + (opts.startTimeoutMs ?? 60000);
    let started: { http?: string } | undefined;
    while (!started && Date.now() < end && proc.exitCode === null) {
      await sleep(100);
      started = readLog(logFile).find((l) => l.msg === 'parley started') as { http?: string } | undefined;
    }
    if (!started) {
      proc.kill('SIGKILL');
      throw new Error(`parley did not start; log tail:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    return new ParleyServer(proc, dir, logFile, sipPort, `http://${String(started.http)}`, token);
  }

  sample(): TreeSample {
    const workerPids = this.workerPids;
    const pids = [this.pid, ...workerPids];
    const rss = pids.map(rssBytes);
    const cpu = pids.map(cpuSeconds);
    return {
      cpuSeconds: cpu.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      mainThreadCpuSeconds: threadCpuSeconds(this.pid, this.pid),
      workersCpuSeconds: cpu.slice(1).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      rssBytes: rss.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      serverRssBytes: rss[0]!,
      workersRssBytes: rss.slice(1).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      serverSockets: socketCount(this.pid),
      workerSockets: workerPids.map(socketCount).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
    };
  }

  /** Total participants over all rooms (GET /api/rooms). */
  async participants(): Promise<number> {
    const res = await fetch(`${this.http}/api/rooms`, { headers: { authorization: `Bearer ${this.token}` } });
    const body = (await res.json()) as { rooms: Array<Record<string, unknown>> };
    let n = 0;
    for (const r of body.rooms) {
      const p = r.participants ?? r.participantCount;
      n += typeof p === 'number' ? p : Array.isArray(p) ? p.length : 0;
    }
    return n;
  }

  /** The pino lines of the log so far (optionally only those at or above `minLevel`). */
  logs(minLevel = 0): Array<Record<string, unknown>> {
    return readLog(this.logFile).filter((l) => typeof l.level !== 'number' || l.level >= minLevel);
  }

  /** Counts of warn/error log messages (msg → count), for the report of a failed run. */
  problemSummary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.logs(40)) {
      const k = `${String(l.msg ?? l.raw)}${l.reason ? ` (${String(l.reason)})` : ''}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  async stop(keepLog = false): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
      // SIGINT stops at once (BYE to every call); SIGTERM drains and would wait for the calls to end.
      this.proc.kill('SIGINT');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 12000);
      await exited;
      clearTimeout(t);
    }
    if (!keepLog) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function readLog(file: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      out.push({ raw: line });
    }
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
