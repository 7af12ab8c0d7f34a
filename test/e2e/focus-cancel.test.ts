/**
 * CANCEL before the answer (RFC 3261 §9) against real SIPp callers. Its rooms are not declared (declared rooms open
 * at start): each is created on demand, so the focus is still building it when the CANCEL arrives.
 * Needs `npm run build` first (the server runs from dist/).
 */
import { receivedStatuses, sippStarvedAborts, startFocusSipp } from '../support/focus-sipp';
import { sleep, startE2eParley, type E2eParley } from '../support/parley-e2e';
import { rtpPeers } from '../support/rtp-peer';

jest.setTimeout(90_000);

const CANCEL_CALLS = 5;
let parley: E2eParley;
const { peer, closeAll: closePeers } = rtpPeers();

beforeAll(async () => {
  parley = await startE2eParley({ conference: { rooms: [{ name: 'open' }] } });
});

afterAll(async () => {
  closePeers();
  await parley?.stop();
});

test('CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE; a cancelled caller never joins', async () => {
  // Each call goes to a room not opened yet (cancel1..5, created on demand), so the focus is still creating its router when the
  // CANCEL (sent right after the INVITE) arrives. SIPp may be late with its CANCEL on a loaded machine: then the
  // focus's 200 crossed it, the CANCEL has no effect (RFC 3261 §9.2) and the scenario hangs up; that outcome is
  // legal but must stay the exception.
  const phone = await peer();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-cancel.xml',
    room: 'cancel',
    keys: { rtp_port: phone.port },
    calls: CANCEL_CALLS,
    limit: 1,
  });
  const r = await c.done;
  // at most one call lost to SIPp's own scheduling under load (see sippStarvedAborts), nothing else
  const starved = sippStarvedAborts(r.errors);
  expect(starved.rest).toBe('');
  expect(starved.callIds.length).toBeLessThanOrEqual(1);
  expect(r.code).toBe(starved.callIds.length ? 1 : 0);
  const byCall = new Map<string, string[]>();
  for (const [, what, call] of c.events()) byCall.set(call!, [...(byCall.get(call!) ?? []), what!]);
  expect(byCall.size).toBe(CANCEL_CALLS - starved.callIds.length);
  const cancelled = [...byCall].filter(([, w]) => w.includes('487')).map(([call]) => call);
  for (const [, w] of byCall) {
    // every CANCEL got its 200; the INVITE got 487 or (crossing) 200
    expect(w.filter((x) => x === '200-CANCEL')).toHaveLength(1);
    expect(w.filter((x) => x === '487' || x === '200-INVITE')).toHaveLength(1);
  }
  expect(cancelled.length).toBeGreaterThanOrEqual(CANCEL_CALLS - 2);
  expect(receivedStatuses(r.messages)).not.toContain(180);
  await sleep(300);
  // A cancelled call never shows up in its room, not even for a moment.
  for (const call of cancelled) {
    const roomLogs = parley.run.lines.filter((l) => l.roomId === `cancel${call}`);
    expect(
      roomLogs.filter((l) => l.msg === 'participant admitted' || l.msg === 'participant joined'),
    ).toEqual([]);
  }
  for (let i = 1; i <= CANCEL_CALLS; i++)
    await parley.waitParticipants(`cancel${i}`, (l) => l.length === 0, 40_000);
});
