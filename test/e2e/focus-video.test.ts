/**
 * A video phone (SIPp signalling, the test's own UDP sockets for media): the audio and H.264 m-lines are both
 * answered with ports, the phone's H.264 RTP becomes a mediasoup video Producer (what browsers will consume), and
 * the API shows it. Needs `npm run build` first.
 */
import dgram from 'node:dgram';
import { startFocusSipp } from '../support/focus-sipp';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { RtpPeer } from '../support/rtp-peer';

jest.setTimeout(60_000);

let parley: E2eParley;
beforeAll(async () => {
  parley = await startE2eParley({ conference: { audio: 'forward' } });
});
afterAll(async () => {
  await parley?.stop();
});

/** H.264 RTP (RFC 6184 single NAL unit packets): an IDR slice header byte and filler. */
function h264Packet(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 200, 0x11);
  b[0] = 0x80;
  b[1] = (seq % 30 === 0 ? 0x80 : 0) | 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 3000) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x65; // nal_ref_idc 3, type 5 (IDR)
  return b;
}

test('audio + H.264 offer: both m-lines answered, video RTP becomes a video producer', async () => {
  const room = 'video-room';
  const audio = await RtpPeer.open();
  const video = dgram.createSocket('udp4');
  await new Promise<void>((r) => video.bind(0, '127.0.0.1', () => r()));
  const videoPort = (video.address() as { port: number }).port;
  const call = await startFocusSipp(parley, {
    scenario: 'uac-video.xml',
    room,
    keys: { rtp_port: audio.port, video_port: videoPort },
    pauseMs: 4000,
  });
  const [, aPort] = await call.waitEvent('answer');
  const [, vPort, vPt] = await call.waitEvent('video');
  expect(Number(aPort)).toBeGreaterThan(0);
  expect(Number(vPort)).toBeGreaterThan(0);
  expect(Number(vPort)).not.toBe(Number(aPort));
  expect(Number(vPt)).toBe(96); // the offerer's payload type (RFC 3264 §6.1)

  audio.send('127.0.0.1', Number(aPort), 0);
  const ssrc = 0x5eed1234;
  for (let seq = 0; seq < 60; seq++) {
    video.send(h264Packet(seq, ssrc), Number(vPort), '127.0.0.1');
    await sleep(15);
  }
  const ps = await parley.waitParticipants(room, (l) => l.some((p) => p.video === true));
  expect(ps[0]).toMatchObject({ codec: 'PCMU', video: true });
  const created = parley.logs('producer created');
  expect(created.some((l) => l.ssrc === ssrc)).toBe(true);

  audio.stop();
  const r = await call.done;
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  audio.close();
  video.close();
});
