import dgram from 'node:dgram';
import { AppError } from '../errors/app-error';
import type { PortAllocator } from '../media/rtp/port-allocator';

/** An RTP/RTCP port pair ffmpeg will bind (RTP even, RTCP the next one: RFC 3550 §11). */
export interface PortLease {
  readonly port: number;
  release(): void;
}

/** Whether `port` can be bound on `ip` for UDP right now (false: someone holds it). */
export function canBindUdp(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: ip.includes(':') ? 'udp6' : 'udp4' });
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: ip, port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

/**
 * Leases an even port and its odd neighbour from the server's RTP allocator (the one the phones' relays use, so
 * the two never hand out the same port) and checks with a bind that nothing else on the machine holds either:
 * the allocator remembers only what it handed out. A pair that fails the test is given back once a good one is
 * found (the allocator hands out round robin, so it is not offered again at once).
 */
export async function leasePortPair(ports: PortAllocator, ip: string, tries = 16): Promise<PortLease> {
  const skipped: number[] = [];
  try {
    for (let i = 0; i < tries; i++) {
      const port = ports.allocate();
      if ((await canBindUdp(ip, port)) && (await canBindUdp(ip, port + 1))) {
        let released = false;
        return {
          port,
          release: () => {
            if (released) return;
            released = true;
            ports.release(port);
          },
        };
      }
      skipped.push(port);
    }
  } finally {
    for (const p of skipped) ports.release(p);
  }
  throw new AppError('MEDIA_NO_PORT', `no bindable RTP port pair for ffmpeg after ${tries} tries`);
}

/**
 * Resolves once something (ffmpeg) has bound `port` on `ip` — a bind of ours fails — or rejects after
 * `timeoutMs`. This is how the livestream knows ffmpeg listens before it resumes the paused consumers.
 */
export async function waitUntilBound(
  ip: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(signal?.aborted ?? false)) {
    if (!(await canBindUdp(ip, port))) return;
    if (Date.now() > deadline) throw new Error(`nothing bound UDP ${ip}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('aborted');
}
