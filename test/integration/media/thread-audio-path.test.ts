/**
 * Phones mixed in the room's media thread, with no mediasoup hop (ThreadAudioLeg + MixedRoomAudio), on real
 * sockets, a real media thread and libsrtp: each Node "phone" offers SDP, gets a leg negotiated from it, sends a
 * 407 Hz (or 613 Hz) G.711 tone paced by the wall clock, and decodes what it receives.
 * Checks: each hears the other and not itself; what reaches a phone carries exactly the negotiated payload type
 * and no RTP header extension; SDES-SRTP in all four suites both ways (and a wrong key is heard as nothing);
 * RFC 4733 digits inside SRTP; hold stops what the held phone is sent and keeps its music out of the room.
 */
import dgram from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import pino from 'pino';
import { SrtpSession } from '@parley/srtp';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import type { MediaLeg } from '../../../src/media/media-leg';
import { MediaThreadPool } from '../../../src/media/mixer/media-thread-pool';
import { MixedRoomAudio } from '../../../src/media/room-audio/mixed-room-audio';
import type { AudioEndpoint } from '../../../src/media/room-audio/room-audio';
import { RoomLegFactory } from '../../../src/media/room-leg-factory';
import { PortAllocator } from '../../../src/media/rtp/port-allocator';
import { acceptedMedia, generateSdesKey, negotiate, type AcceptedMedia } from '../../../src/media/sdp';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from '../../../workers/mixer/codec/g711';
import { serializeTelephoneEvent } from '../../../workers/mixer/dtmf';
import { toneDb, ToneSource } from '../../support/tone-analysis';

jest.setTimeout(60000);
const logger = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Suite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32' | 'AEAD_AES_128_GCM' | 'AEAD_AES_256_GCM';

interface PhoneOpts {
  codec: 'PCMU' | 'PCMA';
  /** The payload type this phone uses for telephone-event (dynamic: any number it likes). */
  dtmfPt?: number;
  srtp?: Suite;
  tone: number | null;
}

/** A test phone: one UDP socket, an SDP offer, wall-clock paced G.711 sending, decoding of what it hears. */
class Phone {
  readonly key?: string;
  heard: Int16Array[] = [];
  payloadTypes = new Set<number>();
  extensions = 0;
  received = 0;
  undecryptable = 0;
  private inbound?: SrtpSession;
  private outbound?: SrtpSession;
  private seq = 1000;
  private ts = 5000;
  readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  private timer?: NodeJS.Timeout;
  private target?: { ip: string; port: number };
  readonly source: ToneSource;
  readonly sources = new Set<number>();

  private constructor(
    readonly sock: dgram.Socket,
    readonly opts: PhoneOpts,
  ) {
    this.source = new ToneSource(opts.tone, 8000, 0.25);
    if (opts.srtp) {
      this.key = generateSdesKey(opts.srtp);
      this.outbound = new SrtpSession({ suite: opts.srtp, keyBase64: this.key, direction: 'outbound' });
    }
    sock.on('message', (msg, rinfo) => {
      this.sources.add(rinfo.port);
      this.onPacket(msg);
    });
  }

  static async open(opts: PhoneOpts): Promise<Phone> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new Phone(sock, opts);
  }

  get pt(): number {
    return this.opts.codec === 'PCMU' ? 0 : 8;
  }

  offer(): string {
    const port = this.sock.address().port;
    const proto = this.opts.srtp ? 'RTP/SAVP' : 'RTP/AVP';
    const fmts = [this.pt, ...(this.opts.dtmfPt !== undefined ? [this.opts.dtmfPt] : [])].join(' ');
    return [
      'v=0',
      'o=phone 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port} ${proto} ${fmts}`,
      `a=rtpmap:${this.pt} ${this.opts.codec}/8000`,
      ...(this.opts.dtmfPt !== undefined
        ? [`a=rtpmap:${this.opts.dtmfPt} telephone-event/8000`, `a=fmtp:${this.opts.dtmfPt} 0-15`]
        : []),
      ...(this.opts.srtp ? [`a=crypto:1 ${this.opts.srtp} inline:${this.key}`] : []),
      'a=rtcp-mux',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  /** Our answer's key (the leg's) for what we receive. */
  answered(leg: MediaLeg): void {
    this.target = { ip: '127.0.0.1', port: leg.localPort };
    if (this.opts.srtp)
      this.inbound = new SrtpSession({
        suite: this.opts.srtp,
        keyBase64: leg.srtpKeyBase64!,
        direction: 'inbound',
      });
  }

  /** Sends 20 ms frames on the wall clock (catching up after a late timer, never drifting). */
  start(): void {
    const t0 = Date.now();
    let sent = 0;
    const run = (): void => {
      const due = Math.floor((Date.now() - t0) / 20) + 1;
      while (sent < due) {
        this.sendFrame();
        sent++;
      }
      this.timer = setTimeout(run, 20 - ((Date.now() - t0) % 20));
    };
    run();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  sendRaw(rtp: Buffer): void {
    const out = this.outbound ? this.outbound.protectRtp(rtp) : rtp;
    this.sock.send(out, this.target!.port, this.target!.ip);
  }

  rtp(pt: number, payload: Buffer, marker = false, ts = this.ts): Buffer {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | pt;
    h.writeUInt16BE(this.seq++ & 0xffff, 2);
    h.writeUInt32BE(ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    return Buffer.concat([h, payload]);
  }

  private sendFrame(): void {
    const pcm = this.source.next(160);
    const payload = this.opts.codec === 'PCMU' ? encodeUlaw(pcm) : encodeAlaw(pcm);
    this.sendRaw(this.rtp(this.pt, Buffer.from(payload)));
    this.ts += 160;
  }

  /** RFC 4733 digit: three packets of the event, three end packets (§2.5.1.4). */
  async digit(d: string): Promise<void> {
    const start = this.ts;
    for (let i = 1; i <= 6; i++) {
      const end = i > 3;
      const payload = serializeTelephoneEvent({
        event: Number(d),
        end,
        volume: 10,
        duration: Math.min(i, 3) * 160,
      });
      this.sendRaw(this.rtp(this.opts.dtmfPt!, Buffer.from(payload), i === 1, start));
      await sleep(20);
    }
  }

  /** Sender reports received (RTCP PT 200, after SRTCP unprotect): [sender SSRC, report block SSRC or null]. */
  senderReports: Array<{ ssrc: number; packets: number; reportOn: number | null; cname: string }> = [];

  private onPacket(msg: Buffer): void {
    const pt = msg[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) {
      const rtcp = this.inbound ? this.inbound.unprotectRtcp(msg) : msg;
      if (!rtcp) {
        this.undecryptable++;
        return;
      }
      if (rtcp[1] === 200) {
        const rc = rtcp[0]! & 0x1f;
        const sdes = 28 + rc * 24;
        this.senderReports.push({
          ssrc: rtcp.readUInt32BE(4),
          packets: rtcp.readUInt32BE(20),
          reportOn: rc ? rtcp.readUInt32BE(28) : null,
          cname:
            rtcp[sdes + 1] === 202 ? rtcp.subarray(sdes + 10, sdes + 10 + rtcp[sdes + 9]!).toString() : '',
        });
      }
      return;
    }
    let clear: Buffer | null = msg;
    if (this.inbound) clear = this.inbound.unprotectRtp(msg);
    if (!clear) {
      this.undecryptable++;
      return;
    }
    this.received++;
    this.payloadTypes.add(clear[1]! & 0x7f);
    if (clear[0]! & 0x10) this.extensions++;
    const payload = clear.subarray(12 + (clear[0]! & 0x0f) * 4);
    this.heard.push(this.opts.codec === 'PCMU' ? decodeUlaw(payload) : decodeAlaw(payload));
  }

  /** What it heard since `from` packets, as one PCM block. */
  pcmSince(from: number): Int16Array {
    const parts = this.heard.slice(from);
    const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  close(): void {
    this.stop();
    this.sock.close();
    this.inbound?.close();
    this.outbound?.close();
  }
}

let worker: types.Worker;
let router: types.Router;
let threads: MediaThreadPool;
const ports = new PortAllocator(46000, 46999);

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
  threads = await MediaThreadPool.create({ threads: 1, logger });
});

afterAll(async () => {
  await threads.close();
  worker.close();
});

let roomSeq = 0;

async function room(): Promise<{
  audio: MixedRoomAudio;
  join: (p: Phone) => Promise<{ leg: MediaLeg; ep: AudioEndpoint; media: AcceptedMedia }>;
  close: () => void;
}> {
  const thread = threads.threadFor(`r${++roomSeq}`);
  const audio = await MixedRoomAudio.create({
    router,
    thread,
    roomId: `r${roomSeq}`,
    listenIp: '127.0.0.1',
    log: logger,
  });
  const legs = new RoomLegFactory({
    router,
    thread,
    ports,
    listenIp: '127.0.0.1',
    latch: true,
    audio: 'thread',
  });
  const opened: MediaLeg[] = [];
  let pid = 0;
  return {
    audio,
    join: async (p) => {
      const neg = negotiate(p.offer(), { codecs: legs.codecs }, { signallingSourceIp: '127.0.0.1' });
      const media = acceptedMedia(neg).find((m) => m.kind === 'audio')!;
      const leg = await legs.create({ media, kind: 'audio', log: logger });
      opened.push(leg);
      p.answered(leg);
      const id = `p${++pid}`;
      const ep: AudioEndpoint = {
        participantId: id,
        get mixerLeg() {
          return leg.mixerLeg;
        },
        receiveMimeType: media.codec.mimeType,
        setSource: async () => undefined,
      };
      await audio.add(ep);
      return { leg, ep, media };
    },
    close: () => {
      for (const l of opened) l.close();
      audio.close();
    },
  };
}

async function until(pred: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

test('two plain phones (PCMU and PCMA) hear each other, not themselves; exactly their PTs, no header extension', async () => {
  const r = await room();
  const a = await Phone.open({ codec: 'PCMU', tone: 407, dtmfPt: 96 });
  const b = await Phone.open({ codec: 'PCMA', tone: 613, dtmfPt: 101 });
  try {
    await r.join(a);
    await r.join(b);
    a.start();
    b.start();
    await until(() => a.received > 60 && b.received > 60);
    const fromA = a.heard.length;
    const fromB = b.heard.length;
    await sleep(1200);
    const heardByA = a.pcmSince(fromA);
    const heardByB = b.pcmSince(fromB);
    expect(toneDb(heardByB, 8000, 407)).toBeGreaterThan(-20); // A's tone at B (sent at -12 dBFS)
    expect(toneDb(heardByA, 8000, 613)).toBeGreaterThan(-20);
    expect(toneDb(heardByA, 8000, 407)).toBeLessThan(-45); // mix-minus: A never hears itself
    expect(toneDb(heardByB, 8000, 613)).toBeLessThan(-45);
    expect([...a.payloadTypes]).toEqual([0]);
    expect([...b.payloadTypes]).toEqual([8]);
    expect(a.extensions + b.extensions).toBe(0);
  } finally {
    a.close();
    b.close();
    r.close();
  }
});

describe.each<Suite>([
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
])('SDES-SRTP %s terminated in the thread', (suite) => {
  test('an SRTP phone and a plain phone hear each other; its RFC 4733 digits are decoded', async () => {
    const r = await room();
    const s = await Phone.open({ codec: 'PCMU', tone: 407, srtp: suite, dtmfPt: 101 });
    const p = await Phone.open({ codec: 'PCMU', tone: 613 });
    try {
      const { leg } = await r.join(s);
      await r.join(p);
      const digits: string[] = [];
      leg.on('dtmf', (d) => digits.push(d));
      s.start();
      p.start();
      await until(() => s.received > 60 && p.received > 60);
      const fromS = s.heard.length;
      const fromP = p.heard.length;
      await sleep(1000);
      expect(toneDb(p.pcmSince(fromP), 8000, 407)).toBeGreaterThan(-20);
      expect(toneDb(s.pcmSince(fromS), 8000, 613)).toBeGreaterThan(-20);
      expect(s.undecryptable).toBe(0);
      await s.digit('5');
      await until(() => digits.length > 0, 3000);
      expect(digits).toEqual(['5']);
    } finally {
      s.close();
      p.close();
      r.close();
    }
  });
});

test('SRTP with a wrong key: nothing of it reaches the room (authentication fails), the rest still works', async () => {
  const r = await room();
  const s = await Phone.open({ codec: 'PCMU', tone: 407, srtp: 'AES_CM_128_HMAC_SHA1_80' });
  const p = await Phone.open({ codec: 'PCMU', tone: null });
  try {
    const offer = s.offer.bind(s);
    // the phone announces one key and encrypts with another
    s.offer = () =>
      offer().replace(/inline:[^\r\n]+/, `inline:${generateSdesKey('AES_CM_128_HMAC_SHA1_80')}`);
    await r.join(s);
    const { leg: pLeg } = await r.join(p);
    s.start();
    p.start();
    await until(() => p.received > 60);
    const from = p.heard.length;
    await sleep(1000);
    expect([...p.sources]).toEqual([pLeg.localPort]); // only its own leg ever sends to it
    expect(toneDb(p.pcmSince(from), 8000, 407)).toBeLessThan(-45);
  } finally {
    s.close();
    p.close();
    r.close();
  }
});

test('hold (sendonly from the phone) stops its mix and keeps its music out of the room; resume restores both', async () => {
  const r = await room();
  const a = await Phone.open({ codec: 'PCMU', tone: 407 });
  const b = await Phone.open({ codec: 'PCMU', tone: 613 });
  try {
    const { leg, ep } = await r.join(a);
    await r.join(b);
    a.start();
    b.start();
    await until(() => a.received > 30 && b.received > 30);
    const held = negotiate(a.offer().replace('a=sendrecv', 'a=sendonly'), {
      codecs: router.rtpCapabilities.codecs!,
    });
    await leg.update(acceptedMedia(held)[0]!);
    await r.audio.producerChanged(ep);
    await sleep(300);
    const aCount = a.received;
    const fromB = b.heard.length;
    await sleep(1000);
    expect(a.received - aCount).toBeLessThan(3); // nothing sent to the held phone
    expect(toneDb(b.pcmSince(fromB), 8000, 407)).toBeLessThan(-45); // its music on hold is not mixed
    const resumed = negotiate(a.offer(), { codecs: router.rtpCapabilities.codecs! });
    await leg.update(acceptedMedia(resumed)[0]!);
    await r.audio.producerChanged(ep);
    await sleep(400);
    const fromB2 = b.heard.length;
    const aCount2 = a.received;
    await sleep(1000);
    expect(a.received - aCount2).toBeGreaterThan(30);
    expect(toneDb(b.pcmSince(fromB2), 8000, 407)).toBeGreaterThan(-20);
  } finally {
    a.close();
    b.close();
    r.close();
  }
});

test('RTCP (RFC 3550 §6): each phone gets SRTCP sender reports of its mix with a report block on its own stream', async () => {
  const r = await room();
  const a = await Phone.open({ codec: 'PCMU', tone: 407, srtp: 'AEAD_AES_128_GCM' });
  const b = await Phone.open({ codec: 'PCMU', tone: null });
  try {
    await r.join(a);
    await r.join(b);
    a.start();
    b.start();
    await until(() => a.senderReports.length > 0 && b.senderReports.length > 0, 12000);
    expect(a.undecryptable).toBe(0);
    const sr = a.senderReports[0]!;
    expect(sr.reportOn).toBe(a.ssrc);
    expect(sr.packets).toBeGreaterThan(50);
    expect(sr.cname).toMatch(/^parley-/);
    expect(b.senderReports[0]!.reportOn).toBe(b.ssrc);
  } finally {
    a.close();
    b.close();
    r.close();
  }
});

test('an SFU consumer taps a mixed SRTP phone: its clear audio reaches the router only while held', async () => {
  const r = await room();
  const a = await Phone.open({ codec: 'PCMU', tone: 407, srtp: 'AES_CM_128_HMAC_SHA1_80' });
  const b = await Phone.open({ codec: 'PCMU', tone: null });
  const direct = await router.createDirectTransport();
  try {
    const { leg } = await r.join(a);
    await r.join(b);
    a.start();
    b.start();
    await until(() => b.received > 20);
    expect(leg.producer).toBeUndefined(); // nothing on the router until someone needs it
    const producer = await leg.acquireProducer();
    expect(producer).toBeDefined();
    const consumer = await direct.consume({
      producerId: producer!.id,
      rtpCapabilities: router.rtpCapabilities,
    });
    const got: Buffer[] = [];
    consumer.on('rtp', (pkt) => got.push(pkt));
    await until(() => got.length > 25, 5000);
    // the consumer's packets carry the phone's clear PCMU: decode and find its tone
    const pcm = new Int16Array(
      got
        .slice(-25)
        .flatMap((p) => [
          ...decodeUlaw(
            p.subarray(
              12 +
                (p[0]! & 0x0f) * 4 +
                (p[0]! & 0x10 ? 4 + p.readUInt16BE(12 + (p[0]! & 0x0f) * 4 + 2) * 4 : 0),
            ),
          ),
        ]),
    );
    expect(toneDb(pcm, 8000, 407)).toBeGreaterThan(-20);
    // the mix keeps working meanwhile
    const from = b.heard.length;
    await sleep(600);
    expect(toneDb(b.pcmSince(from), 8000, 407)).toBeGreaterThan(-20);
    leg.releaseProducer();
    await until(() => producer!.closed && consumer.closed, 3000);
    expect(leg.producer).toBeUndefined();
  } finally {
    direct.close();
    a.close();
    b.close();
    r.close();
  }
});
