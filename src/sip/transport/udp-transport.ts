import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Flow, SendCallback, SipLogger, Target, Transport, TransportReceiver } from './transport';

export interface UdpTransportOptions {
  ip: string;
  port: number;
  logger: SipLogger;
  /** socket receive/send buffer size (bytes); bursts of hundreds of calls/s overflow the default ~200 KB */
  bufferBytes?: number;
}

/** RFC 3261 §18 over UDP: one socket bound to the configured ip; every datagram is one message. */
export class UdpTransport implements Transport {
  readonly protocol = 'UDP' as const;
  readonly reliable = false;
  private socket?: dgram.Socket;
  private port = 0;
  private closed = false;

  constructor(
    private readonly opts: UdpTransportOptions,
    private readonly receiver: TransportReceiver,
  ) {}

  get localAddress(): string {
    return this.opts.ip;
  }

  get localPort(): number {
    return this.port;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: isIPv6(this.opts.ip) ? 'udp6' : 'udp4' });
      this.socket = socket;
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.bind({ address: this.opts.ip, port: this.opts.port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.opts.logger.warn({ err }, 'udp socket error'));
        this.port = socket.address().port;
        const size = this.opts.bufferBytes ?? 4 * 1024 * 1024;
        try {
          // the kernel caps this at net.core.rmem_max / wmem_max
          socket.setRecvBufferSize(size);
          socket.setSendBufferSize(size);
        } catch (err) {
          this.opts.logger.debug({ err }, 'udp: could not set buffer sizes');
        }
        socket.on('message', (data, rinfo) => this.onMessage(data, rinfo));
        resolve();
      });
    });
  }

  private onMessage(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const flow: Flow = {
      protocol: 'UDP',
      address: rinfo.address,
      port: rinfo.port,
      localAddress: this.opts.ip,
      localPort: this.port,
    };
    try {
      this.receiver(data, flow);
    } catch (err) {
      // an exception never escapes a transport (it would kill the socket's event loop turn for other calls)
      this.opts.logger.error({ err, remote: `${rinfo.address}:${rinfo.port}` }, 'udp: receiver threw');
    }
  }

  send(data: Buffer, target: Target, cb?: SendCallback): void {
    if (!this.socket || this.closed) {
      cb?.(new Error('udp transport closed'));
      return;
    }
    this.socket.send(data, target.port, target.address, cb ? (err) => cb(err) : undefined);
  }

  hasConnection(): boolean {
    return false;
  }

  close(): Promise<void> {
    if (this.closed || !this.socket) {
      this.closed = true;
      return Promise.resolve();
    }
    this.closed = true;
    const socket = this.socket;
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
