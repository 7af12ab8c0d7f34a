/**
 * The livestream's picture follows the room, with real parts: the built server, a tone phone, two Chromium
 * participants with fake cameras, Debian's ffmpeg encoding HLS. An audio-only room streams the generated still;
 * the first camera turns it into the camera picture (a planned ffmpeg restart, not counted as a failure); speaker
 * switches (forced by moderator mutes) happen inside the room's speaker video — ffmpeg keeps running (same pid) —
 * and the segments after each switch decode as video. Needs `npm run build` (dist/ and dist/web/).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { dialTonePhone, stopAndReport } from './conference-helpers';
import { joinRoom } from './web-helpers';
import { alive, countVideoFrames, segments, waitStream, type StreamView } from './livestream-helpers';

jest.setTimeout(300_000);

const ROOM = 'panel';
let parley: E2eParley;
const phones: SipPhone[] = [];
const browsers: TestBrowser[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    conference: { joinTones: false },
    config: { livestream: { width: 640, height: 360, frameRate: 15, videoBitrateKbps: 600 } },
  });
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  for (const p of phones) await p.close().catch(() => undefined);
  await stopAndReport(parley, __filename);
});

async function mute(pid: string, muted: boolean): Promise<void> {
  const r = await parley.post(`/api/rooms/${ROOM}/participants/${pid}/mute`, { muted });
  expect(r.status).toBe(200);
}

/** The newest segment once the playlist lists one that was not there before. */
async function nextSegment(): Promise<string> {
  const list = async (): Promise<string[]> =>
    segments(await (await fetch(`${parley.http}/live/${ROOM}/index.m3u8`)).text());
  const before = await list();
  const end = Date.now() + 30000;
  while (Date.now() < end) {
    const fresh = (await list()).filter((s) => !before.includes(s));
    if (fresh.length) return fresh.at(-1)!;
    await sleep(250);
  }
  throw new Error('no new segment');
}

test('still for an audio-only room, the camera once one is on, speaker switches without restarting ffmpeg', async () => {
  await dialTonePhone(parley, phones, ROOM, 'desk', 407);
  await parley.waitParticipants(ROOM, (ps) => ps.length === 1);
  expect((await parley.post(`/api/rooms/${ROOM}/livestream`, { hls: true })).status).toBe(201);
  const still = await waitStream(parley, ROOM, (v) => v.state === 'live');
  expect(still.video).toBe('still');
  // The still is real video (the room name and who speaks, drawn by ffmpeg).
  expect(await countVideoFrames(`${parley.http}/live/${ROOM}/${await nextSegment()}`, 2)).toBeGreaterThan(5);

  const ann = await launchBrowser({ toneHz: 613, name: 'ann' });
  browsers.push(ann);
  const annId = await joinRoom(ann, parley.http, ROOM, 'Ann', { query: '?audio=raw' });
  const camera = await waitStream(
    parley,
    ROOM,
    // (a planned restart is still "live" while no ffmpeg runs: wait for the new process)
    (v) => v.state === 'live' && v.video === 'camera' && typeof v.pid === 'number' && v.pid !== still.pid,
    60000,
  );
  // A change of picture is a planned restart, not a failure.
  expect(camera.restarts).toBe(0);
  expect(alive(still.pid!)).toBe(false);

  const ben = await launchBrowser({ toneHz: 743, name: 'ben' });
  browsers.push(ben);
  const benId = await joinRoom(ben, parley.http, ROOM, 'Ben', { query: '?audio=raw' });
  await parley.waitParticipants(ROOM, (ps) => ps.filter((p) => p.video === true).length === 2, 20000);

  // Ann holds the floor (Ben muted), then Ben (Ann muted), then Ann again: two switches at least.
  await mute(benId, true);
  await sleep(3000);
  const s0 = (await waitStream(parley, ROOM, (v) => v.state === 'live')).switches;
  await mute(benId, false);
  await mute(annId, true);
  const s1 = await waitStream(parley, ROOM, (v) => v.switches > s0, 30000);
  await mute(annId, false);
  await mute(benId, true);
  const s2 = await waitStream(parley, ROOM, (v) => v.switches > s1.switches, 30000);
  expect({ pid: s2.pid, restarts: s2.restarts, state: s2.state }).toEqual({
    pid: camera.pid,
    restarts: 0,
    state: 'live',
  });
  expect(await countVideoFrames(`${parley.http}/live/${ROOM}/${await nextSegment()}`, 2)).toBeGreaterThan(5);

  const stopped = await parley.del<StreamView>(`/api/rooms/${ROOM}/livestream`);
  expect(stopped.body.state).toBe('stopped');
  expect(alive(camera.pid!)).toBe(false);
});

test('grid layout: the two cameras tiled in one picture', async () => {
  // Ann and Ben (cameras) and the phone are still in the room from the test above.
  // (a stream the test above left running, had it failed half-way, would make this one a 409)
  await parley.del(`/api/rooms/${ROOM}/livestream`); // 409 LIVESTREAM_NOT_LIVE when it was stopped
  expect((await parley.post(`/api/rooms/${ROOM}/livestream`, { hls: true, layout: 'grid' })).status).toBe(
    201,
  );
  const grid = await waitStream(parley, ROOM, (v) => v.state === 'live' && v.video === 'grid', 60000);
  expect(grid.layout).toBe('grid');
  const seg = `${parley.http}/live/${ROOM}/${await nextSegment()}`;
  expect(await countVideoFrames(seg, 2)).toBeGreaterThan(5);
  // A frame of it, for the eyes (test-artifacts/livestream-grid.png).
  fs.mkdirSync('test-artifacts', { recursive: true });
  await new Promise<void>((resolve, reject) =>
    execFile(
      '/usr/bin/ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-i',
        seg,
        '-frames:v',
        '1',
        'test-artifacts/livestream-grid.png',
      ],
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const stopped = await parley.del<StreamView>(`/api/rooms/${ROOM}/livestream`);
  expect(stopped.body.state).toBe('stopped');
  expect(alive(grid.pid!)).toBe(false);
});
