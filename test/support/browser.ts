/**
 * Real browsers for tests: Debian's Chromium driven by playwright-core (never a downloaded browser), one process per
 * browser so each has its own fake microphone (a tone WAV looped by Chromium) and fake camera (Chromium's test
 * pattern). Screenshots go to `test-artifacts/` (kept by CI as artefacts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { writeToneWav } from './tone-analysis';

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';

/** The checkout's root (this file also runs compiled under dist/ for the benchmarks). */
export const PROJECT_ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();
export const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts');

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console lines and page errors (attach to a failure message). */
  console: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fake microphone playing a `toneHz` sine (not a whole number of cycles per 20 ms frame,
 * e.g. 407 Hz, so concealed or repeated frames lower the measured level) and the fake camera.
 */
export async function launchBrowser(
  opts: { toneHz?: number; extraArgs?: string[]; name?: string } = {},
): Promise<TestBrowser> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-chromium-'));
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
    // ICE on 127.0.0.1: Chromium leaves loopback out of its candidates unless told (tests run in a network namespace
    // with loopback only, see scripts/loopback-only.sh).
    '--allow-loopback-in-peer-connection',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    ...(opts.toneHz
      ? [
          `--use-file-for-fake-audio-capture=${writeToneWav(path.join(dir, 'tone.wav'), opts.toneHz, 10, 48000, 0.3)}`,
        ]
      : []),
    ...(opts.extraArgs ?? []),
  ];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`${opts.name ?? 'page'} ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`${opts.name ?? 'page'} error: ${e.message}`));
  return {
    browser,
    context,
    page,
    console: lines,
    async screenshot(name: string): Promise<string> {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close(): Promise<void> {
      await browser.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
