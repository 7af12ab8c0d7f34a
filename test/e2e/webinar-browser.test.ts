/**
 * The room page (`/r/<room>`) in a webinar's lobby, in Debian's Chromium against the built server, with a tone phone
 * as the host (our SIP stack, PCMU, RFC 4733 PIN), driven by accessible names and visible text:
 * - an attendee's page before the host: "The webinar will start when the host joins";
 * - the host dials in: the page now says "Waiting for the host to admit you" (the join is held, not timed out:
 *   the deadline's rule is unit-tested on a fake clock in test/unit/web/answer-deadline.test.ts);
 * - REST admit: the page shows the room; the attendee's mic is off and its unmute button disabled, labelled
 *   listen-only; the server has it muted;
 * - the header counts the stage and the audience ("1 on stage · 2 in the audience" once an attendee phone is
 *   admitted; not while it waits in the lobby; back to 1 when it hangs up);
 * - a second page, REST deny: "The host declined your request to join";
 * - a third page, "Stop waiting": back to the form, and the server drops its wait (not left behind in the lobby).
 * Screenshots go to test-artifacts/webinar-browser-*.png. Needs `npx tsc -p tsconfig.build.json` and the web build
 * (`node scripts/build-web.mjs`).
 */
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { stopAndReport } from './conference-helpers';
import { startWebinarParley, webinarHelpers } from './webinar-helpers';

jest.setTimeout(240_000);

const ROOM = 'townhall';
const HOST_PIN = '1111';
const ATTENDEE_PIN = '2222';

type Party = {
  id: string;
  displayName: string;
  state: string;
  muted: boolean;
  role: string;
  waiting: string | null;
};

let parley: E2eParley | undefined;
let browser: TestBrowser | undefined;
let page: Page;
const phones: SipPhone[] = [];

beforeAll(async () => {
  parley = await startWebinarParley(ROOM, {
    hostPin: HOST_PIN,
    attendeePin: ATTENDEE_PIN,
    lobby: true,
    waitForHost: true,
  });
  browser = await launchBrowser({ name: 'webinar-browser', toneHz: 407 });
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  for (const p of phones) await p.close().catch(() => undefined);
  await stopAndReport(parley, __filename);
});

const { party } = webinarHelpers<Party>({ parley: () => parley!, room: ROOM, phones });

/** A tone phone calls the room and types `pin` (RFC 4733) in the PIN lobby. */
async function dialWithPin(user: string, tone: number, pin: string): Promise<SipPhone> {
  const phone = await SipPhone.call({
    target: `sip:${ROOM}@127.0.0.1:${parley!.sipPort}`,
    user,
    codec: 'PCMU',
    tone,
  });
  phones.push(phone);
  await sleep(500);
  await phone.rfc4733(`${pin}#`);
  return phone;
}

/** Opens the room page, types the name, then the attendee PIN the server asks for. */
async function askToJoin(p: Page, name: string): Promise<void> {
  await p.goto(`${parley!.http}/r/${ROOM}`);
  await p.getByLabel('Name').fill(name);
  await p.getByRole('button', { name: 'Join' }).click();
  await p.getByLabel('Room PIN').fill(ATTENDEE_PIN, { timeout: 15000 });
  await p.getByRole('button', { name: 'Join' }).click();
}

test('before the host: "The webinar will start when the host joins"', async () => {
  await askToJoin(page, 'viewer');
  await page.getByText('The webinar will start when the host joins').waitFor({ timeout: 15000 });
  expect(await party('viewer', (p) => p.waiting === 'host')).toMatchObject({
    role: 'attendee',
    state: 'joining',
  });
  await browser!.screenshot('webinar-browser-wait-host');
});

test('the host dials in: "Waiting for the host to admit you"', async () => {
  await dialWithPin('host', 613, HOST_PIN);
  await party('host', (p) => p.state === 'joined');
  await page.getByText('Waiting for the host to admit you').waitFor({ timeout: 15000 });
  await expect(page.getByText('The webinar will start when the host joins').count()).resolves.toBe(0);
  await browser!.screenshot('webinar-browser-wait-admission');
});

test('admitted over REST: the page shows the room, the mic off and its unmute button disabled (listen-only)', async () => {
  const w = await party('viewer', (p) => p.waiting === 'admission');
  const r = await parley!.post(`/api/rooms/${ROOM}/participants/${w.id}/admit`, {});
  expect(r.status).toBe(200);
  await page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 30000 });
  const mic = page.getByRole('button', { name: /^Unmute microphone \(listen-only/ });
  await mic.waitFor({ timeout: 15000 });
  expect(await mic.isDisabled()).toBe(true);
  expect(await mic.getAttribute('title')).toMatch(/^Listen-only/);
  expect(await party('viewer', (p) => p.state === 'joined')).toMatchObject({ role: 'attendee', muted: true });
  await browser!.screenshot('webinar-browser-admitted');
});

test('the header counts the stage and the audience: an attendee phone admitted adds one, its hang-up takes it away', async () => {
  const header = page.locator('.topbar-meta');
  // The host phone on stage; this page's person is the audience.
  await expect(header.textContent()).resolves.toMatch(/1 on stage · 1 in the audience/);
  const listener = await dialWithPin('listener', 1031, ATTENDEE_PIN);
  const w = await party('listener', (p) => p.waiting === 'admission');
  // Waiting in the lobby is not the audience yet.
  await sleep(1000);
  await expect(header.textContent()).resolves.toMatch(/1 on stage · 1 in the audience/);
  expect((await parley!.post(`/api/rooms/${ROOM}/participants/${w.id}/admit`, {})).status).toBe(200);
  await page.getByText('1 on stage · 2 in the audience').waitFor({ timeout: 15000 });
  await browser!.screenshot('webinar-browser-audience');
  // Attendees are not listed as tiles: the stage shows the host and this page's person only.
  await listener.close();
  await page.getByText('1 on stage · 1 in the audience').waitFor({ timeout: 15000 });
});

test('denied over REST: "The host declined your request to join"', async () => {
  const second = await browser!.context.newPage();
  try {
    await askToJoin(second, 'gatecrasher');
    await second.getByText('Waiting for the host to admit you').waitFor({ timeout: 15000 });
    const w = await party('gatecrasher', (p) => p.waiting === 'admission');
    expect((await parley!.post(`/api/rooms/${ROOM}/participants/${w.id}/deny`, {})).status).toBe(200);
    await second.getByText('The host declined your request to join').waitFor({ timeout: 15000 });
    await parley!.waitParticipants(ROOM, (ps) => !ps.some((p) => p.displayName === 'gatecrasher'));
  } finally {
    await second.close();
  }
});

test('"Stop waiting": back to the form, and the server no longer has the person waiting', async () => {
  const third = await browser!.context.newPage();
  try {
    await askToJoin(third, 'undecided');
    await third.getByText('Waiting for the host to admit you').waitFor({ timeout: 15000 });
    await party('undecided', (p) => p.waiting === 'admission');
    await third.getByRole('button', { name: 'Stop waiting' }).click();
    await third.getByRole('button', { name: 'Join' }).waitFor({ timeout: 15000 });
    await parley!.waitParticipants(ROOM, (ps) => !ps.some((p) => p.displayName === 'undecided'));
  } finally {
    await third.close();
  }
});
