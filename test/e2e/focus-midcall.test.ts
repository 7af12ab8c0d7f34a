/**
 * Mid-call changes beyond hold and address moves: a codec change by re-INVITE (PCMU → PCMA: the phone then gets
 * PCMA, PT 8) and an SDES-SRTP re-key (RFC 4568 §7.1.4: a new remote key needs a new PlainTransport, so our answer
 * carries a new port and a new key). SIPp signalling, RtpPeer media. Needs `npm run build` first.
 */
import { startFocusSipp } from '../support/focus-sipp';
import { sleep, startE2eParley, type E2eParley } from '../support/parley-e2e';
import { RtpPeer } from '../support/rtp-peer';

jest.setTimeout(60_000);

let parley: E2eParley;
beforeAll(async () => {
  parley = await startE2eParley({ conference: { audio: 'forward' } });
});
afterAll(async () => {
  await parley?.stop();
});

test('codec change by re-INVITE: PCMU → PCMA, the API and the RTP follow', async () => {
  const room = 'codec-change';
  const other = await RtpPeer.open();
  const phone = await RtpPeer.open();
  // The other party speaks PCMA so that it can be forwarded to the phone once the phone is on PCMA.
  const o = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room,
    keys: { rtp_port: other.port, pt: 8, enc: 'PCMA/8000' },
    pauseMs: 8000,
  });
  const [, otherPort] = await o.waitEvent('answer');
  other.send('127.0.0.1', Number(otherPort), 8);
  const c = await startFocusSipp(parley, {
    scenario: 'uac-codec-change.xml',
    room,
    keys: { rtp_port: phone.port },
    pauseMs: 2500,
  });
  const [, port, pt] = await c.waitEvent('answer');
  expect(pt).toBe('0');
  phone.send('127.0.0.1', Number(port), 0);
  await parley.waitParticipants(room, (l) => l.some((p) => p.codec === 'PCMU'));
  const [, port2, pt2] = await c.waitEvent('moved');
  expect(pt2).toBe('8');
  expect(port2).toBe(port); // same transport: only the Producer/Consumer change
  phone.stop();
  phone.reset();
  phone.send('127.0.0.1', Number(port), 8);
  await parley.waitParticipants(room, (l) => l.filter((p) => p.codec === 'PCMA').length === 2);
  // After the change the phone hears the other party's PCMA.
  const end = Date.now() + 5000;
  while (phone.received.count < 20 && Date.now() < end) await sleep(50);
  expect(phone.received.count).toBeGreaterThanOrEqual(20);
  expect([...phone.received.marks]).toEqual([other.mark]);
  phone.stop();
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(parley.logs('modification failed')).toEqual([]);
  other.stop();
  await o.done;
  phone.close();
  other.close();
});

test('SRTP re-key by re-INVITE: a new transport, a new port and a new key of ours', async () => {
  const room = 'rekey';
  const phone = await RtpPeer.open();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-rekey.xml',
    room,
    keys: { rtp_port: phone.port },
    pauseMs: 1500,
  });
  const [, port, , , key] = await c.waitEvent('answer');
  const [, port2, , , key2] = await c.waitEvent('moved');
  expect(key).toMatch(/^[A-Za-z0-9+/]{40}$/);
  expect(key2).toMatch(/^[A-Za-z0-9+/]{40}$/);
  expect(key2).not.toBe(key);
  expect(port2).not.toBe(port);
  const ps = await parley.waitParticipants(room, (l) => l.length === 1);
  expect(ps[0]).toMatchObject({ srtp: true, codec: 'PCMU' });
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  phone.close();
});
