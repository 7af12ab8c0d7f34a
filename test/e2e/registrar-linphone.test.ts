/**
 * Issue 13 item 4 with a real softphone: linphonec (Debian `linphone-cli`) registers to Parley with digest
 * credentials from `sip.accounts`, a moderator dials it into a room by name over REST (`{"target": "alice"}`), it
 * answers by itself (auto-answer), shows up among the room's participants, and its availability says "in a call,
 * room standup"; after the hang-up it is "available" again. Its binding survives a server restart on the same data
 * directory (the SQLite file), and the restarted server dials it by name again. A name nobody registered is
 * refused with CONF_USER_NOT_REGISTERED (404) and no INVITE. Needs the build (dist/) and linphonec.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { Linphone } from '../support/linphone';

jest.setTimeout(120_000);

const ALICE = { username: 'alice', password: 'alice-registrar-secret' };
let dataDir: string;
const servers: E2eParley[] = [];
let phone: Linphone | undefined;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-registrar-e2e-'));
});

afterAll(async () => {
  await phone?.stop();
  for (const s of servers) await s.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const start = async (): Promise<E2eParley> => {
  const p = await startE2eParley({
    dir: dataDir,
    config: { sip: { accounts: [ALICE], registrar: { keepAliveSeconds: 5 } } },
  });
  servers.push(p);
  return p;
};

interface Availability {
  user: string;
  state: string;
  registered: boolean;
  contacts: Array<{ uri: string; expiresInSeconds: number; userAgent: string | null }>;
  calls: Array<{ roomId: string; participantId: string }>;
}

async function waitAvailability(
  p: E2eParley,
  pred: (a: Availability) => boolean,
  timeoutMs = 10000,
): Promise<Availability> {
  const end = Date.now() + timeoutMs;
  let last: Availability | undefined;
  while (Date.now() < end) {
    const r = await p.api<Availability>('/api/users/alice/availability');
    last = r.body;
    if (r.status === 200 && pred(last)) return last;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`availability not reached; last ${JSON.stringify(last)}`);
}

test('linphonec registers with digest, is dialled into a room by name, answers, and shows as in a call', async () => {
  const p = await start();
  phone = await Linphone.start({ dir: path.join(dataDir, 'linphone'), autoAnswer: true });
  await phone.register({ user: 'alice', password: ALICE.password, registrar: `127.0.0.1:${p.sipPort}` });
  // linphone answered our 401 with digest (SHA-256 or MD5, its choice among our two challenges)
  const registered = await waitAvailability(p, (a) => a.registered);
  expect(registered.state).toBe('available');
  expect(registered.contacts[0]!.uri).toContain(`127.0.0.1:${phone.sipPort}`);
  expect(registered.contacts[0]!.userAgent ?? '').toMatch(/linphone/i);
  const list = await p.api<{ users: Availability[] }>('/api/registrations');
  expect(list.body.users.map((u) => u.user)).toContain('alice');

  expect((await p.post('/api/rooms', { roomId: 'standup' })).status).toBe(201);
  const dial = await p.post<{ participant: { id: string; uri: string } }>('/api/rooms/standup/dial', {
    target: 'alice',
  });
  expect(dial.status).toBe(201);
  await phone.waitAnswered();
  const ps = await p.waitParticipants('standup', (l) => l.some((x) => x.state === 'joined'));
  expect(ps).toHaveLength(1);
  expect(ps[0]!.uri).toContain(`127.0.0.1:${phone.sipPort}`);
  const inCall = await waitAvailability(p, (a) => a.state === 'in-call');
  expect(inCall.calls).toEqual([
    expect.objectContaining({ roomId: 'standup', participantId: dial.body.participant.id }),
  ]);

  await phone.hangup();
  await p.waitParticipants('standup', (l) => l.length === 0);
  expect((await waitAvailability(p, (a) => a.state === 'available')).registered).toBe(true);

  // a name nobody registered: refused before any INVITE
  const nobody = await p.post<{ error: string }>('/api/rooms/standup/dial', { target: 'bob' });
  expect(nobody.status).toBe(404);
  expect(nobody.body.error).toBe('CONF_USER_NOT_REGISTERED');
});

test('the binding survives a restart on the same database, and the restarted server dials alice by name', async () => {
  const before = servers[0]!;
  await before.stop();
  const p = await start();
  const after = await waitAvailability(p, (a) => a.registered);
  expect(after.contacts[0]!.uri).toContain(`127.0.0.1:${phone!.sipPort}`);
  const rooms = await p.api<{ rooms: Array<{ id: string }> }>('/api/rooms');
  expect(rooms.body.rooms.map((r) => r.id)).toContain('standup');
  const from = phone!.output().length;
  const dial = await p.post('/api/rooms/standup/dial', { target: 'alice' });
  expect(dial.status).toBe(201);
  await phone!.waitFor(/Media streams established/, 15000, from);
  await waitAvailability(p, (a) => a.state === 'in-call' && a.calls[0]?.roomId === 'standup');
  await phone!.hangup();
});
