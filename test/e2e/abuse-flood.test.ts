/**
 * Issue 14, abuse: one loopback address (127.0.0.2) floods INVITEs without SDP, OPTIONS and REGISTERs with SIPp (bounded: a
 * few seconds, a few thousand requests) while two tone phones from 127.0.0.1 call another room: they get in and
 * hear each other (FFT); the flooder is banned (the server says so in its log) and, once the ban has run out, is
 * answered again. Nothing is allow-listed: 127.0.0.1 is limited like any other source, it just behaves.
 */
import dgram from 'node:dgram';
import path from 'node:path';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { freePort, runSipp, type SippResult } from '../support/sipp';
import { dialTonePhone, expectHearing, stopAndReport } from './conference-helpers';

jest.setTimeout(180_000);

const FLOODER = '127.0.0.2';
const TONE = { a: 407, b: 613 };
const FREQS = [TONE.a, TONE.b];
const SCENARIOS = path.join(__dirname, '..', 'fixtures', 'sipp', 'abuse');
const BAN_SECONDS = 12;

let parley: E2eParley | undefined;
const phones: SipPhone[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    security: {
      requestsPerSecond: 20,
      burst: 40,
      banAfterSeconds: 2,
      banSeconds: BAN_SECONDS,
      maxCallsPerSource: 5,
      maxSetupsPerSource: 3,
    },
    conference: { joinTones: false },
  });
});

afterAll(async () => {
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
});

/** One OPTIONS from `FLOODER`; resolves with the status line of the answer, or null when none came in `waitMs`. */
async function optionsFromFlooder(sipPort: number, waitMs: number): Promise<string | null> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, FLOODER, resolve));
  const { port } = sock.address();
  const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
  const msg =
    `OPTIONS sip:probe@127.0.0.1:${sipPort} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${FLOODER}:${port};branch=${branch};rport\r\n` +
    `From: <sip:probe@${FLOODER}>;tag=${branch.slice(7)}\r\n` +
    `To: <sip:probe@127.0.0.1>\r\n` +
    `Call-ID: ${branch}@${FLOODER}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  try {
    return await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      sock.on('message', (data) => {
        clearTimeout(timer);
        resolve(data.toString().split('\r\n')[0] ?? '');
      });
      sock.send(msg, sipPort, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

test('a flood from 127.0.0.2 is banned while callers from 127.0.0.1 get in and are heard; the ban expires', async () => {
  const p = parley!;
  const remote = `127.0.0.1:${p.sipPort}`;
  const floods: Array<Promise<SippResult>> = [
    runSipp({
      scenario: path.join(SCENARIOS, 'flood-invite.xml'),
      remote,
      localIp: FLOODER,
      localPort: await freePort(FLOODER),
      service: 'flooded',
      calls: 3000,
      rate: 1000,
      timeoutSec: 5,
    }),
    runSipp({
      scenario: path.join(SCENARIOS, 'flood-options.xml'),
      remote,
      localIp: FLOODER,
      localPort: await freePort(FLOODER),
      service: 'flooded',
      calls: 1500,
      rate: 500,
      timeoutSec: 5,
    }),
    runSipp({
      scenario: path.join(SCENARIOS, 'flood-register.xml'),
      remote,
      localIp: FLOODER,
      localPort: await freePort(FLOODER),
      service: 'flooded',
      calls: 1500,
      rate: 500,
      timeoutSec: 5,
    }),
  ];

  // The flooder is banned...
  while (p.logs('source banned').length === 0) await sleep(100);
  const ban = p.logs('source banned')[0]!;
  expect(ban).toMatchObject({ address: FLOODER, reason: 'rate-limited' });
  const until = Date.parse(String(ban.until));

  // ...while two callers from 127.0.0.1 join another room and hear each other.
  const a = await dialTonePhone(p, phones, 'calm', 'alice', TONE.a);
  const b = await dialTonePhone(p, phones, 'calm', 'bob', TONE.b);
  await expectHearing(FREQS, [
    [a, [TONE.b], [TONE.a], 'alice during the flood'],
    [b, [TONE.a], [TONE.b], 'bob during the flood'],
  ]);

  await Promise.all(floods);
  // The flooded room never held more of the flooder's calls than its per-source cap.
  expect((await p.participants('flooded')).length).toBeLessThanOrEqual(5);
  expect(p.logs('source banned').filter((l) => l.address === '127.0.0.1')).toEqual([]);

  // Banned: not one answer before the ban runs out; then served again.
  let answer: string | null = null;
  let answeredAt = 0;
  while (answer === null) {
    answer = await optionsFromFlooder(p.sipPort, 500);
    answeredAt = Date.now();
    if (answeredAt > until + 30_000) break;
  }
  expect(answer).toBe('SIP/2.0 200 OK');
  expect(answeredAt).toBeGreaterThanOrEqual(until);

  for (const ph of [a, b]) await ph.close();
});
