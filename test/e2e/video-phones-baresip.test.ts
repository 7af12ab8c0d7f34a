/**
 * A browser camera to a REAL third-party SIP video phone (issue 12 item 2): Debian's baresip 1.0 with its avcodec
 * (libavcodec H.264) module is the viewer. It calls the room offering PCMU audio and H.264 video (RFC 6184); the
 * sources are Debian's Chromium (fake camera, a 407 Hz tone; it sends H.264 because a video phone is in the room)
 * and a video phone with an ffmpeg/libx264 camera (176x144, test/support/video-phone.ts). Two speaker switches
 * (browser → phone → browser), driven by REST mutes. What baresip receives is captured on `lo` by tshark: one
 * SSRC, sequence numbers +1 (speaker switches included), timestamps never going back, decodable frames of the right
 * source after each switch. What baresip itself decodes is read back with its `snapshot_recv` command (sent over its
 * ctrl_tcp socket) after each switch: the PNG's size is the speaker's picture size. Needs `npm run build` first.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { baresipConfigHead, baresipRtpPorts, spawnBaresip, type BaresipRun } from '../support/baresip';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { freePort } from '../support/sipp';
import { receivedRtp, type ReceivedRtp, type VideoPhone } from '../support/video-phone';
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
import type { CallLadder } from '../../src/protocol/dashboard-protocol';

jest.setTimeout(240_000);

let parley: E2eParley;
let browser: TestBrowser | undefined;
let baresip: (BaresipRun & { child: ChildProcess }) | undefined;
let tshark: ChildProcess | undefined;
const phones: VideoPhone[] = [];
beforeAll(async () => {
  parley = await startE2eParley({ conference: { joinTones: false } });
});
afterAll(async () => {
  tshark?.kill('SIGTERM');
  baresip?.child.kill('SIGTERM');
  await baresip?.done;
  await browser?.close();
  for (const p of phones) await p.close().catch(() => undefined);
  await parley?.stop();
});

/**
 * baresip's configuration: one account, silence as its microphone (it must never take the floor), H.264 through
 * avcodec (libx264 to send, libavcodec's h264 to decode), fakevideo as camera and as (null) display, the snapshot
 * video filter, and ctrl_tcp to take commands while the call runs.
 */
async function baresipConfig(
  dir: string,
  user: string,
): Promise<{ cfgDir: string; ctrlPort: number; rtp: [number, number] }> {
  const cfgDir = path.join(dir, `baresip-${user}`);
  fs.mkdirSync(cfgDir, { recursive: true });
  const wav = path.join(cfgDir, 'silence.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', wav, 'trim', '0', '300']);
  const sipPort = await freePort(undefined, 2);
  const ctrlPort = await freePort();
  fs.writeFileSync(
    path.join(cfgDir, 'config'),
    [
      ...baresipConfigHead(sipPort, wav),
      'video_source fakevideo,nil',
      'video_display fakevideo,nil',
      'video_size 160x120',
      'video_bitrate 100000',
      'video_fps 5',
      'avcodec_h264enc libx264',
      'avcodec_h264dec h264',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module aubridge.so',
      'module avcodec.so',
      'module fakevideo.so',
      'module snapshot.so',
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(cfgDir, 'accounts'), `<sip:${user}@127.0.0.1>;regint=0\n`);
  return { cfgDir, ctrlPort, rtp: baresipRtpPorts(sipPort) };
}

/** One command to baresip's ctrl_tcp socket (a JSON object in a netstring); resolves on its response. */
function ctrl(port: number, command: string, params: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const json = JSON.stringify({ command, params, token: command });
    const s = net.connect(port, '127.0.0.1', () => s.write(`${Buffer.byteLength(json)}:${json},`));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('"response"')) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

/** The width x height of a PNG (its IHDR chunk, PNG spec §11.2.2). */
function pngSize(file: string): string {
  const b = fs.readFileSync(file);
  return `${b.readUInt32BE(16)}x${b.readUInt32BE(20)}`;
}

/** Everything UDP that reaches baresip's RTP port range, read live from tshark (fields: dst port, payload hex). */
function capture(
  range: [number, number],
  onPacket: (port: number, payload: Buffer) => void,
): Promise<ChildProcess> {
  const child = spawn(
    'tshark',
    [
      ...['-i', 'lo', '-l', '-n', '-f', `udp dst portrange ${range[0]}-${range[1]}`],
      ...['-T', 'fields', '-e', 'udp.dstport', '-e', 'udp.payload'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) {
      const [port, hex] = line.trim().split('\t');
      if (port && hex) onPacket(Number(port), Buffer.from(hex.replace(/:/g, ''), 'hex'));
    }
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/Capturing on/.test(err)) resolve(child);
    });
    child.on('close', (code) => reject(new Error(`tshark exited ${code}: ${err}`)));
  });
}

test('baresip (a real SIP video phone) sees the browser camera, then the phone, then the browser: one continuous H.264 stream', async () => {
  const room = 'video-baresip';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  const cfg = await baresipConfig(parley.dir, 'bare');
  const received: Array<{ port: number; at: number; payload: Buffer }> = [];
  tshark = await capture(cfg.rtp, (port, payload) => received.push({ port, at: Date.now(), payload }));
  baresip = spawnBaresip(cfg.cfgDir, target, 200);
  const joined = await parley
    .waitParticipants(room, (l) => l.some((p) => p.displayName === 'bare' && p.state === 'joined'))
    .catch((err: Error) => {
      throw new Error(`${err.message}\nbaresip: ${baresip!.output().slice(-3000)}`);
    });
  const bareId = joined.find((p) => p.displayName === 'bare')!.id;

  // The SDP offer baresip sent and the answer it got, from the call ladder.
  const ladder = await parley.api<CallLadder>(`/api/rooms/${room}/participants/${bareId}/ladder`);
  expect(ladder.status).toBe(200);
  const invite = ladder.body.messages.find((m) => m.label === 'INVITE')!.raw;
  const ok = ladder.body.messages.find((m) => m.label === '200' && m.method === 'INVITE')!.raw;
  const section = (sdp: string): string => sdp.slice(sdp.indexOf('m=video'));
  const offerVideo = section(invite);
  const answerVideo = section(ok);
  const videoPort = Number(/^m=video (\d+)/.exec(offerVideo)![1]);
  const answerPt = Number(/^m=video \d+ RTP\/AVP (\d+)/.exec(answerVideo)![1]);
  // The answer's payload type is one baresip offered for H264 with packetization-mode 1 (RFC 6184 §8.2.1).
  const offeredH264 = [...offerVideo.matchAll(/a=rtpmap:(\d+) H264\/90000/g)].map((m) => Number(m[1]));
  expect(offeredH264).toContain(answerPt);
  expect(offerVideo).toMatch(new RegExp(`a=fmtp:${answerPt} [^\\r\\n]*packetization-mode=1`));
  expect(answerVideo).toMatch(new RegExp(`a=rtpmap:${answerPt} H264/90000`));
  expect(answerVideo).toMatch(new RegExp(`a=fmtp:${answerPt} [^\\r\\n]*packetization-mode=1`));
  expect(answerVideo).not.toMatch(/a=extmap/);
  await parley.post(`/api/rooms/${room}/participants/${bareId}/mute`, { muted: true });

  /** The RTP baresip received on its video port, so far. */
  const video = (): ReceivedRtp[] =>
    received.flatMap((r) =>
      r.port === videoPort ? [receivedRtp(r.payload, r.at)].filter((p) => p !== undefined) : [],
    );

  browser = await launchBrowser({ toneHz: 407, name: 'video-baresip' });
  const aliceId = await joinRoom(browser, parley.http, room, 'Alice', { query: '?audio=raw' });
  // The browser is the speaker (its camera is sent as H.264 because baresip, a video phone, is in the room) before
  // the desk phone comes in: a silent newcomer must not take the floor.
  await until('the browser camera in H.264', () =>
    parley.logs('browser producing').some((l) => l.source === 'camera' && l.codec === 'video/H264'),
  );
  await until('the browser on baresip', () => sizeRuns(video()).length >= 1);
  const desk = await callDeskPhone(target);
  phones.push(desk);
  const list = await parley.waitParticipants(
    room,
    (l) => l.length === 3 && l.every((p) => p.state === 'joined') && l.filter((p) => p.video).length === 2,
  );
  const deskId = list.find((p) => p.displayName === 'desk')!.id;
  const mute = async (id: string, muted: boolean): Promise<void> => {
    const r = await parley.post(`/api/rooms/${room}/participants/${id}/mute`, { muted });
    expect(r.status).toBe(200);
  };
  await mute(deskId, true);
  desk.setTone(613);

  let shot = 0;
  /** What baresip decodes now: a snapshot of the next received frame, as a PNG of its own. */
  const snapshot = async (): Promise<string> => {
    const file = path.join(cfg.cfgDir, `recv-${++shot}.png`);
    await ctrl(cfg.ctrlPort, 'snapshot_recv', file);
    await until(`baresip's snapshot ${file}`, () => fs.existsSync(file) && fs.statSync(file).size > 24);
    await sleep(200); // written in one go by libpng; let it close
    return pngSize(file);
  };

  await sleep(2000);
  const snaps = [await snapshot()];

  // Switch 1: the browser muted, the desk phone speaks.
  await mute(aliceId, true);
  await mute(deskId, false);
  await until('the desk phone on baresip', () => whose(sizeRuns(video())).length >= 2);
  await sleep(1500);
  snaps.push(await snapshot());

  // Switch 2: the desk phone muted, the browser speaks again.
  await mute(deskId, true);
  await mute(aliceId, false);
  await until('the browser again on baresip', () => whose(sizeRuns(video())).length >= 3);
  await sleep(2000);
  snaps.push(await snapshot());
  const got = video();
  if (process.env.VIDEO_E2E_DEBUG) {
    const gaps = got.flatMap((p, i) =>
      i > 0 && (p.seq - got[i - 1].seq + 0x10000) % 0x10000 !== 1 ? [i] : [],
    );
    console.log(
      JSON.stringify({
        snaps,
        offerVideo,
        answerVideo,
        runs: sizeRuns(got),
        n: got.length,
        gaps: gaps.map((i) => ({
          i,
          at: got[i].at - got[0].at,
          seq: [got[i - 1].seq, got[i].seq],
          nal: got[i].payload[0] & 0x1f,
          prevNal: got[i - 1].payload[0] & 0x1f,
        })),
        switches: parley.logs('speaker video switched').map((l) => l.drops),
        nacks: parley.logs('rtp nack').length,
        resolutions: [...baresip!.output().matchAll(/receiving with resolution (\d+) x (\d+)/g)].map(
          (m) => m[0],
        ),
      }),
    );
  }

  expect(whose(sizeRuns(got))).toEqual(['browser', 'phone', 'browser']);
  const { ssrcs, tsBack } = continuity(got);
  expect({ ssrcs, tsBack }).toEqual({ ssrcs: 1, tsBack: 0 });
  // Sequence numbers go +1 throughout, speaker switches included; the one exception is mediasoup's own resync at
  // the browser's simulcast layer change (video-helpers' unexplainedHoles).
  expect(unexplainedHoles(got, (sz) => whose([sz])[0]!)).toEqual([]);
  expect(new Set(got.map((p) => p.pt))).toEqual(new Set([answerPt]));
  expect(got.filter((p) => p.extension)).toHaveLength(0);

  const file = path.join(parley.dir, 'baresip-received.h264');
  fs.writeFileSync(file, annexB(got));
  const runs = await decodedRuns(file);
  if (process.env.VIDEO_E2E_DEBUG) console.log(JSON.stringify({ runs, errors: await decodeErrors(file) }));
  expect(whose(runs.map((r) => r.size))).toEqual(['browser', 'phone', 'browser']);
  expect(runs.reduce((n, r) => n + r.frames, 0)).toBeGreaterThanOrEqual(30);

  // baresip's own decoder shows the speaker: the browser's camera, the phone's, the browser's again.
  // The browser's pictures are those ffprobe decoded from its runs (its simulcast layer may change; the SPS of a
  // 640x360 layer codes 640x368, cropped), so each browser snapshot is one of them and none is the phone's.
  const browserSizes = new Set(runs.filter((r) => r.size !== PHONE).map((r) => r.size));
  expect({
    snaps: snaps.map((s) => (s === PHONE ? PHONE : browserSizes.has(s) ? 'a browser size' : s)),
  }).toEqual({ snaps: ['a browser size', PHONE, 'a browser size'] });
  // baresip chose its packetization-mode 1 decoder, and libavcodec refused no packet (its own messages).
  expect(baresip.output()).toMatch(/Set video decoder: H264 packetization-mode=1/);
  expect(
    baresip
      .output()
      .split(/[\r\n]+/)
      .filter((l) =>
        /avcodec_send_packet error|avcodec_receive_frame error|decode buffer size exceeded/.test(l),
      ),
  ).toEqual([]);
});
