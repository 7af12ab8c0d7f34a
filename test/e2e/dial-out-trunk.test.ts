/**
 * Dial-out through configured trunks (`sip.dialOut.trunks`), against the built server with SIPp as the trunk:
 * - a digest-protected trunk (test/e2e/sipp/trunk-auth-early.xml): SIPp is the outbound proxy; our INVITE carries
 *   the pre-loaded Route to it while its Request-URI stays the callee (RFC 3261 §8.1.2), From is the trunk's
 *   account; the 407 is answered with Proxy-Authorization, whose digest the test recomputes (RFC 2617 §3.2.2 with
 *   qop=auth); the 183 with SDP is early media: a phone in the room hears the trunk's 613 Hz tone while the dial is
 *   still pending (the REST call unanswered, the callee listed as joining); then the 200 answers the REST call with
 *   `dial.result: answered` and the 183 among its progress.
 * - a trunk that only rings (trunk-ring.xml) with ringTimeoutSeconds 2: CANCEL, then the REST answer is
 *   CONF_DIAL_NO_ANSWER with `dial.result: timeout`, status 408; nobody left in the room.
 * - a trunk that rings in silence (trunk-ring-silent.xml: 183 with SDP, never any RTP) for longer than the RTP
 *   timeout: the call is not ended as dead (the RTP timer starts at the answer); the ring timeout reports it.
 * - a busy callee (test/fixtures/sipp/conference/uas-busy.xml), called directly: CONF_DIAL_FAILED with
 *   `dial.result: busy`, status 486, after a 180 in the progress.
 * Needs `npx tsc -p tsconfig.build.json` (dist/) and sox.
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { cleanErrors, receivedMessage, sippEvents, sippRun, type FocusSippRun } from '../support/focus-sipp';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { freePort, runSipp } from '../support/sipp';
import {
  dialTonePhone,
  expectCatalogue,
  expectHears,
  hearNext,
  stopAndReport,
  writeSippTone,
} from './conference-helpers';

jest.setTimeout(180_000);

const TONE = { phone: 407, trunk: 613 } as const;
const FREQS = [TONE.phone, TONE.trunk];
const CREDENTIALS = { username: 'parley-acct', password: 'tr-unk secret' };
const RING_TIMEOUT_S = 2;
const RTP_TIMEOUT_S = 2;
const SILENT_RING_TIMEOUT_S = 5;

let parley: E2eParley;
const phones: SipPhone[] = [];
const ports = { auth: 0, ring: 0, silent: 0 };
const runs: Array<Promise<unknown>> = [];

type Callee = FocusSippRun;

beforeAll(async () => {
  ports.auth = await freePort();
  ports.ring = await freePort();
  ports.silent = await freePort();
  parley = await startE2eParley({
    // A short RTP timeout: a silent early-media callee must outlast it (the timer starts at the answer).
    conference: { joinTones: false, rtpTimeoutSeconds: RTP_TIMEOUT_S },
    security: {
      allow: ['127.0.0.1'],
      dialOut: { allow: ['*@trunk.test', '*@slow.test', '*@silent.test', '*@127.0.0.1'] },
    },
    config: {
      sip: {
        dialOut: {
          ringTimeoutSeconds: 60,
          trunks: [
            {
              name: 'carrier',
              match: ['*@trunk.test'],
              proxy: `sip:127.0.0.1:${ports.auth}`,
              ...CREDENTIALS,
              fromUser: '+15550001',
            },
            {
              name: 'slow',
              match: ['*@slow.test'],
              proxy: `sip:127.0.0.1:${ports.ring};lr`,
              ringTimeoutSeconds: RING_TIMEOUT_S,
            },
            {
              name: 'silent',
              match: ['*@silent.test'],
              proxy: `sip:127.0.0.1:${ports.silent}`,
              ringTimeoutSeconds: SILENT_RING_TIMEOUT_S,
            },
          ],
        },
      },
    },
  });
  // SIPp's rtp_stream plays raw codec bytes: one minute of 613 Hz at −12 dBFS, G.711 u-law.
  writeSippTone(parley, TONE.trunk);
});

afterAll(async () => {
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
  await Promise.all(runs);
});

/** SIPp as a UAS on `port` (its RTP on a free port), scenario from test/e2e/sipp or a fixtures path. */
async function callee(scenario: string, port: number): Promise<Callee> {
  const tag = `${path.basename(scenario, '.xml')}-${port}`;
  const out = path.join(parley.dir, `${tag}.out`);
  const errFile = path.join(parley.dir, `${tag}.err`);
  const msgFile = path.join(parley.dir, `${tag}.msg`);
  fs.writeFileSync(out, '');
  const events = sippEvents(out);
  const done = runSipp({
    scenario: path.isAbsolute(scenario) ? scenario : path.join(__dirname, 'sipp', scenario),
    localPort: port,
    transport: 'u1',
    calls: 1,
    timeoutSec: 90,
    cwd: parley.dir,
    extraArgs: [
      ...['-trace_err', '-error_file', errFile, '-trace_msg', '-message_file', msgFile],
      ...['-key', 'out', out, '-mi', '127.0.0.1', '-mp', String(await freePort())],
    ],
  }).then((r) => ({
    ...r,
    errors: fs.existsSync(errFile) ? cleanErrors(fs.readFileSync(errFile, 'utf8')) : '',
    messages: fs.existsSync(msgFile) ? fs.readFileSync(msgFile, 'utf8') : '',
    elapsedMs: 0,
  }));
  runs.push(done);
  const run = sippRun(port, events, done);
  await sleep(300); // SIPp binds its port
  return run;
}

/** The header `name` of a SIP message text (first occurrence), without its name. */
function header(msg: string, name: string): string | undefined {
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(msg)?.[1]?.trim();
}

/** `key=value` / `key="value"` parameters of a digest credentials header. */
function digestParams(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of v.replace(/^Digest\s+/i, '').matchAll(/([a-z-]+)=(?:"([^"]*)"|([^,\s]+))/gi))
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

interface DialAnswer {
  roomId?: string;
  participant?: ApiParticipant;
  error?: string;
  message?: string;
  dial: {
    result: string;
    status: number;
    reason: string;
    progress: Array<{ status: number; reason: string }>;
  };
}

test('through a digest-protected trunk: Route to the proxy, Request-URI the callee, the 407 answered with the right digest; early media heard in the room before the answer', async () => {
  const room = 'trunked';
  const phone = await dialTonePhone(parley, phones, room, 'phone', TONE.phone);
  await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
  const trunk = await callee('trunk-auth-early.xml', ports.auth);

  const target = 'sip:+15557654321@trunk.test';
  let settled = false;
  const dial = parley.post<DialAnswer>(`/api/rooms/${room}/dial`, { target }).finally(() => (settled = true));

  // Early media: the 183's SDP connected the trunk's stream; the phone hears 613 Hz while the call still rings.
  const [, callId] = await trunk.waitEvent('early', 15000);
  const heard = await hearNext(phone);
  expectHears(
    heard,
    phone.rate,
    FREQS,
    [TONE.trunk],
    [TONE.phone],
    'the phone in the room, during early media',
  );
  expect(settled).toBe(false);
  const ringing = await parley.participants(room);
  expect(ringing.map((p) => [p.displayName, p.state]).sort()).toEqual([
    ['+15557654321', 'joining'],
    ['phone', 'joined'],
  ]);

  // Now let the trunk answer: an INFO on its Call-ID is SIPp's cue (sent from a socket of ours; SIPp answers it).
  const cue = dgram.createSocket('udp4');
  await new Promise<void>((r) => cue.bind(0, '127.0.0.1', r));
  const cuePort = (cue.address() as { port: number }).port;
  const info = [
    `INFO sip:callee@127.0.0.1:${trunk.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${cuePort};branch=z9hG4bK-cue-${Date.now()}`,
    `From: <sip:cue@127.0.0.1:${cuePort}>;tag=cue`,
    `To: <sip:callee@127.0.0.1:${trunk.port}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INFO',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  cue.send(info, trunk.port, '127.0.0.1');
  const answered = await dial;
  cue.close();
  expect(answered.status).toBe(201);
  expect(answered.body.participant).toMatchObject({
    kind: 'sip',
    uri: target,
    state: 'joined',
    codec: 'PCMU',
  });
  expect(answered.body.dial).toMatchObject({ result: 'answered', status: 200 });
  expect(answered.body.dial.progress.map((p) => p.status)).toContain(183);
  await trunk.waitEvent('ack', 5000);

  // The 2xx repeated the early answer: the callee's tone is still in the mix after the answer.
  expectHears(await hearNext(phone), phone.rate, FREQS, [TONE.trunk], [TONE.phone], 'the phone, answered');

  // Hang up; then read what SIPp received.
  const kick = await parley.post(`/api/rooms/${room}/participants/${answered.body.participant!.id}/kick`, {});
  expect(kick.status).toBe(200);
  await trunk.waitEvent('bye', 10000);
  const done = await trunk.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });

  const first = receivedMessage(done.messages, 'INVITE', 0)!;
  const second = receivedMessage(done.messages, 'INVITE', 1)!;
  for (const inv of [first, second]) {
    // RFC 3261 §8.1.2: the pre-loaded route is the outbound proxy (loose routing: ;lr added), the Request-URI the callee.
    expect(inv.split('\r\n')[0] ?? inv.split('\n')[0]).toMatch(
      /^INVITE sip:\+15557654321@trunk\.test SIP\/2\.0/,
    );
    expect(header(inv, 'Route')).toBe(`<sip:127.0.0.1:${ports.auth};lr>`);
    expect(header(inv, 'From')).toMatch(/^<sip:\+15550001@trunk\.test>;tag=/);
  }
  expect(header(first, 'Proxy-Authorization')).toBeUndefined();
  // The same call (Call-ID, From tag), the next CSeq (RFC 3261 §22.2).
  expect(header(second, 'Call-ID')).toBe(header(first, 'Call-ID'));
  expect(header(second, 'From')).toBe(header(first, 'From'));
  expect(Number(header(second, 'CSeq')!.split(' ')[0])).toBe(
    Number(header(first, 'CSeq')!.split(' ')[0]) + 1,
  );

  // The credentials: recompute the digest (RFC 2617 §3.2.2.1, qop=auth) from what SIPp received.
  const authz = header(second, 'Proxy-Authorization')!;
  const d = digestParams(authz);
  expect(d).toMatchObject({
    username: CREDENTIALS.username,
    realm: 'trunk.test',
    nonce: '5f1c0e9ab3d2trunk',
    uri: 'sip:+15557654321@trunk.test',
    qop: 'auth',
  });
  const ha1 = md5(`${CREDENTIALS.username}:trunk.test:${CREDENTIALS.password}`);
  const ha2 = md5(`INVITE:${d.uri}`);
  expect(d.response).toBe(md5(`${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:auth:${ha2}`));
  // A wrong password would not give the same digest (the check can fail).
  expect(
    md5(`${md5(`${CREDENTIALS.username}:trunk.test:wrong`)}:${d.nonce}:${d.nc}:${d.cnonce}:auth:${ha2}`),
  ).not.toBe(d.response);
  expect(phone.terminated).toBe(false);
});

test('a trunk that only rings: CANCEL after its ring timeout, reported as timeout (408, CONF_DIAL_NO_ANSWER); nobody left behind', async () => {
  const room = 'ringing';
  const phone = await dialTonePhone(parley, phones, room, 'phone', TONE.phone);
  await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
  const trunk = await callee('trunk-ring.xml', ports.ring);

  const started = Date.now();
  const r = await parley.post<DialAnswer>(`/api/rooms/${room}/dial`, { target: 'sip:reception@slow.test' });
  const elapsed = Date.now() - started;
  expectCatalogue(r, 'CONF_DIAL_NO_ANSWER', 'dial a callee that only rings');
  expect(r.body.dial).toMatchObject({ result: 'timeout', status: 408, reason: 'Request Timeout' });
  expect(r.body.dial.progress.map((p) => p.status)).toEqual([180, 408]);
  expect(r.body.message).toMatch(/timeout: no answer within 2 s/);
  // The CANCEL cannot come before the trunk's ring timeout.
  expect(elapsed).toBeGreaterThanOrEqual(RING_TIMEOUT_S * 1000);
  await trunk.waitEvent('cancel', 5000);
  await trunk.waitEvent('ack', 5000);
  const done = await trunk.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  const cancel = receivedMessage(done.messages, 'CANCEL')!;
  expect(cancel).toMatch(/^CANCEL sip:reception@slow\.test SIP\/2\.0/);
  // §9.1: the CANCEL carries the INVITE's Route.
  expect(header(cancel, 'Route')).toBe(`<sip:127.0.0.1:${ports.ring};lr>`);
  expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['phone']);
  await parley.run.waitForLog((l) => l.msg === 'participant left' && l.reason === 'not-answered', 5000);
  expect(phone.terminated).toBe(false);
});

test('early media in silence (183 with SDP, no RTP) for longer than the RTP timeout: not a dead call; reported as the ring timeout', async () => {
  const room = 'silent';
  const phone = await dialTonePhone(parley, phones, room, 'phone', TONE.phone);
  await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
  const trunk = await callee('trunk-ring-silent.xml', ports.silent);
  const r = await parley.post<DialAnswer>(`/api/rooms/${room}/dial`, { target: 'sip:lobby@silent.test' });
  expectCatalogue(r, 'CONF_DIAL_NO_ANSWER', 'dial a callee that rings in silence');
  expect(r.body.dial).toMatchObject({ result: 'timeout', status: 408 });
  expect(r.body.dial.progress.map((p) => p.status)).toEqual([183, 408]);
  await trunk.waitEvent('cancel', 5000);
  const done = await trunk.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  // Ended by the ring timer, not by the RTP timer (which would have said rtp-timeout and cancelled the call).
  expect(parley.logs('no RTP: ending the call')).toEqual([]);
  expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['phone']);
  expect(phone.terminated).toBe(false);
});

test('a busy callee (direct, no trunk): CONF_DIAL_FAILED with dial.result busy, 486, after ringing', async () => {
  const room = 'busyroom';
  const phone = await dialTonePhone(parley, phones, room, 'phone', TONE.phone);
  await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
  const busy = await callee(
    path.resolve(__dirname, '../fixtures/sipp/conference/uas-busy.xml'),
    await freePort(),
  );
  const r = await parley.post<DialAnswer>(`/api/rooms/${room}/dial`, {
    target: `sip:busy@127.0.0.1:${busy.port}`,
  });
  expectCatalogue(r, 'CONF_DIAL_FAILED', 'dial a busy callee');
  expect(r.body.dial).toMatchObject({ result: 'busy', status: 486, reason: 'Busy Here' });
  expect(r.body.dial.progress.map((p) => p.status)).toEqual([180, 486]);
  expect(r.body.message).toMatch(/busy: 486 Busy Here/);
  const done = await busy.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  // Sent directly: no Route, the From is the server's own.
  const inv = receivedMessage(done.messages, 'INVITE')!;
  expect(header(inv, 'Route')).toBeUndefined();
  expect(header(inv, 'From')).toMatch(/^<sip:parley@127\.0\.0\.1>;tag=/);
  expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['phone']);
  expect(phone.terminated).toBe(false);
});
