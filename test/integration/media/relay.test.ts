/**
 * The RTP relay of a phone leg against the real mediasoup worker: a "phone" sends RTP with an SSRC it never
 * announced; the relay (in a media worker thread) learns it, the test then produces with it on the leg's
 * PlainTransport and the packets come out of a DirectTransport consumer. The return path goes DirectTransport
 * producer → consumer on the leg's PlainTransport → relay → phone. Also with SDES-SRTP ended in the relay (the "phone" being a
 * second PlainTransport with SRTP), across an SSRC change, and behind a NAT (phone sends from another port than its
 * SDP says).
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import * as mediasoup from 'mediasoup';
import { generateSdesKey } from '../../../src/media/sdp';
import type { types } from 'mediasoup';
import pino from 'pino';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import { MediaThreadPool } from '../../../src/media/mixer/media-thread-pool';
import type { MediaThread } from '../../../src/media/mixer/media-thread';

jest.setTimeout(30000);
const logger = pino({ level: 'silent' });
const LISTEN: types.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };
const PCMU: types.RtpCodecParameters = {
  mimeType: 'audio/PCMU',
  clockRate: 8000,
  payloadType: 0,
  channels: 1,
};

function randomSsrc(): number {
  return (Math.floor(Math.random() * 0xfffffff0) + 1) >>> 0;
}

function rtp(seq: number, ssrc: number, marker: number): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80;
  b[1] = 0; // PCMU
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.writeUInt32BE(marker >>> 0, 12); // our tag in the payload
  return b;
}

/** Our tag: the first payload word, after CSRCs and any header extension mediasoup added (RFC 3550 §5.3.1). */
function tagOf(pkt: Buffer): number {
  let off = 12 + (pkt[0]! & 0x0f) * 4;
  if (pkt[0]! & 0x10) off += 4 + pkt.readUInt16BE(off + 2) * 4;
  return pkt.readUInt32BE(off);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds (checked every 20 ms), at most `ms`. */
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

/** A bounded sender: `send(i)` every 20 ms until stop() or `max` packets. */
function pace(send: (i: number) => void, max = 500): { stop: () => void; count: () => number } {
  let i = 0;
  const t = setInterval(() => {
    if (i >= max) return clearInterval(t);
    send(i++);
  }, 20);
  return { stop: () => clearInterval(t), count: () => i };
}

describe('RTP relay ⇄ real mediasoup PlainTransport', () => {
  let worker: types.Worker;
  let router: types.Router;
  let pool: MediaThreadPool;
  let thread: MediaThread;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 42000, rtcMaxPort: 42999 });
    router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
    pool = await MediaThreadPool.create({ threads: 1, logger });
    thread = pool.threadFor('room');
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await pool.close();
    worker.close();
  });

  async function udp(): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
    return s;
  }

  async function leg(opts: {
    remote?: { ip: string; port: number };
    srtp?: { suite: 'AES_CM_128_HMAC_SHA1_80'; localKeyBase64: string; remoteKeyBase64: string };
  }) {
    const relay = await thread.createRelay({
      legId: `leg-${Math.random()}`,
      ip: '127.0.0.1',
      port: 0,
      remote: opts.remote,
      latch: true,
      ...(opts.srtp ? { srtp: opts.srtp } : {}),
    });
    cleanups.push(() => relay.close());
    // SDES-SRTP ends in the relay: the mediasoup side of a leg is always plain RTP
    const transport = await router.createPlainTransport({
      listenInfo: LISTEN,
      rtcpMux: true,
      comedia: false,
    });
    cleanups.push(() => transport.close());
    await relay.connectInner(transport.tuple.localIp, transport.tuple.localPort);
    await transport.connect({ ip: relay.innerIp, port: relay.innerPort });
    return { relay, transport };
  }

  /** Producer on the leg with the learnt SSRC, consumed by a DirectTransport; collects payload tags. */
  async function sink(
    transport: types.PlainTransport,
    ssrc: number,
    codecs: types.RtpCodecParameters[] = [PCMU],
  ) {
    const producer = await transport.produce({
      kind: 'audio',
      rtpParameters: { codecs, encodings: [{ ssrc }] },
    });
    const direct = await router.createDirectTransport();
    cleanups.push(() => direct.close());
    const consumer = await direct.consume({
      producerId: producer.id,
      rtpCapabilities: router.rtpCapabilities,
    });
    const tags: number[] = [];
    consumer.on('rtp', (pkt) => tags.push(tagOf(Buffer.from(pkt))));
    return { producer, tags };
  }

  /** DirectTransport producer → consumer on the leg: our return path source. */
  async function source(transport: types.PlainTransport) {
    const direct = await router.createDirectTransport();
    cleanups.push(() => direct.close());
    const ssrc = randomSsrc();
    const producer = await direct.produce({
      kind: 'audio',
      rtpParameters: { codecs: [PCMU], encodings: [{ ssrc }] },
    });
    const consumer = await transport.consume({
      producerId: producer.id,
      rtpCapabilities: router.rtpCapabilities,
    });
    return { producer, consumer, send: (i: number) => producer.send(rtp(i, ssrc, 0x70000000 + i)) };
  }

  it('learns an unannounced SSRC, carries it into mediasoup and back to the phone; follows an SSRC change', async () => {
    const phone = await udp();
    const { relay, transport } = await leg({ remote: { ip: '127.0.0.1', port: phone.address().port } });
    const ssrc1 = randomSsrc();
    const ssrcs: [number, number][] = [];
    relay.on('ssrc', (s, pt) => ssrcs.push([s, pt]));
    const firstSsrc = once(relay, 'ssrc');

    let ssrc = ssrc1;
    const sender = pace((i) => phone.send(rtp(i, ssrc, 0x10000000 + i), relay.port, '127.0.0.1'));
    cleanups.push(sender.stop);
    expect(await firstSsrc).toEqual([ssrc1, 0]);
    const s1 = await sink(transport, ssrc1);
    await until(() => s1.tags.length >= 10);
    // the consumer got exactly the phone's packets (tags are increasing phone sequence numbers)
    expect(s1.tags.every((t) => t >= 0x10000000 && t < 0x10000000 + sender.count())).toBe(true);
    expect(new Set(s1.tags).size).toBe(s1.tags.length);

    // return path
    const back: number[] = [];
    phone.on('message', (m, r) => {
      if (r.port === relay.port) back.push(tagOf(m));
    });
    const src = await source(transport);
    const ret = pace(src.send);
    cleanups.push(ret.stop);
    await until(() => back.length >= 10);
    expect(back.every((t) => t >= 0x70000000)).toBe(true);

    // SSRC change mid-stream (phones do it after a re-INVITE or a codec switch)
    const changed = once(relay, 'ssrc');
    const ssrc2 = (ssrc1 ^ 0x5a5a5a5a) >>> 0;
    ssrc = ssrc2;
    expect(await changed).toEqual([ssrc2, 0]);
    s1.producer.close();
    const s2 = await sink(transport, ssrc2);
    await until(() => s2.tags.length >= 10);
    expect(ssrcs).toEqual([
      [ssrc1, 0],
      [ssrc2, 0],
    ]);
    sender.stop();
    ret.stop();

    const st = await relay.stats();
    expect(st.ssrc).toBe(ssrc2);
    expect(st.packetsIn).toBeGreaterThanOrEqual(s1.tags.length + s2.tags.length);
    expect(st.packetsOut).toBeGreaterThanOrEqual(back.length);
    const tStats = (await transport.getStats())[0]!;
    expect(tStats.tuple.remotePort).toBe(relay.innerPort);
  });

  it('NAT: the phone sends from another port than its SDP says; latches to it and the return path follows', async () => {
    const decoy = await udp(); // the port the SDP announced
    const phone = await udp(); // where the phone really sends from
    const { relay, transport } = await leg({ remote: { ip: '127.0.0.1', port: decoy.address().port } });
    const atDecoy: number[] = [];
    decoy.on('message', (m) => atDecoy.push(tagOf(m)));
    const atPhone: number[] = [];
    phone.on('message', (m) => atPhone.push(tagOf(m)));

    // before the phone speaks, media goes to the SDP address (RFC 4961: until then we cannot know better)
    const early = await source(transport);
    const earlyPace = pace(early.send, 5);
    cleanups.push(earlyPace.stop);
    await until(() => atDecoy.length >= 3);
    earlyPace.stop();
    await sleep(60);
    const decoyBefore = atDecoy.length;

    const ssrc = randomSsrc();
    const latched = once(relay, 'latched');
    const learnt = once(relay, 'ssrc');
    const sender = pace((i) => phone.send(rtp(i, ssrc, 0x20000000 + i), relay.port, '127.0.0.1'));
    cleanups.push(sender.stop);
    expect(await latched).toEqual(['127.0.0.1', phone.address().port]);
    await learnt;
    const s = await sink(transport, ssrc);
    await until(() => s.tags.length >= 5);

    const ret = pace(early.send);
    cleanups.push(ret.stop);
    await until(() => atPhone.length >= 10);
    ret.stop();
    sender.stop();
    expect(atDecoy.length).toBe(decoyBefore);
    expect((await relay.stats()).latched).toEqual({ ip: '127.0.0.1', port: phone.address().port });
  });

  it('terminates SDES-SRTP against the SRTP of mediasoup itself (the phone is a PlainTransport with SRTP)', async () => {
    const phoneT = await router.createPlainTransport({
      listenInfo: LISTEN,
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
    });
    cleanups.push(() => phoneT.close());
    // each side decrypts with the other's key (what the SDP offer/answer a=crypto lines exchange)
    const ourKey = generateSdesKey('AES_CM_128_HMAC_SHA1_80');
    const { relay, transport } = await leg({
      remote: { ip: '127.0.0.1', port: phoneT.tuple.localPort },
      srtp: {
        suite: 'AES_CM_128_HMAC_SHA1_80',
        localKeyBase64: ourKey,
        remoteKeyBase64: phoneT.srtpParameters!.keyBase64,
      },
    });
    await phoneT.connect({
      ip: '127.0.0.1',
      port: relay.port,
      srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: ourKey },
    });

    // phone → leg: a DirectTransport producer consumed on the phone transport, SRTP out to the relay
    const learnt = once(relay, 'ssrc');
    const phoneSrc = await source(phoneT);
    const phoneSsrc = phoneSrc.consumer.rtpParameters.encodings![0]!.ssrc!;
    const sender = pace(phoneSrc.send);
    cleanups.push(sender.stop);
    const [ssrc, pt] = (await learnt) as [number, number];
    // the SSRC is read from the clear SRTP header (RFC 3711 §3.1) and is the phone's, never announced to the leg
    expect(ssrc).toBe(phoneSsrc);
    const legSink = await sink(transport, ssrc, [{ ...PCMU, payloadType: pt }]);
    await until(() => legSink.tags.length >= 10);
    expect(legSink.tags.every((t) => t >= 0x70000000)).toBe(true);

    // leg → phone: SRTP out of the leg, through the relay, decrypted by the phone transport
    const legSrc = await source(transport);
    const legSsrc = legSrc.consumer.rtpParameters.encodings![0]!.ssrc!;
    const phoneSink = await sink(phoneT, legSsrc, legSrc.consumer.rtpParameters.codecs);
    const ret = pace(legSrc.send);
    cleanups.push(ret.stop);
    await until(() => phoneSink.tags.length >= 10);
    ret.stop();
    sender.stop();

    const st = await relay.stats();
    expect(st.latched).toEqual({ ip: '127.0.0.1', port: phoneT.tuple.localPort });
    // SRTP adds a 10-byte auth tag to every RTP packet: the phone side carried the encrypted form, and none failed
    expect(st.bytesIn / st.packetsIn).toBeGreaterThan(172);
    expect(st.srtpFailures).toBe(0);
  });
});
