/**
 * A browser camera to a SIP video phone (issue 12 item 2), real parts: the built server and bundled page, Debian's
 * Chromium (fake camera and a 407 Hz tone), a viewer phone that receives H.264 only, and a video phone with an
 * ffmpeg/libx264 camera (176x144). With a video phone in the room the page is asked for H.264 and sends its camera
 * so (Chromium's OpenH264, simulcast); the viewer receives the browser's camera as it was sent (no transcoding) and
 * keeps one continuous stream across two speaker switches (browser → phone → browser), driven by REST mutes.
 * Needs `npm run build` first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { VideoPhone } from '../support/video-phone';
import {
  annexB,
  callDeskPhone,
  PHONE,
  whose,
  continuity,
  decodeErrors,
  decodedRuns,
  sizeRuns,
  unexplainedHoles,
  until,
} from './video-helpers';
import { joinRoom } from './web-helpers';

jest.setTimeout(180_000);

let parley: E2eParley;
let browser: TestBrowser | undefined;
const phones: VideoPhone[] = [];
beforeAll(async () => {
  parley = await startE2eParley({ conference: { joinTones: false } });
});
afterAll(async () => {
  await browser?.close();
  for (const p of phones) await p.close().catch(() => undefined);
  await parley?.stop();
});

test('a browser camera sent as H.264 reaches a video phone as one continuous stream across two switches', async () => {
  const room = 'video-browser';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  const viewer = await VideoPhone.call({
    target,
    user: 'viewer',
    tone: null,
    direction: 'recvonly',
    videoPt: 97,
  });
  phones.push(viewer);
  // A phone of level 1.3 (CIF at most, H.264 Table A-1): it is sent the browser's smallest simulcast layer.
  const cif = await VideoPhone.call({
    target,
    user: 'cif',
    tone: null,
    direction: 'recvonly',
    videoPt: 99,
    profileLevelId: '42e00d',
  });
  phones.push(cif);
  browser = await launchBrowser({ toneHz: 407, name: 'video-browser' });
  const aliceId = await joinRoom(browser, parley.http, room, 'Alice', { query: '?audio=raw' });
  // The page sends its camera in H.264 (asked for because a video phone is in the room), and the viewer shows it
  // before the desk phone comes in: with nobody speaking yet, the first camera there is what a viewer is shown (a
  // desk phone calling first would be, and the run to check would start with it).
  await until('the browser camera in H.264', () =>
    parley.logs('browser producing').some((l) => l.source === 'camera' && l.codec === 'video/H264'),
  );
  await until('the browser on the viewer', () => sizeRuns(viewer.video).length >= 1);
  const desk = await callDeskPhone(target);
  phones.push(desk);
  const list = await parley.waitParticipants(
    room,
    (l) => l.length === 4 && l.every((p) => p.state === 'joined'),
  );
  const deskId = list.find((p) => p.displayName === 'desk')!.id;
  const mute = async (id: string, muted: boolean): Promise<void> => {
    const r = await parley.post(`/api/rooms/${room}/participants/${id}/mute`, { muted });
    expect(r.status).toBe(200);
  };
  await mute(deskId, true);
  desk.setTone(613);

  await parley.waitParticipants(room, (l) => l.filter((p) => p.video === true).length === 2);
  await sleep(2000);

  // Switch 1: the browser muted, the desk phone speaks.
  await mute(aliceId, true);
  await mute(deskId, false);
  await until('the desk phone on the viewer', () => whose(sizeRuns(viewer.video)).length >= 2);
  await sleep(1500);

  // Switch 2: the desk phone muted, the browser speaks again.
  await mute(deskId, true);
  await mute(aliceId, false);
  await until('the browser again on the viewer', () => whose(sizeRuns(viewer.video)).length >= 3);
  await sleep(2000);
  const got = [...viewer.video];
  if (process.env.VIDEO_E2E_DEBUG) {
    const gaps = got.flatMap((p, i) =>
      i > 0 && (p.seq - got[i - 1].seq + 0x10000) % 0x10000 !== 1 ? [i] : [],
    );
    console.log(
      JSON.stringify({
        n: got.length,
        gaps: gaps.map((i) => ({
          i,
          at: got[i].at - got[0].at,
          nal: got[i].payload[0] & 0x1f,
          prevNal: got[i - 1].payload[0] & 0x1f,
          dt: got[i].at - got[i - 1].at,
        })),
        switches: parley.logs('speaker video switched').map((l) => ({ t: l.time, drops: l.drops })),
        t0: got[0].at,
      }),
    );
  }

  expect({ viewer: whose(sizeRuns(got)), desk: whose(sizeRuns(desk.video)) }).toEqual({
    viewer: ['browser', 'phone', 'browser'],
    desk: ['browser'], // never itself
  });
  const { ssrcs, tsBack } = continuity(got);
  expect({ ssrcs, tsBack }).toEqual({ ssrcs: 1, tsBack: 0 });
  // +1 throughout, switches included, but for mediasoup's own resync at the browser's layer change (unexplainedHoles)
  expect(unexplainedHoles(got, (sz) => whose([sz])[0]!)).toEqual([]);
  expect(new Set(got.map((p) => p.pt))).toEqual(new Set([97]));
  expect(got.filter((p) => p.extension)).toHaveLength(0);

  const file = path.join(parley.dir, 'viewer-browser.h264');
  fs.writeFileSync(file, annexB(got));
  const runs = await decodedRuns(file);
  if (process.env.VIDEO_E2E_DEBUG) console.log(JSON.stringify({ runs, errors: await decodeErrors(file) }));
  expect(whose(runs.map((r) => r.size))).toEqual(['browser', 'phone', 'browser']);
  expect(runs.reduce((n, r) => n + r.frames, 0)).toBeGreaterThanOrEqual(30);

  // The level 1.3 phone: the browser's frames within its MaxFS (396 macroblocks) from the first one on: the
  // smallest simulcast layer Chromium sends (it sends fewer layers than asked for small cameras).
  const cifFile = path.join(parley.dir, 'cif-browser.h264');
  fs.writeFileSync(cifFile, annexB(cif.video));
  const cifRuns = await decodedRuns(cifFile);
  const mbs = (size: string): number => {
    const [w, h] = size.split('x').map(Number);
    return Math.ceil(w / 16) * Math.ceil(h / 16);
  };
  const browserSizes = [...new Set(cifRuns.map((r) => r.size).filter((s) => s !== PHONE))];
  if (process.env.VIDEO_E2E_DEBUG) console.log(JSON.stringify({ cifRuns }));
  expect(browserSizes.length).toBeGreaterThan(0);
  expect(browserSizes.filter((s) => mbs(s) > 396)).toEqual([]);
});
