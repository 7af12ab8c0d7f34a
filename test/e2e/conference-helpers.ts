/**
 * Shared by the conference e2e tests (conference-*.test.ts): what a phone heard, judged per tone, API errors
 * checked against the catalogue, and a server stop that can report the server's log.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors/catalogue';
import { sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { toneDb } from '../support/tone-analysis';

/** A tone counts as heard when its median level over 200 ms blocks is above this (each is sent at −12 dBFS). */
export const HEARD_DB = -25;
/** A tone counts as absent when its median level over 200 ms blocks is below this. */
export const GONE_DB = -45;

/**
 * The audio a phone heard after `settleMs` from now: the first `frames` 20 ms frames that arrived from then on.
 * Counted in frames, not in wall-clock time, so that a starved test process (frames read late) or a stalled
 * server (frames sent late) only delays the answer; a phone that stops hearing anything makes it throw.
 */
export async function hearNext(
  phone: SipPhone,
  opts: { frames?: number; settleMs?: number; timeoutMs?: number } = {},
): Promise<Int16Array> {
  const frames = opts.frames ?? 125;
  const from = Date.now() + (opts.settleMs ?? 1000);
  const end = from + (opts.timeoutMs ?? 30000);
  while (phone.framesHeard(from) < frames) {
    if (Date.now() > end)
      throw new Error(`${phone.opts.user}: ${phone.framesHeard(from)} of ${frames} frames heard in time`);
    await sleep(50);
  }
  return phone.heard(from, Number.POSITIVE_INFINITY).subarray(0, (frames * phone.rate) / 50);
}

/** Per tone, the median of its level (dBFS) over the recording's 200 ms blocks: a few glitchy blocks do not count. */
export function toneMedians(pcm: Int16Array, rate: number, freqs: readonly number[]): Record<number, number> {
  const block = Math.floor(rate / 5);
  const out: Record<number, number> = {};
  for (const f of freqs) {
    const levels: number[] = [];
    for (let off = 0; off + block <= pcm.length; off += block)
      levels.push(toneDb(pcm.subarray(off, off + block), rate, f));
    levels.sort((a, b) => a - b);
    out[f] = levels.length ? Math.round(levels[Math.floor(levels.length / 2)]! * 10) / 10 : -120;
  }
  return out;
}

/** The recording holds every tone of `hear` and none of `notHear` (`freqs`: every tone in play, for the message). */
export function expectHears(
  pcm: Int16Array,
  rate: number,
  freqs: readonly number[],
  hear: readonly number[],
  notHear: readonly number[],
  who: string,
): void {
  const levels = toneMedians(pcm, rate, freqs);
  const ctx = `${who} heard ${JSON.stringify(levels)} (${pcm.length} samples)`;
  if (process.env.CONFERENCE_E2E_DEBUG) console.log(ctx);
  expect({ ctx, blocks: pcm.length >= rate }).toEqual({ ctx, blocks: true });
  for (const f of hear) expect({ ctx, f, heard: levels[f]! > HEARD_DB }).toEqual({ ctx, f, heard: true });
  for (const f of notHear) expect({ ctx, f, gone: levels[f]! < GONE_DB }).toEqual({ ctx, f, gone: true });
}

/** What the phones hear next (`hearNext` on each, side by side). */
export function hearAll(phones: SipPhone[], settleMs?: number): Promise<Int16Array[]> {
  return Promise.all(phones.map((p) => hearNext(p, settleMs !== undefined ? { settleMs } : {})));
}

/** A 4xx JSON answer whose `error` is the catalogue code `code`, with that code's HTTP status and a message. */
/**
 * What each phone hears next (after `settleMs`), checked against `freqs`: [phone, tones it hears, tones it must not
 * hear, who].
 */
export async function expectHearing(
  freqs: readonly number[],
  checks: Array<[SipPhone, readonly number[], readonly number[], string]>,
  settleMs?: number,
): Promise<void> {
  const heard = await hearAll(
    checks.map((c) => c[0]),
    settleMs,
  );
  checks.forEach(([phone, hear, notHear, who], i) =>
    expectHears(heard[i]!, phone.rate, freqs, hear, notHear, who),
  );
}

export function expectCatalogue(r: { status: number; body: unknown }, code: ErrorCode, what: string): void {
  const body = r.body as { error?: string; message?: string };
  expect({ what, status: r.status, error: body.error, message: typeof body.message }).toEqual({
    what,
    status: ERROR_CATALOGUE[code].http,
    error: code,
    message: 'string',
  });
}

/**
 * Stops the server. With CONFERENCE_E2E_DEBUG=<prefix>, writes its whole log to `<prefix>-<test file>-<ms>.log`
 * and prints its warnings, errors and stderr.
 */
/**
 * Writes `tone.ul` in the server's directory for SIPp's rtp_stream, which plays raw codec bytes (no header parsed):
 * one minute of `hz` at −12 dBFS, G.711 u-law. Needs sox.
 */
export function writeSippTone(parley: E2eParley, hz: number): void {
  execFileSync('sox', [
    ...['-n', '-r', '8000', '-c', '1', '-t', 'ul', path.join(parley.dir, 'tone.ul')],
    ...['synth', '60', 'sine', String(hz), 'vol', '0.25'],
  ]);
}

export async function stopAndReport(parley: E2eParley | undefined, testFile: string): Promise<void> {
  if (!parley) return;
  const exitedEarly = parley.run.proc.exitCode !== null || parley.run.proc.signalCode !== null;
  await parley.stop();
  const prefix = process.env.CONFERENCE_E2E_DEBUG;
  if (!prefix) return;
  const exit = await parley.run.exit;
  const dump = `${prefix}-${path.basename(testFile)}-${Date.now()}.log`;
  fs.writeFileSync(dump, parley.run.lines.map((l) => JSON.stringify(l)).join('\n'));
  const bad = parley.run.lines.filter((l) => Number(l.level) >= 40 || l.raw !== undefined);
  console.log(
    `server ${exitedEarly ? 'had exited' : 'stopped'} (${exit.code} ${exit.signal}), log in ${dump}:\n` +
      `${bad.map((l) => JSON.stringify(l)).join('\n')}\n${exit.stderr.slice(-4000)}`,
  );
}

/** A PCMU tone phone (Node, our SIP stack) calling `room` on `parley`, recorded in `phones` for closing. */
export async function dialTonePhone(
  parley: E2eParley,
  phones: SipPhone[],
  room: string,
  user: string,
  tone: number | null,
): Promise<SipPhone> {
  const phone = await SipPhone.call({
    target: `sip:${room}@127.0.0.1:${parley.sipPort}`,
    user,
    codec: 'PCMU',
    tone,
  });
  phones.push(phone);
  return phone;
}
