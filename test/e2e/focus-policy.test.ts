/**
 * The focus's gates and endings against real SIPp callers (CANCEL: focus-cancel.test.ts): 488 for offers it cannot
 * serve, SDES-SRTP answers, 404 for unknown rooms, 486/503 for full rooms, BYE on RTP inactivity.
 * Needs `npm run build` first (the server runs from dist/).
 */
import { receivedMessage, startFocusSipp } from '../support/focus-sipp';
import { sleep, startE2eParley, type E2eParley } from '../support/parley-e2e';
import { rtpPeers } from '../support/rtp-peer';

jest.setTimeout(90_000);

let parley: E2eParley;
const { peer, closeAll: closePeers } = rtpPeers();

beforeAll(async () => {
  parley = await startE2eParley({
    conference: {
      unknownRooms: 'reject',
      rtpTimeoutSeconds: 3,
      rooms: [{ name: 'open' }, { name: 'small', maxParticipants: 1 }],
    },
  });
});

afterAll(async () => {
  closePeers();
  await parley?.stop();
});

test('488 Not Acceptable Here when no codec matches (G.729 only)', async () => {
  const phone = await peer();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-reject.xml',
    room: 'open',
    keys: { rtp_port: phone.port, pt: 18, enc: 'G729/8000' },
  });
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(c.events()).toEqual([['status', '488']]);
  expect(receivedMessage(r.messages, 'SIP/2.0 488')).toMatch(/^Warning: 304 /m);
  expect(await parley.participants('open')).toEqual([]);
});

test('488 for a DTLS-SRTP-only offer (UDP/TLS/RTP/SAVP)', async () => {
  const phone = await peer();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-reject-dtls.xml',
    room: 'open',
    keys: { rtp_port: phone.port },
  });
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(c.events()).toEqual([['status', '488']]);
});

test('SDES-SRTP: the answer is RTP/SAVP with our own AES_CM_128_HMAC_SHA1_80 key; the API shows srtp', async () => {
  const phone = await peer();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-srtp.xml',
    room: 'open',
    keys: { rtp_port: phone.port },
    pauseMs: 1500, // SIPp cannot send SRTP: stay below the 3 s RTP timeout
  });
  const [, port, proto, pt, tag, suite, key] = await c.waitEvent('answer');
  expect([proto, pt, tag, suite]).toEqual(['RTP/SAVP', '0', '1', 'AES_CM_128_HMAC_SHA1_80']);
  expect(Number(port)).toBeGreaterThan(0);
  // RFC 4568 §6.1: 128-bit key + 112-bit salt = 30 bytes = 40 base64 characters; ours, not an echo of the offer's.
  expect(key).toHaveLength(40);
  expect(Buffer.from(key!, 'base64')).toHaveLength(30);
  expect(key).not.toBe('WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz');
  const ps = await parley.waitParticipants('open', (l) => l.length === 1);
  expect(ps[0]).toMatchObject({ srtp: true, codec: 'PCMU', transport: 'UDP' });
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  await parley.waitParticipants('open', (l) => l.length === 0);
});

test('404 for a room that does not exist (unknownRooms: reject)', async () => {
  const phone = await peer();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-reject.xml',
    room: 'nosuchroom',
    keys: { rtp_port: phone.port, pt: 0, enc: 'PCMU/8000' },
  });
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(c.events()).toEqual([['status', '404']]);
  expect((await parley.api('/api/rooms/nosuchroom')).status).toBe(404);
});

test('486 Busy Here when the room is full', async () => {
  const first = await peer();
  const second = await peer();
  const holder = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'small',
    keys: { rtp_port: first.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 2500,
  });
  const [, port] = await holder.waitEvent('answer');
  first.send('127.0.0.1', Number(port), 0);
  await parley.waitParticipants('small', (l) => l.length === 1);
  const c = await startFocusSipp(parley, {
    scenario: 'uac-reject.xml',
    room: 'small',
    keys: { rtp_port: second.port, pt: 0, enc: 'PCMU/8000' },
  });
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(c.events()).toEqual([['status', '486']]);
  expect(await parley.participants('small')).toHaveLength(1);
  const rh = await holder.done;
  first.stop();
  expect(rh.code).toBe(0);
});

test('RTP inactivity: a phone that stops sending gets a BYE with a Reason header', async () => {
  const phone = await peer();
  const c = await startFocusSipp(parley, {
    scenario: 'uac-wait-bye.xml',
    room: 'open',
    keys: { rtp_port: phone.port, se: '1800;refresher=uac' },
    timeoutSec: 30,
  });
  const [, port] = await c.waitEvent('answer');
  phone.send('127.0.0.1', Number(port), 0);
  await parley.waitParticipants('open', (l) => l.length === 1 && l[0]!.state === 'joined');
  await sleep(1500); // 1.5 s of audio, then silence
  phone.stop();
  const stoppedAt = Date.now();
  const bye = await c.waitEvent('bye', 15000);
  const after = Date.now() - stoppedAt;
  // RFC 3326 Reason; the focus says why it hung up
  expect(bye.slice(1).join(' ')).toMatch(/^SIP;cause=408;text="RTP timeout"$/);
  expect(after).toBeGreaterThanOrEqual(2000); // not before the 3 s timeout (minus polling slack)
  const r = await c.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  await parley.waitParticipants('open', (l) => l.length === 0);
});

describe('with fullRoomStatus: 503', () => {
  let p503: E2eParley;
  beforeAll(async () => {
    p503 = await startE2eParley({
      conference: { fullRoomStatus: 503, rooms: [{ name: 'tiny', maxParticipants: 1 }] },
    });
  });
  afterAll(async () => {
    await p503?.stop();
  });

  test('503 Service Unavailable when the room is full', async () => {
    const first = await peer();
    const second = await peer();
    const holder = await startFocusSipp(p503, {
      scenario: 'uac-call.xml',
      room: 'tiny',
      keys: { rtp_port: first.port, pt: 0, enc: 'PCMU/8000' },
      pauseMs: 2000,
    });
    await holder.waitEvent('answer');
    await p503.waitParticipants('tiny', (l) => l.length === 1);
    const c = await startFocusSipp(p503, {
      scenario: 'uac-reject.xml',
      room: 'tiny',
      keys: { rtp_port: second.port, pt: 0, enc: 'PCMU/8000' },
    });
    const r = await c.done;
    expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
    expect(c.events()).toEqual([['status', '503']]);
    expect((await holder.done).code).toBe(0);
  });
});
