import {
  type RelaySrtp,
  withoutHeaderExtension,
  RELATCH_SILENCE_MS,
  RelaySocketName,
  RtpRelay,
  usableRemote,
  type RelayNotification,
  type RelayRemote,
} from '../../../../../workers/mixer/relay/rtp-relay';
import { classifyPacket, PacketKind } from '../../../../../workers/mixer/relay/packet-kind';
import { serializeTelephoneEvent } from '../../../../../workers/mixer/dtmf';
import { serializeRtp } from '../../../../../workers/mixer/rtp';

function rtp(ssrc: number, seq = 1, pt = 0, len = 172): Buffer {
  const b = Buffer.alloc(len);
  b[0] = 0x80;
  b[1] = pt & 0x7f;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

/** RTCP receiver report (PT 201), padded to a realistic compound length. */
function rtcp(pt = 201, len = 32): Buffer {
  const b = Buffer.alloc(len);
  b[0] = 0x81;
  b[1] = pt;
  b.writeUInt16BE(len / 4 - 1, 2);
  return b;
}

interface Sent {
  via: RelaySocketName;
  ip: string;
  port: number;
  buf: Buffer;
}

function make(
  opts: { separateRtcp?: boolean; remote?: RelayRemote | null; latch?: boolean; now?: number } = {},
) {
  const sent: Sent[] = [];
  const events: RelayNotification[] = [];
  const relay = new RtpRelay({
    separateRtcp: opts.separateRtcp ?? false,
    remote: opts.remote === undefined ? { ip: '192.168.1.20', port: 20000 } : opts.remote,
    latch: opts.latch ?? true,
    now: opts.now ?? 0,
    send: (via, buf, ip, port) => sent.push({ via, buf, ip, port }),
    notify: (n) => events.push(n),
  });
  relay.connectInner('127.0.0.1', 40000);
  return { relay, sent, events };
}

describe('packet classification (RFC 5761 §4)', () => {
  it('tells RTP from RTCP by the second octet and rejects garbage', () => {
    expect(classifyPacket(rtp(1))).toBe(PacketKind.Rtp);
    expect(classifyPacket(rtp(1, 1, 127))).toBe(PacketKind.Rtp);
    expect(classifyPacket(Buffer.concat([Buffer.from([0x80, 0x80 | 96]), Buffer.alloc(10)]))).toBe(
      PacketKind.Rtp,
    );
    for (const pt of [192, 200, 201, 202, 203, 204, 205, 206, 207, 223]) {
      expect(classifyPacket(rtcp(pt))).toBe(PacketKind.Rtcp);
    }
    expect(classifyPacket(Buffer.alloc(11, 0x80))).toBe(PacketKind.Invalid);
    const stun = Buffer.alloc(20);
    stun.writeUInt16BE(0x0001, 0); // STUN binding request: version bits 00
    expect(classifyPacket(stun)).toBe(PacketKind.Invalid);
    const v1 = rtp(1);
    v1[0] = 0x40;
    expect(classifyPacket(v1)).toBe(PacketKind.Invalid);
  });
});

describe('RtpRelay', () => {
  it('sends to the SDP address until RTP arrives, then latches to the real source', () => {
    const { relay, sent, events } = make();
    relay.fromInner(rtp(9), '127.0.0.1', 40000);
    expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtp, ip: '192.168.1.20', port: 20000 });

    relay.fromOuterRtp(rtp(0xabc), '203.0.113.5', 31000, 10);
    expect(events).toContainEqual({ type: 'latched', ip: '203.0.113.5', port: 31000 });
    expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.Inner, ip: '127.0.0.1', port: 40000 });

    relay.fromInner(rtp(9, 2), '127.0.0.1', 40000);
    expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtp, ip: '203.0.113.5', port: 31000 });
    expect(relay.counters().latched).toEqual({ ip: '203.0.113.5', port: 31000 });
  });

  it('does not latch when latch is off: keeps the SDP address, forwards any source', () => {
    const { relay, sent, events } = make({ latch: false });
    relay.fromOuterRtp(rtp(1), '203.0.113.5', 31000, 10);
    relay.fromOuterRtp(rtp(1, 2), '203.0.113.6', 31002, 20);
    expect(events.filter((e) => e.type === 'latched')).toHaveLength(0);
    expect(sent.filter((s) => s.via === RelaySocketName.Inner)).toHaveLength(2);
    relay.fromInner(rtp(9), '127.0.0.1', 40000);
    expect(sent.at(-1)).toMatchObject({ ip: '192.168.1.20', port: 20000 });
  });

  it('drops a second source while the latched one is active, re-latches only after > 1 s of silence', () => {
    const { relay, sent, events } = make();
    relay.fromOuterRtp(rtp(1, 1), '10.0.0.1', 5000, 1000);
    relay.fromOuterRtp(rtp(1, 2), '10.0.0.1', 5000, 1020);
    const innerBefore = sent.filter((s) => s.via === RelaySocketName.Inner).length;

    // hijack attempt while the phone is talking: dropped
    relay.fromOuterRtp(rtp(666, 1), '10.6.6.6', 6666, 1040);
    relay.fromOuterRtp(rtp(666, 2), '10.6.6.6', 6666, 1020 + RELATCH_SILENCE_MS);
    expect(sent.filter((s) => s.via === RelaySocketName.Inner)).toHaveLength(innerBefore);
    expect(events.filter((e) => e.type === 'latched')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'ssrc')).toHaveLength(1);
    expect(relay.counters().packetsDropped).toBe(2);

    // the phone went silent for more than 1 s (e.g. its NAT binding changed): the new source takes over
    relay.fromOuterRtp(rtp(1, 3), '10.0.0.9', 7000, 1020 + RELATCH_SILENCE_MS + 1);
    expect(events.at(-1)).toEqual({ type: 'latched', ip: '10.0.0.9', port: 7000 });
    relay.fromInner(rtp(9), '127.0.0.1', 40000);
    expect(sent.at(-1)).toMatchObject({ ip: '10.0.0.9', port: 7000 });
    // the old source is now the foreign one
    relay.fromOuterRtp(rtp(1, 4), '10.0.0.1', 5000, 1020 + RELATCH_SILENCE_MS + 5);
    expect(relay.counters().latched).toEqual({ ip: '10.0.0.9', port: 7000 });
  });

  it('reports the first SSRC with its payload type and every change, not repeats', () => {
    const { relay, events } = make();
    relay.fromOuterRtp(rtp(0x11111111, 1, 0), '10.0.0.1', 5000, 0);
    relay.fromOuterRtp(rtp(0x11111111, 2, 0), '10.0.0.1', 5000, 20);
    relay.fromOuterRtp(rtp(0x11111111, 3, 101), '10.0.0.1', 5000, 40);
    relay.fromOuterRtp(rtp(0x22222222, 4, 8), '10.0.0.1', 5000, 60);
    relay.fromOuterRtp(rtp(0x22222222, 5, 8), '10.0.0.1', 5000, 80);
    relay.fromOuterRtp(rtp(0xfffffffe, 6, 8), '10.0.0.1', 5000, 100);
    expect(events.filter((e) => e.type === 'ssrc')).toEqual([
      { type: 'ssrc', ssrc: 0x11111111, payloadType: 0 },
      { type: 'ssrc', ssrc: 0x22222222, payloadType: 8 },
      { type: 'ssrc', ssrc: 0xfffffffe, payloadType: 8 },
    ]);
    expect(relay.counters().ssrc).toBe(0xfffffffe);
  });

  it('drops garbage from every side and never throws', () => {
    const { relay, sent } = make({ separateRtcp: true });
    const junk = [
      Buffer.alloc(0),
      Buffer.alloc(5, 0x80),
      Buffer.from('hello world, not rtp at all'),
      Buffer.alloc(40),
    ];
    for (const j of junk) {
      expect(() => relay.fromOuterRtp(j, '10.0.0.1', 5000, 0)).not.toThrow();
      expect(() => relay.fromOuterRtcp(j, '10.0.0.1', 5001, 0)).not.toThrow();
      expect(() => relay.fromInner(j, '127.0.0.1', 40000)).not.toThrow();
    }
    // RTP on the RTCP socket is not RTCP either
    relay.fromOuterRtcp(rtp(5), '10.0.0.1', 5001, 0);
    expect(sent).toHaveLength(0);
    expect(relay.counters().packetsDropped).toBe(junk.length * 3 + 1);
    expect(relay.counters().packetsIn).toBe(0);
  });

  it('accepts inner traffic only from the connected PlainTransport', () => {
    const { relay, sent } = make();
    relay.fromInner(rtp(9), '127.0.0.1', 40001);
    relay.fromInner(rtp(9), '127.0.0.2', 40000);
    expect(sent).toHaveLength(0);
    relay.fromInner(rtp(9), '127.0.0.1', 40000);
    expect(sent).toHaveLength(1);
  });

  it('forwards nothing inwards before connectInner but still learns the SSRC', () => {
    const events: RelayNotification[] = [];
    const sent: Sent[] = [];
    const relay = new RtpRelay({
      separateRtcp: false,
      remote: null,
      latch: true,
      now: 0,
      send: (via, buf, ip, port) => sent.push({ via, buf, ip, port }),
      notify: (n) => events.push(n),
    });
    relay.fromOuterRtp(rtp(77), '10.0.0.1', 5000, 0);
    expect(sent).toHaveLength(0);
    expect(events).toContainEqual({ type: 'ssrc', ssrc: 77, payloadType: 0 });
    relay.connectInner('127.0.0.1', 40000);
    relay.fromOuterRtp(rtp(77, 2), '10.0.0.1', 5000, 20);
    expect(sent).toHaveLength(1);
  });

  describe('separate RTCP (phone without rtcp-mux)', () => {
    it('muxes phone RTCP inwards and demuxes mediasoup RTCP to the RFC 3605 port', () => {
      const { relay, sent } = make({
        separateRtcp: true,
        remote: { ip: '192.168.1.20', port: 20000, rtcpPort: 20011 },
      });
      relay.fromInner(rtcp(), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtcp, ip: '192.168.1.20', port: 20011 });
      relay.fromInner(rtp(9), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtp, ip: '192.168.1.20', port: 20000 });
      relay.fromOuterRtcp(rtcp(200), '192.168.1.20', 20011, 5);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.Inner, ip: '127.0.0.1', port: 40000 });
    });

    it('defaults to RTP port + 1 without a=rtcp, and follows NAT', () => {
      const { relay, sent } = make({ separateRtcp: true });
      relay.fromInner(rtcp(), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtcp, port: 20001 });
      relay.fromOuterRtp(rtp(1), '198.51.100.7', 40100, 0);
      relay.fromInner(rtcp(), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtcp, ip: '198.51.100.7', port: 40101 });
      // the NAT mapped the RTCP port elsewhere: learnt from the phone's RTCP
      relay.fromOuterRtcp(rtcp(200), '198.51.100.7', 40555, 10);
      relay.fromInner(rtcp(), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtcp, ip: '198.51.100.7', port: 40555 });
      // RTCP from another host while latched is dropped
      const before = sent.length;
      relay.fromOuterRtcp(rtcp(200), '203.0.113.66', 40555, 11);
      expect(sent).toHaveLength(before);
    });

    it('muxed phone: RTCP back to the RTP address on the RTP socket', () => {
      const { relay, sent } = make({ separateRtcp: false });
      relay.fromInner(rtcp(), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.OuterRtp, ip: '192.168.1.20', port: 20000 });
      // muxed RTCP never latches
      relay.fromOuterRtp(rtcp(200), '10.1.1.1', 9999, 0);
      expect(relay.counters().latched).toBeNull();
      expect(sent.at(-1)).toMatchObject({ via: RelaySocketName.Inner });
    });
  });

  describe('hold and re-INVITE', () => {
    it('treats 0.0.0.0 / port 0 as no address', () => {
      expect(usableRemote({ ip: '0.0.0.0', port: 4000 })).toBeNull();
      expect(usableRemote({ ip: '::', port: 4000 })).toBeNull();
      expect(usableRemote({ ip: '10.0.0.1', port: 0 })).toBeNull();
      expect(usableRemote({ ip: '10.0.0.1', port: 4000 })).toEqual({ ip: '10.0.0.1', port: 4000 });
      const { relay, sent } = make({ remote: { ip: '0.0.0.0', port: 20000 } });
      relay.fromInner(rtp(9), '127.0.0.1', 40000);
      expect(sent).toHaveLength(0);
      expect(relay.counters().packetsDropped).toBe(1);
    });

    it('a new SDP address resets the latch; the same one keeps it', () => {
      const { relay, sent } = make();
      relay.fromOuterRtp(rtp(1), '10.0.0.1', 5000, 0);
      relay.updateRemote({ ip: '192.168.1.20', port: 20000 }, true);
      expect(relay.counters().latched).toEqual({ ip: '10.0.0.1', port: 5000 });
      relay.updateRemote({ ip: '192.168.1.30', port: 22000 }, true);
      expect(relay.counters().latched).toBeNull();
      relay.fromInner(rtp(9), '127.0.0.1', 40000);
      expect(sent.at(-1)).toMatchObject({ ip: '192.168.1.30', port: 22000 });
      // and a new source can latch at once
      relay.fromOuterRtp(rtp(1, 2), '10.0.0.2', 5002, 10);
      expect(relay.counters().latched).toEqual({ ip: '10.0.0.2', port: 5002 });
    });
  });

  describe('inactivity', () => {
    it('is off by default and with 0', () => {
      const { relay, events } = make();
      relay.tick(1e9);
      relay.setInactivityTimeout(0, 0);
      relay.tick(2e9);
      expect(events.filter((e) => e.type === 'inactive')).toHaveLength(0);
    });

    it('fires once after the timeout without phone traffic, counting from the last packet', () => {
      const { relay, events } = make();
      relay.setInactivityTimeout(5000, 1000);
      relay.fromOuterRtp(rtp(1), '10.0.0.1', 5000, 3000);
      relay.tick(7999);
      relay.tick(8000);
      expect(events.filter((e) => e.type === 'inactive')).toHaveLength(0);
      // traffic towards the phone does not count as activity
      relay.fromInner(rtp(9), '127.0.0.1', 40000);
      relay.tick(8001);
      relay.tick(9000);
      relay.tick(20000);
      expect(events.filter((e) => e.type === 'inactive')).toHaveLength(1);
      // re-armed by a new setInactivityTimeout
      relay.setInactivityTimeout(1000, 20000);
      relay.tick(21001);
      expect(events.filter((e) => e.type === 'inactive')).toHaveLength(2);
    });
  });

  it('decodes RFC 4733 digits from the phone (once per key press, after header extensions) and forwards them', () => {
    const { relay, events, sent } = make();
    const ev = (seq: number, ts: number, event: number, duration: number, end: boolean): Buffer =>
      serializeRtp(
        {
          payloadType: 101,
          seq,
          timestamp: ts,
          ssrc: 42,
          extensionProfile: 0xbede,
          extensionData: Buffer.alloc(4, 0x10),
        },
        serializeTelephoneEvent({ event, end, volume: 10, duration }),
      );
    // without setDtmf: forwarded, not decoded
    relay.fromOuterRtp(ev(1, 1000, 1, 400, true), '10.0.0.1', 5000, 0);
    expect(events.filter((e) => e.type === 'dtmf')).toHaveLength(0);
    relay.setDtmf({ payloadType: 101 });
    let seq = 2;
    for (const [event, ts] of [
      [5, 2000],
      [11, 4000],
    ] as const) {
      for (const d of [160, 320, 480])
        relay.fromOuterRtp(ev(seq++, ts, event, d, false), '10.0.0.1', 5000, seq * 20);
      for (let k = 0; k < 3; k++)
        relay.fromOuterRtp(ev(seq++, ts, event, 800, true), '10.0.0.1', 5000, seq * 20);
    }
    expect(events.filter((e) => e.type === 'dtmf')).toEqual([
      { type: 'dtmf', digit: '5', durationMs: 100 },
      { type: 'dtmf', digit: '#', durationMs: 100 },
    ]);
    expect(sent.filter((x) => x.via === RelaySocketName.Inner)).toHaveLength(13);
    relay.setDtmf(null);
    relay.fromOuterRtp(ev(seq++, 9000, 7, 800, true), '10.0.0.1', 5000, 1000);
    expect(events.filter((e) => e.type === 'dtmf')).toHaveLength(2);
  });

  it('counts packets and bytes both ways', () => {
    const { relay } = make();
    relay.fromOuterRtp(rtp(1, 1, 0, 100), '10.0.0.1', 5000, 42);
    relay.fromOuterRtp(rtp(1, 2, 0, 60), '10.0.0.1', 5000, 43);
    relay.fromInner(rtp(9, 1, 0, 200), '127.0.0.1', 40000);
    expect(relay.counters()).toEqual({
      packetsIn: 2,
      bytesIn: 160,
      packetsOut: 1,
      bytesOut: 200,
      lastPacketAt: 43,
      ssrc: 1,
      latched: { ip: '10.0.0.1', port: 5000 },
      packetsDropped: 0,
      srtpFailures: 0,
    });
  });
});

describe('legs mixed in the thread: sink, direction, SRTP terminated here (RFC 3711)', () => {
  /** A stand-in cipher: payload bytes XOR 0x5a and a trailing tag byte 0xaa that "authenticates". */
  function fakeSrtp(): RelaySrtp & { closed: boolean } {
    const flip = (b: Buffer, from: number): Buffer => {
      const out = Buffer.from(b);
      for (let i = from; i < out.length; i++) out[i]! ^= 0x5a;
      return out;
    };
    const ctx = {
      closed: false,
      unprotectRtp: (b: Buffer) => (b[b.length - 1] === 0xaa ? flip(b.subarray(0, b.length - 1), 12) : null),
      unprotectRtcp: (b: Buffer) => (b[b.length - 1] === 0xaa ? flip(b.subarray(0, b.length - 1), 8) : null),
      protectRtp: (b: Buffer) => Buffer.concat([flip(b, 12), Buffer.from([0xaa])]),
      protectRtcp: (b: Buffer) => Buffer.concat([flip(b, 8), Buffer.from([0xaa])]),
      close: () => {
        ctx.closed = true;
      },
    };
    return ctx;
  }

  it('hands the clear RTP to the sink (no inner needed) and sends our RTP to the phone protected', () => {
    const { relay, sent } = make({ remote: { ip: '127.0.0.1', port: 20000 } });
    const srtp = fakeSrtp();
    relay.setSrtp(srtp);
    const got: Buffer[] = [];
    const owner = {};
    relay.setSink((b) => got.push(b), owner);
    const clear = rtp(7, 1, 0, 40);
    relay.fromOuterRtp(srtp.protectRtp(clear), '127.0.0.1', 20000, 1);
    expect(got).toHaveLength(1);
    expect(got[0]!.equals(clear)).toBe(true);
    relay.sendRtpToPhone(rtp(9, 5, 0, 30));
    const out = sent.filter((x) => x.via === RelaySocketName.OuterRtp);
    expect(out).toHaveLength(1);
    expect(srtp.unprotectRtp(out[0]!.buf)!.equals(rtp(9, 5, 0, 30))).toBe(true);
  });

  it('a packet failing authentication is dropped before it can latch or reach the sink', () => {
    const { relay } = make({ remote: { ip: '127.0.0.1', port: 20000 } });
    relay.setSrtp(fakeSrtp());
    const got: Buffer[] = [];
    relay.setSink((b) => got.push(b), {});
    relay.fromOuterRtp(Buffer.concat([rtp(7, 1, 0, 40), Buffer.from([0x00])]), '10.9.9.9', 7000, 1);
    expect(got).toHaveLength(0);
    expect(relay.counters()).toMatchObject({ srtpFailures: 1, packetsDropped: 1, latched: null });
  });

  it('only the sink owner clears it; hold stops both directions; close() closes the SRTP contexts', () => {
    const { relay, sent } = make({ remote: { ip: '127.0.0.1', port: 20000 } });
    const srtp = fakeSrtp();
    relay.setSrtp(srtp);
    const got: Buffer[] = [];
    const owner = {};
    relay.setSink((b) => got.push(b), owner);
    relay.clearSink({});
    relay.setDirection(false, false);
    relay.fromOuterRtp(srtp.protectRtp(rtp(7, 1, 0, 40)), '127.0.0.1', 20000, 1);
    relay.sendRtpToPhone(rtp(9, 5, 0, 30));
    expect(got).toHaveLength(0);
    expect(sent.filter((x) => x.via === RelaySocketName.OuterRtp)).toHaveLength(0);
    relay.setDirection(true, true);
    relay.fromOuterRtp(srtp.protectRtp(rtp(7, 2, 160, 40)), '127.0.0.1', 20000, 2);
    expect(got).toHaveLength(1);
    relay.clearSink(owner);
    relay.fromOuterRtp(srtp.protectRtp(rtp(7, 3, 320, 40)), '127.0.0.1', 20000, 3);
    expect(got).toHaveLength(1);
    relay.close();
    expect(srtp.closed).toBe(true);
  });
});

describe('payload type rewrite toward the phone (RFC 3264 §6.1)', () => {
  it('rewrites mapped RTP payload types, keeps the marker bit, leaves RTCP and unmapped PTs alone', () => {
    const { relay, sent } = make({ remote: { ip: '127.0.0.1', port: 20000 } });
    relay.setPayloadTypeMap([[111, 96]]);
    const marked = rtp(7, 1, 111);
    marked[1] = 0x80 | 111;
    relay.fromInner(marked, '127.0.0.1', 40000);
    relay.fromInner(rtp(7, 2, 0), '127.0.0.1', 40000);
    relay.fromInner(rtcp(200), '127.0.0.1', 40000);
    expect(sent.map((s) => s.buf[1])).toEqual([0x80 | 96, 0, 200]);
    relay.setPayloadTypeMap(null);
    relay.fromInner(rtp(7, 3, 111), '127.0.0.1', 40000);
    expect(sent[3]!.buf[1]).toBe(111);
  });
});

describe('nothing unnegotiated to the phone (RFC 8285: header extensions only when negotiated)', () => {
  it('cuts the header extension out of RTP from mediasoup, keeps CSRCs and payload', () => {
    const { relay, sent } = make({ remote: { ip: '127.0.0.1', port: 20000 } });
    relay.connectInner('127.0.0.1', 40000);
    const pkt = Buffer.concat([
      Buffer.from([0x91, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9]), // X=1, CC=1
      Buffer.from([0, 0, 0, 7]), // CSRC
      Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0x30, 0, 0]), // one-byte extension: MID "0"
      Buffer.from([1, 2, 3, 4]),
    ]);
    relay.fromInner(pkt, '127.0.0.1', 40000);
    const out = sent.find((x) => x.via === RelaySocketName.OuterRtp)!.buf;
    expect([...out]).toEqual([0x81, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9, 0, 0, 0, 7, 1, 2, 3, 4]);
    expect(
      withoutHeaderExtension(Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9])),
    ).toBeNull();
  });
});
