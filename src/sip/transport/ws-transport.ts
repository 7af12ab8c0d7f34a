import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Flow, SendCallback, SipLogger, Target, Transport, TransportReceiver } from './transport';
import { newConnectionId } from './transport';
import { normalizeAddress } from './stream-transport';

export interface WsTransportOptions {
  protocol: 'WS' | 'WSS';
  ip: string;
  port: number;
  logger: SipLogger;
  idleTimeoutMs: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  maxMessageBytes?: number;
}

interface WsConnection {
  id: number;
  ws: WebSocket;
  flow: Flow;
  key: string;
  idle?: NodeJS.Timeout;
}

/**
 * RFC 7118: SIP over WebSocket. The server only accepts handshakes that offer the 'sip' subprotocol (§4.1);
 * each WebSocket message carries exactly one SIP message (§5.2), so no stream framing is needed. We never open
 * WebSocket connections ourselves: requests to a WS peer go over the connection it opened (§5).
 */
export class WsTransport implements Transport {
  readonly reliable = true;
  readonly protocol: 'WS' | 'WSS';
  private httpServer?: http.Server | https.Server;
  private wss?: WebSocketServer;
  private port = 0;
  private closed = false;
  private readonly byId = new Map<number, WsConnection>();
  private readonly byRemote = new Map<string, WsConnection>();

  constructor(
    private readonly opts: WsTransportOptions,
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

  listen(): Promise<void> {
    const server =
      this.protocol === 'WSS'
        ? https.createServer({ cert: this.opts.tls?.cert, key: this.opts.tls?.key })
        : http.createServer();
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('SIP over WebSocket only (RFC 7118)\n');
    });
    this.httpServer = server;
    const wss = new WebSocketServer({
      server,
      maxPayload: this.opts.maxMessageBytes ?? 65535,
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
      // RFC 7118 §4.1: the client MUST include 'sip' in Sec-WebSocket-Protocol; refuse it otherwise
      verifyClient: (info: { req: http.IncomingMessage }) => {
        const offered = String(info.req.headers['sec-websocket-protocol'] ?? '');
        return offered
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .includes('sip');
      },
    });
    this.wss = wss;
    wss.on('connection', (ws, req) => this.adopt(ws, req.socket));
    wss.on('error', (err) => this.opts.logger.warn({ err }, `${this.protocol} server error`));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.ip, port: this.opts.port, exclusive: true }, () => {
        server.off('error', reject);
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private adopt(ws: WebSocket, socket: net.Socket): void {
    const id = newConnectionId();
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    const conn: WsConnection = {
      id,
      ws,
      key: `${address}:${port}`,
      flow: {
        protocol: this.protocol,
        address,
        port,
        connectionId: id,
        localAddress: this.opts.ip,
        localPort: this.port,
      },
    };
    this.byId.set(id, conn);
    this.byRemote.set(conn.key, conn);
    this.touch(conn);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      this.touch(conn);
      const buf = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data as ArrayBuffer);
      // RFC 5626-style keep-alive over WS: a message of only CRLFs
      if (buf.length <= 4 && buf.toString('latin1').trim() === '') return;
      try {
        this.receiver(buf, conn.flow);
      } catch (err) {
        this.opts.logger.error({ err, remote: conn.key }, `${this.protocol}: receiver threw`);
      }
    });
    ws.on('error', (err) =>
      this.opts.logger.debug({ err, remote: conn.key }, `${this.protocol} connection error`),
    );
    ws.on('close', () => {
      if (conn.idle) clearTimeout(conn.idle);
      this.byId.delete(id);
      if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
    });
  }

  private touch(conn: WsConnection): void {
    if (this.opts.idleTimeoutMs <= 0) return;
    if (conn.idle) conn.idle.refresh();
    else {
      conn.idle = setTimeout(() => {
        this.opts.logger.debug({ remote: conn.key }, `${this.protocol}: closing idle connection`);
        conn.ws.close(1000, 'idle');
      }, this.opts.idleTimeoutMs);
      conn.idle.unref();
    }
  }

  hasConnection(connectionId: number): boolean {
    return this.byId.has(connectionId);
  }

  send(data: Buffer, target: Target, cb?: SendCallback): void {
    let conn = target.connectionId !== undefined ? this.byId.get(target.connectionId) : undefined;
    if (!conn) conn = this.byRemote.get(`${target.address}:${target.port}`);
    if (!conn || this.closed) {
      cb?.(new Error(`${this.protocol}: no connection to ${target.address}:${target.port}`));
      return;
    }
    this.touch(conn);
    // RFC 7118 §5.1: text frames for UTF-8 SIP messages
    conn.ws.send(data, { binary: false }, cb ? (err) => cb(err) : undefined);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const conn of this.byId.values()) {
      if (conn.idle) clearTimeout(conn.idle);
      conn.ws.terminate();
    }
    const server = this.httpServer;
    this.wss?.close();
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
