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
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { VideoPhone, type ReceivedRtp } from '../support/video-phone';

jest.setTimeout(120_000);
const run = promisify(execFile);

let parley: E2eParley;
const phones: VideoPhone[] = [];
beforeAll(async () => {
  parley = await startE2eParley();
});
afterAll(async () => {
  for (const p of phones) await p.close().catch(() => undefined);
  await parley?.stop();
});

/** The SPS (NAL type 7) in a packet: a single NAL unit or inside a STAP-A; undefined otherwise. */
function spsOf(payload: Buffer): string | undefined {
  const type = payload[0] & 0x1f;
  if (type === 7) return payload.toString('hex');
  if (type === 24) {
    for (let i = 1; i + 2 < payload.length;) {
      const size = payload.readUInt16BE(i);
      if ((payload[i + 2] & 0x1f) === 7) return payload.subarray(i + 2, i + 2 + size).toString('hex');
      i += 2 + size;
    }
  }
  return undefined;
}

/** The distinct SPSs a phone was sent, in order of change (one entry per switch of source). */
function spsRuns(pkts: readonly ReceivedRtp[]): string[] {
  const runs: string[] = [];
  for (const p of pkts) {
    const s = spsOf(p.payload);
    if (s && runs[runs.length - 1] !== s) runs.push(s);
  }
  return runs;
}

/** RFC 6184 depacketization into an Annex B byte stream (single NAL units, STAP-A, FU-A). */
function annexB(pkts: readonly ReceivedRtp[]): Buffer {
  const start = Buffer.from([0, 0, 0, 1]);
  const out: Buffer[] = [];
  for (const { payload } of pkts) {
    const type = payload[0] & 0x1f;
    if (type >= 1 && type <= 23) out.push(start, payload);
    else if (type === 24) {
      for (let i = 1; i + 2 < payload.length;) {
        const size = payload.readUInt16BE(i);
        out.push(start, payload.subarray(i + 2, i + 2 + size));
        i += 2 + size;
      }
    } else if (type === 28) {
      if (payload[1] & 0x80) out.push(start, Buffer.from([(payload[0] & 0xe0) | (payload[1] & 0x1f)]));
      out.push(payload.subarray(2));
    }
  }
  return Buffer.concat(out);
}

/** Decodes the stream with ffprobe: the size of every frame, in order, collapsed into runs. */
async function decodedRuns(file: string): Promise<Array<{ size: string; frames: number }>> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-f', 'h264', '-i', file, '-select_streams', 'v:0'],
    ...['-show_entries', 'frame=width,height', '-of', 'csv=p=0'],
  ]);
  const runs: Array<{ size: string; frames: number }> = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const size = line.trim().replace(',', 'x');
    const last = runs[runs.length - 1];
    if (last?.size === size) last.frames++;
    else runs.push({ size, frames: 1 });
  }
  return runs;
}

async function until(what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

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
  await until('alice on the viewer', () => spsRuns(viewer.video).length >= 1);
  const aliceSps = spsRuns(viewer.video)[0];
  // Alice's own phone is never shown herself: it gets bob while she is the speaker.
  await until('bob on alice’s phone', () => spsRuns(alice.video).length >= 1);
  expect(spsRuns(alice.video)[0]).not.toBe(aliceSps);
  await sleep(1500);

  // Switch 1: alice muted, bob speaks.
  await mute('alice', true);
  await mute('bob', false);
  await until('bob on the viewer', () => spsRuns(viewer.video).length >= 2);
  const bobSps = spsRuns(viewer.video)[1];
  expect(bobSps).not.toBe(aliceSps);
  await sleep(1500);

  // Switch 2: bob muted, alice speaks again.
  await mute('bob', true);
  await mute('alice', false);
  await until('alice again on the viewer', () => spsRuns(viewer.video).length >= 3);
  await sleep(1500);
  const got = [...viewer.video];

  expect(spsRuns(got)).toEqual([aliceSps, bobSps, aliceSps]);
  // Nobody is shown themselves: alice saw bob throughout (the other speaker, then the previous one), bob alice.
  expect(spsRuns(alice.video)).toEqual([bobSps]);
  expect(spsRuns(bob.video)).toEqual([aliceSps]);
  // One stream: one SSRC, our payload type, no extension, sequence +1 throughout, timestamps never going back.
  expect(new Set(got.map((p) => p.ssrc)).size).toBe(1);
  expect(new Set(got.map((p) => p.pt))).toEqual(new Set([97]));
  expect(got.filter((p) => p.extension)).toHaveLength(0);
  const seqSteps = new Set<number>();
  const tsBack: number[] = [];
  for (let i = 1; i < got.length; i++) {
    seqSteps.add((got[i].seq - got[i - 1].seq + 0x10000) % 0x10000);
    const dt = (got[i].ts - got[i - 1].ts + 2 ** 32) % 2 ** 32;
    if (dt >= 2 ** 31) tsBack.push(i);
  }
  expect([...seqSteps]).toEqual([1]);
  expect(tsBack).toEqual([]);

  // Decodable: frames of alice, then bob, then alice again, each run with frames.
  const file = path.join(parley.dir, 'viewer.h264');
  fs.writeFileSync(file, annexB(got));
  const runs = await decodedRuns(file);
  expect(runs.map((r) => r.size)).toEqual(['320x240', '176x144', '320x240']);
  for (const r of runs) expect(r.frames).toBeGreaterThanOrEqual(5);
});
