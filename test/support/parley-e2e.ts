import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startParley, type RunningParley } from './parley-process';
import { freePort } from './sipp';

/** What GET /api/rooms/:id says of a participant. */
export interface ApiParticipant {
  id: string;
  kind?: string;
  displayName: string;
  uri: string;
  transport: string;
  codec: string | null;
  srtp: boolean;
  onHold: boolean;
  state: string;
  muted?: boolean;
  speaking?: boolean;
  role?: string;
  video?: boolean;
  /** RFC 3892 Referred-By of a transferred caller */
  referredBy?: string;
}

export interface E2eParley {
  run: RunningParley;
  /** SIP UDP/TCP port on 127.0.0.1 */
  sipPort: number;
  /** SIP TLS port (only when started with `tls: true`), with the server's self-signed development certificate. */
  tls?: { port: number; certFile: string };
  /** http://127.0.0.1:port */
  http: string;
  /** A scratch directory for this server's SIPp runs (cwd, logs, out files); also its data directory (database). */
  dir: string;
  /** The admin API token the server was started with (PARLEY_API_TOKEN); api/post/del/request send it. */
  token: string;
  /** GET /api/... → { status, body } */
  api<T = unknown>(p: string): Promise<{ status: number; body: T }>;
  /** POST /api/... with a JSON body → { status, body } */
  post<T = unknown>(p: string, body: unknown): Promise<{ status: number; body: T }>;
  /** DELETE /api/... → { status, body } (body null when there is none, e.g. 204) */
  del<T = unknown>(p: string): Promise<{ status: number; body: T }>;
  /** Any method, optional JSON body, authenticated with the token unless `auth: false`. */
  request<T = unknown>(
    method: string,
    p: string,
    body?: unknown,
    opts?: { auth?: boolean; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T }>;
  /** The participants of a room ([] when the room does not exist). */
  participants(room: string): Promise<ApiParticipant[]>;
  /** Polls `participants(room)` until `pred` holds (or throws after `timeoutMs`). */
  waitParticipants(
    room: string,
    pred: (ps: ApiParticipant[]) => boolean,
    timeoutMs?: number,
  ): Promise<ApiParticipant[]>;
  /** The log lines (pino objects) whose msg equals `msg`. */
  logs(msg: string): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Each jest worker gets its own RTP range so that test files running side by side never collide. */
function rtpRange(): { min: number; max: number } {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const min = 30000 + ((worker - 1) % 8) * 1000;
  return { min, max: min + 999 };
}

/**
 * Starts the built server (`dist/`) with `conference` settings (written to a YAML --config file), on a free SIP
 * port (UDP+TCP; TLS and WS off), HTTP on port 0 (read back from the 'parley started' line), one mediasoup worker,
 * its own data directory (a fresh database) and a random admin API token for the REST calls.
 */
export async function startE2eParley(
  opts: {
    conference?: Record<string, unknown>;
    /**
     * The `security` section. Default: 127.0.0.1 allow-listed like a trunk, since functional tests place all their
     * calls from that one address at test rates; the abuse tests (`test/e2e/abuse-*.test.ts`) give their own.
     */
    security?: Record<string, unknown>;
    /** Further top-level config sections (e.g. `drain`), merged into the YAML file. */
    config?: Record<string, unknown>;
    /**
     * The scratch and data directory to use, e.g. a previous run's to restart on the same database; stop() leaves
     * a directory given here in place (its owner removes it). Default: a fresh one, removed by stop().
     */
    dir?: string;
    env?: Record<string, string>;
    tls?: boolean;
  } = {},
): Promise<E2eParley> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
  const cfgFile = path.join(dir, 'parley.yaml');
  const security = opts.security ?? { allow: ['127.0.0.1'] };
  fs.writeFileSync(
    cfgFile,
    JSON.stringify({ ...opts.config, conference: opts.conference ?? {}, security }), // JSON is YAML
  );
  const sipPort = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const range = rtpRange();
  const token = `e2e-${crypto.randomBytes(24).toString('base64url')}`;
  // The data directory is the scratch directory (removed by stop()); the run's own temp directory is not made.
  const run = startParley(['--config', cfgFile], {
    PARLEY_DATA_DIR: dir,
    PARLEY_API_TOKEN: token,
    PARLEY_SIP_PORT: String(sipPort),
    PARLEY_SIP_TLS_PORT: tlsPort ? String(tlsPort) : 'off',
    PARLEY_SIP_WS_PORT: 'off',
    PARLEY_HTTP_PORT: '0',
    PARLEY_RTC_NUM_WORKERS: '1',
    PARLEY_RTC_MIN_PORT: String(range.min),
    PARLEY_RTC_MAX_PORT: String(range.max),
    PARLEY_WEBRTC_PORT: '0',
    PARLEY_LOG_LEVEL: 'info',
    ...opts.env,
  });
  const started = await run.waitForLog((l) => l.msg === 'parley started', 30000);
  const http = `http://${String(started.http)}`;
  const request = async <T>(
    method: string,
    p: string,
    body?: unknown,
    o: { auth?: boolean; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: T }> => {
    const headers: Record<string, string> = {
      ...(o.auth === false ? {} : { authorization: `Bearer ${token}` }),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...o.headers,
    };
    const res = await fetch(`${http}${p}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
  };
  const api = <T>(p: string) => request<T>('GET', p);
  const post = <T>(p: string, body: unknown) => request<T>('POST', p, body);
  const participants = async (room: string): Promise<ApiParticipant[]> => {
    const r = await api<{ participants?: ApiParticipant[] }>(`/api/rooms/${encodeURIComponent(room)}`);
    return r.status === 200 ? (r.body.participants ?? []) : [];
  };
  return {
    run,
    sipPort,
    // The server generates its development certificate into $TMPDIR/parley-dev-cert (src/sip/transport/tls-credentials.ts).
    ...(tlsPort
      ? { tls: { port: tlsPort, certFile: path.join(os.tmpdir(), 'parley-dev-cert', 'cert.pem') } }
      : {}),
    http,
    dir,
    token,
    api,
    post,
    del: (p) => request('DELETE', p),
    request,
    participants,
    async waitParticipants(room, pred, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      let last: ApiParticipant[] = [];
      while (Date.now() < end) {
        last = await participants(room);
        if (pred(last)) return last;
        await sleep(100);
      }
      throw new Error(
        `room ${room}: condition not met in ${timeoutMs} ms; last view ${JSON.stringify(last)}`,
      );
    },
    logs: (msg) => run.lines.filter((l) => l.msg === msg),
    async stop() {
      // SIGINT stops at once (every call gets its BYE); SIGTERM would drain, waiting for calls to end.
      if (run.proc.exitCode === null) run.proc.kill('SIGINT');
      const killer = setTimeout(() => run.proc.kill('SIGKILL'), 8000);
      await run.exit;
      clearTimeout(killer);
      if (opts.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
