/**
 * The security policy of issue 14 against the built server with real peers:
 * - Toll fraud: dial-out through the REST API to a target outside `security.dialOut.allow` is 403 CONF_DIAL_DENIED,
 *   audited with the code, and no datagram reaches the target (a UDP socket on 127.0.0.3 counts them); a maddr
 *   parameter cannot smuggle the INVITE to it through an allowed host; an allowed target (SIPp UAS on 127.0.0.1)
 *   is still called and joins.
 * - SRTP required (`conference.rooms[].requireSrtp`): a plain RTP/AVP offer (SIPp) gets 488 Not Acceptable Here with
 *   a Warning 302 naming SRTP, and nobody joins; an SDES-SRTP offer (RTP/SAVP + a=crypto) is
 *   answered RTP/SAVP and joins with srtp; a room without the setting still takes plain RTP.
 * - Browser sockets (`/rtc`, socket.io-client from Node): the connection cap per source address refuses the next
 *   handshake with RTC_TOO_MANY_CONNECTIONS and takes one again once a connection closes; the per-connection
 *   request budget answers RTC_RATE_LIMITED.
 * Needs `npx tsc -p tsconfig.build.json` (dist/) and sox.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { io as connect, type Socket as Client } from 'socket.io-client';
import { receivedMessage, startFocusSipp, type FocusSippRun } from '../support/focus-sipp';
import { sleep, startE2eParley, type E2eParley } from '../support/parley-e2e';
import { RtpPeer } from '../support/rtp-peer';
import { freePort } from '../support/sipp';

jest.setTimeout(120_000);

const MAX_CONNECTIONS = 3;
const BURST = 5;

let parley: E2eParley;
const peers: RtpPeer[] = [];
const sipps: FocusSippRun[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    conference: {
      joinTones: false,
      rtpTimeoutSeconds: 3,
      rooms: [{ name: 'secure', requireSrtp: true }, { name: 'open' }, { name: 'dial' }],
    },
    security: {
      allow: ['127.0.0.1'],
      dialOut: { allow: ['*@127.0.0.1'] },
      maxBrowserConnectionsPerSource: MAX_CONNECTIONS,
      browserRequestsPerSecond: 1,
      browserRequestBurst: BURST,
    },
  });
  // The SIPp callee's rtp_stream: one minute of 613 Hz, G.711 u-law.
  execFileSync('sox', [
    ...['-n', '-r', '8000', '-c', '1', '-t', 'ul', path.join(parley.dir, 'tone.ul')],
    ...['synth', '60', 'sine', '613', 'vol', '0.25'],
  ]);
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const p of peers) p.close();
  await parley?.stop();
  await Promise.all(sipps.map((s) => s.done));
});

async function peer(): Promise<RtpPeer> {
  const p = await RtpPeer.open();
  peers.push(p);
  return p;
}

interface AuditPage {
  items: Array<{ action: string; roomId: string | null; outcome: string; detail: string | null }>;
}

test('toll fraud: a target outside security.dialOut.allow is 403 CONF_DIAL_DENIED, audited, and gets no datagram; an allowed one is called', async () => {
  // The would-be victim: a UDP socket on 127.0.0.3 counting whatever arrives.
  const victim = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  victim.on('message', (m) => received.push(m));
  await new Promise<void>((r) => victim.bind(0, '127.0.0.3', r));
  const victimPort = victim.address().port;
  try {
    const denied = await parley.post<{ error: string; message: string }>('/api/rooms/dial/dial', {
      target: `sip:00900555123@127.0.0.3:${victimPort}`,
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('CONF_DIAL_DENIED');
    expect(denied.body.message).toMatch(/security\.dialOut\.allow/);
    // An allowed host with maddr would send the INVITE to the victim (RFC 3261 §19.1.1): refused as well.
    const smuggled = await parley.post<{ error: string }>('/api/rooms/dial/dial', {
      target: `sip:x@127.0.0.1:${victimPort};maddr=127.0.0.3`,
    });
    expect([smuggled.status, smuggled.body.error]).toEqual([403, 'CONF_DIAL_DENIED']);

    // Both attempts are in the audit log with the code.
    const audit = await parley.api<AuditPage>('/api/audit?roomId=dial');
    const dials = audit.body.items.filter((e) => e.action === 'dial');
    expect(dials).toHaveLength(2);
    for (const e of dials) {
      expect(e.outcome).toBe('error');
      expect(e.detail).toMatch(/^CONF_DIAL_DENIED /);
    }
    expect(dials.map((e) => e.detail).join('\n')).toContain(`127.0.0.3:${victimPort}`);

    // An allowed target (SIPp UAS on 127.0.0.1) is called and joins: the same transport that would have carried
    // a refused INVITE has sent this one since, so anything for the victim would have gone out before it.
    const sipp = await startFocusSipp(parley, {
      scenario: '../conference/uas-answer-tone.xml',
      room: 'unused',
      timeoutSec: 60,
      extraArgs: ['-mi', '127.0.0.1', '-mp', String(await freePort())],
    });
    sipps.push(sipp);
    await sleep(300); // SIPp binds its port
    const target = `sip:callee@127.0.0.1:${sipp.port}`;
    const dialled = await parley.post<{ participant: { id: string; uri: string; state: string } }>(
      '/api/rooms/dial/dial',
      { target },
    );
    expect(dialled.status).toBe(201);
    expect(dialled.body.participant).toMatchObject({ uri: target, state: 'joined' });
    await sipp.waitEvent('invite', 5000);
    const kick = await parley.post(`/api/rooms/dial/participants/${dialled.body.participant.id}/kick`, {});
    expect(kick.status).toBe(200);
    const done = await sipp.done;
    expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
    expect(received).toEqual([]);
    expect(parley.logs('dial-out refused by security.dialOut.allow')).toHaveLength(2);
  } finally {
    victim.close();
  }
});

test('SRTP required: plain RTP/AVP gets 488 with a Warning; SDES-SRTP joins; other rooms take RTP', async () => {
  const plain = await peer();
  const refused = await startFocusSipp(parley, {
    scenario: 'uac-reject.xml',
    room: 'secure',
    keys: { rtp_port: plain.port, pt: 0, enc: 'PCMU/8000' },
  });
  const r1 = await refused.done;
  expect({ code: r1.code, errors: r1.errors }).toEqual({ code: 0, errors: '' });
  expect(refused.events()).toEqual([['status', '488']]);
  const answer = receivedMessage(r1.messages, 'SIP/2.0 488')!;
  expect(answer).toMatch(/^SIP\/2\.0 488 Not Acceptable Here\r?$/m);
  expect(answer).toMatch(/^Warning: 302 parley "SRTP required: audio RTP\/AVP has no SRTP[^"]*"\r?$/m);
  expect(await parley.participants('secure')).toEqual([]);

  const srtp = await peer();
  const admitted = await startFocusSipp(parley, {
    scenario: 'uac-srtp.xml',
    room: 'secure',
    keys: { rtp_port: srtp.port },
    pauseMs: 1500, // SIPp cannot send SRTP: stay below the 3 s RTP timeout
  });
  const [, , proto] = await admitted.waitEvent('answer');
  expect(proto).toBe('RTP/SAVP');
  const ps = await parley.waitParticipants('secure', (l) => l.length === 1);
  expect(ps[0]).toMatchObject({ srtp: true, state: 'joined' });
  const r2 = await admitted.done;
  expect({ code: r2.code, errors: r2.errors }).toEqual({ code: 0, errors: '' });
  await parley.waitParticipants('secure', (l) => l.length === 0);

  // The same plain offer into a room without the setting is answered.
  const other = await peer();
  const open = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'open',
    keys: { rtp_port: other.port, pt: 0, enc: 'PCMU/8000' },
  });
  const r3 = await open.done;
  expect({ code: r3.code, errors: r3.errors }).toEqual({ code: 0, errors: '' });
  // the focus answers from the conference URI, with "isfocus" (RFC 4579 §4.5)
  expect(receivedMessage(r3.messages, 'SIP/2.0 200')).toMatch(
    new RegExp(`^Contact: <sip:open@127\\.0\\.0\\.1:${parley.sipPort}>;isfocus`, 'm'),
  );
  expect(parley.logs('INVITE rejected').filter((l) => l.status === 488)).toHaveLength(1);
});

/** A /rtc connection from 127.0.0.1: resolves connected, or with the connect_error's catalogue code. */
async function rtc(): Promise<{ c: Client; refused?: string }> {
  const c = connect(`${parley.http}/rtc`, { transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(c);
  return new Promise((resolve) => {
    c.once('connect', () => resolve({ c }));
    c.once('connect_error', (err: Error & { data?: { code?: string } }) =>
      resolve({ c, refused: err.data?.code ?? err.message }),
    );
  });
}

test('/rtc: connections per source capped at the handshake (RTC_TOO_MANY_CONNECTIONS), freed on disconnect; requests over the budget get RTC_RATE_LIMITED', async () => {
  const held: Client[] = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) {
    const r = await rtc();
    expect(r.refused).toBeUndefined();
    held.push(r.c);
  }
  const over = await rtc();
  expect(over.refused).toBe('RTC_TOO_MANY_CONNECTIONS');
  expect(over.c.connected).toBe(false);

  // One closes: the server sees the disconnect, then a new handshake is taken again.
  const gone = held.shift()!;
  gone.disconnect();
  let again = await rtc();
  for (let i = 0; again.refused && i < 50; i++) {
    await sleep(100);
    again = await rtc();
  }
  expect(again.refused).toBeUndefined();
  held.push(again.c);

  // BURST + 10 requests at once on one connection (1 token/s refill): the bucket's first BURST run, and the rest
  // (but for the odd token refilled meanwhile) are answered RTC_RATE_LIMITED without running.
  const c = held[0]!;
  type Ack = { ok: true } | { ok: false; error: { code: string } };
  const acks = await Promise.all(
    Array.from(
      { length: BURST + 10 },
      () => new Promise<Ack>((resolve) => c.emit('capabilities', (a: Ack) => resolve(a))),
    ),
  );
  expect(acks.slice(0, BURST).every((a) => a.ok)).toBe(true);
  const limited = acks.filter((a) => !a.ok);
  expect(limited.length).toBeGreaterThan(0);
  for (const a of limited) if (!a.ok) expect(a.error.code).toBe('RTC_RATE_LIMITED');
  for (const h of held) h.disconnect();
});
