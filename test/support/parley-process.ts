import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const ROOT = path.resolve(__dirname, '../..');
export const ENTRY = path.join(ROOT, 'dist/src/index.js');

export interface RunningParley {
  proc: ChildProcess;
  /** The admin API token it was started with (PARLEY_API_TOKEN). */
  token: string;
  /** Its data directory (PARLEY_DATA_DIR): a temporary one, removed at exit, unless `env` named one. */
  dataDir: string;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line matching `pred`. */
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts the built server (`dist/src/index.js`) as a real process, collecting its pino JSON lines (and the plain
 * lines it prints for people, as `{ raw }`). Each server gets its own data directory (a fresh database) and a random
 * admin API token unless `env` sets PARLEY_DATA_DIR / PARLEY_API_TOKEN.
 */
export function startParley(args: string[], env: Record<string, string> = {}): RunningParley {
  const ownDir = env.PARLEY_DATA_DIR === undefined;
  const dataDir = env.PARLEY_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'parley-data-'));
  const token = env.PARLEY_API_TOKEN ?? `test-${crypto.randomBytes(24).toString('base64url')}`;
  const proc = spawn(process.execPath, [ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, PARLEY_DATA_DIR: dataDir, PARLEY_API_TOKEN: token, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (ownDir) proc.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      obj = { raw: line };
    }
    lines.push(obj);
    for (const w of [...waiters])
      if (w.pred(obj)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(obj);
      }
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    proc,
    token,
    dataDir,
    lines,
    exit,
    waitForLog(pred, timeoutMs = 20000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`log line not seen in ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
        void exit.then((e) =>
          reject(new Error(`parley exited (${e.code}) before the log line; stderr: ${e.stderr}`)),
        );
      });
    },
  };
}
