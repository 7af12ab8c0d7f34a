import type { Logger } from 'pino';

export type TransportProtocol = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

/** The logger shape the SIP stack needs (pino-compatible). */
export type SipLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Where to send a message. For stream transports `connectionId` names an existing connection to reuse. */
export interface Target {
  protocol: TransportProtocol;
  /** IP address (IPv6 without brackets) */
  address: string;
  port: number;
  connectionId?: number;
}

/** How a message arrived: the transport, the remote and local addresses and (streams) the connection. */
export interface Flow extends Target {
  localAddress: string;
  localPort: number;
}

export type SendCallback = (err?: Error | null) => void;

/** Called by a transport for every datagram or every framed stream message. */
export type TransportReceiver = (data: Buffer, flow: Flow) => void;

/**
 * Sees every message the transport layer receives (before parsing, so malformed ones too) and every message it
 * sends (retransmissions included), as the bytes on the wire. Diagnostics only: it must not throw or keep the
 * buffers (they may be reused).
 */
export interface WireTap {
  received(data: Buffer, flow: Flow): void;
  sent(data: Buffer, target: Target, localAddress: string, localPort: number): void;
}

/**
 * A transport (RFC 3261 §18): one listening socket or server, plus, for stream transports, its connections.
 * Transports move bytes only; parsing and Via handling are done by the TransportLayer.
 */
export interface Transport {
  readonly protocol: TransportProtocol;
  readonly reliable: boolean;
  readonly localAddress: string;
  /** the bound port (valid after listen(); listening on port 0 picks an ephemeral one) */
  readonly localPort: number;
  listen(): Promise<void>;
  /** Sends one whole message. Streams reuse `connectionId` if still open, else a connection to address:port. */
  send(data: Buffer, target: Target, cb?: SendCallback): void;
  /** whether a connection with this id is open (streams); datagram transports return false */
  hasConnection(connectionId: number): boolean;
  close(): Promise<void>;
}

export const isReliable = (p: TransportProtocol): boolean => p !== 'UDP';

/** Default port of a transport (RFC 3261 §19.1.2, RFC 7118 §5 uses the HTTP ports, which we cannot guess). */
export const defaultPort = (p: TransportProtocol): number => (p === 'TLS' || p === 'WSS' ? 5061 : 5060);

/** '[::1]' → '::1' */
export const stripBrackets = (host: string): string =>
  host.charCodeAt(0) === 91 /* [ */ ? host.slice(1, host.length - 1) : host;

/** '::1' → '[::1]' (for Via sent-by and URIs) */
export const hostForUri = (ip: string): string => (ip.includes(':') && ip[0] !== '[' ? `[${ip}]` : ip);

/** Connection ids are unique across all stream transports of a process. */
let nextConnectionId = 1;
export const newConnectionId = (): number => nextConnectionId++;
