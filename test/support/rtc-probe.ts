/**
 * Serves test/browser/rtc-probe.ts (a UI-less client of the /rtc protocol, bundled with esbuild) from a tiny HTTP
 * server on 127.0.0.1, and drives it in a TestBrowser: `probe.start(...)` joins a room, `levels(freq)` measures
 * what the browser hears, `stats()` what it receives.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { PROJECT_ROOT, type TestBrowser } from './browser';

export interface ProbeServer {
  url: string;
  close(): Promise<void>;
}

/** Bundles the probe and serves it at `<url>/` (a secure context: http://127.0.0.1). */
export async function serveProbe(): Promise<ProbeServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-probe-'));
  buildSync({
    entryPoints: [path.join(PROJECT_ROOT, 'test/browser/rtc-probe.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    outfile: path.join(dir, 'probe.js'),
    logLevel: 'error',
  });
  const js = fs.readFileSync(path.join(dir, 'probe.js'));
  const html = '<!doctype html><meta charset="utf-8"><title>probe</title><script src="/probe.js"></script>';
  const server = http.createServer((req, res) => {
    if (req.url === '/probe.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
        fs.rmSync(dir, { recursive: true, force: true });
      }),
  };
}

export interface ProbeJoin {
  server: string;
  room: string;
  name: string;
  pin?: string;
  video?: boolean;
  relay?: boolean;
}

/** Opens the probe page in `b` and joins; resolves with the participant id. */
export async function probeJoin(b: TestBrowser, probeUrl: string, opts: ProbeJoin): Promise<string> {
  await b.page.goto(probeUrl);
  return b.page.evaluate(
    (o) => (globalThis as unknown as { probe: { start(o: unknown): Promise<string> } }).probe.start(o),
    opts,
  );
}

/** The probe's level of `freq` (dBFS) per sending participant. */
export function probeLevels(b: TestBrowser, freq: number): Promise<Record<string, number>> {
  return b.page.evaluate(
    (f) =>
      (globalThis as unknown as { probe: { levels(f: number): Record<string, number> } }).probe.levels(f),
    freq,
  );
}

export function probeStats(
  b: TestBrowser,
): Promise<Array<{ participantId: string; kind: string; bytes: number; frames: number }>> {
  return b.page.evaluate(() =>
    (
      globalThis as unknown as {
        probe: {
          stats(): Promise<Array<{ participantId: string; kind: string; bytes: number; frames: number }>>;
        };
      }
    ).probe.stats(),
  );
}

/** Evaluates `fn(probe)` in the page. */
export function withProbe<T>(b: TestBrowser, fn: string): Promise<T> {
  return b.page.evaluate(`(async (probe) => { ${fn} })(window.probe)`) as Promise<T>;
}
