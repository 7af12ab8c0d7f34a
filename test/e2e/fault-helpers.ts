/**
 * Shared by the media-fault tests (fault-worker.test.ts, fault-thread.test.ts): three PCMU tone phones in one mixed
 * room that follow re-INVITEs, and the checks that nobody lost the call and everybody hears the others.
 */
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { expectHearing, hearNext, toneMedians } from './conference-helpers';
import { joinRoom, pageToneLevels } from './web-helpers';

/** Tones (Hz): none a whole number of cycles per 20 ms (8.14, 12.26, 20.62). */
export const TONE = { a: 407, b: 613, c: 1031 } as const;
export const FREQS = [TONE.a, TONE.b, TONE.c];

/** Polls `pred` every 100 ms until it holds; throws after `timeoutMs` (a hang guard, not a measured threshold). */
export async function until(
  what: string,
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** PCMU tone phones that follow re-INVITEs, called into `room` one after the other. */
async function dialTonePhones(
  parley: E2eParley,
  room: string,
  phones: SipPhone[],
  who: ReadonlyArray<readonly [user: string, tone: number]>,
): Promise<void> {
  for (const [user, tone] of who)
    phones.push(
      await SipPhone.call({
        target: `sip:${room}@127.0.0.1:${parley.sipPort}`,
        user,
        codec: 'PCMU',
        tone,
        followReinvites: true,
      }),
    );
}

export async function dialThree(parley: E2eParley, room: string, phones: SipPhone[]): Promise<SipPhone[]> {
  await dialTonePhones(parley, room, phones, [
    ['alice', TONE.a],
    ['bob', TONE.b],
    ['carol', TONE.c],
  ]);
  await parley.waitParticipants(room, (ps) => ps.length === 3);
  return phones;
}

/** Each phone hears the other two and not itself (FFT medians over 200 ms blocks of the next 2.5 s it hears). */
export async function expectEveryoneHearsTheOthers(phones: SipPhone[], settleMs?: number): Promise<void> {
  const [a, b, c] = phones as [SipPhone, SipPhone, SipPhone];
  await expectHearing(
    FREQS,
    [
      [a, [TONE.b, TONE.c], [TONE.a], 'alice'],
      [b, [TONE.a, TONE.c], [TONE.b], 'bob'],
      [c, [TONE.a, TONE.b], [TONE.c], 'carol'],
    ],
    settleMs,
  );
}

/**
 * Two tone phones (alice 407 Hz, bob 613 Hz, following re-INVITEs) and a Chromium page (1031 Hz) in `room`;
 * `phoneIds` is [alice's, bob's].
 */
export async function dialTwoAndBrowser(
  parley: E2eParley,
  room: string,
  phones: SipPhone[],
  browsers: TestBrowser[],
): Promise<{ web: TestBrowser; webId: string; phoneIds: string[] }> {
  await dialTonePhones(parley, room, phones, [
    ['alice', TONE.a],
    ['bob', TONE.b],
  ]);
  const web = await launchBrowser({ toneHz: TONE.c, name: 'web' });
  browsers.push(web);
  // Original sound (?audio=raw): Chromium's noise suppression would fade a steady test tone.
  const webId = await joinRoom(web, parley.http, room, 'Web', { query: '?audio=raw' });
  const joined = await parley.waitParticipants(room, (l) => l.length === 3, 15000);
  const idOf = (user: string): string => joined.find((x) => x.uri.startsWith(`sip:${user}@`))!.id;
  return { web, webId, phoneIds: [idOf('alice'), idOf('bob')] };
}

/** Alice and bob (dialTwoAndBrowser) each hear the browser and the other phone. */
export async function expectPhonesHearBrowserAndEachOther(phones: SipPhone[]): Promise<void> {
  for (const [i, ph] of phones.entries()) {
    const levels = await phoneHears(ph);
    const ctx = `phone ${i} heard ${JSON.stringify(levels)}`;
    expect({ ctx, web: levels[TONE.c]! > -25 }).toEqual({ ctx, web: true });
    expect({ ctx, other: levels[i === 0 ? TONE.b : TONE.a]! > -25 }).toEqual({ ctx, other: true });
  }
}

/**
 * The page hears alice (407 Hz) in alice's stream and bob (613 Hz) in bob's (WebAudio in the page, each stream on
 * its own). `phoneIds`: [alice's, bob's]. Waits for both streams (a page that joined again consumes them anew).
 */
export async function expectPageHearsPhones(page: Page, phoneIds: string[]): Promise<void> {
  await until(
    'the page receives both phones',
    () =>
      page.evaluate(
        `(() => { const s = window.__parley.streams(); return ${JSON.stringify(phoneIds)}.every((id) => s[id] && s[id].getAudioTracks().length > 0); })()`,
      ) as Promise<boolean>,
  );
  for (const [i, tone] of [TONE.a, TONE.b].entries()) {
    const levels = await pageToneLevels(page, phoneIds[i]!, FREQS);
    const ctx = `the page heard ${JSON.stringify(levels)} from ${i === 0 ? 'alice' : 'bob'}`;
    expect({ ctx, heard: levels[tone]! > -25 }).toEqual({ ctx, heard: true });
  }
}

/** What a phone hears over the next 2.5 s, as FFT medians of the three tones. */
export async function phoneHears(ph: SipPhone): Promise<Record<number, number>> {
  return toneMedians(await hearNext(ph, { frames: 125, settleMs: 500 }), ph.rate, FREQS);
}

/** Leaves on purpose (a page that just vanishes is kept for its reconnect grace), then closes everything. */
export async function leaveAll(browsers: TestBrowser[], phones: SipPhone[]): Promise<void> {
  for (const b of browsers)
    await b.page
      .getByRole('button', { name: 'Leave' })
      .click({ timeout: 2000 })
      .catch(() => undefined);
  await Promise.all(browsers.map((b) => b.close()));
  await Promise.all(phones.map((ph) => ph.close()));
}
