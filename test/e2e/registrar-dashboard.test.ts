/**
 * The dashboard's "Registered users" in a real browser: linphonec registers as alice (digest, `sip.accounts`), the
 * admin signs in, the room's panel lists alice as Available; "Invite alice" dials her by name, linphone answers by
 * itself, she appears in the room's participants table and the list says "In a call" in that room. Needs the build
 * (dist/ with the web bundle), Chromium and linphonec.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { Linphone } from '../support/linphone';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';

jest.setTimeout(180_000);

const ADMIN_PASSWORD = 'e2e-registrar-admin-4Kp';
const ROOM = 'standup';

let parley: E2eParley | undefined;
let dataDir: string;
let browser: TestBrowser | undefined;
let phone: Linphone | undefined;
let page: Page;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-registrar-dash-'));
  parley = await startE2eParley({
    conference: { joinTones: false },
    config: { sip: { accounts: [{ username: 'alice', password: 'alice-dashboard-pw' }] } },
    env: { PARLEY_ADMIN_PASSWORD: ADMIN_PASSWORD, PARLEY_DATA_DIR: dataDir },
  });
  phone = await Linphone.start({ dir: path.join(dataDir, 'linphone'), autoAnswer: true });
  browser = await launchBrowser({ name: 'registrar-dashboard' });
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await phone?.stop();
  await parley?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('"Registered users" shows alice available; "Invite alice" dials her by name; she shows in a call', async () => {
  const p = parley!;
  expect((await p.post('/api/rooms', { roomId: ROOM })).status).toBe(201);
  await phone!.register({
    user: 'alice',
    password: 'alice-dashboard-pw',
    registrar: `127.0.0.1:${p.sipPort}`,
  });

  await page.goto(`${p.http}/dashboard`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor({ timeout: 15000 });
  await page.getByRole('button', { name: new RegExp(`^${ROOM}\\b`) }).click({ timeout: 15000 });

  const users = page.getByRole('region', { name: 'Registered users' });
  const aliceRow = users.getByRole('listitem').filter({ hasText: 'alice' });
  await aliceRow.getByText('Available', { exact: true }).waitFor({ timeout: 15000 });
  await browser!.screenshot('registrar-dashboard-available');

  await users.getByRole('button', { name: 'Invite alice', exact: true }).click();
  await phone!.waitAnswered();
  const table = page.getByRole('table', { name: `Participants of ${ROOM}` });
  await table
    .getByRole('row')
    .filter({ hasText: `127.0.0.1:${phone!.sipPort}` })
    .waitFor({ timeout: 15000 });
  await aliceRow.getByText('In a call', { exact: true }).waitFor({ timeout: 15000 });
  await aliceRow.getByText(`in ${ROOM}`).waitFor();
  // already in this room: no second invitation offered
  expect(await users.getByRole('button', { name: 'Invite alice', exact: true }).count()).toBe(0);
  await browser!.screenshot('registrar-dashboard-in-call');

  const ps = await p.participants(ROOM);
  expect(ps).toHaveLength(1);
  await phone!.hangup();
  await aliceRow.getByText('Available', { exact: true }).waitFor({ timeout: 15000 });
});
