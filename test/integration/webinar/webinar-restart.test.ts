/**
 * A webinar room created through REST is kept across a restart: the real App on a real database file, restarted on
 * the same data directory, declares the room again with its webinar policy (role PINs, lobby); a real SIP phone
 * typing the attendee PIN after the restart is an attendee waiting in the lobby, as before it. DELETE forgets it for
 * good (not back after the next restart).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';
import { SipPhone } from '../../support/sip-phone';

jest.setTimeout(90_000);

const TOKEN = 'webinar-restart-token-0123456789';
const ROOM = 'agm';
const WEBINAR = { hostPin: '7001', attendeePin: '7002', panelistPin: '7003', lobby: true };

let dataDir: string;
let running: InProcessApp | undefined;
const phones: SipPhone[] = [];

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-webinar-restart-'));
});

afterAll(async () => {
  for (const p of phones) await p.close().catch(() => undefined);
  await running?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The App on `dataDir` (its database file survives `close()`: only the helper's own temporary directory goes). */
async function start(): Promise<InProcessApp> {
  running = await startInProcessApp({
    name: 'webinar-restart',
    portBase: 52000,
    overrides: { dataDir, auth: { apiToken: TOKEN } },
  });
  return running;
}

async function stop(): Promise<void> {
  await running?.close();
  running = undefined;
}

async function call(method: string, p: string, body?: unknown) {
  const res = await fetch(`${running!.base}/api${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

test('created through REST, restarted on the same database: the room is back with its webinar policy', async () => {
  await start();
  const created = await call('POST', '/rooms', {
    roomId: ROOM,
    displayName: 'Annual meeting',
    webinar: WEBINAR,
  });
  expect(created.status).toBe(201);
  expect(fs.existsSync(path.join(dataDir, 'parley.db'))).toBe(true);
  await stop();

  const { app } = await start();
  expect(app.conference.isDeclared(ROOM)).toBe(true);
  expect(app.conference.isWebinar(ROOM)).toBe(true);
  const room = app.conference.getRoom(ROOM);
  expect(room.settings.displayName).toBe('Annual meeting');
  expect(room.webinar!.policy.settings).toMatchObject({ ...WEBINAR, joinMuted: true, listenOnly: true });
  expect(room.webinar!.policy.roleForPin('7002')).toBe('attendee');
  expect((await call('GET', `/rooms/${ROOM}`)).status).toBe(200);

  // A real phone with the attendee PIN waits in the lobby, as it would have before the restart.
  const phone = await SipPhone.call({
    target: `sip:${ROOM}@127.0.0.1:${app.sip.ports.udp!}`,
    user: 'shareholder',
    codec: 'PCMU',
    tone: 407,
  });
  phones.push(phone);
  await new Promise((r) => setTimeout(r, 500));
  await phone.rfc4733('7002#');
  for (;;) {
    const waiting = app.conference.waiting(ROOM);
    if (waiting.length > 0) {
      expect(waiting.map((p) => [p.displayName, p.role, p.waiting])).toEqual([
        ['shareholder', 'attendee', 'admission'],
      ]);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await phone.close();
});

test('DELETE forgets it: not back after the next restart', async () => {
  expect(await call('DELETE', `/rooms/${ROOM}`)).toMatchObject({ status: 200, body: { forgotten: true } });
  await stop();
  const { app } = await start();
  expect(app.conference.isDeclared(ROOM)).toBe(false);
});
