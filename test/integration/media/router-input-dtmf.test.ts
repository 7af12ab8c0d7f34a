/**
 * RFC 4733 digits of an endpoint whose audio is a mediasoup Producer (a WebRTC caller: its RTP ends in mediasoup),
 * on the real worker and the real media thread: a Node RTP sender → PlainTransport Producer (opus 111 +
 * telephone-event/48000 110, one SSRC, as Chrome's RTCDTMFSender sends) → MixedRoomAudio's Consumer on the
 * mixer-input transport → the thread (RFC 4733 §2.5 reading, workers/mixer/dtmf.ts) → `mixer.dtmf` →
 * AudioEndpoint.onDtmf.
 *
 * Stock mediasoup 3.19 forwards media codecs only (Consumer.cpp: supportedCodecPayloadTypes ← IsMediaCodec()), so
 * the consumer's rtpParameters list telephone-event but the worker drops every such packet; our worker build
 * (scripts/build-mediasoup-worker.sh) lets telephone-event through. The worker running here must be that build.
 */
import dgram from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import pino from 'pino';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import { MediaThreadPool } from '../../../src/media/mixer/media-thread-pool';
import { MixedRoomAudio } from '../../../src/media/room-audio/mixed-room-audio';
import type { AudioEndpoint } from '../../../src/media/room-audio/room-audio';
import { OpusAudioEncoder } from '../../../workers/mixer/codec/opus';
import { serializeTelephoneEvent } from '../../../workers/mixer/dtmf';
import { serializeRtp } from '../../../workers/mixer/rtp';

jest.setTimeout(60000);
const logger = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let worker: types.Worker;
let router: types.Router;
let threads: MediaThreadPool;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
  threads = await MediaThreadPool.create({ threads: 1, logger });
});

afterAll(async () => {
  await threads.close();
  worker.close();
});

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** A browser-like sender: opus and telephone-event/48000 on one SSRC into a comedia PlainTransport. */
async function sender(): Promise<{
  transport: types.PlainTransport;
  producer: types.Producer;
  speak: (frames: number) => Promise<void>;
  key: (digit: number, packets: number) => Promise<void>;
  close: () => void;
}> {
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: true,
  });
  const ssrc = 0x5eed0001;
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [
        { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 },
        { mimeType: 'audio/telephone-event', payloadType: 110, clockRate: 48000 },
      ],
      encodings: [{ ssrc }],
    },
  });
  const sock = await udp();
  const enc = new OpusAudioEncoder({ sampleRate: 48000 });
  let seq = 1;
  let ts = 90000;
  const send = (pt: number, timestamp: number, payload: Buffer, marker = false): void =>
    sock.send(
      serializeRtp({ payloadType: pt, seq: seq++ & 0xffff, timestamp, ssrc, marker }, payload),
      transport.tuple.localPort,
      '127.0.0.1',
    );
  return {
    transport,
    producer,
    speak: async (frames) => {
      for (let i = 0; i < frames; i++) {
        send(111, ts, enc.encode(new Int16Array(960)));
        ts += 960;
        await sleep(20);
      }
    },
    // RFC 4733 §2.5.1: one timestamp per event, growing duration, the end packet three times.
    key: async (event, packets) => {
      const start = ts;
      for (let i = 1; i <= packets; i++) {
        send(
          110,
          start,
          serializeTelephoneEvent({ event, end: false, volume: 10, duration: 960 * i }),
          i === 1,
        );
        ts += 960;
        await sleep(20);
      }
      for (let k = 0; k < 3; k++)
        send(110, start, serializeTelephoneEvent({ event, end: true, volume: 10, duration: 960 * packets }));
    },
    close: () => {
      enc.close();
      sock.close();
      transport.close();
    },
  };
}

/** Whether this worker's consumers forward telephone-event at all (a consumer on a plain socket counts them). */
async function workerForwardsTelephoneEvent(): Promise<boolean> {
  const s = await sender();
  const rx = await udp();
  const out = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: false,
  });
  await out.connect({ ip: '127.0.0.1', port: rx.address().port });
  const consumer = await out.consume({ producerId: s.producer.id, rtpCapabilities: router.rtpCapabilities });
  let events = 0;
  let audio = 0;
  rx.on('message', (m) => {
    const pt = m[1]! & 0x7f;
    if (pt === 110) events++;
    if (pt === 111) audio++;
  });
  try {
    expect(consumer.rtpParameters.codecs.map((c) => c.mimeType)).toEqual([
      'audio/opus',
      'audio/telephone-event',
    ]);
    await s.speak(3);
    await s.key(1, 3);
    await sleep(200);
    expect(audio).toBe(3); // the path itself works
    return events > 0;
  } finally {
    rx.close();
    out.close();
    s.close();
  }
}

/** Which worker runs here (MEDIASOUP_WORKER_BIN may name another build): decided once, before the tests. */
let forwards = false;

describe('RFC 4733 from a Producer into the room mixer (router side)', () => {
  beforeAll(async () => {
    forwards = await workerForwardsTelephoneEvent();
  });

  it("the project's worker build forwards telephone-event through consumers", () => {
    expect(forwards).toBe(true);
  });

  it('the thread reads `*6` from the mixer-input consumer and hands each digit once to the endpoint', async () => {
    const thread = threads.threadFor('dtmf-room');
    const audio = await MixedRoomAudio.create({
      router,
      thread,
      roomId: 'dtmf-room',
      listenIp: '127.0.0.1',
      log: logger,
    });
    const s = await sender();
    const digits: Array<[string, number]> = [];
    const ep: AudioEndpoint = {
      participantId: 'web1',
      producer: s.producer,
      setSource: async () => undefined,
      onDtmf: (digit, ms) => digits.push([digit, ms]),
    };
    // a listener on PCMU, to prove telephone-event never reaches the mix as audio
    const listener: AudioEndpoint = {
      participantId: 'phone1',
      receiveMimeType: 'audio/PCMU',
      setSource: async () => undefined,
    };
    try {
      await audio.add(ep);
      await audio.add(listener);
      await s.speak(10);
      await s.key(10, 5); // '*', 100 ms
      await s.speak(5);
      await s.key(6, 6); // '6', 120 ms
      await s.speak(10);
      await sleep(300);
      const st = (await audio.stats()).participants.find((p) => p.participantId === 'web1')!;
      expect(st.packetsIn).toBeGreaterThanOrEqual(20); // the opus frames, and only those
      expect(st.receive?.decodeErrors).toBe(0);
      expect(digits).toEqual([
        ['*', 100],
        ['6', 120],
      ]);
      expect(st.dtmfPacketsIn).toBe(5 + 3 + 6 + 3);
    } finally {
      audio.close();
      s.close();
    }
  });
});
