/**
 * A browser's SIP library calls a room over SIP over WebSocket (RFC 7118) with a WebRTC offer, against the built
 * server: SIP.js (npm `sip.js`) in Debian's Chromium (fake microphone: a 407 Hz tone) dials `sip:<room>@127.0.0.1`
 * over ws://, the focus answers ICE-lite with a WebRtcTransport's candidates and fingerprint, and a Node SIP phone
 * (PCMU, 613 Hz) is in the same room.
 *  - the phone hears the browser's tone and the browser hears the phone's (WebAudio FFT on the remote stream),
 *    each without its own (mix-minus);
 *  - GET /api/rooms/:id lists the browser as kind `sip-ws`, codec opus, SRTP (DTLS-SRTP);
 *  - `*6` by SIP INFO (application/dtmf-relay, what SIP.js's SimpleUser sends) toggles its self-mute, and an API
 *    mute takes it out of the phone's mix and back;
 *  - `*6` as RFC 4733 events (SIP.js `sendDtmf`: RTCDTMFSender), read by the room's mixer from its consumer of the
 *    browser's Producer, toggles it both ways where the server answers telephone-event (its mediasoup worker
 *    forwards telephone-event to consumers); where it does not, Chrome cannot insert DTMF and nothing is sent;
 *  - the page's BYE (over the same WebSocket) ends the participant;
 *  - the room's mediasoup worker SIGKILLed during a call (one worker: PARLEY_RTC_NUM_WORKERS=1): the focus re-offers
 *    the call on the replacement worker (re-INVITE over the WebSocket: new ICE credentials and candidates, the new
 *    certificate's fingerprint), SIP.js answers it, DTLS connects again, and the phone and the browser hear each
 *    other again; the same participant, no BYE;
 *  - a media thread dies (PARLEY_FAULT_INJECTION, SIGUSR2): the browser's leg lives on the router and is kept, the
 *    rebuilt mixer takes it (no renegotiation, no new DTLS); the phone is re-INVITEd; both hear each other again;
 *  - a move of the browser's call to another room is refused (409 CONF_MOVE_UNSUPPORTED) and changes nothing.
 * Needs `npm run build` (dist/) and Debian's /usr/bin/chromium; never downloads a browser.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { serveBundledPage } from '../support/rtc-probe';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { freePort } from '../support/sipp';
import { expectHearing, stopAndReport } from './conference-helpers';
import { until } from './fault-helpers';

jest.setTimeout(180_000);

const BROWSER_HZ = 407;
const PHONE_HZ = 613;
const FREQS = [BROWSER_HZ, PHONE_HZ];
const ROOM = 'sipws';
const PAGE_DIR = path.resolve(__dirname, '../fixtures/web/sipjs');

interface SipPageApi {
  call(o: { server: string; target: string; displayName: string }): Promise<void>;
  measure(freqs: number[], ms: number): Promise<Record<number, number>>;
  dtmf(digits: string): Promise<number[]>;
  dtmfRtp(digits: string): Promise<{ answered: boolean; canInsert: boolean; sent: boolean }>;
  stats(): Promise<{ codec?: string; bytesIn: number; bytesOut: number; dtls?: string }>;
  bye(): Promise<void>;
  stop(): Promise<void>;
  state: string;
}
type PageWindow = { sipPage: SipPageApi };

/** Bundles SIP.js and the page script with esbuild and serves them from 127.0.0.1 (a secure context). */
function servePage(): Promise<{ url: string; close(): Promise<void> }> {
  return serveBundledPage({
    entry: path.join(PAGE_DIR, 'page.ts'),
    html: fs.readFileSync(path.join(PAGE_DIR, 'index.html')),
    scriptPath: '/page.js',
  });
}

let parley: E2eParley | undefined;
let page: { url: string; close(): Promise<void> } | undefined;
let browser: TestBrowser | undefined;
let phone: SipPhone | undefined;
let wsPort = 0;

beforeAll(async () => {
  wsPort = await freePort();
  parley = await startE2eParley({
    env: { PARLEY_SIP_WS_PORT: String(wsPort), PARLEY_RTC_NUM_WORKERS: '1', PARLEY_FAULT_INJECTION: '1' },
  });
  page = await servePage();
});

afterAll(async () => {
  await phone?.close().catch(() => undefined);
  await browser?.close();
  await page?.close();
  await stopAndReport(parley, __filename);
  if (os.platform() === 'linux') await sleep(100);
});

const sipPage = (b: TestBrowser) => ({
  call: (o: Parameters<SipPageApi['call']>[0]) =>
    b.page.evaluate((x) => (globalThis as unknown as PageWindow).sipPage.call(x), o),
  measure: (ms: number) =>
    b.page.evaluate(([f, t]) => (globalThis as unknown as PageWindow).sipPage.measure(f, t), [
      FREQS,
      ms,
    ] as const),
  dtmf: (digits: string) =>
    b.page.evaluate((d) => (globalThis as unknown as PageWindow).sipPage.dtmf(d), digits),
  dtmfRtp: (digits: string) =>
    b.page.evaluate((d) => (globalThis as unknown as PageWindow).sipPage.dtmfRtp(d), digits),
  stats: () => b.page.evaluate(() => (globalThis as unknown as PageWindow).sipPage.stats()),
  bye: () => b.page.evaluate(() => (globalThis as unknown as PageWindow).sipPage.bye()),
});

type ApiParticipantWithKind = ApiParticipant & { kind: string };

test('SIP.js over WebSocket joins a room with a WebRTC offer: heard both ways, listed as sip-ws, DTMF by INFO, BYE', async () => {
  const p = parley!;
  phone = await SipPhone.call({
    target: `sip:${ROOM}@127.0.0.1:${p.sipPort}`,
    user: 'phone',
    codec: 'PCMU',
    tone: PHONE_HZ,
  });
  browser = await launchBrowser({
    toneHz: BROWSER_HZ,
    name: 'sipjs',
    // Chromium leaves loopback out of ICE gathering unless told otherwise; the server's candidates are on 127.0.0.1.
    extraArgs: ['--allow-loopback-in-peer-connection'],
  });
  const b = browser;
  const ctx = (): string => `\n${b.console.join('\n')}`;
  await b.page.goto(page!.url);
  const ui = sipPage(b);
  await ui
    .call({ server: `ws://127.0.0.1:${wsPort}`, target: `sip:${ROOM}@127.0.0.1`, displayName: 'browser' })
    .catch((err: Error) => {
      throw new Error(`${err.message}${ctx()}`);
    });

  const joined = (await p
    .waitParticipants(ROOM, (l) => l.filter((x) => x.state === 'joined').length === 2, 20_000)
    .catch((err: Error) => {
      // The DTLS handshake runs in the mediasoup worker: say so when the worker is what failed.
      const died = p.logs('mediasoup worker died');
      throw new Error(
        died.length > 0
          ? `the mediasoup worker died once ICE was up (DTLS handshake): ${JSON.stringify(died[0])}`
          : `${err.message}${ctx()}`,
      );
    })) as ApiParticipantWithKind[];
  const web = joined.find((x) => x.displayName === 'browser');
  expect(web).toMatchObject({ kind: 'sip-ws', codec: 'opus', srtp: true, transport: 'WS', onHold: false });
  expect(joined.find((x) => x.displayName === 'phone')).toMatchObject({ kind: 'sip', codec: 'PCMU' });

  // Let the join chimes pass, then listen on both sides at once.
  await sleep(2500);
  const [browserHeard] = await Promise.all([
    ui.measure(3000),
    expectHearing(FREQS, [[phone, [BROWSER_HZ], [PHONE_HZ], 'phone (browser talking)']]),
  ]);
  const level = `browser heard ${JSON.stringify(browserHeard)}${ctx()}`;
  expect({ level, heard: browserHeard[PHONE_HZ]! > -50 }).toEqual({ level, heard: true });
  expect({ level, ownGone: browserHeard[BROWSER_HZ]! < browserHeard[PHONE_HZ]! - 30 }).toEqual({
    level,
    ownGone: true,
  });
  const stats = await ui.stats();
  expect(stats).toMatchObject({ codec: 'audio/opus', dtls: 'connected' });
  expect(stats.bytesIn).toBeGreaterThan(1000);
  expect(stats.bytesOut).toBeGreaterThan(1000);
  await b.screenshot('sip-ws-browser-in-call');

  // `*6` by SIP INFO: self-mute, then unmute (src/conference/participant/keypad.ts).
  expect(await ui.dtmf('*6')).toEqual([200, 200]);
  await p.waitParticipants(ROOM, (l) => l.find((x) => x.id === web!.id)?.muted === true, 10_000);
  await expectHearing(FREQS, [[phone, [], [BROWSER_HZ, PHONE_HZ], 'phone (browser self-muted)']]);
  expect(await ui.dtmf('*6')).toEqual([200, 200]);
  await p.waitParticipants(ROOM, (l) => l.find((x) => x.id === web!.id)?.muted === false, 10_000);
  await expectHearing(FREQS, [[phone, [BROWSER_HZ], [PHONE_HZ], 'phone (browser unmuted by *6)']]);

  // `*6` as RFC 4733 events in the browser's RTP (RTCDTMFSender), both ways.
  // telephone-event/48000 is answered at the router's PT (our worker build forwards it through consumers).
  expect(await ui.dtmfRtp('*6')).toEqual({ answered: true, canInsert: true, sent: true });
  await p.waitParticipants(ROOM, (l) => l.find((x) => x.id === web!.id)?.muted === true, 10_000);
  await expectHearing(FREQS, [[phone, [], [BROWSER_HZ, PHONE_HZ], 'phone (browser self-muted by RFC 4733)']]);
  expect((await ui.dtmfRtp('*6')).sent).toBe(true);
  await p.waitParticipants(ROOM, (l) => l.find((x) => x.id === web!.id)?.muted === false, 10_000);
  await expectHearing(FREQS, [[phone, [BROWSER_HZ], [PHONE_HZ], 'phone (browser unmuted by RFC 4733)']]);

  // Moderated like a phone: an API mute silences it in the mix.
  const muted = await p.post(`/api/rooms/${ROOM}/participants/${web!.id}/mute`, { muted: true });
  expect(muted.status).toBe(200);
  await expectHearing(FREQS, [[phone, [], [BROWSER_HZ, PHONE_HZ], 'phone (browser muted by the API)']]);
  await p.post(`/api/rooms/${ROOM}/participants/${web!.id}/mute`, { muted: false });
  await expectHearing(FREQS, [[phone, [BROWSER_HZ], [PHONE_HZ], 'phone (browser unmuted by the API)']]);

  // BYE from the page, over its WebSocket: the participant leaves, the phone stays.
  await ui.bye();
  const left = await p.waitParticipants(ROOM, (l) => !l.some((x) => x.displayName === 'browser'), 10_000);
  expect(left.map((x) => x.displayName)).toEqual(['phone']);
  await b.screenshot('sip-ws-browser-after-bye');
});

/** A desk phone (613 Hz) and the page's SIP.js call in `room`, hearing each other; the caller hangs up both. */
async function callWithPhone(room: string) {
  const p = parley!;
  const b = browser!;
  const desk = await SipPhone.call({
    target: `sip:${room}@127.0.0.1:${p.sipPort}`,
    user: 'desk',
    codec: 'PCMU',
    tone: PHONE_HZ,
    followReinvites: true,
  });
  const ui = sipPage(b);
  await ui.call({
    server: `ws://127.0.0.1:${wsPort}`,
    target: `sip:${room}@127.0.0.1`,
    displayName: 'browser',
  });
  const joined = await p.waitParticipants(
    room,
    (l) => l.filter((x) => x.state === 'joined').length === 2,
    20_000,
  );
  await sleep(1500);
  await expectHearing(FREQS, [[desk, [BROWSER_HZ], [PHONE_HZ], `phone in ${room} before the fault`]]);
  return { desk, ui, joined, web: joined.find((x) => x.displayName === 'browser')! };
}

/**
 * After `fault` in `room`: the recovery's counts, then both hear each other again, the page's call still
 * established, no BYE to the phone, the same participants.
 */
async function expectRecovered(
  room: string,
  fault: 'router' | 'thread',
  call: Awaited<ReturnType<typeof callWithPhone>>,
  counts: { kept: number; renegotiated: number },
): Promise<void> {
  const p = parley!;
  const b = browser!;
  const mine = (l: Record<string, unknown>): boolean => l.roomId === room && l.recovery === fault;
  await until('media fault recovered', () => p.logs('media fault recovered').some(mine));
  const recovered = p.logs('media fault recovered').find(mine)!;
  expect({ kept: recovered.kept, renegotiated: recovered.renegotiated, ended: recovered.ended }).toEqual({
    ...counts,
    ended: 0,
  });
  await sleep(1000);
  const [browserHeard] = await Promise.all([
    call.ui.measure(3000),
    expectHearing(FREQS, [[call.desk, [BROWSER_HZ], [PHONE_HZ], `phone after the ${fault} fault`]]),
  ]);
  const level = `browser heard ${JSON.stringify(browserHeard)}\n${b.console.join('\n')}`;
  expect({ level, heard: browserHeard[PHONE_HZ]! > -50 }).toEqual({ level, heard: true });
  expect(await b.page.evaluate(() => (globalThis as unknown as PageWindow).sipPage.state)).toBe(
    'Established',
  );
  expect(call.desk.byeFromServer).toBeUndefined();
  expect((await p.participants(room)).map((x) => x.id).sort()).toEqual(call.joined.map((x) => x.id).sort());
}

test('the mediasoup worker dies: the call is re-offered on the new worker (ICE restart, new DTLS), heard both ways again', async () => {
  const p = parley!;
  const room = 'sipws-fault';
  const call = await callWithPhone(room);
  try {
    const dtlsUp = (): number => p.logs('DTLS state').filter((l) => l.state === 'connected').length;
    const dtlsBefore = dtlsUp();
    const started = p.logs('mediasoup worker started');
    process.kill(Number(started[started.length - 1]?.workerPid), 'SIGKILL');
    await until('DTLS connected again', () => dtlsUp() > dtlsBefore);
    // The phone's audio lives in the media thread (kept); the browser's transport lived on the dead worker.
    await expectRecovered(room, 'router', call, { kept: 1, renegotiated: 1 });
    expect(
      p.logs('renegotiating onto the rebuilt media').filter((l) => l.participantId === call.web.id),
    ).toEqual([expect.objectContaining({ kind: 'sip-ws' })]);
    const after = await call.ui.stats();
    expect(after.dtls).toBe('connected');
    // Counted on the new DTLS transport (Chromium's counters start again with it).
    expect(after.bytesIn).toBeGreaterThan(1000);
    await browser!.screenshot('sip-ws-browser-after-worker-death');
    await call.ui.bye();
  } finally {
    await call.desk.close().catch(() => undefined);
  }
});

test("a media thread dies: the browser's WebRTC leg stays on the router, the new mixer takes it; a move is refused", async () => {
  const p = parley!;
  const room = 'sipws-thread';
  const call = await callWithPhone(room);
  try {
    // Moving a WebRTC call to another room is refused (a router of the same worker has the same DTLS certificate,
    // and the browser would keep its association): the call stays where it is.
    const moved = await p.post(`/api/rooms/${room}/participants/${call.web.id}/move`, {
      room: 'sipws-other',
    });
    expect([moved.status, (moved.body as { error?: string }).error]).toEqual([409, 'CONF_MOVE_UNSUPPORTED']);

    const dtlsBefore = p.logs('DTLS state').length;
    p.run.proc.kill('SIGUSR2'); // PARLEY_FAULT_INJECTION: the media threads throw
    // The phone's socket lived in the dead thread (re-INVITEd to a new address); the browser's leg did not.
    await expectRecovered(room, 'thread', call, { kept: 1, renegotiated: 1 });
    // Nothing was renegotiated with the browser: no new DTLS handshake, its call as it was.
    expect(p.logs('DTLS state').length).toBe(dtlsBefore);
    await call.ui.bye();
  } finally {
    await call.desk.close().catch(() => undefined);
  }
});
