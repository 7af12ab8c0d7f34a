/**
 * The moderator dashboard (`/dashboard`) in Debian's Chromium against the built server, with real SIP callers,
 * driven by accessible names as an operator (or a screen reader) would:
 * - the shell carries the pages' strict CSP; a wrong password is refused with the server's message, the admin
 *   password from PARLEY_ADMIN_PASSWORD signs in;
 * - tone phones (Parley's SIP stack, PCMU) and a SIPp caller appear live (pushed, no reload), speaking shown live;
 *   the SIPp caller's display name `<img src=x onerror=alert(1)>` is shown as text: no element is made from it,
 *   no dialog opens, no script sets `window.__xss`;
 * - "Mute alice": by Goertzel on what bob heard, alice's tone leaves bob's audio, and comes back on "Unmute alice";
 * - "Kick carol" (after confirming): carol's phone got a BYE with a Reason header;
 * - the call ladder of carol's ended call: INVITE →, 100 ←, 200 ←, ACK →, BYE ←, the raw INVITE on click;
 * - "Lock room": a new caller is refused with 403; "Unlock room" lifts it;
 * - "Start livestream" starts the room's HLS stream: the status line says it is live, /live/<room>/index.m3u8 is
 *   served, the button becomes "Stop livestream", which stops it (the playlist is gone);
 * - the audit log lists the mute, kick and lock by admin; the call records list carol's call;
 * - a room's moderator PIN signs in to that room only (another room is not listed); a wrong PIN is refused;
 * - "End room" hangs up everyone (SIPp's scenario completes on the BYE); "Sign out" revokes the session.
 * Screenshots go to test-artifacts/dashboard-*.png. Needs `npx tsc -p tsconfig.build.json` and the web build.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { SipError } from '../../src/sip/errors';
import { ARTIFACTS, launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { freePort, runSipp, type SippResult } from '../support/sipp';
import { dialTonePhone, expectHearing, stopAndReport } from './conference-helpers';

jest.setTimeout(240_000);

const ADMIN_PASSWORD = 'e2e-dashboard-admin-7Qx';
const ROOM = 'ops';
const SIDE_ROOM = 'side';
const SIDE_PIN = '2468';
const EVIL = '<img src=x onerror=alert(1)>';
/** Tones (Hz): not a whole number of cycles per 20 ms frame. */
const TONE = { alice: 407, bob: 613, carol: 1031 } as const;
const FREQS = [TONE.alice, TONE.bob, TONE.carol];

let parley: E2eParley | undefined;
let dataDir: string;
let browser: TestBrowser | undefined;
let page: Page;
const phones: SipPhone[] = [];
const named: Record<string, SipPhone> = {};
let sipp: Promise<SippResult> | undefined;
/** Page dialogs (alert, confirm...) seen: an injected script would open one; the dashboard never does. */
const dialogs: string[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dashboard-e2e-'));
  parley = await startE2eParley({
    conference: {
      joinTones: false,
      // `side` has a moderator PIN: a PIN session for it must see it and nothing else.
      rooms: [{ name: SIDE_ROOM, displayName: 'Side room', moderatorPin: SIDE_PIN }],
    },
    env: { PARLEY_ADMIN_PASSWORD: ADMIN_PASSWORD, PARLEY_DATA_DIR: dataDir },
  });
  browser = await launchBrowser({ name: 'dashboard' });
  page = browser.page;
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  // Any alert() also sets a flag, in case a dialog were swallowed.
  await page.addInitScript({
    content:
      'window.__xss = false; const alert0 = window.alert.bind(window); ' +
      'window.alert = (m) => { window.__xss = true; alert0(m); };',
  });
});

afterAll(async () => {
  await browser?.close();
  for (const p of phones) await p.close().catch(() => undefined);
  await stopAndReport(parley, __filename);
  await sipp?.catch(() => undefined);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Console lines where Chromium refused something because of the Content-Security-Policy. */
function cspViolations(): string[] {
  return (browser?.console ?? []).filter((l) => /Content Security Policy|Refused to/i.test(l));
}

/** The page's `window.__xss` (set by any alert()). */
function xssFlag(): Promise<unknown> {
  return page.evaluate('window.__xss');
}

/** The status line (aria-live) shows `text` (within `timeoutMs`: a hang guard). */
async function status(text: string | RegExp, timeoutMs = 15000): Promise<void> {
  await page.getByRole('status').filter({ hasText: text }).first().waitFor({ timeout: timeoutMs });
}

/** A SIPp caller whose From carries a hostile display name; it stays until the server hangs up (BYE). */
async function dialHostileCaller(p: E2eParley): Promise<{ done: Promise<SippResult> }> {
  const xml = path.join(p.dir, 'uac-hostile-name.xml');
  fs.writeFileSync(
    xml,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac-hostile-name">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "${EVIL}" <sip:mallory@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:mallory@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=mallory 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "${EVIL}" <sip:mallory@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv request="BYE" timeout="200000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
`,
  );
  const localPort = await freePort();
  return {
    done: runSipp({
      scenario: xml,
      remote: `127.0.0.1:${p.sipPort}`,
      service: ROOM,
      localPort,
      timeoutSec: 220,
      cwd: p.dir,
      extraArgs: ['-key', 'media_port', String(await freePort())],
    }),
  };
}

test('the dashboard shell carries the strict CSP; a wrong password is refused, the admin signs in', async () => {
  const p = parley!;
  const res = await fetch(`${p.http}/dashboard`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-security-policy')).toMatch(
    /default-src 'self'; script-src 'self'; style-src 'self'/,
  );
  expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe/);
  expect(await res.text()).not.toMatch(/<script>|style=/);

  await page.goto(`${p.http}/dashboard`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: /wrong username or password/i })
    .waitFor({ timeout: 15000 });
  await browser!.screenshot('dashboard-signin-refused');

  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor({ timeout: 15000 });
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
});

test('callers appear live, speaking is shown, and a hostile display name is text', async () => {
  const p = parley!;
  for (const user of ['alice', 'bob', 'carol'] as const)
    named[user] = await dialTonePhone(p, phones, ROOM, user, TONE[user]);
  sipp = (await dialHostileCaller(p)).done;

  // Pushed to the page already open: the room appears, then its participants.
  await page.getByRole('button', { name: new RegExp(`^${ROOM}\\b`) }).click({ timeout: 15000 });
  for (const name of ['alice', 'bob', 'carol', EVIL])
    await page.getByRole('button', { name: `Mute ${name}`, exact: true }).waitFor({ timeout: 15000 });
  const table = page.getByRole('table', { name: `Participants of ${ROOM}` });
  expect(await table.getByRole('row').count()).toBe(5); // header + 4

  // Each tone phone talks all the time: its row says so.
  for (const name of ['alice', 'bob', 'carol'])
    await table
      .getByRole('row')
      .filter({ hasText: `sip:${name}@` })
      .getByText('Speaking', { exact: true })
      .waitFor({ timeout: 15000 });

  // The hostile name is there as text; no element, dialog or script came out of it.
  await table.getByText(EVIL, { exact: true }).waitFor();
  expect(await page.locator('img').count()).toBe(0);
  expect(dialogs).toEqual([]);
  expect(await xssFlag()).toBe(false);
  await browser!.screenshot('dashboard-live');
});

test("Mute alice: her tone leaves bob's audio; Unmute alice: it comes back", async () => {
  const { alice, bob } = named as Record<'alice' | 'bob', SipPhone>;
  await expectHearing(FREQS, [[bob!, [TONE.alice, TONE.carol], [TONE.bob], 'bob, before the mute']]);

  await page.getByRole('button', { name: 'Mute alice', exact: true }).click();
  await status('alice muted.');
  await page.getByRole('button', { name: 'Unmute alice', exact: true }).waitFor();
  await page.getByRole('row').filter({ hasText: 'sip:alice@' }).getByText('Muted', { exact: true }).waitFor();
  await expectHearing(FREQS, [[bob!, [TONE.carol], [TONE.alice, TONE.bob], 'bob, alice muted']]);
  await browser!.screenshot('dashboard-muted');

  await page.getByRole('button', { name: 'Unmute alice', exact: true }).click();
  await status('alice unmuted.');
  await page.getByRole('button', { name: 'Mute alice', exact: true }).waitFor();
  await expectHearing(FREQS, [[bob!, [TONE.alice, TONE.carol], [TONE.bob], 'bob, alice unmuted']]);
  expect(alice!.terminated).toBe(false);
});

test('Kick carol (confirmed): her phone gets a BYE with a Reason header and she leaves the table', async () => {
  const carol = named['carol']!;
  await page.getByRole('button', { name: 'Kick carol', exact: true }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove carol?' });
  await confirm.waitFor();
  await confirm.getByRole('button', { name: 'Kick', exact: true }).click();
  await carol.waitTerminated(15000);
  expect(carol.byeFromServer?.method).toBe('BYE');
  expect(carol.byeFromServer?.headers.get('Reason')).toMatch(/^SIP;cause=\d{3}/);
  await page
    .getByRole('button', { name: 'Mute carol', exact: true })
    .waitFor({ state: 'detached', timeout: 15000 });
  await page.getByRole('region', { name: 'Recently left' }).getByText('carol', { exact: true }).waitFor();
});

test("the call ladder of carol's ended call: INVITE, 100, 200, ACK, BYE with directions; the raw INVITE on click", async () => {
  await page.getByRole('button', { name: 'Call ladder of carol', exact: true }).click();
  const ladder = page.getByRole('dialog', { name: 'Call ladder of carol' });
  await ladder.getByRole('list', { name: 'SIP messages' }).waitFor({ timeout: 15000 });
  const arrows = ladder.getByRole('list', { name: 'SIP messages' }).getByRole('button');
  const names = await arrows.evaluateAll((els) =>
    els.map((e) => `${e.getAttribute('aria-label')} ${e.className.includes('arrow-right') ? '→' : '←'}`),
  );
  const labels = names.map((n) => n.replace(/ at \+\d+ ms/, ''));
  // In order (other messages, e.g. a re-INVITE, may come between): the phone's INVITE, our 100 and 200, its ACK,
  // our BYE.
  const order = ['INVITE →', '100 ←', '200 ←', 'ACK →', 'BYE ←'];
  let at = -1;
  for (const want of order) {
    const i = labels.indexOf(want, at + 1);
    expect({ want, labels, found: i > at }).toEqual({ want, labels, found: true });
    at = i;
  }
  expect(names[0]).toMatch(/^INVITE at \+0 ms →$/);

  await arrows.first().click();
  const raw = ladder.locator('pre');
  await raw.waitFor();
  const text = await raw.textContent();
  expect(text).toMatch(new RegExp(`^INVITE sip:${ROOM}@`));
  expect(text).toMatch(/^From: "?carol"? <sip:carol@/m);
  await browser!.screenshot('dashboard-ladder');
  await ladder.getByRole('button', { name: 'Close', exact: true }).click();
  await ladder.waitFor({ state: 'detached' });
});

test('Lock room: a new caller is refused with 403; Unlock room lifts it', async () => {
  const p = parley!;
  await page.getByRole('button', { name: 'Lock room', exact: true }).click();
  await status(`${ROOM} locked.`);
  await page.getByRole('button', { name: 'Unlock room', exact: true }).waitFor();
  const refused = await dialTonePhone(p, phones, ROOM, 'dave', null).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(SipError);
  expect((refused as SipError).status).toBe(403);
  expect(await page.getByRole('button', { name: 'Mute dave', exact: true }).count()).toBe(0);
  await browser!.screenshot('dashboard-locked');

  await page.getByRole('button', { name: 'Unlock room', exact: true }).click();
  await status(`${ROOM} unlocked.`);
  await page.getByRole('button', { name: 'Lock room', exact: true }).waitFor();
});

test('Start livestream streams the room to HLS (live in the status line); Stop livestream stops it', async () => {
  const p = parley!;
  await page.getByRole('button', { name: 'Start livestream', exact: true }).click();
  // ffmpeg's start and first encoded frames: as the other livestream tests, up to a minute on a loaded machine.
  await status(`Livestream of ${ROOM} is live.`, 60000);
  // The playlist is written once the first segment is complete.
  let playlist = { status: 0, text: '' };
  for (let i = 0; i < 60 && playlist.status !== 200; i++) {
    const r = await fetch(`${p.http}/live/${ROOM}/index.m3u8`);
    playlist = { status: r.status, text: await r.text() };
    if (r.status !== 200) await new Promise((res) => setTimeout(res, 250));
  }
  expect(playlist.status).toBe(200);
  expect(playlist.text).toMatch(/^#EXTM3U/);
  await browser!.screenshot('dashboard-livestream');
  await page.getByRole('button', { name: 'Stop livestream', exact: true }).click();
  await status('Livestream stopped.');
  await page.getByRole('button', { name: 'Start livestream', exact: true }).waitFor();
  expect((await fetch(`${p.http}/live/${ROOM}/index.m3u8`)).status).toBe(404);
});

test('Create room declares a room with PINs (it appears, selected); Delete room forgets it', async () => {
  const p = parley!;
  await page.getByRole('button', { name: 'Create room', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Create a room' });
  await dialog.getByLabel('Room name').fill('popup');
  await dialog.getByLabel('Display name').fill('Pop-up room');
  await dialog.getByLabel('PIN', { exact: true }).fill('5150');
  await dialog.getByLabel('Moderator PIN').fill('5151');
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  await status('Room popup created.');
  await page.getByRole('heading', { name: 'Pop-up room' }).waitFor();
  expect((await p.api<{ hasPin: boolean; declared: boolean }>('/api/rooms/popup')).body).toMatchObject({
    hasPin: true,
    declared: true,
  });
  await page.getByRole('button', { name: 'Delete room', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete room', exact: true }).click();
  await status('popup deleted.');
  await page.getByRole('button', { name: /Pop-up room/ }).waitFor({ state: 'detached' });
  expect((await p.api('/api/rooms/popup')).status).toBe(404);
  await page.getByRole('button', { name: /^ops/ }).first().click();
});

test('the audit log lists the actions by admin; the call records list carol', async () => {
  await page.getByRole('button', { name: 'Audit log', exact: true }).click();
  const audit = page.getByRole('table', { name: 'Audit log', exact: true });
  await audit.getByRole('row').nth(1).waitFor({ timeout: 15000 });
  const rows = await audit.getByRole('row').allTextContents();
  for (const action of [/mute/i, /kick/i, /lock/i])
    expect({ action: String(action), found: rows.some((r) => action.test(r) && /admin/.test(r)) }).toEqual({
      action: String(action),
      found: true,
    });
  const csv = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  expect(csv).toBe('/api/audit.csv');
  await browser!.screenshot('dashboard-audit');

  await page.getByRole('button', { name: 'Call records', exact: true }).click();
  await page.getByLabel('Name or URI').fill('carol');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const cdrs = page.getByRole('table', { name: 'Call records', exact: true });
  await cdrs.getByRole('row').filter({ hasText: 'sip:carol@' }).first().waitFor({ timeout: 15000 });
  expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toBe(
    '/api/cdrs.csv?q=carol',
  );
  await browser!.screenshot('dashboard-cdrs');
  await page.getByRole('button', { name: 'Live', exact: true }).click();
});

test("a room's moderator PIN signs in to that room only; a wrong PIN is refused", async () => {
  const p = parley!;
  // A silent caller makes `side` live (the dashboard lists live rooms); `ops` is live too, with its callers.
  await dialTonePhone(p, phones, SIDE_ROOM, 'erin', null);
  const context = await browser!.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const pinPage = await context.newPage();
    pinPage.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    await pinPage.goto(`${p.http}/dashboard`);
    await pinPage.getByLabel('Room', { exact: true }).fill(SIDE_ROOM);
    await pinPage.getByLabel('Moderator PIN', { exact: true }).fill('1357');
    await pinPage.getByRole('button', { name: 'Sign in with PIN', exact: true }).click();
    await pinPage.getByRole('alert').filter({ hasText: /PIN/ }).waitFor({ timeout: 15000 });

    await pinPage.getByLabel('Moderator PIN', { exact: true }).fill(SIDE_PIN);
    await pinPage.getByRole('button', { name: 'Sign in with PIN', exact: true }).click();
    const rooms = pinPage.getByRole('navigation', { name: 'Rooms' });
    await rooms.getByRole('button', { name: /^(Side room|side)\b/ }).waitFor({ timeout: 15000 });
    await pinPage.getByRole('button', { name: 'Mute erin', exact: true }).waitFor({ timeout: 15000 });
    expect(await rooms.getByRole('button', { name: new RegExp(`^${ROOM}\\b`) }).count()).toBe(0);
    await pinPage.getByText(`moderator of ${SIDE_ROOM}`).waitFor();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await pinPage.screenshot({ path: path.join(ARTIFACTS, 'dashboard-pin-session.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('End room (confirmed) hangs up everyone; Sign out revokes the session', async () => {
  const p = parley!;
  await page.getByRole('button', { name: 'End room', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'End room', exact: true }).click();
  for (const who of ['alice', 'bob']) await named[who]!.waitTerminated(15000);
  const hostile = await sipp!;
  expect({ code: hostile.code, stderr: hostile.stderr.slice(-500) }).toEqual({
    code: 0,
    stderr: hostile.stderr.slice(-500),
  });

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor({ timeout: 15000 });
  await page.goto(`${p.http}/dashboard`);
  // The session is gone: the page's socket is refused and it shows the sign-in form (on failure: what it shows).
  await page
    .getByRole('button', { name: 'Sign in', exact: true })
    .waitFor({ timeout: 30000 })
    .catch(async (err: unknown) => {
      const shown = await page
        .locator('body')
        .innerText()
        .catch(() => '?');
      throw new Error(`${String(err)}\nthe page shows:\n${shown.slice(0, 1500)}`);
    });

  expect(dialogs).toEqual([]);
  expect(await xssFlag()).toBe(false);
  expect(cspViolations()).toEqual([]);
});
