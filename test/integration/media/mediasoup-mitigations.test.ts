/**
 * mediasoup 3.19.3 mitigations (issue 14; src/media/mediasoup/mediasoup-mitigations.ts), on the real worker:
 * - the dependency-descriptor RTP header extension (whose handling in 3.19.3 has an out-of-bounds write) and AV1
 *   are in no capabilities a page or an SDP answer gets, although the router itself lists the extension;
 * - a browser that produces with them anyway: AV1 refused with the catalogue's MEDIA_UNSUPPORTED_PARAMETERS, the
 *   extension stripped from what the worker is given; a consumer whose capabilities claim it never gets it;
 * - no transport Parley creates has SCTP (DataChannels): checked on every transport the router reports while a
 *   browser peer, a forwarded phone leg, a phone leg with an SFU tap and a mix with router members are built, and
 *   in the source (every transport creation says `enableSctp: false`).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import pino from 'pino';
import { AppError } from '../../../src/errors/app-error';
import {
  DEPENDENCY_DESCRIPTOR_URI,
  mitigatedCapabilities,
} from '../../../src/media/mediasoup/mediasoup-mitigations';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import { MediaThreadPool } from '../../../src/media/mixer/media-thread-pool';
import { RoomLegFactory } from '../../../src/media/room-leg-factory';
import { PortAllocator } from '../../../src/media/rtp/port-allocator';
import { acceptedMedia, negotiate } from '../../../src/media/sdp';
import { WebRtcPeer } from '../../../src/media/webrtc/webrtc-peer';

jest.setTimeout(30000);
const logger = pino({ level: 'silent' });

let worker: types.Worker;
let router: types.Router;
let webRtcServer: types.WebRtcServer;
let threads: MediaThreadPool;
const transports: types.Transport[] = [];

const hasDd = (exts: ReadonlyArray<{ uri: string }> | undefined): boolean =>
  (exts ?? []).some((h) => h.uri === DEPENDENCY_DESCRIPTOR_URI);

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  webRtcServer = await worker.createWebRtcServer({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
  router.observer.on('newtransport', (t) => transports.push(t));
  threads = await MediaThreadPool.create({ threads: 1, logger });
});
afterAll(async () => {
  await threads.close();
  worker.close();
});

test('the router lists the dependency descriptor; nothing a page or an SDP answer gets does, nor AV1', () => {
  // The precondition that makes the filter matter: mediasoup 3.19.3 offers the extension for video.
  expect(hasDd(router.rtpCapabilities.headerExtensions)).toBe(true);
  const caps = mitigatedCapabilities(router.rtpCapabilities);
  expect(hasDd(caps.headerExtensions)).toBe(false);
  expect((caps.codecs ?? []).map((c) => c.mimeType.toLowerCase())).not.toContain('video/av1');
  // Everything else is kept (the filter removes nothing by accident).
  expect(caps.codecs).toEqual(router.rtpCapabilities.codecs);
  expect(caps.headerExtensions!.length).toBe(router.rtpCapabilities.headerExtensions!.length - 1);

  const legs = new RoomLegFactory({
    router,
    thread: threads.threadFor('caps'),
    ports: new PortAllocator(47500, 47599),
    listenIp: '127.0.0.1',
    latch: true,
    audio: 'thread',
    webRtcServer,
  });
  expect(legs.webRtc).toBeDefined();
  expect(hasDd(legs.webRtc!.headerExtensions)).toBe(false);
});

test('a browser peer: capabilities without it; AV1 refused; the extension stripped from a producer and a consumer', async () => {
  const peer = await WebRtcPeer.create({ router, webRtcServer, log: logger });
  try {
    expect(hasDd(peer.routerRtpCapabilities.headerExtensions)).toBe(false);
    const ddId = 11;
    const vp8: types.RtpParameters = {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [{ ssrc: 1111 }],
      headerExtensions: [
        { uri: DEPENDENCY_DESCRIPTOR_URI, id: ddId },
        { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
      ],
      rtcp: { cname: 'x' },
    };
    const producer = await peer.produce(peer.send.id, 'video', vp8, 'camera');
    expect(producer.rtpParameters.headerExtensions?.map((h) => h.uri)).toEqual([
      'urn:ietf:params:rtp-hdrext:sdes:mid',
    ]);

    const av1: types.RtpParameters = {
      codecs: [{ mimeType: 'video/AV1', payloadType: 45, clockRate: 90000 }],
      encodings: [{ ssrc: 2222 }],
      rtcp: { cname: 'x' },
    };
    const refused = await peer.produce(peer.send.id, 'video', av1, 'camera').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('MEDIA_UNSUPPORTED_PARAMETERS');

    // A consumer whose (page-sent) capabilities claim the extension still never gets it.
    const producer2 = await peer.produce(peer.send.id, 'video', vp8, 'camera');
    const consumer = await peer.consume(producer2, router.rtpCapabilities);
    expect(consumer).toBeDefined();
    expect(hasDd(consumer!.rtpParameters.headerExtensions)).toBe(false);
  } finally {
    peer.close();
  }
});

test('no transport Parley builds has SCTP: browser peer, forwarded leg, thread leg with an SFU tap', async () => {
  const before = transports.length;
  const peer = await WebRtcPeer.create({ router, webRtcServer, log: logger });
  const ports = new PortAllocator(47600, 47699);
  const offer = (port: number): string =>
    `v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=sendrecv\r\n`;
  const built = [];
  try {
    for (const audio of ['router', 'thread'] as const) {
      const legs = new RoomLegFactory({
        router,
        thread: threads.threadFor('sctp'),
        ports,
        listenIp: '127.0.0.1',
        latch: true,
        audio,
      });
      const media = acceptedMedia(
        negotiate(offer(40000 + built.length), { codecs: legs.codecs }, { signallingSourceIp: '127.0.0.1' }),
      )[0]!;
      const leg = await legs.create({ media, kind: 'audio', log: logger });
      built.push(leg);
      // The thread leg's SFU tap builds a PlainTransport on the router (its Producer waits for the phone's SSRC).
      if (audio === 'thread') void leg.acquireProducer().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 300));
    const made = transports.slice(before);
    // The peer's two WebRtcTransports, the forwarded leg's and the tap's PlainTransports.
    expect(made.length).toBeGreaterThanOrEqual(4);
    for (const t of made) {
      const d = (await t.dump()) as { sctpParameters?: unknown; sctpState?: unknown };
      expect({ id: t.id, sctp: d.sctpParameters ?? null }).toEqual({ id: t.id, sctp: null });
    }
  } finally {
    for (const leg of built) leg.releaseProducer();
    for (const leg of built) leg.close();
    peer.close();
  }
});

test('every transport creation in src/ turns SCTP off explicitly', () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(__dirname, '../../../src'));
  let calls = 0;
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    const re = /\.create(WebRtc|Plain|Pipe|Direct)Transport\(\{([\s\S]*?)\}\)/g;
    for (let m = re.exec(src); m; m = re.exec(src)) {
      calls++;
      expect({ file: f, sctpOff: /enableSctp:\s*false/.test(m[2]!) }).toEqual({ file: f, sctpOff: true });
    }
  }
  expect(calls).toBeGreaterThanOrEqual(6);
});
