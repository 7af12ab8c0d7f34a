/**
 * RFC 4028 session timers against real SIPp callers, both running side by side on one server (~70 s):
 * - Session-Expires: 90;refresher=uac, refreshed by a re-INVITE at 20 s and an UPDATE at 40 s: the call is still up
 *   at 65 s, when the caller hangs up;
 * - the same without refreshes: the focus sends BYE when the session expires, at 90 - min(32, 90/3) = 60 s (§10).
 * Needs `npm run build` first.
 */
import { receivedRequests, startFocusSipp } from '../support/focus-sipp';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { RtpPeer } from '../support/rtp-peer';

jest.setTimeout(150_000);

let parley: E2eParley;
const peers: RtpPeer[] = [];

beforeAll(async () => {
  // RTP timeout off: SIPp sends no media here
  parley = await startE2eParley({ conference: { rtpTimeoutSeconds: 0 } });
});

afterAll(async () => {
  for (const p of peers) p.close();
  await parley?.stop();
});

test('a refreshed session stays up past its expiry; an unrefreshed one gets a BYE at expiry', async () => {
  const pr = await RtpPeer.open();
  const pe = await RtpPeer.open();
  peers.push(pr, pe);
  const refreshing = await startFocusSipp(parley, {
    scenario: 'uac-session-refresh.xml',
    room: 'timers',
    keys: { rtp_port: pr.port },
    timeoutSec: 100,
  });
  const expiring = await startFocusSipp(parley, {
    scenario: 'uac-wait-bye.xml',
    room: 'timers',
    keys: { rtp_port: pe.port, se: '90;refresher=uac' },
    timeoutSec: 100,
  });
  const started = Date.now();
  // The focus accepts the interval and leaves the refreshes to the caller (RFC 4028 §9).
  expect((await refreshing.waitEvent('answer')).slice(1).join(' ')).toBe('90;refresher=uac');
  expect((await expiring.waitEvent('answer')).slice(3).join(' ')).toBe('90;refresher=uac');
  await parley.waitParticipants('timers', (l) => l.length === 2);

  const re = await expiring.done;
  const expiredAfter = Date.now() - started;
  expect({ code: re.code, errors: re.errors }).toEqual({ code: 0, errors: '' });
  expect(receivedRequests(re.messages)).toEqual(['BYE']);
  // §10: BYE at interval - min(32, interval/3) = 60 s after the 2xx (SIPp and polling add a little)
  expect(expiredAfter).toBeGreaterThanOrEqual(58_000);
  expect(expiredAfter).toBeLessThan(75_000);
  await parley.run.waitForLog((l) => l.msg === 'participant left' && l.reason === 'session-expired', 5000);
  // The refreshed call is still there after the other one expired.
  expect(await parley.participants('timers')).toHaveLength(1);

  const rr = await refreshing.done;
  expect({ code: rr.code, errors: rr.errors }).toEqual({ code: 0, errors: '' });
  expect(refreshing.events().map((e) => e.join(' '))).toEqual([
    'answer 90;refresher=uac',
    'reinvite 90;refresher=uac',
    'update 90;refresher=uac',
  ]);
  // the refreshing caller ended the call itself (no BYE from the focus)
  expect(receivedRequests(rr.messages)).toEqual([]);
  expect(Date.now() - started).toBeGreaterThanOrEqual(64_000);
  await parley.waitParticipants('timers', (l) => l.length === 0);
});
