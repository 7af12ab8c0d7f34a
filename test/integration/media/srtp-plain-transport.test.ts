/**
 * The real mediasoup worker (built offline against Debian's libsrtp 2 with our 3.0 bridge) moves RTP through two
 * PlainTransports with SDES-SRTP: DirectTransport producer → consumer on A → SRTP over loopback → B → producer on B
 * → DirectTransport consumer. A wrong key on one side must stop the media, which shows the path is encrypted.
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';

const SUITES: types.SrtpCryptoSuite[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
];

function rtpPacket(seq: number, ssrc: number, pt: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = pt & 0x7f;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(seq * 160, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, payload]);
}

/** RTP payload: skips CSRCs and the header extension (mediasoup consumers add one), RFC 3550 §5.1/§5.3.1. */
function rtpPayload(p: Buffer): Buffer {
  let off = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) off += 4 + 4 * p.readUInt16BE(off + 2);
  return p.subarray(off);
}

describe('mediasoup worker: SRTP between two PlainTransports', () => {
  let worker: types.Worker;
  let router: types.Router;

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 41000, rtcMaxPort: 41999 });
    router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
  });
  afterAll(() => worker.close());

  it('router offers Opus, PCMU and H.264', () => {
    const mimes = router.rtpCapabilities.codecs!.map((c) => c.mimeType);
    expect(mimes).toEqual(expect.arrayContaining(['audio/opus', 'audio/PCMU', 'video/H264']));
  });

  async function pipe(suite: types.SrtpCryptoSuite, corruptKey: boolean) {
    const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };
    const a = await router.createPlainTransport({
      listenInfo,
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: suite,
    });
    const b = await router.createPlainTransport({
      listenInfo,
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: suite,
    });
    // connect() takes the REMOTE side's key: the one used to decrypt what arrives.
    const aKey = a.srtpParameters!;
    const aKeySeenByB = corruptKey
      ? {
          ...aKey,
          keyBase64: Buffer.from(Buffer.from(aKey.keyBase64, 'base64').map((x) => x ^ 0xff)).toString(
            'base64',
          ),
        }
      : aKey;
    await a.connect({ ip: '127.0.0.1', port: b.tuple.localPort, srtpParameters: b.srtpParameters! });
    await b.connect({ ip: '127.0.0.1', port: a.tuple.localPort, srtpParameters: aKeySeenByB });

    const directIn = await router.createDirectTransport();
    const ssrc = 0x11223344;
    const source = await directIn.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 }],
        encodings: [{ ssrc }],
      },
    });
    const aOut = await a.consume({ producerId: source.id, rtpCapabilities: router.rtpCapabilities });
    const bIn = await b.produce({
      kind: 'audio',
      rtpParameters: { codecs: aOut.rtpParameters.codecs, encodings: aOut.rtpParameters.encodings },
    });
    const directOut = await router.createDirectTransport();
    const sink = await directOut.consume({ producerId: bIn.id, rtpCapabilities: router.rtpCapabilities });
    await sink.resume();

    const received: Buffer[] = [];
    sink.on('rtp', (pkt) => received.push(Buffer.from(pkt)));
    const payloads: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const payload = Buffer.alloc(160, i);
      payloads.push(payload);
      source.send(rtpPacket(1000 + i, ssrc, 0, payload));
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300));
    const bStats = (await b.getStats())[0]!;
    const aStats = (await a.getStats())[0]!;
    for (const t of [a, b, directIn, directOut]) t.close();
    return { received, payloads, bStats, aStats };
  }

  it.each(SUITES)('delivers decrypted RTP with %s', async (suite) => {
    const { received, payloads, aStats, bStats } = await pipe(suite, false);
    expect(aStats.bytesSent).toBeGreaterThan(0);
    expect(bStats.bytesReceived).toBeGreaterThan(0);
    expect(received.length).toBeGreaterThanOrEqual(30);
    // The payload is the plaintext we sent (SRTP adds and strips its auth tag), in order.
    const got = received.map((p) => rtpPayload(p).toString('hex'));
    expect(got.every((g) => payloads.some((p) => p.toString('hex') === g))).toBe(true);
    expect(new Set(got).size).toBe(got.length);
    expect(rtpPayload(received[0]!).length).toBe(160);
  });

  it('drops media when the receiver has the wrong key (the path is really encrypted)', async () => {
    const { received, aStats } = await pipe('AES_CM_128_HMAC_SHA1_80', true);
    expect(aStats.bytesSent).toBeGreaterThan(0);
    expect(received).toHaveLength(0);
  });
});
