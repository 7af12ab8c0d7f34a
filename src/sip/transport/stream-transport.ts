import net from 'node:net';
import tls from 'node:tls';
import { SipParseError } from '../errors';
import { SipRequest } from '../message/sip-message';
import { classifyMalformed, malformedResponse, stampSource } from '../parser/malformed';
import { parseMessage } from '../parser/message-parser';
import { StreamFramer, StreamFramingError } from '../parser/stream-framer';
import type { ParserLimits } from '../parser/message-parser';
import type { Flow, SendCallback, SipLogger, Target, Transport, TransportReceiver } from './transport';
import { newConnectionId } from './transport';

export interface StreamTransportOptions {
  protocol: 'TCP' | 'TLS';
  ip: string;
  port: number;
  logger: SipLogger;
  /** close connections idle for this long (ms); 0 disables */
  idleTimeoutMs: number;
  /** TLS server/client credentials (PEM) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  limits?: Partial<ParserLimits>;
}

interface Connection {
  id: number;
  socket: net.Socket;
  framer: StreamFramer;
  flow: Flow;
  key: string;
  ready: boolean;
  /** set once framing failed: the rest of the stream is ignored while the connection closes */
  broken?: boolean;
  queue?: Array<[Buffer, SendCallback | undefined]>;
}

/**
 * RFC 3261 §18 over TCP and TLS (§26.2.1). Connections are indexed by id and by remote address:port, so a
 * request or response to the same peer reuses an open connection (§18.1.1, §18.2.2). Messages are framed by
 * Content-Length (§18.3); broken framing closes the connection. Idle connections are closed.
 */
export class StreamTransport implements Transport {
  readonly reliable = true;
  readonly protocol: 'TCP' | 'TLS';
  private server?: net.Server;
  private port = 0;
  private closed = false;
  private readonly byId = new Map<number, Connection>();
  private readonly byRemote = new Map<string, Connection>();

  constructor(
    private readonly opts: StreamTransportOptions,
    private readonly receiver: TransportReceiver,
  ) {
    this.protocol = opts.protocol;
  }

  get localAddress(): string {
    return this.opts.ip;
  }

  get localPort(): number {
    return this.port;
  }

  get connectionCount(): number {
    return this.byId.size;
  }

  listen(): Promise<void> {
    const server =
      this.protocol === 'TLS'
        ? tls.createServer({ cert: this.opts.tls?.cert, key: this.opts.tls?.key }, (s) => this.adopt(s, true))
        : net.createServer((s) => this.adopt(s, true));
    this.server = server;
    server.on('tlsClientError', (err: Error, socket: net.Socket) =>
      this.opts.logger.warn(
        { err, remote: `${socket.remoteAddress}:${socket.remotePort}` },
        'tls handshake failed',
      ),
    );
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.ip, port: this.opts.port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.opts.logger.warn({ err }, `${this.protocol} server error`));
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private adopt(socket: net.Socket, ready: boolean): Connection {
    const id = newConnectionId();
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    const flow: Flow = {
      protocol: this.protocol,
      address,
      port,
      connectionId: id,
      localAddress: this.opts.ip,
      localPort: this.port,
    };
    const conn: Connection = {
      id,
      socket,
      framer: new StreamFramer(this.opts.limits),
      flow,
      key: `${address}:${port}`,
      ready,
    };
    this.register(conn);
    socket.setNoDelay(true);
    if (this.opts.idleTimeoutMs > 0) {
      socket.setTimeout(this.opts.idleTimeoutMs, () => {
        this.opts.logger.debug({ remote: conn.key }, `${this.protocol}: closing idle connection`);
        socket.destroy();
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) =>
      this.opts.logger.debug({ err, remote: conn.key }, `${this.protocol} connection error`),
    );
    socket.on('close', () => this.unregister(conn));
    return conn;
  }

  private register(conn: Connection): void {
    this.byId.set(conn.id, conn);
    this.byRemote.set(conn.key, conn);
  }

  private unregister(conn: Connection): void {
    this.byId.delete(conn.id);
    if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
    if (conn.queue) {
      const q = conn.queue;
      conn.queue = undefined;
      for (const [, cb] of q) cb?.(new Error('connection closed'));
    }
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.broken) return; // framing lost: nothing after it can be read, the connection is closing
    let out: { messages: Buffer[]; pings: number };
    let broken: StreamFramingError | undefined;
    try {
      out = conn.framer.push(chunk);
    } catch (err) {
      broken =
        err instanceof StreamFramingError ? err : new StreamFramingError(0, String(err), [], 0, undefined);
      out = { messages: broken.framed, pings: broken.pings };
    }
    // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF pong
    for (let i = 0; i < out.pings; i++) conn.socket.write('\r\n');
    // messages framed before a break are whole and are delivered
    for (const msg of out.messages) {
      try {
        this.receiver(msg, conn.flow);
      } catch (err) {
        this.opts.logger.error({ err, remote: conn.key }, `${this.protocol}: receiver threw`);
      }
    }
    if (broken) this.onBrokenFraming(conn, broken);
  }

  /**
   * §18.3: without a usable Content-Length the stream cannot be framed past this message, so the connection is
   * closed; first, when the header block was complete and its top Via reads, the request is answered (400 Missing
   * Content-Length header, §21.4.1) on this connection (§18.2.2), so the peer learns why.
   */
  private onBrokenFraming(conn: Connection, err: StreamFramingError): void {
    conn.broken = true;
    const reply = err.head ? answerForHead(err, conn.flow) : undefined;
    this.opts.logger.debug(
      { remote: conn.key, protocol: this.protocol, reason: err.reason, answered: reply !== undefined },
      'broken stream framing, closing',
    );
    if (reply) conn.socket.end(reply);
    else conn.socket.destroy();
  }

  hasConnection(connectionId: number): boolean {
    return this.byId.has(connectionId);
  }

  send(data: Buffer, target: Target, cb?: SendCallback): void {
    if (this.closed) {
      cb?.(new Error(`${this.protocol} transport closed`));
      return;
    }
    let conn = target.connectionId !== undefined ? this.byId.get(target.connectionId) : undefined;
    if (!conn) conn = this.byRemote.get(`${target.address}:${target.port}`);
    if (!conn) conn = this.connect(target);
    if (!conn.ready) {
      (conn.queue ??= []).push([data, cb]);
      return;
    }
    conn.socket.write(data, cb ? (err) => cb(err) : undefined);
  }

  private connect(target: Target): Connection {
    // bind the outgoing connection to our configured ip too (never the wildcard)
    const raw = net.connect({ host: target.address, port: target.port, localAddress: this.opts.ip });
    const socket =
      this.protocol === 'TLS'
        ? tls.connect({
            socket: raw,
            // a conference server dials addresses, not names: peers commonly present self-signed certificates
            rejectUnauthorized: false,
            cert: this.opts.tls?.cert,
            key: this.opts.tls?.key,
          })
        : raw;
    const conn = this.adopt(socket, false);
    // until connected, remote address/port of the socket are unknown; index by the target
    conn.flow.address = target.address;
    conn.flow.port = target.port;
    conn.key = `${target.address}:${target.port}`;
    this.byRemote.set(conn.key, conn);
    socket.once(this.protocol === 'TLS' ? 'secureConnect' : 'connect', () => {
      conn.ready = true;
      const q = conn.queue;
      conn.queue = undefined;
      if (q) for (const [data, cb] of q) socket.write(data, cb ? (err) => cb(err) : undefined);
    });
    return conn;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const conn of [...this.byId.values()]) conn.socket.destroy();
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** The response to a request whose framing broke, from its header block alone; undefined: nothing to answer. */
function answerForHead(err: StreamFramingError, flow: Flow): Buffer | undefined {
  let partial: SipRequest | undefined;
  try {
    const m = parseMessage(err.head!);
    if (m instanceof SipRequest) partial = m;
  } catch (e) {
    // the head may be broken too: the framing error is still the one to report, if a Via can be read
    if (e instanceof SipParseError) partial = e.partial;
  }
  const outcome = classifyMalformed(new SipParseError(err.status, err.reason ?? err.message, partial));
  if (outcome.action !== 'answer') return undefined;
  try {
    stampSource(outcome.request, flow);
    return malformedResponse(outcome).toBuffer();
  } catch {
    return undefined;
  }
}

/** '::ffff:127.0.0.1' → '127.0.0.1' */
export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
