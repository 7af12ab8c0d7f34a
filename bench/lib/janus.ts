/**
 * A private Janus (Debian `janus` 1.1.x) for benchmarks: only the AudioBridge plugin and the HTTP transport, on
 * loopback, config from bench/janus/ (templates) filled into a temp dir; plus a minimal Janus HTTP API client
 * (session, handles, plugin messages, long-poll for asynchronous events).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const LIB_DIR = '/usr/lib/x86_64-linux-gnu/janus';

export interface JanusInstance {
  pid: number;
  url: string;
  logFile: string;
  /** Kills Janus (SIGTERM, then SIGKILL) and removes the temp dir unless keepLogs. Idempotent. */
  close(keepLogs?: boolean): Promise<void>;
}

export interface StartJanusOptions {
  /** AudioBridge plain-RTP port range, e.g. "42000-45999". */
  rtpRange?: string;
  /** Where the templates live (default: bench/janus next to the compiled or source file). */
  templateDir?: string;
  startTimeoutMs?: number;
}

export function janusAvailable(): boolean {
  return fs.existsSync(`${LIB_DIR}/plugins/libjanus_audiobridge.so`) && fs.existsSync('/usr/bin/janus');
}

function findTemplateDir(): string {
  const candidates = [
    path.resolve(__dirname, '../janus'),
    path.resolve(__dirname, '../../../bench/janus'),
    path.resolve(process.cwd(), 'bench/janus'),
  ];
  const dir = candidates.find((d) => fs.existsSync(path.join(d, 'janus.jcfg')));
  if (!dir) throw new Error(`bench/janus templates not found (looked in ${candidates.join(', ')})`);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startJanus(opts: StartJanusOptions = {}): Promise<JanusInstance> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-janus-'));
  const dirs = { conf: 'conf', plugins: 'plugins', transports: 'transports', empty: 'empty' };
  for (const d of Object.values(dirs)) fs.mkdirSync(path.join(tmp, d));
  fs.symlinkSync(
    `${LIB_DIR}/plugins/libjanus_audiobridge.so`,
    path.join(tmp, 'plugins/libjanus_audiobridge.so'),
  );
  fs.symlinkSync(`${LIB_DIR}/transports/libjanus_http.so`, path.join(tmp, 'transports/libjanus_http.so'));
  const httpPort = await freePort();
  const vars: Record<string, string> = {
    CONFIGS: path.join(tmp, dirs.conf),
    PLUGINS: path.join(tmp, dirs.plugins),
    TRANSPORTS: path.join(tmp, dirs.transports),
    EMPTY: path.join(tmp, dirs.empty),
    HTTP_PORT: String(httpPort),
    RTP_RANGE: opts.rtpRange ?? '42000-49999',
    ICE_RTP_RANGE: '41900-41999',
  };
  const templates = opts.templateDir ?? findTemplateDir();
  for (const f of fs.readdirSync(templates).filter((n) => n.endsWith('.jcfg'))) {
    const text = fs
      .readFileSync(path.join(templates, f), 'utf8')
      .replace(/@([A-Z_]+)@/g, (m, k: string) => vars[k] ?? m);
    fs.writeFileSync(path.join(tmp, dirs.conf, f), text);
  }
  const logFile = path.join(tmp, 'janus.log');
  const child: ChildProcess = spawn(
    'janus',
    ['-F', vars.CONFIGS!, '-C', path.join(vars.CONFIGS!, 'janus.jcfg'), '-L', logFile, '-N', '-o'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on(
    'data',
    (d: Buffer) => (stderr += d.toString()).length > 4000 && (stderr = stderr.slice(-4000)),
  );
  let exited = false;
  // never leave a Janus behind when the bench process ends (timeout, Ctrl-C, crash)
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exitedP = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      r();
    }),
  );
  const url = `http://127.0.0.1:${httpPort}/janus`;
  let closed: Promise<void> | null = null;
  const close = (keepLogs = false): Promise<void> =>
    (closed ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exitedP;
        clearTimeout(t);
      }
      if (!keepLogs) fs.rmSync(tmp, { recursive: true, force: true });
    })());
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10000);
  for (;;) {
    if (exited) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
      await close(true);
      throw new Error(`janus exited while starting: ${stderr}\n${log}`);
    }
    try {
      const r = await fetch(`${url}/info`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close(true);
      throw new Error(`janus did not answer on ${url} (log: ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, url, logFile, close };
}

/** Janus error (from the core or a plugin) with its code. */
export class JanusError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
    this.name = 'JanusError';
  }
}

type Json = Record<string, unknown>;

/** An overloaded Janus may answer very late: a request gives up after this long. */
const POST_TIMEOUT_MS = 15000;

interface Waiter {
  resolve: (v: Json) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One Janus session over the HTTP API, with a long-poll loop routing async plugin events by transaction. */
export class JanusSession {
  private tx = 0;
  private readonly waiters = new Map<string, Waiter>();
  private polling = true;
  /** Of the long poll in flight (one per poll: a shared signal would collect a listener per fetch). */
  private abort = new AbortController();
  private pollLoop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly url: string,
    readonly id: number,
  ) {}

  static async create(url: string): Promise<JanusSession> {
    const r = await post(url, { janus: 'create', transaction: 'c' });
    const s = new JanusSession(url, (r.data as { id: number }).id);
    s.pollLoop = s.poll();
    return s;
  }

  async attach(plugin: string): Promise<number> {
    const r = await post(`${this.url}/${this.id}`, { janus: 'attach', plugin, transaction: this.nextTx() });
    return (r.data as { id: number }).id;
  }

  /**
   * An AudioBridge room as the benches compare it: 16 kHz mix, plain-RTP participants allowed, no recording, no
   * audio-level events (AudioBridge's default), and Janus's own prebuffering unless `prebuffering` is given.
   */
  async createAudioBridgeRoom(handle: number, room: number, prebuffering?: number): Promise<Json> {
    return this.message(handle, {
      request: 'create',
      room,
      sampling_rate: 16000,
      allow_rtp_participants: true,
      record: false,
      audiolevel_event: false,
      ...(prebuffering !== undefined ? { default_prebuffering: prebuffering } : {}),
    });
  }

  /**
   * A plugin request. Synchronous ones (create, destroy, list…) come back in the HTTP answer; asynchronous ones
   * (join, configure…) are acked and their event arrives on the long poll.
   */
  async message(handle: number, body: Json, timeoutMs = 15000): Promise<Json> {
    const transaction = this.nextTx();
    const event = new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(transaction);
        reject(new JanusError(`janus ${String(body.request)}: no event in ${timeoutMs} ms`, undefined));
      }, timeoutMs);
      this.waiters.set(transaction, { resolve, reject, timer });
    });
    event.catch(() => undefined);
    const r = await post(`${this.url}/${this.id}/${handle}`, { janus: 'message', body, transaction });
    if (r.janus === 'ack') return pluginData(await event);
    const w = this.waiters.get(transaction);
    if (w) {
      clearTimeout(w.timer);
      this.waiters.delete(transaction);
    }
    return pluginData(r);
  }

  /** Stops the long poll and fails pending requests, without telling Janus (e.g. it is about to be killed). */
  stopPolling(): void {
    this.polling = false;
    this.abort.abort();
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new JanusError('session abandoned', undefined));
    }
    this.waiters.clear();
  }

  async destroy(): Promise<void> {
    this.polling = false;
    this.abort.abort(); // a long poll would otherwise hang for up to 30 s
    try {
      await post(`${this.url}/${this.id}`, { janus: 'destroy', transaction: this.nextTx() });
    } catch {
      // already gone
    }
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new JanusError('session destroyed', undefined));
    }
    this.waiters.clear();
    await this.pollLoop;
  }

  private nextTx(): string {
    return `t${++this.tx}`;
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      let events: Json[] = [];
      try {
        this.abort = new AbortController();
        const r = await fetch(`${this.url}/${this.id}?maxev=50&rid=${Date.now()}`, {
          signal: this.abort.signal,
        });
        const j = (await r.json()) as Json | Json[];
        events = Array.isArray(j) ? j : [j];
      } catch {
        if (!this.polling) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const e of events) {
        const t = e.transaction as string | undefined;
        if (!t || e.janus === 'keepalive') continue;
        const w = this.waiters.get(t);
        if (!w) continue;
        clearTimeout(w.timer);
        this.waiters.delete(t);
        w.resolve(e);
      }
    }
  }
}

function pluginData(r: Json): Json {
  if (r.janus === 'error') {
    const e = r.error as { code: number; reason: string };
    throw new JanusError(e.reason, e.code);
  }
  const data = ((r.plugindata as Json | undefined)?.data ?? {}) as Json;
  if (typeof data.error_code === 'number') throw new JanusError(String(data.error), data.error_code);
  return data;
}

async function post(url: string, body: Json): Promise<Json> {
  const r = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  const j = (await r.json()) as Json;
  if (j.janus === 'error') {
    const e = j.error as { code: number; reason: string };
    throw new JanusError(`${String(body.janus)}: ${e.reason}`, e.code);
  }
  return j;
}
