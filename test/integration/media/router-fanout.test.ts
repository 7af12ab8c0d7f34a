/**
 * A room's fan-out over two real mediasoup workers (the pool of the app, without WebRTC listening): a presenter's
 * producer on the origin router (worker 0) is piped to the room's router on worker 1, and a viewer consuming there
 * receives the RTP a Node UDP socket sends into the origin (PlainTransport in, PlainTransport out to another Node
 * socket). The copy is shared and reference-counted, closes with its source, and neither pipe transports nor pipe
 * consumers pile up (router.dump()); closing the fan-out closes what it made.
 */
import dgram from 'node:dgram';
import type { types } from 'mediasoup';
import pino from 'pino';
import { RouterFanout } from '../../../src/media/mediasoup/router-fanout';
import { WorkerPool } from '../../../src/media/mediasoup/worker-pool';

const log = pino({ level: 'silent' });
const SSRC = 0x0a0b0c0d;
const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };

function rtp(seq: number, fill: number): Buffer {
  const b = Buffer.alloc(12 + 80, fill);
  b[0] = 0x80;
  b[1] = 111;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 960, 4);
  b.writeUInt32BE(SSRC, 8);
  return b;
}

/** RTP payload: skips CSRCs and the header extension (mediasoup consumers add one), RFC 3550 §5.1/§5.3.1. */
function payload(p: Buffer): Buffer {
  let off = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) off += 4 + 4 * p.readUInt16BE(off + 2);
  return p.subarray(off);
}

function closed(o: {
  observer: { once(e: 'close', l: () => void): unknown };
  closed: boolean;
}): Promise<void> {
  return o.closed ? Promise.resolve() : new Promise((r) => o.observer.once('close', () => r()));
}

async function transportIds(router: types.Router): Promise<string[]> {
  return (await router.dump()).transportIds;
}

describe('RouterFanout on two real workers', () => {
  let pool: WorkerPool;
  let origin: types.Router;
  let fanout: RouterFanout;
  let presenter: types.PlainTransport;
  let producer: types.Producer;
  const tx = dgram.createSocket('udp4');
  const rx = dgram.createSocket('udp4');
  const got: Buffer[] = [];

  beforeAll(async () => {
    pool = await WorkerPool.create({
      numWorkers: 2,
      rtcMinPort: 47600,
      rtcMaxPort: 47999,
      logLevel: 'warn',
      logger: log,
    });
    origin = (await pool.createRouterOn(0, { roomId: 'fanout' }))!;
    fanout = new RouterFanout({ origin, workers: pool, log });
    presenter = await origin.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
    producer = await presenter.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: SSRC }],
      },
    });
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    rx.on('message', (m) => got.push(m));
  });

  afterAll(() => {
    fanout.close();
    pool.close();
    tx.close();
    rx.close();
  });

  /** Sends `n` packets filled with `fill` into the origin, paced by the wall clock (20 ms). */
  async function send(n: number, fill: number): Promise<void> {
    const start = Date.now();
    for (let i = 0; i < n; i++) {
      tx.send(rtp(i + fill * 1000, fill), presenter.tuple.localPort, '127.0.0.1');
      const due = start + (i + 1) * 20;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  }

  async function viewerOn(router: types.Router, p: types.Producer): Promise<types.PlainTransport> {
    const t = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
    await t.connect({ ip: '127.0.0.1', port: rx.address().port });
    await t.consume({ producerId: p.id, rtpCapabilities: router.rtpCapabilities });
    return t;
  }

  it('makes one router per other worker, on demand, shared by concurrent callers', async () => {
    expect(fanout.loads().map((l) => [l.workerIndex, l.origin, l.routerId])).toEqual([
      [0, true, origin.id],
      [1, false, undefined],
    ]);
    expect(await fanout.routerOn(0)).toBe(origin);
    const [a, b] = await Promise.all([fanout.routerOn(1), fanout.routerOn(1)]);
    expect(a).toBe(b);
    expect(a!.id).not.toBe(origin.id);
    expect(pool.workerIndexOf(a!)).toBe(1);
    expect(fanout.loads()[1]!.routerId).toBe(a!.id);
  });

  it('a viewer on worker 1 receives what is sent into the origin on worker 0', async () => {
    const r2 = (await fanout.routerOn(1))!;
    const [a, b] = await Promise.all([fanout.producerOn(r2, producer), fanout.producerOn(r2, producer)]);
    // One copy, shared: the same producer id as the source (keepId), on the other router.
    expect(a.producer).toBe(b.producer);
    expect(a.producer.id).toBe(producer.id);
    expect(fanout.pipeCount).toBe(1);
    const viewer = await viewerOn(r2, a.producer);
    expect(fanout.loads()[1]!.consumers).toBe(1);
    // The origin holds the pipe consumer feeding worker 1.
    expect(fanout.loads()[0]!.consumers).toBe(1);
    got.length = 0;
    await send(25, 0x41);
    await new Promise((r) => setTimeout(r, 200));
    expect(got.length).toBeGreaterThan(0);
    expect(payload(got[0]!).equals(Buffer.alloc(80, 0x41))).toBe(true);

    // The first release keeps the copy (the other user still holds it); the last one closes it.
    a.release();
    a.release(); // idempotent: not a second decrement
    expect(b.producer.closed).toBe(false);
    b.release();
    await closed(b.producer);
    expect(fanout.pipeCount).toBe(0);
    viewer.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(fanout.loads().map((l) => l.consumers)).toEqual([0, 0]);
    // The source itself is untouched.
    expect(producer.closed).toBe(false);
  });

  it('piping again after a release works, and nothing piles up over 20 cycles', async () => {
    const r2 = (await fanout.routerOn(1))!;
    for (let i = 0; i < 20; i++) {
      const lease = await fanout.producerOn(r2, producer);
      lease.release();
      await closed(lease.producer);
    }
    const lease = await fanout.producerOn(r2, producer);
    const viewer = await viewerOn(r2, lease.producer);
    got.length = 0;
    await send(10, 0x42);
    await new Promise((r) => setTimeout(r, 200));
    expect(got.some((m) => payload(m).equals(Buffer.alloc(80, 0x42)))).toBe(true);
    // One PipeTransport pair per router pair, whatever the number of pipes made and closed: the presenter's
    // transport + one pipe on the origin, the viewer's + one pipe on worker 1.
    expect(await transportIds(origin)).toHaveLength(2);
    expect(await transportIds(r2)).toHaveLength(2);
    // One pipe consumer on the origin (the live copy), none left from the 20 closed ones.
    expect(fanout.loads()[0]!.consumers).toBe(1);
    viewer.close();
    lease.release();
    await closed(lease.producer);
  });

  it('the copy closes with its source; the viewer hears producerclose', async () => {
    const r2 = (await fanout.routerOn(1))!;
    const lease = await fanout.producerOn(r2, producer);
    const t = await r2.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
    await t.connect({ ip: '127.0.0.1', port: rx.address().port });
    const consumer = await t.consume({ producerId: lease.producer.id, rtpCapabilities: r2.rtpCapabilities });
    const producerClosed = new Promise<void>((r) => consumer.once('producerclose', () => r()));
    producer.close();
    await closed(lease.producer);
    await producerClosed;
    expect(fanout.pipeCount).toBe(0);
    lease.release(); // after its close: harmless
    await expect(fanout.producerOn(r2, producer)).rejects.toThrow();
    expect(fanout.pipeCount).toBe(0);
    t.close();
  });

  it('close() closes the routers it made, and with them the pipe transports on the origin', async () => {
    const r2 = (await fanout.routerOn(1))!;
    expect(await transportIds(origin)).toHaveLength(2);
    fanout.close();
    fanout.close();
    await closed(r2);
    await new Promise((r) => setTimeout(r, 50));
    // Only the presenter's own transport is left on the origin.
    expect(await transportIds(origin)).toEqual([presenter.id]);
    expect(pool.status().map((s) => s.routers)).toEqual([1, 0]);
    await expect(fanout.routerOn(1)).rejects.toThrow('closed');
  });

  it('a fan-out closes with its origin router (the room closed, or its worker died)', async () => {
    const o = (await pool.createRouterOn(1))!;
    const f = new RouterFanout({ origin: o, workers: pool, log });
    const made = (await f.routerOn(0))!;
    expect(pool.workerIndexOf(made)).toBe(0);
    o.close();
    expect(f.isClosed).toBe(true);
    await closed(made);
    expect(made.closed).toBe(true);
  });
});
