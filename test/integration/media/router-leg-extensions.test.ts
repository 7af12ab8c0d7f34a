/**
 * Forwarded audio (RouterRtpLeg through mediasoup PlainTransports): what reaches a phone must carry nothing it did
 * not negotiate. mediasoup 3.19 consumers put the MID header extension on every packet when the consumer's RTP
 * parameters carry a `mid`; a phone that never offered a=extmap would read it as payload (noise).
 */
import dgram from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import pino from 'pino';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import type { MediaLeg } from '../../../src/media/media-leg';
import { MediaThreadPool } from '../../../src/media/mixer/media-thread-pool';
import { ForwardingRoomAudio } from '../../../src/media/room-audio/room-audio';
import type { AudioEndpoint } from '../../../src/media/room-audio/room-audio';
import { RoomLegFactory } from '../../../src/media/room-leg-factory';
import { PortAllocator } from '../../../src/media/rtp/port-allocator';
import { acceptedMedia, negotiate } from '../../../src/media/sdp';

jest.setTimeout(30000);
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

test('a forwarded stream reaches the phone without RTP header extensions, with the negotiated PT', async () => {
  const legs = new RoomLegFactory({
    router,
    thread: threads.threadFor('fwd'),
    ports: new PortAllocator(47000, 47499),
    listenIp: '127.0.0.1',
    latch: true,
    audio: 'router',
  });
  const audio = new ForwardingRoomAudio();
  const socks: dgram.Socket[] = [];
  const opened: MediaLeg[] = [];
  const got: Buffer[][] = [[], []];
  try {
    for (let i = 0; i < 2; i++) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      s.on('message', (m) => got[i]!.push(m));
      socks.push(s);
      const offer = `v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${s.address().port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=sendrecv\r\n`;
      const media = acceptedMedia(
        negotiate(offer, { codecs: legs.codecs }, { signallingSourceIp: '127.0.0.1' }),
      )[0]!;
      const leg = await legs.create({ media, kind: 'audio', log: logger });
      opened.push(leg);
      const ep: AudioEndpoint = {
        participantId: `p${i}`,
        get producer() {
          return leg.producer;
        },
        receiveMimeType: 'audio/PCMU',
        setSource: (id) => leg.setSource(id),
      };
      leg.on('producer', () => void audio.producerChanged(ep));
      await audio.add(ep);
    }
    const ssrc = [0x1234, 0x5678];
    for (let n = 0; n < 50; n++) {
      for (let i = 0; i < 2; i++) {
        const h = Buffer.alloc(172, 0xd5);
        h[0] = 0x80;
        h[1] = 0;
        h.writeUInt16BE(n, 2);
        h.writeUInt32BE(n * 160, 4);
        h.writeUInt32BE(ssrc[i]!, 8);
        socks[i]!.send(h, opened[i]!.localPort, '127.0.0.1');
      }
      await sleep(20);
    }
    await sleep(200);
    for (const list of got) {
      const rtp = list.filter((m) => m.length >= 12 && !((m[1]! & 0x7f) >= 72 && (m[1]! & 0x7f) <= 79));
      expect(rtp.length).toBeGreaterThan(20);
      expect(rtp.filter((m) => (m[0]! & 0x10) !== 0)).toHaveLength(0); // no X bit
      expect(new Set(rtp.map((m) => m[1]! & 0x7f))).toEqual(new Set([0]));
      expect(rtp.every((m) => m.length === 172)).toBe(true); // payload untouched, nothing added
    }
  } finally {
    for (const l of opened) l.close();
    for (const s of socks) s.close();
  }
});
