/**
 * Two Chromium browsers (fake camera, a 407 Hz / 613 Hz tone as microphone) and one SIP phone (a 820 Hz tone,
 * PCMU) in one room, all through the real pages and the built server:
 * - the phone hears both browsers' tones through the mixer (Goertzel on what it decoded), not its own;
 * - each browser receives the phone's audio as-is and the other browser's audio and video, each as its own stream:
 *   tone levels measured in the page with WebAudio, and getStats (bytes received, video frames decoded);
 * - the tiles show every participant by name (the phone as an avatar tile), a chat message reaches the other page;
 * - screenshots of both pages are kept in test-artifacts/.
 * Needs `npm run build` (dist/ and dist/web/).
 */
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { hearNext, stopAndReport, toneMedians } from './conference-helpers';
import { joinRoom, pageToneLevels, waitStats } from './web-helpers';

jest.setTimeout(180_000);

const TONE = { alice: 407, bob: 613, phone: 820 } as const;
const FREQS = [TONE.alice, TONE.bob, TONE.phone];
/** Heard: the median level (dBFS; tones are sent at -10.5 and -12) is above this; absent: this far below the weakest heard. */
const HEARD_DB = -25;
const ABSENT_MARGIN_DB = 20;

let parley: E2eParley | undefined;
const browsers: TestBrowser[] = [];
let phone: SipPhone | undefined;

beforeAll(async () => {
  parley = await startE2eParley({ conference: { joinTones: false } });
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await phone?.close();
  await stopAndReport(parley, __filename);
});

function expectLevels(levels: Record<number, number>, hear: number[], absent: number[], who: string): void {
  const ctx = `${who} heard ${JSON.stringify(levels)}`;
  if (process.env.CONFERENCE_E2E_DEBUG) console.log(ctx);
  const weakest = Math.min(...hear.map((f) => levels[f]!));
  for (const f of hear) expect({ ctx, f, heard: levels[f]! > HEARD_DB }).toEqual({ ctx, f, heard: true });
  for (const f of absent)
    expect({ ctx, f, absent: levels[f]! < weakest - ABSENT_MARGIN_DB }).toEqual({ ctx, f, absent: true });
}

test('two browsers and a phone: everyone hears everyone, browsers see each other', async () => {
  const p = parley!;
  const room = 'browsers';
  const alice = await launchBrowser({ toneHz: TONE.alice, name: 'alice' });
  const bob = await launchBrowser({ toneHz: TONE.bob, name: 'bob' });
  browsers.push(alice, bob);

  // Original sound (?audio=raw): Chromium's noise suppression would fade a steady test tone.
  const aliceId = await joinRoom(alice, p.http, room, 'Alice', { query: '?audio=raw' });
  const bobId = await joinRoom(bob, p.http, room, 'Bob', { query: '?audio=raw' });
  phone = await SipPhone.call({
    target: `sip:${room}@127.0.0.1:${p.sipPort}`,
    user: 'desk',
    codec: 'PCMU',
    tone: TONE.phone,
  });
  const joined = await p.waitParticipants(room, (l) => l.length === 3, 15000);
  const phoneId = joined.find((x) => x.id !== aliceId && x.id !== bobId)!.id;

  // Tiles by accessible name: the other browser, and the phone as an avatar tile.
  for (const [b, other] of [
    [alice, 'Bob'],
    [bob, 'Alice'],
  ] as const) {
    await b.page.getByRole('listitem', { name: new RegExp(`^${other}\\b`) }).waitFor({ timeout: 15000 });
    await b.page.getByRole('listitem', { name: /on the phone/ }).waitFor({ timeout: 15000 });
  }

  // Each browser receives the other browser's audio and video and the phone's audio, each separately.
  for (const [b, other, who] of [
    [alice, bobId, 'alice'],
    [bob, aliceId, 'bob'],
  ] as const) {
    const stats = await waitStats(
      b.page,
      (s) =>
        s.some((c) => c.participantId === other && c.kind === 'audio' && c.bytesReceived > 0) &&
        s.some((c) => c.participantId === other && c.kind === 'video' && c.framesDecoded > 0) &&
        s.some((c) => c.participantId === phoneId && c.kind === 'audio' && c.bytesReceived > 0),
      `${who} receives the other browser's audio and video and the phone's audio`,
    );
    const phoneAudio = stats.find((c) => c.participantId === phoneId && c.kind === 'audio')!;
    expect({ who, codec: phoneAudio.codec.toLowerCase() }).toEqual({ who, codec: 'audio/pcmu' });
  }

  // What each browser hears, measured in the page: the phone's tone alone on the phone's stream, the other
  // browser's tone alone on its stream.
  expectLevels(
    await pageToneLevels(alice.page, phoneId, FREQS),
    [TONE.phone],
    [TONE.alice, TONE.bob],
    'alice (phone)',
  );
  expectLevels(await pageToneLevels(alice.page, bobId, FREQS), [TONE.bob], [TONE.alice], 'alice (bob)');
  expectLevels(
    await pageToneLevels(bob.page, phoneId, FREQS),
    [TONE.phone],
    [TONE.alice, TONE.bob],
    'bob (phone)',
  );
  expectLevels(await pageToneLevels(bob.page, aliceId, FREQS), [TONE.alice], [TONE.bob], 'bob (alice)');

  // The phone hears both browsers through the mixer, and not itself.
  const heard = await hearNext(phone, { frames: 150, settleMs: 500 });
  expectLevels(toneMedians(heard, phone.rate, FREQS), [TONE.alice, TONE.bob], [TONE.phone], 'phone');

  // Chat: Alice writes, Bob reads it in his panel.
  await alice.page.getByRole('button', { name: 'Open chat' }).click();
  await alice.page.getByRole('textbox', { name: 'Message' }).fill('Hello from the browser <b>not bold</b>');
  await alice.page.getByRole('button', { name: 'Send message' }).click();
  await bob.page.getByRole('button', { name: 'Open chat' }).click();
  await bob.page.getByText('Hello from the browser <b>not bold</b>').waitFor({ timeout: 10000 });
  await alice.page.getByText('Seen by Bob').waitFor({ timeout: 10000 });

  await alice.screenshot('browser-room-alice');
  await bob.screenshot('browser-room-bob');

  // Mute from the control bar: the server knows (API), Bob's tile for Alice says so; unmute again.
  await alice.page.getByRole('button', { name: 'Mute microphone' }).click();
  await p.waitParticipants(room, (l) => l.find((x) => x.id === aliceId)?.muted === true);
  await bob.page.getByRole('listitem', { name: /^Alice \(.*microphone off/ }).waitFor({ timeout: 10000 });
  await alice.page.getByRole('button', { name: 'Unmute microphone' }).click();
  await p.waitParticipants(room, (l) => l.find((x) => x.id === aliceId)?.muted === false);

  // Devices: the selects list what enumerateDevices found.
  await bob.page.getByRole('button', { name: 'Microphone and camera settings' }).click();
  expect(await bob.page.getByLabel('Microphone').locator('option').count()).toBeGreaterThan(0);
  expect(await bob.page.getByLabel('Camera').locator('option').count()).toBeGreaterThan(0);
  await bob.screenshot('browser-room-devices');
  await bob.page.getByRole('button', { name: 'Close device settings' }).click();

  // A phone-sized window: tiles in two columns; with the chat open the tiles are hidden and their video consumers
  // paused (IntersectionObserver → pauseConsumer), closing it resumes them.
  await bob.page.setViewportSize({ width: 420, height: 860 });
  await bob.page.getByRole('button', { name: 'Close chat', exact: true }).click();
  await new Promise((r) => setTimeout(r, 1500));
  await bob.screenshot('browser-room-narrow');
  const framesFromAlice = async (): Promise<number> =>
    (await waitStats(bob.page, () => true, 'stats')).find(
      (c) => c.participantId === aliceId && c.kind === 'video',
    )?.framesDecoded ?? 0;
  await bob.page.getByRole('button', { name: 'Open chat' }).click();
  await new Promise((r) => setTimeout(r, 1500));
  const hidden0 = await framesFromAlice();
  await new Promise((r) => setTimeout(r, 2000));
  const hidden1 = await framesFromAlice();
  expect({ framesWhileHidden: hidden1 - hidden0 <= 3 }).toEqual({ framesWhileHidden: true });
  await bob.page.getByRole('button', { name: 'Close chat panel' }).click();
  // Visible again: the consumer resumes and frames flow (waiting for the keyframe may take a while on a busy machine).
  let resumed = hidden1;
  for (const end = Date.now() + 20_000; resumed <= hidden1 + 10 && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 500));
    resumed = await framesFromAlice();
  }
  expect(resumed).toBeGreaterThan(hidden1 + 10);
  await bob.page.setViewportSize({ width: 1280, height: 800 });

  // Reconnect: Alice's socket drops; she comes back as the same participant and Bob keeps receiving her.
  const bytesFromAlice = async (): Promise<number> =>
    (await waitStats(bob.page, () => true, 'stats')).find(
      (c) => c.participantId === aliceId && c.kind === 'audio',
    )?.bytesReceived ?? 0;
  await alice.page.evaluate('window.__parley.dropSocket()');
  await alice.page.getByRole('status').filter({ hasText: 'Reconnected' }).waitFor({ timeout: 20000 });
  expect(await alice.page.evaluate('window.__parley.participantId()')).toBe(aliceId);
  const before = await bytesFromAlice();
  await new Promise((r) => setTimeout(r, 2000));
  expect(await bytesFromAlice()).toBeGreaterThan(before);
  const after = await p.participants(room);
  expect(after.map((x) => x.id).sort()).toEqual([aliceId, bobId, phoneId].sort());
  await waitStats(
    alice.page,
    (s) => s.some((c) => c.participantId === bobId && c.kind === 'video' && c.framesDecoded > 0),
    'alice still sees bob after the reconnect',
  );

  // Leave: the others' pages drop the tile.
  await alice.page.getByRole('button', { name: 'Leave' }).click();
  await alice.page.getByRole('heading', { name: 'You left the room' }).waitFor();
  await bob.page.getByRole('listitem', { name: /^Alice\b/ }).waitFor({ state: 'detached', timeout: 10000 });
});
