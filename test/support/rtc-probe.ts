/**
 * Serves test/browser/rtc-probe.ts (a UI-less client of the /rtc protocol, bundled with esbuild) from a tiny HTTP
 * server on 127.0.0.1, and drives it in a TestBrowser: `probe.start(...)` joins a room, `levels(freq)` measures
 * what the browser hears, `stats()` what it receives.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { PROJECT_ROOT, type TestBrowser } from './browser';

export interface ProbeServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Bundles `entry` with esbuild (browser IIFE) and serves it at `<url><scriptPath>`, with `html` at every other path,
 * on 127.0.0.1 (a secure context for getUserMedia and WebRTC).
 */
export async function serveBundledPage(opts: {
  entry: string;
  html: string | Buffer;
  scriptPath: string;
}): Promise<ProbeServer> {
  const out = buildSync({
    entryPoints: [opts.entry],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const js = Buffer.from(out.outputFiles[0]!.contents);
  const server = http.createServer((req, res) => {
    if (req.url === opts.scriptPath) res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(opts.html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The protocol probe (test/browser/rtc-probe.ts) at `<url>/`. */
export function serveProbe(): Promise<ProbeServer> {
  return serveBundledPage({
    entry: path.join(PROJECT_ROOT, 'test/browser/rtc-probe.ts'),
    html: '<!doctype html><meta charset="utf-8"><title>probe</title><script src="/probe.js"></script>',
    scriptPath: '/probe.js',
  });
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
