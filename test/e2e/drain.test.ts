/**
 * Draining the built server with SIGTERM, as a process manager or a rolling restart does:
 * - a call in progress (two tone phones) goes on with audio while a new INVITE (SIPp) gets 503 + Retry-After,
 *   out-of-dialog OPTIONS 503 and /healthz 503 "draining" (a Kamailio dispatcher takes the node out); once the
 *   call hangs up, the process exits with code 0;
 * - with a short `drain.deadlineSeconds`, the calls left at the deadline get BYE with a Reason header (RFC 3326),
 *   then the process exits 0;
 * - a restart on the same data directory brings back a room declared through `POST /api/rooms`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SipError } from '../../src/sip/errors';
import { SipStack } from '../../src/sip/ua/sip-stack';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { freePort, runSipp } from '../support/sipp';
import { dialTonePhone, expectHearing, stopAndReport } from './conference-helpers';

jest.setTimeout(120_000);

const RETRY_AFTER = 17;
const TONES = [407, 613] as const;
const SCENARIO = path.resolve(__dirname, '../fixtures/sipp/drain/uac-refused-draining.xml');

const phones: SipPhone[] = [];
const servers: E2eParley[] = [];
let probe: SipStack | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-drain-'));
  probe = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null } });
});

afterEach(async () => {
  for (const p of phones.splice(0)) await p.close();
  for (const s of servers.splice(0)) await stopAndReport(s, __filename);
});

afterAll(async () => {
  await probe?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const start = async (drain: Record<string, unknown>, dir?: string): Promise<E2eParley> => {
  const p = await startE2eParley({ config: { drain }, ...(dir ? { dir } : {}) });
  servers.push(p);
  return p;
};

/** SIGTERM, and the server's own word that it drains. */
const sigterm = async (p: E2eParley): Promise<void> => {
  p.run.proc.kill('SIGTERM');
  await p.run.waitForLog((l) => l.msg === 'SIGTERM: draining', 10_000);
};

test('SIGTERM: new calls 503 + Retry-After, OPTIONS and /healthz draining, the call keeps its audio, exit 0 once it ends; declared rooms come back after a restart', async () => {
  const p = await start({ deadlineSeconds: 600, retryAfterSeconds: RETRY_AFTER }, dataDir);
  // A room declared through the API (stored in the data directory's database).
  const created = await p.post<{ id: string }>('/api/rooms', { roomId: 'standup', displayName: 'Stand-up' });
  expect(created.status).toBe(201);

  const alice = await dialTonePhone(p, phones, 'drain', 'alice', TONES[0]);
  const bob = await dialTonePhone(p, phones, 'drain', 'bob', TONES[1]);
  await p.waitParticipants('drain', (ps) => ps.filter((x) => x.state === 'joined').length === 2);
  const target = `sip:drain@127.0.0.1:${p.sipPort}`;
  expect((await probe!.request(target, 'OPTIONS')).status).toBe(200);
  expect((await fetch(`${p.http}/healthz`)).status).toBe(200);

  await sigterm(p);

  // A new INVITE from SIPp: 503 with the catalogue's reason phrase and our Retry-After (checked in the scenario).
  const out = path.join(p.dir, 'sipp-refused.out');
  const sipp = await runSipp({
    scenario: SCENARIO,
    remote: `127.0.0.1:${p.sipPort}`,
    localPort: await freePort(),
    service: 'drain',
    cwd: p.dir,
    extraArgs: ['-key', 'out', out, '-mp', String(await freePort())],
  });
  if (!fs.existsSync(out))
    throw new Error(
      `SIPp wrote nothing (${sipp.code}): ${sipp.stdout.slice(-1500)} ${sipp.stderr.slice(-1500)}`,
    );
  expect({ code: sipp.code, out: fs.readFileSync(out, 'utf8').trim() }).toEqual({
    code: 0,
    out: `SIP/2.0 503 Service Unavailable (draining)|${RETRY_AFTER}`,
  });
  // A phone to a room not open yet: refused too (nothing is created while draining).
  const refused = await SipPhone.call({
    target: `sip:newroom@127.0.0.1:${p.sipPort}`,
    user: 'carol',
    codec: 'PCMU',
    tone: null,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(SipError);
  expect((refused as SipError).status).toBe(503);

  // Out-of-dialog OPTIONS and /healthz tell a load balancer to take the node out.
  const options = await probe!.request(target, 'OPTIONS');
  expect(options.status).toBe(503);
  expect(options.headers.get('retry-after')).toBe(String(RETRY_AFTER));
  const health = await fetch(`${p.http}/healthz`);
  expect(health.status).toBe(503);
  expect(await health.json()).toMatchObject({ status: 'draining' });

  // The call in progress goes on: each phone still hears the other (FFT of what arrives next).
  await expectHearing(TONES, [
    [alice, [TONES[1]], [], 'alice while draining'],
    [bob, [TONES[0]], [], 'bob while draining'],
  ]);
  expect(p.run.proc.exitCode).toBeNull();

  // The callers hang up: the drain is done and the process exits 0 on its own.
  await bob.close();
  expect(alice.terminated).toBe(false);
  await alice.close();
  const exit = await p.run.exit;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(p.logs('shutting down').map((l) => l.signal)).toEqual(['drained']);
  expect(fs.existsSync(path.join(dataDir, 'parley.db'))).toBe(true);

  // A restart on the same data directory: the declared room is back (and calls are welcome again).
  const again = await start({ deadlineSeconds: 600, retryAfterSeconds: RETRY_AFTER }, dataDir);
  const rooms = await again.api<{ rooms: Array<{ id: string }> }>('/api/rooms');
  expect(rooms.status).toBe(200);
  expect(rooms.body.rooms.map((r) => r.id)).toContain('standup');
  const room = await again.api<{ declared: boolean; displayName?: string }>('/api/rooms/standup');
  expect(room.status).toBe(200);
  expect(room.body.declared).toBe(true);
  expect((await fetch(`${again.http}/healthz`)).status).toBe(200);
});

test('SIGTERM with a short deadline: the calls left get BYE with a Reason header, then exit 0', async () => {
  const p = await start({ deadlineSeconds: 2, retryAfterSeconds: RETRY_AFTER });
  const alice = await dialTonePhone(p, phones, 'late', 'alice', TONES[0]);
  const bob = await dialTonePhone(p, phones, 'late', 'bob', TONES[1]);
  await p.waitParticipants('late', (ps) => ps.filter((x) => x.state === 'joined').length === 2);

  await sigterm(p);
  await Promise.all([alice.waitTerminated(30_000), bob.waitTerminated(30_000)]);
  for (const phone of [alice, bob])
    expect(phone.byeFromServer?.headers.get('reason')).toBe('SIP;cause=503;text="Server draining"');
  const exit = await p.run.exit;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(p.logs('drain deadline passed: hanging up')).toHaveLength(2);
});
