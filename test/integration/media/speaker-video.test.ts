/**
 * SpeakerVideo on the real mediasoup worker: two H.264 senders (Node sockets into PlainTransport Producers), the
 * speaker video's Producer consumed on a PlainTransport by a Node "phone" socket. Across a switch the phone sees
 * one SSRC and sequence numbers that continue at +1; the new sender is asked for a keyframe (a PLI arrives at its
 * socket) and is shown only from its IDR on; a PLI from the phone reaches the sender shown.
 */
import dgram from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import pino from 'pino';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import { SpeakerVideo, wantsKeyframe } from '../../../src/media/video/speaker-video';

jest.setTimeout(15000);
const log = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let worker: types.Worker;
let router: types.Router;
beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
});
afterAll(() => worker.close());

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

const SPS = 0x67;
const IDR = 0x65;
const P_SLICE = 0x41;

interface Sender {
  producer: types.Producer;
  send(nal: number): void;
  /** RTCP keyframe requests received from mediasoup. */
  plis: number;
  close(): void;
}

async function sender(ssrc: number): Promise<Sender> {
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: true,
  });
  const producer = await transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [
        {
          mimeType: 'video/H264',
          payloadType: 102,
          clockRate: 90000,
          parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
          rtcpFeedback: [
            { type: 'nack', parameter: 'pli' },
            { type: 'ccm', parameter: 'fir' },
          ],
        },
      ],
      encodings: [{ ssrc }],
    },
  });
  const sock = await udp();
  let seq = 100;
  const s: Sender = {
    producer,
    plis: 0,
    send(nal: number) {
      const b = Buffer.alloc(12 + 100, 0x22);
      b[0] = 0x80;
      b[1] = 0x80 | 102;
      b.writeUInt16BE(seq & 0xffff, 2);
      b.writeUInt32BE((seq * 3000) >>> 0, 4);
      b.writeUInt32BE(ssrc, 8);
      b[12] = nal;
      seq++;
      sock.send(b, transport.tuple.localPort, '127.0.0.1');
    },
    close() {
      sock.close();
      transport.close();
    },
  };
  sock.on('message', (m) => {
    if (m[1] >= 192 && m[1] <= 223 && wantsKeyframe(m)) s.plis++;
  });
  return s;
}

interface Viewer {
  /** The output's RTP as the phone received it. */
  got: { ssrc: number; seq: number; ts: number; nal: number }[];
  consumer: types.Consumer;
  /** Sends RTCP to the router (as the phone would). */
  sendRtcp(packet: Buffer): void;
  close(): void;
}

/** A Node "phone" socket receiving the speaker video's Producer through a PlainTransport consumer. */
async function viewer(video: SpeakerVideo): Promise<Viewer> {
  const phone = await udp();
  const pt = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: false,
  });
  await pt.connect({ ip: '127.0.0.1', port: (phone.address() as { port: number }).port });
  const consumer = await pt.consume({
    producerId: video.producer.id,
    rtpCapabilities: { codecs: router.rtpCapabilities.codecs!.filter((c) => c.mimeType === 'video/H264') },
  });
  const got: Viewer['got'] = [];
  phone.on('message', (m) => {
    if (m[1] >= 192 && m[1] <= 223) return;
    // mediasoup may add its own header extensions towards a PlainTransport consumer: skip them.
    let off = 12 + 4 * (m[0] & 0x0f);
    if (m[0] & 0x10) off += 4 + 4 * m.readUInt16BE(off + 2);
    got.push({ ssrc: m.readUInt32BE(8), seq: m.readUInt16BE(2), ts: m.readUInt32BE(4), nal: m[off] });
  });
  return {
    got,
    consumer,
    sendRtcp: (packet) => phone.send(packet, pt.tuple.localPort, '127.0.0.1'),
    close() {
      phone.close();
      pt.close();
    },
  };
}

test('one SSRC, continuous sequence numbers across a switch; keyframe requested from the new source', async () => {
  const a = await sender(0xaaaa0001);
  const b = await sender(0xbbbb0002);
  // Both senders latch (comedia) before anything asks them for a keyframe.
  a.send(P_SLICE);
  b.send(P_SLICE);
  const video = await SpeakerVideo.create({ router, codec: 'H264', log, keyframeRetryMs: 200 });
  const phone = await viewer(video);
  const { got, consumer } = phone;
  const switched: (string | null)[] = [];
  video.on('switched', (id) => switched.push(id));

  await video.select(a.producer.id);
  while (a.plis === 0) await sleep(20);
  // P slices before the IDR are not shown.
  // P slices and a bare IDR before the SPS are not shown.
  for (const nal of [P_SLICE, IDR, SPS, IDR, P_SLICE, P_SLICE]) {
    a.send(nal);
    await sleep(20);
  }
  while (got.length < 4) await sleep(20);
  expect(switched).toEqual([a.producer.id]);

  await video.select(b.producer.id);
  while (b.plis === 0) await sleep(20);
  for (let i = 0; i < 3; i++) {
    a.send(P_SLICE); // still shown until b's keyframe
    b.send(P_SLICE); // dropped
    await sleep(20);
  }
  b.send(IDR); // bare IDR: dropped
  await sleep(20);
  b.send(SPS);
  await sleep(20);
  b.send(IDR);
  await sleep(20);
  for (let i = 0; i < 3; i++) {
    a.send(P_SLICE); // dropped now
    b.send(P_SLICE);
    await sleep(20);
  }
  while (got.length < 4 + 3 + 2 + 3) await sleep(20);
  expect(switched).toEqual([a.producer.id, b.producer.id]);
  expect(new Set(got.map((g) => g.ssrc)).size).toBe(1);
  expect(got.map((g) => g.nal)).toEqual([
    ...[SPS, IDR, P_SLICE, P_SLICE], // a from its SPS
    ...[P_SLICE, P_SLICE, P_SLICE], // a while b's keyframe is awaited
    ...[SPS, IDR, P_SLICE, P_SLICE, P_SLICE], // b from its SPS
  ]);
  for (let i = 1; i < got.length; i++) {
    expect((got[i].seq - got[i - 1].seq + 0x10000) % 0x10000).toBe(1);
    const dt = (got[i].ts - got[i - 1].ts + 2 ** 32) % 2 ** 32;
    expect(dt).toBeGreaterThan(0);
    expect(dt).toBeLessThan(2 ** 31);
  }

  // A PLI from the phone reaches the sender shown (b).
  const before = b.plis;
  const pli = Buffer.alloc(12);
  pli[0] = 0x81; // V=2, FMT=1
  pli[1] = 206;
  pli.writeUInt16BE(2, 2);
  pli.writeUInt32BE(0x1234, 4);
  pli.writeUInt32BE(consumer.rtpParameters.encodings![0].ssrc!, 8);
  phone.sendRtcp(pli);
  while (b.plis === before) await sleep(20);

  video.close();
  video.close();
  expect(video.producer.closed).toBe(true);
  phone.close();
  a.close();
  b.close();
});

test('a source selected twice at once is consumed once (no second sequence space interleaved)', async () => {
  const consumers: types.Consumer[] = [];
  const onTransport = (t: types.Transport): void => {
    t.observer.on('newconsumer', (c) => consumers.push(c));
  };
  router.observer.on('newtransport', onTransport);
  const a = await sender(0xaaaa0003);
  a.send(P_SLICE);
  const video = await SpeakerVideo.create({ router, codec: 'H264', log, keyframeRetryMs: 200 });
  const phone = await viewer(video);
  const { got } = phone;
  try {
    // Speaker events come in bursts: the same source asked for again while its consumer is being made.
    await Promise.all([
      video.select(a.producer.id),
      video.select(a.producer.id),
      video.select(a.producer.id),
    ]);
    const ofA = consumers.filter((c) => c.producerId === a.producer.id && !c.closed);
    expect(ofA.length).toBe(1);
    for (const nal of [SPS, IDR, P_SLICE, P_SLICE]) {
      a.send(nal);
      await sleep(20);
    }
    const end = Date.now() + 3000;
    while (got.length < 4 && Date.now() < end) await sleep(20);
    await sleep(200); // a duplicate from a second consumer would arrive meanwhile
    expect(got.map((g) => g.nal)).toEqual([SPS, IDR, P_SLICE, P_SLICE]);
    for (let i = 1; i < got.length; i++) expect((got[i].seq - got[i - 1].seq + 0x10000) % 0x10000).toBe(1);
  } finally {
    router.observer.off('newtransport', onTransport);
    video.close();
    phone.close();
    a.close();
  }
});

test('a source of another codec is refused and the output keeps what it shows', async () => {
  const video = await SpeakerVideo.create({ router, codec: 'H264', log });
  const t = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    comedia: true,
  });
  const vp8 = await t.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [{ ssrc: 5 }],
    },
  });
  expect(video.canShow(vp8)).toBe(false);
  await expect(video.select(vp8.id)).rejects.toThrow(/cannot be shown/);
  expect(video.current).toBeNull();
  video.close();
  t.close();
});
