/**
 * Video for SIP video phones (issue 12 item 2), with real parts: the built server, three SIP video phones on
 * Parley's own SIP stack (test/support/video-phone.ts), two of them with ffmpeg/libx264 cameras of different sizes
 * (alice 320x240, bob 176x144) and tones, one viewer that only receives video. The speaker switches twice, driven
 * by muting through the REST API (a muted participant is out of the mix and stops being the speaker).
 *
 * What the viewer receives is checked packet by packet: one SSRC, the payload type of its own offer, no header
 * extension it did not negotiate, sequence numbers +1 throughout, timestamps never going back; and, depacketized
 * (RFC 6184) and decoded by ffprobe, frames of alice, then bob, then alice again. Alice's own phone, while she
 * speaks, is shown bob (never herself). Needs `npx tsc -p tsconfig.build.json` first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { VideoPhone } from '../support/video-phone';
import { annexB, continuity, decodeErrors, decodedRuns, sizeRuns, until } from './video-helpers';

jest.setTimeout(120_000);

let parley: E2eParley;
const phones: VideoPhone[] = [];
beforeAll(async () => {
  parley = await startE2eParley();
});
afterAll(async () => {
  for (const p of phones) await p.close().catch(() => undefined);
  await parley?.stop();
});

const ALICE = '320x240';
const BOB = '176x144';

test('a video phone receives the active speaker as one continuous H.264 stream across two switches', async () => {
  const room = 'video-phones';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  const viewer = await VideoPhone.call({
    target,
    user: 'viewer',
    tone: null,
    direction: 'recvonly',
    videoPt: 97,
  });
  phones.push(viewer);
  const alice = await VideoPhone.call({
    target,
    user: 'alice',
    tone: 407,
    direction: 'sendrecv',
    videoPt: 96,
    camera: 'testsrc=size=320x240:rate=15',
  });
  phones.push(alice);
  const bob = await VideoPhone.call({
    target,
    user: 'bob',
    tone: null, // talks once muted: a muted participant must not take the floor
    direction: 'sendrecv',
    videoPt: 98,
    camera: 'testsrc=size=176x144:rate=15',
  });
  phones.push(bob);

  // The answer to the viewer: H.264 under its own payload type, constrained baseline, packetization-mode 1.
  const vAnswer = viewer.answer.slice(viewer.answer.indexOf('m=video'));
  expect(vAnswer).toMatch(/^m=video [1-9]\d* RTP\/AVP 97\r\n/);
  expect(vAnswer).toMatch(/a=fmtp:97 profile-level-id=42e01f;packetization-mode=1/);
  expect(vAnswer).not.toMatch(/a=extmap/);

  const list = await parley.waitParticipants(
    room,
    (l) => l.length === 3 && l.every((p) => p.state === 'joined'),
  );
  const id = (name: string): string => list.find((p) => p.displayName === name)!.id;
  const mute = async (name: string, muted: boolean): Promise<void> => {
    const r = await parley.post(`/api/rooms/${room}/participants/${id(name)}/mute`, { muted });
    expect(r.status).toBe(200);
  };

  // Alice speaks, bob is muted: the viewer is shown alice.
  await mute('bob', true);
  bob.setTone(613);
  await parley.waitParticipants(room, (l) => l.filter((p) => p.video === true).length === 2);
  await until('alice on the viewer', () => sizeRuns(viewer.video).length >= 1);
  // Alice's own phone is never shown herself: it gets bob while she is the speaker.
  await until('bob on alice’s phone', () => sizeRuns(alice.video).length >= 1);
  await sleep(1500);

  // Switch 1: alice muted, bob speaks. The switch asks bob's phone for a keyframe (RTCP PLI/FIR).
  const bobRequests = bob.keyframeRequests;
  await mute('alice', true);
  await mute('bob', false);
  await until('bob on the viewer', () => sizeRuns(viewer.video).length >= 2);
  expect(bob.keyframeRequests).toBeGreaterThan(bobRequests);
  await sleep(1500);

  // Switch 2: bob muted, alice speaks again (a keyframe request to alice's phone).
  const aliceRequests = alice.keyframeRequests;
  await mute('bob', true);
  await mute('alice', false);
  await until('alice again on the viewer', () => sizeRuns(viewer.video).length >= 3);
  expect(alice.keyframeRequests).toBeGreaterThan(aliceRequests);
  await sleep(1500);
  const got = [...viewer.video];

  // Alice, bob, alice; nobody is shown themselves: alice saw bob throughout (the other one, then the previous
  // speaker), bob saw alice.
  expect({ viewer: sizeRuns(got), alice: sizeRuns(alice.video), bob: sizeRuns(bob.video) }).toEqual({
    viewer: [ALICE, BOB, ALICE],
    alice: [BOB],
    bob: [ALICE],
  });
  // One stream: one SSRC, our payload type, no extension, sequence +1 throughout, timestamps never going back.
  // (on failure: where each sequence step other than +1 fell, ms after the first packet, with the packet count)
  const gaps = got
    .map((p, i) => (i === 0 ? 1 : (p.seq - got[i - 1]!.seq + 0x10000) % 0x10000))
    .map((step, i) => ({ step, i, ms: got[i]!.at - got[0]!.at }))
    .filter((g) => g.step !== 1);
  expect({ ...continuity(got), gaps, packets: got.length }).toEqual({
    ssrcs: 1,
    seqSteps: [1],
    tsBack: 0,
    gaps: [],
    packets: got.length,
  });
  expect(new Set(got.map((p) => p.pt))).toEqual(new Set([97]));
  expect(got.filter((p) => p.extension)).toHaveLength(0);

  // Decodable: frames of alice, then bob, then alice again, each run with frames.
  const file = path.join(parley.dir, 'viewer.h264');
  fs.writeFileSync(file, annexB(got));
  const runs = await decodedRuns(file);
  if (process.env.VIDEO_E2E_DEBUG) console.log(JSON.stringify({ runs, errors: await decodeErrors(file) }));
  expect(runs.map((r) => r.size)).toEqual([ALICE, BOB, ALICE]);
  for (const r of runs) expect({ ...r, enough: r.frames >= 5 }).toMatchObject({ enough: true });
});

test('a camera-only video line (a=sendonly beside sendrecv audio) is a camera to show, not a hold', async () => {
  const room = 'video-camera-only';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  const viewer = await VideoPhone.call({ target, user: 'viewer2', tone: null, direction: 'recvonly' });
  phones.push(viewer);
  const lectern = await VideoPhone.call({
    target,
    user: 'lectern',
    tone: 407,
    direction: 'sendonly',
    camera: 'testsrc=size=176x144:rate=15',
  });
  phones.push(lectern);
  expect(lectern.answer.slice(lectern.answer.indexOf('m=video'))).toMatch(/a=recvonly/);
  await parley.waitParticipants(room, (l) => l.some((p) => p.displayName === 'lectern' && p.video === true));
  await until('the lectern camera on the viewer', () => sizeRuns(viewer.video).length >= 1);
  await sleep(1500);
  const got = [...viewer.video];
  expect(sizeRuns(got)).toEqual([BOB]);
  const file = path.join(parley.dir, 'viewer2.h264');
  fs.writeFileSync(file, annexB(got));
  const runs = await decodedRuns(file);
  expect(runs.map((r) => r.size)).toEqual([BOB]);
  expect(runs[0]!.frames).toBeGreaterThanOrEqual(5);
});
