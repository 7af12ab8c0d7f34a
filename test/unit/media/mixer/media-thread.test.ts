/**
 * The main-thread proxy against a real media worker thread and real loopback sockets (a dgram socket plays the
 * phone, another plays mediasoup's PlainTransport).
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import pino from 'pino';
import { MediaThreadPool } from '../../../../src/media/mixer/media-thread-pool';
import type { MediaThread } from '../../../../src/media/mixer/media-thread';
import type { RelayHandle } from '../../../../src/media/mixer/relay-handle';

// worker threads start from the TypeScript sources here (transpiled on load): allow for a busy machine
jest.setTimeout(40000);
const logger = pino({ level: 'silent' });

function rtp(ssrc: number, seq: number, pt = 0): Buffer {
  const b = Buffer.alloc(172, seq & 0xff);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

function rtcp(pt = 200): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(6, 2);
  return b;
}

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

function nextMessage(
  s: dgram.Socket,
  filter: (m: Buffer) => boolean = () => true,
): Promise<[Buffer, dgram.RemoteInfo]> {
  return new Promise((resolve) => {
    const on = (m: Buffer, r: dgram.RemoteInfo): void => {
      if (!filter(m)) return;
      s.off('message', on);
      resolve([m, r]);
    };
    s.on('message', on);
  });
}

async function freePort(): Promise<number> {
  const s = await udp();
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

describe('MediaThread relays (real thread, loopback sockets)', () => {
  let pool: MediaThreadPool;
  let thread: MediaThread;
  const sockets: dgram.Socket[] = [];
  const handles: RelayHandle[] = [];

  beforeAll(async () => {
    pool = await MediaThreadPool.create({ threads: 2, logger });
    thread = pool.threadFor('room-1');
  });
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.close()));
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => pool.close());

  async function sock(): Promise<dgram.Socket> {
    const s = await udp();
    sockets.push(s);
    return s;
  }

  it('relays both ways, learns the SSRC and latches', async () => {
    const phone = await sock();
    const ms = await sock(); // plays the mediasoup PlainTransport
    const relay = await thread.createRelay({
      legId: 'leg-a',
      ip: '127.0.0.1',
      port: 0,
      remote: { ip: '127.0.0.1', port: 9 }, // the SDP lies (NAT): the phone really sends from elsewhere
      latch: true,
    });
    handles.push(relay);
    expect(relay.port).toBeGreaterThan(0);
    expect(relay.innerIp).toBe('127.0.0.1');
    await relay.connectInner('127.0.0.1', ms.address().port);

    const ssrcEv = once(relay, 'ssrc');
    const latchedEv = once(relay, 'latched');
    const atMs = nextMessage(ms);
    phone.send(rtp(0xdeadbeef, 1, 8), relay.port, '127.0.0.1');
    expect(await ssrcEv).toEqual([0xdeadbeef, 8]);
    expect(await latchedEv).toEqual(['127.0.0.1', phone.address().port]);
    const [m, rinfo] = await atMs;
    expect(m.readUInt32BE(8)).toBe(0xdeadbeef);
    expect(rinfo.port).toBe(relay.innerPort);

    // return path goes to the latched source, not the SDP's port 9
    const atPhone = nextMessage(phone);
    ms.send(rtp(0x1234, 1), relay.innerPort, '127.0.0.1');
    const [back, from] = await atPhone;
    expect(back.readUInt32BE(8)).toBe(0x1234);
    expect(from.port).toBe(relay.port);

    // SSRC change mid-stream
    const second = once(relay, 'ssrc');
    phone.send(rtp(0xcafe, 2, 8), relay.port, '127.0.0.1');
    expect(await second).toEqual([0xcafe, 8]);

    const st = await relay.stats();
    expect(st).toMatchObject({ packetsIn: 2, packetsOut: 1, ssrc: 0xcafe });
    expect(st.latched).toEqual({ ip: '127.0.0.1', port: phone.address().port });
    expect(st.lastPacketAt).toEqual(expect.any(Number));
  });

  it('phone without rtcp-mux: separate RTCP socket in, RFC 5761 demux out', async () => {
    const phoneRtp = await sock();
    const phoneRtcp = await sock();
    const ms = await sock();
    const rtcpPort = await freePort();
    const relay = await thread.createRelay({
      legId: 'leg-b',
      ip: '127.0.0.1',
      port: 0,
      rtcpPort,
      remote: { ip: '127.0.0.1', port: phoneRtp.address().port, rtcpPort: phoneRtcp.address().port },
      latch: false,
    });
    handles.push(relay);
    expect(relay.rtcpPort).toBe(rtcpPort);
    await relay.connectInner('127.0.0.1', ms.address().port);

    const rtcpToPhone = nextMessage(phoneRtcp);
    ms.send(rtcp(201), relay.innerPort, '127.0.0.1');
    const [r, rFrom] = await rtcpToPhone;
    expect(r[1]).toBe(201);
    expect(rFrom.port).toBe(rtcpPort);

    const rtpToPhone = nextMessage(phoneRtp);
    ms.send(rtp(5, 1), relay.innerPort, '127.0.0.1');
    expect((await rtpToPhone)[0][1]).toBe(0);

    const rtcpIn = nextMessage(ms, (m) => m[1] === 200);
    phoneRtcp.send(rtcp(200), rtcpPort, '127.0.0.1');
    expect((await rtcpIn)[1].port).toBe(relay.innerPort);
  });

  it('rejects a taken port with code EADDRINUSE, and a duplicate leg', async () => {
    const squatter = await sock();
    await expect(
      thread.createRelay({ legId: 'leg-c', ip: '127.0.0.1', port: squatter.address().port, latch: true }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // the taken rtcp port also fails, and the RTP port it had bound is released again
    const port = await freePort();
    await expect(
      thread.createRelay({
        legId: 'leg-c',
        ip: '127.0.0.1',
        port,
        rtcpPort: squatter.address().port,
        latch: true,
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const ok = await thread.createRelay({ legId: 'leg-c', ip: '127.0.0.1', port, latch: true });
    handles.push(ok);
    expect(ok.port).toBe(port);
    await expect(
      thread.createRelay({ legId: 'leg-c', ip: '127.0.0.1', port: 0, latch: true }),
    ).rejects.toMatchObject({
      code: 'EEXIST',
    });
    // a relay in another thread cannot share the port either (exclusive bind)
    const other = pool.all.find((t) => t !== thread)!;
    await expect(
      other.createRelay({ legId: 'leg-x', ip: '127.0.0.1', port, latch: true }),
    ).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });

  it('reports inactivity once, and close() is idempotent and frees the port', async () => {
    const relay = await thread.createRelay({ legId: 'leg-d', ip: '127.0.0.1', port: 0, latch: true });
    const inactive = once(relay, 'inactive');
    await relay.setInactivityTimeout(300);
    await inactive;
    const closed = once(relay, 'closed');
    await Promise.all([relay.close(), relay.close()]);
    await closed;
    expect(relay.closed).toBe(true);
    await expect(relay.stats()).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await thread.createRelay({
      legId: 'leg-d',
      ip: '127.0.0.1',
      port: relay.port,
      latch: true,
    });
    handles.push(again);
    expect(again.port).toBe(relay.port);
  });

  it('reports RFC 4733 digits of a plain-RTP phone as dtmf events', async () => {
    const phone = await sock();
    const relay = await thread.createRelay({
      legId: 'leg-dtmf',
      ip: '127.0.0.1',
      port: 0,
      latch: true,
      dtmf: { payloadType: 101 },
    });
    handles.push(relay);
    const digit = once(relay, 'dtmf');
    const ev = (seq: number, duration: number, end: boolean): Buffer => {
      const b = rtp(7, seq, 101).subarray(0, 16);
      b.writeUInt32BE(123456, 4); // one event = one timestamp
      b[12] = 9; // digit 9
      b[13] = (end ? 0x80 : 0) | 10;
      b.writeUInt16BE(duration, 14);
      return b;
    };
    for (const [i, [d, end]] of (
      [
        [160, false],
        [640, true],
        [640, true],
        [640, true],
      ] as const
    ).entries()) {
      phone.send(ev(i + 1, d, end), relay.port, '127.0.0.1');
    }
    expect(await digit).toEqual(['9', 80]);
  });

  it('works on IPv6 loopback (an IPv6 phone is relayed on udp6 sockets)', async () => {
    const phone = dgram.createSocket('udp6');
    sockets.push(phone);
    await new Promise<void>((r) => phone.bind(0, '::1', r));
    const ms = dgram.createSocket('udp6');
    sockets.push(ms);
    await new Promise<void>((r) => ms.bind(0, '::1', r));
    const relay = await thread.createRelay({ legId: 'leg-v6', ip: '::1', port: 0, latch: true });
    handles.push(relay);
    expect(relay.innerIp).toBe('::1');
    await relay.connectInner('::1', ms.address().port);
    const latched = once(relay, 'latched');
    const atMs = nextMessage(ms);
    phone.send(rtp(0x600d, 1), relay.port, '::1');
    expect(await latched).toEqual(['::1', phone.address().port]);
    expect((await atMs)[0].readUInt32BE(8)).toBe(0x600d);
    const atPhone = nextMessage(phone);
    ms.send(rtp(0x1111, 1), relay.innerPort, '::1');
    expect((await atPhone)[0].readUInt32BE(8)).toBe(0x1111);
  });

  it('places rooms stably and spreads them across threads', () => {
    const a = pool.threadFor('room-x');
    const b = pool.threadFor('room-y');
    expect(pool.threadFor('room-x')).toBe(a);
    expect(a).not.toBe(b);
    pool.releaseRoom('room-x');
    pool.releaseRoom('room-y');
  });
});

describe('MediaThread death', () => {
  it('emits died, closes every handle, and the pool replaces the thread', async () => {
    const pool = await MediaThreadPool.create({ threads: 1, logger });
    try {
      const t = pool.threadFor('r');
      const relay = await t.createRelay({ legId: 'x', ip: '127.0.0.1', port: 0, latch: true });
      const died = once(t, 'died');
      const closed = once(relay, 'closed');
      // the thread may die before its reply leaves it: the request then fails with EDIED, which is fine here
      await t.request('thread.crash', {}).catch(() => undefined);
      const [err] = (await died) as [Error];
      expect(err.message).toMatch(/crash requested/);
      await closed;
      expect(t.alive).toBe(false);
      await expect(relay.stats()).rejects.toMatchObject({ code: 'ECLOSED' });
      await relay.close(); // idempotent on a dead thread
      // the replacement takes new rooms
      // a fresh thread takes a moment to start (bounded wait, not a timing assertion)
      for (let i = 0; i < 400 && pool.all[0] === t; i++) await new Promise((r) => setTimeout(r, 50));
      const fresh = pool.threadFor('r2');
      expect(fresh).not.toBe(t);
      expect(fresh.alive).toBe(true);
      const again = await fresh.createRelay({ legId: 'x', ip: '127.0.0.1', port: relay.port, latch: true });
      expect(again.port).toBe(relay.port);
    } finally {
      await pool.close();
      await pool.close();
    }
  });
});
