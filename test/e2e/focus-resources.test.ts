/**
 * Resource release: 100 SIPp calls (20 per second, ~10 at a time) into one declared room (kept open, so nothing
 * is released by the room closing) leave the server with exactly the UDP sockets it had before: every relay
 * socket (media thread, main process) and every mediasoup PlainTransport (worker process) is closed.
 * Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { sippStarvedAborts, startFocusSipp } from '../support/focus-sipp';
import { sleep, startE2eParley, type E2eParley } from '../support/parley-e2e';

jest.setTimeout(120_000);

let parley: E2eParley;
const CANCELS = 10;

beforeAll(async () => {
  parley = await startE2eParley({
    // lc1..lc10 are not declared: declared rooms open at start, and the CANCEL test needs the focus mid-setup
    // (creating the room and its router) when the CANCEL arrives.
    conference: { rooms: [{ name: 'load' }] },
  });
});

afterAll(async () => {
  await parley?.stop();
});

/** The server process and its children (the mediasoup worker). */
function serverPids(): number[] {
  const pid = parley.run.proc.pid!;
  const kids = execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
  return [pid, ...kids];
}

/** Open UDP sockets per process (from `ss -uanp`). */
function udpSockets(): Record<number, number> {
  const pids = serverPids();
  const out = execFileSync('ss', ['-uanp'], { encoding: 'utf8' });
  const counts: Record<number, number> = Object.fromEntries(pids.map((p) => [p, 0]));
  for (const line of out.split('\n'))
    for (const m of line.matchAll(/pid=(\d+),/g)) if (Number(m[1]) in counts) counts[Number(m[1])]!++;
  return counts;
}

test('100 sequential-ish calls leave no socket behind', async () => {
  // warm-up: the room, its router, lazily opened sockets
  const warm = await startFocusSipp(parley, { scenario: 'uac', room: 'load', pauseMs: 200 });
  expect((await warm.done).code).toBe(0);
  await parley.waitParticipants('load', (l) => l.length === 0);
  await sleep(500);
  const before = udpSockets();
  expect(Object.keys(before).length).toBeGreaterThanOrEqual(2); // node + mediasoup-worker

  const load = await startFocusSipp(parley, {
    scenario: 'uac',
    room: 'load',
    calls: 100,
    rate: 20,
    limit: 20,
    pauseMs: 500,
    timeoutSec: 60,
  });
  // while the calls run, sockets are really opened (the measure can see a leak)
  let peak = 0;
  let finished = false;
  void load.done.finally(() => (finished = true));
  while (!finished) {
    const now = udpSockets();
    peak = Math.max(
      peak,
      Object.values(now).reduce((a, b) => a + b, 0),
    );
    await sleep(200);
  }
  const r = await load.done;
  expect({ code: r.code, successful: r.successful, failed: r.failed, errors: r.errors }).toEqual({
    code: 0,
    successful: 100,
    failed: 0,
    errors: '',
  });
  const baseTotal = Object.values(before).reduce((a, b) => a + b, 0);
  expect(peak).toBeGreaterThan(baseTotal + 6); // at least a few calls' relay + transport sockets at once

  await parley.waitParticipants('load', (l) => l.length === 0);
  // closing is asynchronous (relay threads, worker requests): give it a moment, then compare exactly
  let after = udpSockets();
  for (let i = 0; i < 50 && JSON.stringify(after) !== JSON.stringify(before); i++) {
    await sleep(100);
    after = udpSockets();
  }
  expect(after).toEqual(before);
  await until(() => parley.logs('participant left').length === 101);
  expect(parley.logs('participant joined')).toHaveLength(101);
});

test('cancelled and refused calls leave no socket behind either', async () => {
  const before = udpSockets();
  // CANCEL right after the INVITE, each into a room not opened yet (lc1..lc10): the focus is mid-setup
  const cancels = await startFocusSipp(parley, {
    scenario: 'uac-cancel.xml',
    room: 'lc',
    keys: { rtp_port: 9 },
    calls: CANCELS,
    rate: 5,
    limit: 1, // one at a time: a starved SIPp must not see the focus's 2xx before it even sent its CANCEL
  });
  const rc = await cancels.done;
  // 488: nothing to serve (G.729 only)
  const refused = await startFocusSipp(parley, {
    scenario: 'uac-reject.xml',
    room: 'load',
    keys: { rtp_port: 9, pt: 18, enc: 'G729/8000' },
    calls: 20,
    rate: 10,
    limit: 5,
  });
  const rr = await refused.done;
  // A starved SIPp may abort a call (see sippStarvedAborts); the focus then ends that dialog itself after its
  // 2xx went unacknowledged (RFC 3261 §13.3.1.4, 64*T1), which is part of what this test waits for below.
  const starved = sippStarvedAborts(rc.errors);
  expect(starved.rest).toBe('');
  expect(starved.callIds.length).toBeLessThanOrEqual(2);
  // SIPp counts a CANCEL that crossed the focus's 2xx as a failed call. How many cross is timing (a loaded machine
  // running Chromium beside this test saw 3 of 10): what must hold is that most were cancelled and that every one,
  // cancelled or crossed, leaves nothing behind (below).
  expect([0, 1]).toContain(rc.code);
  expect(rc.successful).toBeGreaterThanOrEqual(CANCELS / 2);
  // most of them really were cancelled mid-setup (the others crossed the focus's 2xx and were hung up)
  expect(cancels.events().filter((e) => e[1] === '487').length).toBeGreaterThanOrEqual(CANCELS / 2);
  expect([rr.code, rr.successful, rr.errors]).toEqual([0, 20, '']);
  expect(refused.events().filter((e) => e[1] === '488')).toHaveLength(20);
  for (let i = 1; i <= CANCELS; i++) await parley.waitParticipants(`lc${i}`, (l) => l.length === 0, 40_000);
  let after = udpSockets();
  for (let i = 0; i < 50 && JSON.stringify(after) !== JSON.stringify(before); i++) {
    await sleep(100);
    after = udpSockets();
  }
  expect(after).toEqual(before);
});

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await sleep(50);
}
