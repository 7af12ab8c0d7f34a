/**
 * Browsers as participants, against the built server with real Chromium (Debian's, via playwright-core) running a
 * UI-less client of the /rtc protocol (test/browser/rtc-probe.ts: mediasoup-client + socket.io-client) and real
 * SIP phones with tones:
 * - two browsers (one with its camera) and a phone in one room: the phone hears both browsers' tones (Goertzel on
 *   what it received), each browser receives the phone's tone and the other browser's audio (WebAudio FFT in the
 *   page) and video (getStats: frames decoded); the API lists the browsers as `webrtc` with Opus and video;
 * - a moderator mute from the REST API takes a browser out of the phone's mix and pauses what the other browser
 *   receives of it; unmuted, both come back;
 * - reconnect: a browser whose connection drops comes back as the same participant, with media both ways;
 * - a kick from the API ends a browser (its page is told why); leaving ends it too;
 * - a phone muted before a browser joins is not heard by it (the page resumes its consumer; the mute holds) until
 *   unmuted, and each stream reaches the page as one consumer;
 * - relay only (`iceTransportPolicy: 'relay'`) through a local coturn with TURN REST API credentials: audio both ways;
 * - PIN rooms and bad requests get the catalogue's errors.
 * Needs `npx tsc -p tsconfig.build.json` (dist/), Chromium, coturn; runs on loopback only (scripts/loopback-only.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/sipp';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import {
  probeJoin,
  probeLevels,
  probeStats,
  serveProbe,
  withProbe,
  type ProbeServer,
} from '../support/rtc-probe';
import type { SipPhone } from '../support/sip-phone';
import { expectHearing, stopAndReport, dialTonePhone } from './conference-helpers';

jest.setTimeout(240_000);

/** Tones (Hz), none a whole number of cycles per 20 ms. */
const TONE = { x: 407, y: 613, phone: 887, z: 1163 } as const;
const FREQS = [TONE.x, TONE.y, TONE.phone, TONE.z];
/** WebAudio FFT bin level (dB) of a tone received at about −12 dBFS is around −30; silence is below −90. */
const BROWSER_HEARD_DB = -55;
const BROWSER_GONE_DB = -80;

const TURN_SECRET = 'parley-test-turn-secret';

let parley: E2eParley;
let probe: ProbeServer;
let turn: ChildProcess | undefined;
let turnPort: number;
const browsers: TestBrowser[] = [];
const phones: SipPhone[] = [];

beforeAll(async () => {
  turnPort = await freePort();
  const relayMin = 20000 + Math.floor(Math.random() * 200) * 20;
  turn = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      `--listening-port=${turnPort}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${relayMin}`,
      `--max-port=${relayMin + 19}`,
      '--use-auth-secret',
      `--static-auth-secret=${TURN_SECRET}`,
      '--realm=parley.test',
      '--allow-loopback-peers',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  turn.stdout!.resume();
  turn.stderr!.resume();
  parley = await startE2eParley({
    conference: { joinTones: false, rooms: [{ name: 'pinned', pin: '1234', moderatorPin: '9999' }] },
    env: {
      PARLEY_TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=udp`,
      PARLEY_TURN_SECRET: TURN_SECRET,
    },
  });
  probe = await serveProbe();
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  for (const p of phones) await p.close();
  await probe?.close();
  turn?.kill('SIGTERM');
  await stopAndReport(parley, __filename);
});

async function browser(toneHz: number, name: string): Promise<TestBrowser> {
  const b = await launchBrowser({ toneHz, name });
  browsers.push(b);
  return b;
}

function dial(room: string, user: string, tone: number): Promise<SipPhone> {
  return dialTonePhone(parley, phones, room, user, tone);
}

/** Polls the browser's WebAudio level of `freq` from `from` until `pred` holds (or fails with what it measured). */
async function waitLevel(
  b: TestBrowser,
  freq: number,
  from: string,
  pred: (db: number) => boolean,
  what: string,
  timeoutMs = 15000,
): Promise<number> {
  const end = Date.now() + timeoutMs;
  let last: Record<string, number> = {};
  while (Date.now() < end) {
    last = await probeLevels(b, freq);
    if (last[from] !== undefined && pred(last[from]!)) return last[from]!;
    await sleep(250);
  }
  throw new Error(
    `${what}: level of ${freq} Hz from ${from} never matched; last ${JSON.stringify(last)}\n${b.console.join('\n')}`,
  );
}

describe('browsers and a phone in one room', () => {
  let x: TestBrowser;
  let y: TestBrowser;
  let xId: string;
  let yId: string;
  let phone: SipPhone;
  let phoneId: string;

  beforeAll(async () => {
    phone = await dial('mixed', 'phone', TONE.phone);
    const ps = await parley.waitParticipants('mixed', (l) => l.length === 1 && l[0]!.state === 'joined');
    phoneId = ps[0]!.id;
    x = await browser(TONE.x, 'x');
    y = await browser(TONE.y, 'y');
    xId = await probeJoin(x, probe.url, { server: parley.http, room: 'mixed', name: 'Xavier' });
    yId = await probeJoin(y, probe.url, { server: parley.http, room: 'mixed', name: 'Yvonne', video: true });
  });

  test('the API lists the browsers as webrtc with Opus (and video for the camera)', async () => {
    const ps = await parley.waitParticipants(
      'mixed',
      (l) => l.length === 3 && l.filter((p) => p.video).length === 1,
      15000,
    );
    const byId = new Map(ps.map((p) => [p.id, p]));
    expect(byId.get(xId)).toMatchObject({
      kind: 'webrtc',
      displayName: 'Xavier',
      codec: 'opus',
      video: false,
    });
    expect(byId.get(yId)).toMatchObject({
      kind: 'webrtc',
      displayName: 'Yvonne',
      codec: 'opus',
      video: true,
    });
    expect(byId.get(phoneId)).toMatchObject({ kind: 'sip', codec: 'PCMU' });
  });

  test('the phone hears both browsers; each browser hears the phone and the other browser, and sees the camera', async () => {
    await expectHearing(FREQS, [[phone, [TONE.x, TONE.y], [TONE.z], 'phone']]);
    await waitLevel(x, TONE.phone, phoneId, (db) => db > BROWSER_HEARD_DB, 'x hears the phone');
    await waitLevel(x, TONE.y, yId, (db) => db > BROWSER_HEARD_DB, 'x hears y');
    await waitLevel(y, TONE.phone, phoneId, (db) => db > BROWSER_HEARD_DB, 'y hears the phone');
    await waitLevel(y, TONE.x, xId, (db) => db > BROWSER_HEARD_DB, 'y hears x');
    // The phone's audio reaches the browsers as-is (PCMU), no transcoding: x hears the phone's tone only from the phone.
    const end = Date.now() + 15000;
    let video = 0;
    while (Date.now() < end && video === 0) {
      const s = await probeStats(x);
      video = s
        .filter((r) => r.participantId === yId && r.kind === 'video')
        .reduce((a, r) => a + r.frames, 0);
      await sleep(250);
    }
    expect(video).toBeGreaterThan(0);
    // Nobody's keypad digits (PINs) reach a browser: no consumer carries telephone-event.
    const codecs = (await withProbe<string[]>(x, 'return probe.events;')).filter((e) =>
      e.startsWith('codecs '),
    );
    expect(codecs.length).toBeGreaterThanOrEqual(3);
    expect(codecs.filter((e) => /telephone-event/i.test(e))).toEqual([]);
    await x.screenshot('browser-rtc-x');
  });

  test('a moderator mute takes a browser out of the mix and pauses it for the other browser; unmute brings it back', async () => {
    const mute = await parley.post(`/api/rooms/mixed/participants/${xId}/mute`, { muted: true });
    expect(mute.status).toBe(200);
    await expectHearing(FREQS, [[phone, [TONE.y], [TONE.x], 'phone, x muted']]);
    await waitLevel(y, TONE.x, xId, (db) => db < BROWSER_GONE_DB, 'y no longer hears x');
    expect((await parley.participants('mixed')).find((p) => p.id === xId)?.muted).toBe(true);
    await parley.post(`/api/rooms/mixed/participants/${xId}/mute`, { muted: false });
    await expectHearing(FREQS, [[phone, [TONE.x, TONE.y], [], 'phone, x unmuted']]);
    await waitLevel(y, TONE.x, xId, (db) => db > BROWSER_HEARD_DB, 'y hears x again');
  });

  test('a dropped connection comes back as the same participant, with media both ways', async () => {
    await withProbe(x, 'probe.dropConnection();');
    const end = Date.now() + 20000;
    let resumed = false;
    while (Date.now() < end && !resumed) {
      const events = await withProbe<string[]>(x, 'return probe.events;');
      resumed = events.includes(`resumed ${xId}`);
      await sleep(250);
    }
    expect(resumed).toBe(true);
    const ps = await parley.participants('mixed');
    expect(
      ps
        .filter((p) => p.kind === 'webrtc')
        .map((p) => p.id)
        .sort(),
    ).toEqual([xId, yId].sort());
    await expectHearing(FREQS, [[phone, [TONE.x, TONE.y], [], 'phone after x reconnected']]);
    await waitLevel(
      x,
      TONE.phone,
      phoneId,
      (db) => db > BROWSER_HEARD_DB,
      'x hears the phone after reconnecting',
    );
  });

  test('a kick from the API ends the browser: its page is told why, the others stop hearing it', async () => {
    const kick = await parley.post(`/api/rooms/mixed/participants/${xId}/kick`, {});
    expect(kick.status).toBe(200);
    const end = Date.now() + 10000;
    let ended: { reason: string; message: string } | undefined;
    while (Date.now() < end && !ended) {
      ended = await withProbe<{ reason: string; message: string } | undefined>(x, 'return probe.ended;');
      await sleep(100);
    }
    expect(ended).toEqual({ reason: 'kicked', message: expect.stringMatching(/moderator/i) });
    await parley.waitParticipants('mixed', (l) => !l.some((p) => p.id === xId), 10000);
    await expectHearing(FREQS, [[phone, [TONE.y], [TONE.x], 'phone after x was kicked']]);
  });

  test('leaving ends the participant; the phone stops hearing it', async () => {
    await withProbe(y, 'await probe.leave();');
    await parley.waitParticipants('mixed', (l) => l.length === 1 && !l.some((p) => p.id === yId), 10000);
    await expectHearing(FREQS, [[phone, [], [TONE.x, TONE.y], 'phone after y left']]);
  });
});

test('relay only through coturn (TURN REST API credentials): audio both ways', async () => {
  const phone = await dial('relayed', 'relay-phone', TONE.phone);
  const ps = await parley.waitParticipants('relayed', (l) => l.length === 1 && l[0]!.state === 'joined');
  const z = await browser(TONE.z, 'z');
  await probeJoin(z, probe.url, { server: parley.http, room: 'relayed', name: 'Zoe', relay: true });
  const servers = await withProbe<Array<{ urls: string[]; username?: string }>>(
    z,
    'return probe.join.iceServers;',
  );
  const turnServer = servers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
  expect(turnServer?.username).toMatch(/^\d+:/);
  await expectHearing(FREQS, [[phone, [TONE.z], [], 'phone hears the relayed browser']]);
  await waitLevel(z, TONE.phone, ps[0]!.id, (db) => db > BROWSER_HEARD_DB, 'relayed browser hears the phone');
  expect(await withProbe<string | undefined>(z, 'return probe.selectedCandidateType();')).toBe('relay');
});

test('a phone muted before a browser joins stays unheard by it until unmuted; each stream is consumed once', async () => {
  const phone = await dial('muted-first', 'muted-phone', TONE.phone);
  const ps = await parley.waitParticipants('muted-first', (l) => l.length === 1 && l[0]!.state === 'joined');
  const phoneId = ps[0]!.id;
  expect(
    (await parley.post(`/api/rooms/muted-first/participants/${phoneId}/mute`, { muted: true })).status,
  ).toBe(200);
  const w = await browser(TONE.z, 'w');
  await probeJoin(w, probe.url, { server: parley.http, room: 'muted-first', name: 'Wanda' });
  // The page resumes every consumer it sets up (as the room page does): the focus's mute still holds the phone's.
  const end = Date.now() + 10000;
  while (Date.now() < end) {
    const events = await withProbe<string[]>(w, 'return probe.events;');
    if (events.includes(`newConsumer audio from ${phoneId}`)) break;
    await sleep(100);
  }
  await sleep(2000);
  const muted = await probeLevels(w, TONE.phone);
  expect({ muted, gone: (muted[phoneId] ?? -200) < BROWSER_GONE_DB }).toEqual({ muted, gone: true });
  await parley.post(`/api/rooms/muted-first/participants/${phoneId}/mute`, { muted: false });
  await waitLevel(w, TONE.phone, phoneId, (db) => db > BROWSER_HEARD_DB, 'w hears the phone once unmuted');
  // One consumer for the phone's one stream (its Producer is announced twice at first: event and answer).
  const consumers = (await withProbe<string[]>(w, 'return probe.events;')).filter((e) =>
    e.startsWith('newConsumer '),
  );
  expect(consumers).toEqual([`newConsumer audio from ${phoneId}`]);
  await expectHearing(FREQS, [[phone, [TONE.z], [], 'the muted-first phone hears the browser']]);
});

test('PIN rooms and bad requests get the catalogue errors', async () => {
  const b = await browser(TONE.x, 'pin');
  await b.page.goto(probe.url);
  const attempt = (payload: string): Promise<string> =>
    withProbe<string>(
      b,
      `const { io } = probe.lib; return new Promise((resolve) => {
         const s = io('${parley.http}/rtc', { transports: ['websocket'] });
         s.emit(${payload}, (r) => { resolve(r.ok ? 'ok:' + (r.data && r.data.role) : r.error.code); s.close(); });
       });`,
    );
  const caps = 'rtpCapabilities: { codecs: [], headerExtensions: [] }';
  expect(await attempt(`'join', { room: 'pinned', displayName: 'A', ${caps} }`)).toBe('RTC_PIN_REQUIRED');
  expect(await attempt(`'join', { room: 'pinned', displayName: 'A', pin: '0000', ${caps} }`)).toBe(
    'RTC_WRONG_PIN',
  );
  expect(await attempt(`'join', { room: 'pinned', displayName: 'A', pin: '9999', ${caps} }`)).toBe(
    'ok:moderator',
  );
  expect(await attempt(`'join', { room: '../etc', displayName: 'A', ${caps} }`)).toBe('API_BAD_REQUEST');
  expect(await attempt(`'join', { room: 'r', displayName: '', ${caps} }`)).toBe('API_BAD_REQUEST');
  expect(await attempt(`'resumeConsumer', { consumerId: 'nope' }`)).toBe('RTC_NO_SESSION');
  expect(await attempt(`'join', { room: 'r', displayName: 'A', ${caps}, resume: 'x'.repeat(32) }`)).toBe(
    'RTC_RESUME_EXPIRED',
  );
});
