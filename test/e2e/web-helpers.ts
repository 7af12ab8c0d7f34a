/**
 * Shared by the browser e2e tests (web-pages, browser-room): joining a room through the page as a person does
 * (by accessible names), and what a page receives, measured inside the page: tone levels of a remote stream
 * (WebAudio, a Hann-windowed Goertzel per frequency, median over snapshots) and the receive statistics of its
 * consumers. The page exposes its remote streams and stats on `window.__parley` for this only.
 */
import type { Page } from 'playwright-core';
import type { TestBrowser } from '../support/browser';

export interface ConsumerStats {
  participantId: string;
  kind: string;
  bytesReceived: number;
  framesDecoded: number;
  codec: string;
}

/** Evaluates `expr` (JavaScript; the page's own DOM types are not in the tests' compilation). */
export function inPage<T>(page: Page, expr: string): Promise<T> {
  return page.evaluate(expr) as Promise<T>;
}

/** Opens /r/<room>, types the name (and PIN), presses Join and waits for the room's controls; the participant id. */
export async function joinRoom(
  b: TestBrowser,
  base: string,
  room: string,
  name: string,
  opts: { pin?: string; query?: string } = {},
): Promise<string> {
  const page = b.page;
  await page.goto(`${base}/r/${room}${opts.query ?? ''}`);
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Join' }).click();
  if (opts.pin !== undefined) {
    await page.getByLabel('Room PIN').fill(opts.pin);
    await page.getByRole('button', { name: 'Join' }).click();
  }
  await page
    .getByRole('button', { name: 'Leave' })
    .waitFor({ timeout: 20000 })
    .catch((err: Error) => {
      throw new Error(`${name} did not get into ${room}: ${err.message}\n${b.console.join('\n')}`);
    });
  const id = await inPage<string | null>(page, 'window.__parley.participantId()');
  if (!id) throw new Error(`${name}: no participant id`);
  return id;
}

/** Waits until `pred` holds for the page's consumer stats (polling), and returns them. */
export async function waitStats(
  page: Page,
  pred: (s: ConsumerStats[]) => boolean,
  what: string,
  timeoutMs = 20000,
): Promise<ConsumerStats[]> {
  const end = Date.now() + timeoutMs;
  let last: ConsumerStats[] = [];
  while (Date.now() < end) {
    last = await inPage<ConsumerStats[]>(page, 'window.__parley.stats()');
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not met in ${timeoutMs} ms; stats ${JSON.stringify(last)}`);
}

/**
 * The level (dBFS of a full-scale sine) of each frequency in the audio the page receives from `participantId`,
 * measured in the page with WebAudio over `ms` (the median of ~170 ms snapshots).
 */
export async function pageToneLevels(
  page: Page,
  participantId: string,
  freqs: number[],
  ms = 2500,
): Promise<Record<number, number>> {
  return inPage<Record<number, number>>(
    page,
    `(${TONE_LEVELS_IN_PAGE})(${JSON.stringify({ participantId, freqs, ms })})`,
  );
}

/** Runs in the page (plain JavaScript): WebAudio on the remote audio track, Goertzel per frequency. */
const TONE_LEVELS_IN_PAGE = `async ({ participantId, freqs, ms }) => {
  const stream = window.__parley.streams()[participantId];
  const tracks = stream ? stream.getAudioTracks() : [];
  if (tracks.length === 0) throw new Error('no audio from ' + participantId);
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(new MediaStream(tracks));
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  src.connect(an);
  const n = an.fftSize;
  const buf = new Float32Array(n);
  const win = Float32Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  const levels = {};
  for (const f of freqs) levels[f] = [];
  await new Promise((r) => setTimeout(r, 300));
  const end = performance.now() + ms;
  while (performance.now() < end) {
    an.getFloatTimeDomainData(buf);
    for (const f of freqs) {
      const w = (2 * Math.PI * f) / ctx.sampleRate;
      let re = 0;
      let im = 0;
      for (let i = 0; i < n; i++) {
        const x = buf[i] * win[i];
        re += x * Math.cos(w * i);
        im -= x * Math.sin(w * i);
      }
      const amp = (2 * Math.hypot(re, im)) / (n * 0.5);
      levels[f].push(20 * Math.log10(Math.max(amp, 1e-9)));
    }
    await new Promise((r) => setTimeout(r, 180));
  }
  await ctx.close();
  const out = {};
  for (const f of freqs) {
    const l = levels[f].sort((a, b) => a - b);
    out[f] = Math.round(l[Math.floor(l.length / 2)] * 10) / 10;
  }
  return out;
}`;
