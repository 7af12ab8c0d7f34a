import dgram from 'node:dgram';
import { canBindUdp, leasePortPair, waitUntilBound } from '../../../src/livestream/port-lease';
import { PortAllocator } from '../../../src/media/rtp/port-allocator';

/** Real sockets on loopback: the bind test is what is under test. */
function hold(port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

async function freeEvenRange(): Promise<number> {
  const s = await hold(0);
  const port = s.address().port;
  s.close();
  return port - (port % 2) < 1024 ? 40000 : port - (port % 2);
}

describe('leasePortPair', () => {
  it('skips a pair whose RTP or RTCP port another process holds, and gives the skipped one back', async () => {
    const base = await freeEvenRange();
    const ports = new PortAllocator(base, base + 9);
    const blocker = await hold(base + 1); // the RTCP port of the first pair
    try {
      const lease = await leasePortPair(ports, '127.0.0.1');
      expect(lease.port).toBe(base + 2);
      expect(ports.inUse).toBe(1);
      lease.release();
      lease.release(); // idempotent
      expect(ports.inUse).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('fails with MEDIA_NO_PORT when nothing can be bound', async () => {
    const base = await freeEvenRange();
    const ports = new PortAllocator(base, base + 3);
    const held = [await hold(base), await hold(base + 2)];
    try {
      await expect(leasePortPair(ports, '127.0.0.1', 4)).rejects.toMatchObject({ code: 'MEDIA_NO_PORT' });
      expect(ports.inUse).toBe(0);
    } finally {
      for (const s of held) s.close();
    }
  });
});

describe('waitUntilBound', () => {
  it('resolves once something binds the port, and canBindUdp sees it', async () => {
    const base = await freeEvenRange();
    expect(await canBindUdp('127.0.0.1', base)).toBe(true);
    const waiting = waitUntilBound('127.0.0.1', base, 5000);
    const s = await hold(base);
    try {
      await waiting;
      expect(await canBindUdp('127.0.0.1', base)).toBe(false);
    } finally {
      s.close();
    }
  });

  it('rejects after the timeout when nothing binds', async () => {
    const base = await freeEvenRange();
    await expect(waitUntilBound('127.0.0.1', base, 100)).rejects.toThrow(/within 100 ms/);
  });
});
