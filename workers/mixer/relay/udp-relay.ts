import dgram from 'node:dgram';
import net from 'node:net';
import { literalLookup } from './literal-lookup';
import {
  RelaySocketName,
  RtpRelay,
  type RelayCounters,
  type RelayDtmf,
  type RelayNotification,
  type RelayRemote,
  type RelaySrtp,
} from './rtp-relay';

export interface UdpRelayOptions {
  ip: string;
  port: number;
  /** Bind a separate phone-facing RTCP socket (phone without a=rtcp-mux). */
  rtcpPort?: number;
  remote: RelayRemote | null;
  latch: boolean;
  dtmf?: RelayDtmf | null;
  /** SRTP terminated in the thread (contexts owned by the relay from now on). */
  srtp?: RelaySrtp | null;
  notify: (n: RelayNotification) => void;
  /** Socket errors after binding (never thrown). */
  onSocketError?: (err: Error, socket: RelaySocketName) => void;
}

/** An error carrying the errno code of a failed bind (EADDRINUSE, EACCES, EADDRNOTAVAIL ...). */
export class RelayBindError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly port: number,
  ) {
    super(message);
    this.name = 'RelayBindError';
  }
}

const SOCKET_BUFFER_BYTES = 1 << 20;

function bindSocket(ip: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: net.isIPv6(ip) ? 'udp6' : 'udp4', lookup: literalLookup });
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      reject(new RelayBindError(`cannot bind ${ip}:${port}: ${err.message}`, err.code ?? 'EBIND', port));
    };
    socket.once('error', onError);
    // exclusive: a port another relay (even in another thread of this process) holds must fail, not be shared.
    socket.bind({ address: ip, port, exclusive: true }, () => {
      socket.off('error', onError);
      try {
        socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
        socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
      } catch {
        // the kernel may cap it; defaults still work
      }
      resolve(socket);
    });
  });
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** The real-socket shell around RtpRelay: binds the outer socket(s) and the inner socket, feeds datagrams in. */
export class UdpRelay {
  private closed = false;

  private constructor(
    readonly core: RtpRelay,
    private readonly outerRtp: dgram.Socket,
    private readonly outerRtcp: dgram.Socket | null,
    private readonly inner: dgram.Socket,
    readonly ip: string,
  ) {}

  static async open(opts: UdpRelayOptions): Promise<UdpRelay> {
    const bound: dgram.Socket[] = [];
    try {
      const outerRtp = await bindSocket(opts.ip, opts.port);
      bound.push(outerRtp);
      const outerRtcp = opts.rtcpPort !== undefined ? await bindSocket(opts.ip, opts.rtcpPort) : null;
      if (outerRtcp) bound.push(outerRtcp);
      const inner = await bindSocket(opts.ip, 0);
      bound.push(inner);

      const sockets: Record<RelaySocketName, dgram.Socket | null> = {
        [RelaySocketName.OuterRtp]: outerRtp,
        [RelaySocketName.OuterRtcp]: outerRtcp,
        [RelaySocketName.Inner]: inner,
      };
      const core = new RtpRelay({
        separateRtcp: outerRtcp !== null,
        remote: opts.remote,
        latch: opts.latch,
        dtmf: opts.dtmf,
        now: Date.now(),
        notify: opts.notify,
        send: (via, buf, ip, port) => {
          const s = sockets[via];
          if (s) s.send(buf, port, ip);
        },
      });
      if (opts.srtp) core.setSrtp(opts.srtp);
      const relay = new UdpRelay(core, outerRtp, outerRtcp, inner, opts.ip);
      const guard = (name: RelaySocketName, fn: (msg: Buffer, rinfo: dgram.RemoteInfo) => void) => {
        return (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
          try {
            fn(msg, rinfo);
          } catch (err) {
            opts.onSocketError?.(err as Error, name);
          }
        };
      };
      outerRtp.on(
        'message',
        guard(RelaySocketName.OuterRtp, (m, r) => core.fromOuterRtp(m, r.address, r.port, Date.now())),
      );
      outerRtcp?.on(
        'message',
        guard(RelaySocketName.OuterRtcp, (m, r) => core.fromOuterRtcp(m, r.address, r.port, Date.now())),
      );
      inner.on(
        'message',
        guard(RelaySocketName.Inner, (m, r) => core.fromInner(m, r.address, r.port)),
      );
      for (const [name, s] of Object.entries(sockets) as [RelaySocketName, dgram.Socket | null][]) {
        s?.on('error', (err) => opts.onSocketError?.(err, name));
      }
      return relay;
    } catch (err) {
      opts.srtp?.close();
      await Promise.all(bound.map(closeSocket));
      throw err;
    }
  }

  get port(): number {
    return this.outerRtp.address().port;
  }

  get rtcpPort(): number | undefined {
    return this.outerRtcp?.address().port;
  }

  get innerPort(): number {
    return this.inner.address().port;
  }

  counters(): RelayCounters {
    return this.core.counters();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.core.close();
    const all = [this.outerRtp, this.inner];
    if (this.outerRtcp) all.push(this.outerRtcp);
    await Promise.all(all.map(closeSocket));
  }
}
