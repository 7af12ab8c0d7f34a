/**
 * @parley/srtp against a real SRTP peer: the mediasoup worker's SDES PlainTransport, over loopback, all four suites.
 *   phone → Parley: our binding protects with OUR key (handed to mediasoup by connect(), as SDP a=crypto would) →
 *     PlainTransport(SRTP) → Producer → Consumer on a plain PlainTransport → our clear socket: payloads byte-exact.
 *   Parley → phone: DirectTransport producer → Consumer on the SRTP PlainTransport → mediasoup encrypts with ITS key
 *     (transport.srtpParameters) → our binding's inbound session opens it: payloads byte-exact.
 *   SRTCP both ways: mediasoup's own sender reports open with our inbound session; our receiver report, protected
 *     by our outbound session, reaches the consumer's statistics.
 * A foreign key or a flipped bit must stop the media (the path is really authenticated).
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { SrtpSession, generateKeyBase64 } from '@parley/srtp';
import type { SrtpSuite } from '@parley/srtp';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';

const SUITES: SrtpSuite[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
];
const LOCALHOST = '127.0.0.1';
const PCMU: types.RtpCodecParameters = { mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 };
const COUNT = 50;

function rtpPacket(seq: number, ssrc: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = 0;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE((seq * 160) >>> 0, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, payload]);
}

/** RTP payload: skips CSRCs and the header extension (mediasoup consumers add one), RFC 3550 §5.1/§5.3.1. */
function rtpPayload(p: Buffer): Buffer {
  let off = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) off += 4 + 4 * p.readUInt16BE(off + 2);
  return p.subarray(off);
}

/** RFC 5761 §4: with rtcp-mux, RTCP packet types 192–223 sit where RTP would have marker+PT. */
const isRtcp = (p: Buffer) => p.length >= 2 && p[1]! >= 192 && p[1]! <= 223;

/** An RTCP receiver report (RFC 3550 §6.4.2) from `from` about `about`: `lost` packets lost in all. */
function receiverReport(from: number, about: number, lost: number, highestSeq: number): Buffer {
  const p = Buffer.alloc(32);
  p[0] = 0x81;
  p[1] = 201;
  p.writeUInt16BE(7, 2);
  p.writeUInt32BE(from, 4);
  p.writeUInt32BE(about, 8);
  p.writeUInt32BE((0x10 << 24) | lost, 12);
  p.writeUInt32BE(highestSeq, 16);
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

async function udpSocket(): Promise<{ sock: dgram.Socket; port: number; packets: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  const packets: Buffer[] = [];
  sock.on('message', (m) => packets.push(Buffer.from(m)));
  await new Promise<void>((resolve) => sock.bind(0, LOCALHOST, resolve));
  return { sock, port: (sock.address() as AddressInfo).port, packets };
}

describe('@parley/srtp ⇄ mediasoup PlainTransport (SDES-SRTP, loopback)', () => {
  let worker: types.Worker;
  let router: types.Router;

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 44000, rtcMaxPort: 44999 });
    router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
  });
  afterAll(() => worker.close());

  /** One phone leg: mediasoup's SRTP transport ⇄ our SRTP socket, plus a clear transport ⇄ our clear socket. */
  async function leg(suite: SrtpSuite) {
    const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: LOCALHOST };
    const srtpSide = await udpSocket();
    const clearSide = await udpSocket();
    const tSrtp = await router.createPlainTransport({
      listenInfo,
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: suite,
    });
    const tClear = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
    // connect() takes the REMOTE side's key (the one mediasoup decrypts with): OUR outbound key.
    const ourKey = generateKeyBase64(suite);
    await tSrtp.connect({
      ip: LOCALHOST,
      port: srtpSide.port,
      srtpParameters: { cryptoSuite: suite, keyBase64: ourKey },
    });
    await tClear.connect({ ip: LOCALHOST, port: clearSide.port });
    expect(tSrtp.srtpParameters!.cryptoSuite).toBe(suite);
    const out = new SrtpSession({ suite, keyBase64: ourKey, direction: 'outbound' });
    const inb = new SrtpSession({ suite, keyBase64: tSrtp.srtpParameters!.keyBase64, direction: 'inbound' });
    const sendSrtp = (p: Buffer) => srtpSide.sock.send(p, tSrtp.tuple.localPort, LOCALHOST);
    const close = () => {
      for (const t of [tSrtp, tClear]) t.close();
      srtpSide.sock.close();
      clearSide.sock.close();
      out.close();
      inb.close();
    };
    return { tSrtp, tClear, srtpSide, clearSide, out, inb, sendSrtp, close };
  }

  it.each(SUITES)('%s: SRTP our binding protects is decrypted by mediasoup, byte-exact', async (suite) => {
    const l = await leg(suite);
    try {
      const ssrc = 0x0a0b0c0d;
      const producer = await l.tSrtp.produce({
        kind: 'audio',
        rtpParameters: { codecs: [PCMU], encodings: [{ ssrc }] },
      });
      await l.tClear.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });

      const payloads = Array.from({ length: COUNT }, () => crypto.randomBytes(160));
      for (let i = 0; i < COUNT; i++) {
        const srtp = l.out.protectRtp(rtpPacket(2000 + i, ssrc, payloads[i]!));
        expect(srtp.includes(payloads[i]!)).toBe(false);
        l.sendSrtp(srtp);
        await sleep(2);
      }
      const rtp = () => l.clearSide.packets.filter((p) => !isRtcp(p));
      await until(() => rtp().length >= COUNT, 3000);
      const got = rtp().map((p) => rtpPayload(p).toString('hex'));
      expect(got).toEqual(payloads.map((p) => p.toString('hex')));

      // A packet under a foreign key, or with one bit flipped, does not get through.
      const stranger = new SrtpSession({ suite, keyBase64: generateKeyBase64(suite), direction: 'outbound' });
      const before = rtp().length;
      for (let i = 0; i < 5; i++)
        l.sendSrtp(stranger.protectRtp(rtpPacket(3000 + i, ssrc, crypto.randomBytes(160))));
      const flipped = l.out.protectRtp(rtpPacket(4000, ssrc, crypto.randomBytes(160)));
      flipped[30] ^= 0x04;
      l.sendSrtp(flipped);
      // ...while a genuine one sent after them still does (so the wait below is long enough to see them).
      const last = crypto.randomBytes(160);
      l.sendSrtp(l.out.protectRtp(rtpPacket(4001, ssrc, last)));
      await until(() => rtp().length > before, 3000);
      await sleep(100);
      const after = rtp().slice(before);
      expect(after.map((p) => rtpPayload(p).toString('hex'))).toEqual([last.toString('hex')]);
      stranger.close();
    } finally {
      l.close();
    }
  });

  it.each(SUITES)(
    '%s: SRTP/SRTCP mediasoup protects is opened by our binding, and our SRTCP reaches it',
    async (suite) => {
      const l = await leg(suite);
      try {
        const direct = await router.createDirectTransport();
        const ssrc = 0x01020304;
        const source = await direct.produce({
          kind: 'audio',
          rtpParameters: { codecs: [PCMU], encodings: [{ ssrc }] },
        });
        const consumer = await l.tSrtp.consume({
          producerId: source.id,
          rtpCapabilities: router.rtpCapabilities,
        });
        const consumerSsrc = consumer.rtpParameters.encodings![0]!.ssrc!;

        const payloads = Array.from({ length: COUNT }, () => crypto.randomBytes(160));
        for (let i = 0; i < COUNT; i++) {
          source.send(rtpPacket(500 + i, ssrc, payloads[i]!));
          await sleep(2);
        }
        const rtp = () => l.srtpSide.packets.filter((p) => !isRtcp(p));
        await until(() => rtp().length >= COUNT, 3000);
        expect(rtp()).toHaveLength(COUNT);
        for (let i = 0; i < COUNT; i++) expect(rtp()[i]!.includes(payloads[i]!)).toBe(false); // really encrypted
        const opened = rtp().map((p) => l.inb.unprotectRtp(p));
        expect(opened.every((p) => p !== null && p.readUInt32BE(8) === consumerSsrc)).toBe(true);
        expect(opened.map((p) => rtpPayload(p!).toString('hex'))).toEqual(
          payloads.map((p) => p.toString('hex')),
        );
        // A flipped bit or a replay is refused.
        const copy = Buffer.from(rtp()[0]!);
        expect(l.inb.unprotectRtp(copy)).toBeNull(); // replay
        const bad = Buffer.from(rtp()[COUNT - 1]!);
        bad[bad.length - 1] ^= 0x01;
        expect(l.inb.unprotectRtp(bad)).toBeNull();

        // mediasoup's RTCP sender report for the consumer's stream (sent on its RTCP timer, within a few seconds).
        // Each SRTCP packet is opened exactly once: a second unprotect would be a replay.
        const srtcp = () => l.srtpSide.packets.filter(isRtcp);
        const rtcpOpened: Array<Buffer | null> = [];
        const fullSenderReport = () => {
          for (const p of srtcp().slice(rtcpOpened.length)) rtcpOpened.push(l.inb.unprotectRtcp(p));
          // SR (RFC 3550 §6.4.1): sender SSRC at 4, sender's packet count at 20.
          return rtcpOpened.some(
            (p) => p?.[1] === 200 && p.readUInt32BE(4) === consumerSsrc && p.readUInt32BE(20) === COUNT,
          );
        };
        expect(await until(fullSenderReport, 8000)).toBe(true);
        expect(rtcpOpened.every((p) => p !== null)).toBe(true);
        const replays = srtcp()
          .slice(0, rtcpOpened.length)
          .map((p) => l.inb.unprotectRtcp(p));
        expect(replays.every((p) => p === null)).toBe(true);

        // Our receiver report about that stream, protected by our outbound session, lands in mediasoup's stats.
        const before = (await consumer.getStats())[0]!;
        expect(before.packetsLost).toBe(0);
        l.sendSrtp(l.out.protectRtcp(receiverReport(0x0a0b0c0d, consumerSsrc, 7, 500 + COUNT - 1)));
        expect(await until(async () => (await consumer.getStats())[0]!.packetsLost === 7, 3000)).toBe(true);
        // ...and one under a foreign key is ignored.
        const stranger = new SrtpSession({
          suite,
          keyBase64: generateKeyBase64(suite),
          direction: 'outbound',
        });
        l.sendSrtp(stranger.protectRtcp(receiverReport(0x0a0b0c0d, consumerSsrc, 99, 500 + COUNT - 1)));
        l.sendSrtp(l.out.protectRtcp(receiverReport(0x0a0b0c0d, consumerSsrc, 8, 500 + COUNT - 1)));
        expect(await until(async () => (await consumer.getStats())[0]!.packetsLost === 8, 3000)).toBe(true);
        stranger.close();
        direct.close();
      } finally {
        l.close();
      }
    },
  );
});
