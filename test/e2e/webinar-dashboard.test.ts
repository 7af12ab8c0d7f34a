/**
 * A webinar run from the dashboard (`/dashboard`) in Debian's Chromium against the built server, with tone phones
 * (our SIP stack, PCMU, RFC 4733 PINs), driven by accessible names:
 * - an attendee waiting in the lobby is listed under "Waiting"; "Admit attendee" lets it in;
 * - its `*1` shows "Hand raised" on its row (pushed, no reload);
 * - "Promote attendee": its tone (407 Hz) is now in what the host hears; "Demote attendee": gone again;
 * - "Deny crasher": that phone gets BYE with `Reason: SIP;cause=403`.
 * Screenshots go to test-artifacts/webinar-dashboard-*.png. Needs `npx tsc -p tsconfig.build.json` and the web build
 * (`node scripts/build-web.mjs`).
 */
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import type { E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { expectHearing, stopAndReport } from './conference-helpers';
import { startWebinarParley, webinarHelpers } from './webinar-helpers';

jest.setTimeout(240_000);

const ADMIN_PASSWORD = 'e2e-webinar-admin-4Kp';
const ROOM = 'keynote';
const HOST_PIN = '1111';
const ATTENDEE_PIN = '2222';
const TONE = { host: 613, attendee: 407 } as const;
const FREQS = [TONE.host, TONE.attendee];

let parley: E2eParley | undefined;
let browser: TestBrowser | undefined;
let page: Page;
const phones: SipPhone[] = [];
let host: SipPhone;
let attendee: SipPhone;

beforeAll(async () => {
  parley = await startWebinarParley(
    ROOM,
    { hostPin: HOST_PIN, attendeePin: ATTENDEE_PIN, lobby: true },
    { PARLEY_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
  browser = await launchBrowser({ name: 'webinar-dashboard' });
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  for (const p of phones) await p.close().catch(() => undefined);
  await stopAndReport(parley, __filename);
});

const { dialWithPin } = webinarHelpers({ parley: () => parley!, room: ROOM, phones });

const button = (name: string) => page.getByRole('button', { name, exact: true });
const row = (user: string) =>
  page
    .getByRole('table', { name: `Participants of ${ROOM}` })
    .getByRole('row')
    .filter({ hasText: `sip:${user}@` });

test('sign in; the host joins; a waiting attendee is listed under "Waiting" and admitted from there', async () => {
  await page.goto(`${parley!.http}/dashboard`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await button('Sign in').click();
  await button('Sign out').waitFor({ timeout: 15000 });
  await page.getByRole('button', { name: new RegExp(`^${ROOM}\\b`) }).click({ timeout: 15000 });

  host = await dialWithPin('host', TONE.host, HOST_PIN);
  await button('Mute host').waitFor({ timeout: 15000 });
  attendee = await dialWithPin('attendee', TONE.attendee, ATTENDEE_PIN);
  const waiting = page.getByRole('region', { name: 'Waiting' });
  await waiting.getByText('waiting to be admitted', { exact: false }).waitFor({ timeout: 15000 });
  await browser!.screenshot('webinar-dashboard-waiting');
  await button('Admit attendee').click();
  await waiting.waitFor({ state: 'detached', timeout: 15000 });
  await button('Promote attendee').waitFor({ timeout: 15000 });
  // In once "you are now in the conference" has played.
  const joined = await parley!.waitParticipants(ROOM, (ps) =>
    ps.some((p) => p.displayName === 'attendee' && p.state === 'joined'),
  );
  expect(joined.find((p) => p.displayName === 'attendee')).toMatchObject({
    state: 'joined',
    role: 'attendee',
    muted: true,
  });
});

test('*1 from the attendee shows "Hand raised" on its row', async () => {
  await attendee.rfc4733('*1');
  await row('attendee').getByText('Hand raised', { exact: true }).waitFor({ timeout: 15000 });
  await browser!.screenshot('webinar-dashboard-hand');
});

test('"Promote attendee": the host hears it; "Demote attendee": gone again', async () => {
  await expectHearing(FREQS, [[host, [], [TONE.attendee], 'host before the promotion']]);
  await button('Promote attendee').click();
  await button('Demote attendee').waitFor({ timeout: 15000 });
  await expectHearing(FREQS, [[host, [TONE.attendee], [], 'host after "Promote attendee"']]);
  await button('Demote attendee').click();
  await button('Promote attendee').waitFor({ timeout: 15000 });
  await expectHearing(FREQS, [[host, [], [TONE.attendee], 'host after "Demote attendee"']]);
});

test('"Deny crasher": the phone gets BYE with Reason cause=403', async () => {
  const crasher = await dialWithPin('crasher', 1031, ATTENDEE_PIN);
  await button('Deny crasher').click({ timeout: 15000 });
  await crasher.waitTerminated(15000);
  expect(crasher.byeFromServer?.headers.get('Reason')).toMatch(/^SIP;cause=403\b/);
  await browser!.screenshot('webinar-dashboard-denied');
});
