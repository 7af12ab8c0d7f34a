import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { SipError, SipParseError } from '../errors';
import { parseMessage } from '../parser/message-parser';
import type { ParserLimits } from '../parser/message-parser';
import { validateRequest, validateResponse } from '../parser/validate';
import { classifyMalformed, malformedResponse } from '../parser/malformed';
import { SipRequest, type SipResponse } from '../message/sip-message';
import type { SipUri } from '../message/uri';
import type { Via } from '../message/via';
import { StreamTransport } from './stream-transport';
import { loadTlsCredentials, type TlsCredentialOptions } from './tls-credentials';
import type {
  Flow,
  SendCallback,
  SipLogger,
  Target,
  Transport,
  TransportProtocol,
  WireTap,
} from './transport';
import { defaultPort, hostForUri, isReliable, stripBrackets } from './transport';
import { UdpTransport } from './udp-transport';
import { WsTransport } from './ws-transport';
import { GuardVerdict, type SourceGuard } from '../security/source-guard';

export interface TransportLayerOptions {
  /** the one address we bind to (never 0.0.0.0 unless configured so) */
  ip: string;
  /** ports per transport; null/undefined disables it; 0 picks an ephemeral port */
  udp?: number | null;
  tcp?: number | null;
  tls?: number | null;
  ws?: number | null;
  wss?: number | null;
  /** host written into Via sent-by and Contact instead of `ip` (NAT / DNS name) */
  publicHost?: string | null;
  /** per-transport public port overrides for Contact (e.g. behind port mapping) */
  publicPorts?: Partial<Record<Lowercase<TransportProtocol>, number>>;
  tlsCredentials?: TlsCredentialOptions;
  /** close idle TCP/TLS/WS connections after this many ms (default 300000; 0 = never) */
  idleTimeoutMs?: number;
  limits?: Partial<ParserLimits>;
  logger: SipLogger;
}

/** What the transaction layer receives from the transport layer. */
export interface TransportLayerReceiver {
  receiveRequest(req: SipRequest, flow: Flow): void;
  receiveResponse(res: SipResponse, flow: Flow): void;
}

export type TransportPorts = Partial<Record<Lowercase<TransportProtocol>, number>>;

const PROTOCOLS: TransportProtocol[] = ['UDP', 'TCP', 'TLS', 'WS', 'WSS'];

/**
 * The transport layer (RFC 3261 §18): owns the transports, parses what they deliver, stamps `received`/`rport`
 * on requests (§18.2.1, RFC 3581 §4), answers unparseable requests with 400 where possible, picks where responses
 * go (§18.2.2) and where requests go (§8.1.2, a pragmatic subset of RFC 3263: IPs and A/AAAA lookups).
 */
export class TransportLayer {
  private readonly transports = new Map<TransportProtocol, Transport>();
  private receiver?: TransportLayerReceiver;
  /** Set only while somebody traces messages: without it the hot path pays one undefined check. */
  private tap?: WireTap;
  /** Per-source limits, bans and scanner drops (`security`); unset: every source is served. */
  private guard?: Pick<SourceGuard, 'checkPacket' | 'checkRequest'>;
  private closed = false;
  readonly logger: SipLogger;
  /** Malformed messages received: answered with 400/4xx/505, or dropped (nothing to answer or nowhere to send). */
  readonly malformed = { answered: 0, dropped: 0 };

  private constructor(private readonly opts: TransportLayerOptions) {
    this.logger = opts.logger;
  }

  static async create(opts: TransportLayerOptions): Promise<TransportLayer> {
    const layer = new TransportLayer(opts);
    try {
      await layer.start();
    } catch (err) {
      await layer.close();
      throw err;
    }
    return layer;
  }

  /** Set by the transaction layer; messages arriving before are dropped. */
  setReceiver(receiver: TransportLayerReceiver): void {
    this.receiver = receiver;
  }

  /** Installs (or with undefined removes) the wire tap that sees every message sent and received. */
  setTap(tap: WireTap | undefined): void {
    this.tap = tap;
  }

  /** Installs (or with undefined removes) the source guard asked about every packet and request received. */
  setGuard(guard: Pick<SourceGuard, 'checkPacket' | 'checkRequest'> | undefined): void {
    this.guard = guard;
  }

  private async start(): Promise<void> {
    const { opts } = this;
    const onData = (data: Buffer, flow: Flow): void => this.onData(data, flow);
    const idleTimeoutMs = opts.idleTimeoutMs ?? 300000;
    const needTls = isPort(opts.tls) || isPort(opts.wss);
    const creds = needTls ? await loadTlsCredentials(opts.tlsCredentials ?? {}, opts.logger) : undefined;
    const tls = creds ? { cert: creds.cert, key: creds.key } : undefined;
    const list: Transport[] = [];
    if (isPort(opts.udp))
      list.push(new UdpTransport({ ip: opts.ip, port: opts.udp, logger: opts.logger }, onData));
    if (isPort(opts.tcp))
      list.push(
        new StreamTransport(
          {
            protocol: 'TCP',
            ip: opts.ip,
            port: opts.tcp,
            logger: opts.logger,
            idleTimeoutMs,
            limits: opts.limits,
          },
          onData,
        ),
      );
    if (isPort(opts.tls))
      list.push(
        new StreamTransport(
          {
            protocol: 'TLS',
            ip: opts.ip,
            port: opts.tls,
            logger: opts.logger,
            idleTimeoutMs,
            tls,
            limits: opts.limits,
          },
          onData,
        ),
      );
    const maxMessageBytes = opts.limits?.maxMessageBytes;
    if (isPort(opts.ws))
      list.push(
        new WsTransport(
          { protocol: 'WS', ip: opts.ip, port: opts.ws, logger: opts.logger, idleTimeoutMs, maxMessageBytes },
          onData,
        ),
      );
    if (isPort(opts.wss))
      list.push(
        new WsTransport(
          {
            protocol: 'WSS',
            ip: opts.ip,
            port: opts.wss,
            logger: opts.logger,
            idleTimeoutMs,
            tls,
            maxMessageBytes,
          },
          onData,
        ),
      );
    for (const t of list) this.transports.set(t.protocol, t);
    await Promise.all(list.map((t) => t.listen()));
  }

  /** The bound ports (after listening on port 0, the ephemeral ones). */
  get ports(): TransportPorts {
    const out: TransportPorts = {};
    for (const [p, t] of this.transports) out[p.toLowerCase() as Lowercase<TransportProtocol>] = t.localPort;
    return out;
  }

  get ip(): string {
    return this.opts.ip;
  }

  has(protocol: TransportProtocol): boolean {
    return this.transports.has(protocol);
  }

  transport(protocol: TransportProtocol): Transport | undefined {
    return this.transports.get(protocol);
  }

  /** Via sent-by for requests we send over `protocol` (§18.1.1). */
  sentBy(protocol: TransportProtocol): string {
    const t = this.transports.get(protocol);
    const host = this.opts.publicHost ?? hostForUri(this.opts.ip);
    return `${host}:${t?.localPort ?? 0}`;
  }

  /** host:port for our Contact on `protocol` (configurable public host and port). */
  contactHostPort(protocol: TransportProtocol): { host: string; port: number } {
    const t = this.transports.get(protocol);
    const host = this.opts.publicHost ?? hostForUri(this.opts.ip);
    const port =
      this.opts.publicPorts?.[protocol.toLowerCase() as Lowercase<TransportProtocol>] ?? t?.localPort ?? 0;
    return { host, port };
  }

  /** Sends bytes; errors go to cb (never thrown). */
  send(data: Buffer, target: Target, cb?: SendCallback): void {
    const t = this.transports.get(target.protocol);
    if (!t || this.closed) {
      cb?.(new Error(`no ${target.protocol} transport`));
      return;
    }
    try {
      t.send(data, target, cb);
    } catch (err) {
      cb?.(err as Error);
      return;
    }
    this.tap?.sent(data, target, t.localAddress, t.localPort);
  }

  // ---- receiving ----

  private onData(data: Buffer, flow: Flow): void {
    if (this.closed || !this.receiver) return;
    // keep-alives on datagrams (RFC 5626 §4.4.1 style CRLFs) are not messages
    if (data.length <= 4 && isBlank(data)) return;
    // ---- source guard, before parsing: a denied or banned source costs one lookup and gets no answer ----
    if (this.guard && this.guard.checkPacket(flow.address) !== GuardVerdict.Pass) return;
    this.tap?.received(data, flow);
    let msg: SipRequest | SipResponse;
    try {
      msg = parseMessage(data, this.opts.limits);
      if (msg instanceof SipRequest) validateRequest(msg);
      else validateResponse(msg);
    } catch (err) {
      this.onMalformed(err, flow);
      return;
    }
    if (msg instanceof SipRequest) {
      // ---- source guard, after parsing: scanners' User-Agents and the source's request rate (dropped silently) ----
      if (this.guard && !guardAdmits(this.guard, msg, flow)) return;
      try {
        stampReceived(msg, flow);
      } catch (err) {
        this.onMalformed(err, flow);
        return;
      }
      try {
        this.receiver.receiveRequest(msg, flow);
      } catch (err) {
        // headers are parsed lazily: a bad From/To/CSeq may only surface here; answer it like a malformed request
        this.onMalformed(err instanceof SipParseError && !err.partial ? withPartial(err, msg) : err, flow);
      }
    } else {
      try {
        this.receiver.receiveResponse(msg, flow);
      } catch (err) {
        this.logger.warn({ err, remote: `${flow.address}:${flow.port}` }, 'response processing failed');
      }
    }
  }

  /**
   * §21.4.1 / §8.2: a malformed request whose top Via reads is answered (400 or the parser's status, the reason
   * naming the problem, the readable headers echoed: `classifyMalformed`); anything else (responses, ACKs, no
   * readable Via) is dropped and counted. Logged at debug only: a flood of garbage must not flood the log.
   */
  private onMalformed(err: unknown, flow: Flow): void {
    const remote = `${flow.protocol} ${flow.address}:${flow.port}`;
    const outcome = classifyMalformed(err);
    if (outcome.action === 'drop') {
      this.malformed.dropped++;
      this.logger.debug(
        { remote, err: (err as Error)?.message, why: outcome.why },
        'malformed SIP message dropped',
      );
      return;
    }
    try {
      stampReceived(outcome.request, flow);
      this.send(malformedResponse(outcome).toBuffer(), this.responseTarget(outcome.request.topVia, flow));
      this.malformed.answered++;
      this.logger.debug(
        { remote, status: outcome.status, reason: outcome.reason },
        'malformed SIP request answered',
      );
    } catch (e) {
      this.malformed.dropped++;
      this.logger.debug({ remote, err: e }, 'could not answer malformed request');
    }
  }

  // ---- routing ----

  /**
   * §18.2.2 (with RFC 3581 §4): reliable → the connection the request came on (or a new one to `received`
   * and the sent-by port if it closed); unreliable → `received`:`rport` if rport, else `received`:sent-by port,
   * else sent-by.
   */
  responseTarget(via: Via, flow: Flow): Target {
    if (isReliable(flow.protocol)) {
      return {
        protocol: flow.protocol,
        address: via.received ?? flow.address,
        port: flow.connectionId !== undefined ? flow.port : (via.port ?? defaultPort(flow.protocol)),
        connectionId: flow.connectionId,
      };
    }
    const rport = via.rport;
    const received = via.received;
    if (typeof rport === 'number')
      return { protocol: flow.protocol, address: received ?? flow.address, port: rport };
    if (received)
      return { protocol: flow.protocol, address: received, port: via.port ?? defaultPort(flow.protocol) };
    const host = stripBrackets(via.host);
    return {
      protocol: flow.protocol,
      address: isIP(host) ? host : flow.address,
      port: via.port ?? defaultPort(flow.protocol),
    };
  }

  /** The transport to use for a URI (§18.1.1, RFC 3263 §4.1 without NAPTR/SRV). */
  protocolFor(uri: SipUri): TransportProtocol {
    const tp = uri.params.get('transport')?.toUpperCase();
    let p: TransportProtocol;
    if (tp === 'TCP' || tp === 'UDP' || tp === 'TLS') p = tp;
    else if (tp === 'WS' || tp === 'WSS') p = uri.scheme === 'sips' ? 'WSS' : tp;
    else p = uri.scheme === 'sips' ? 'TLS' : 'UDP';
    if (uri.scheme === 'sips' && p === 'TCP') p = 'TLS';
    if (!this.transports.has(p)) {
      const fallback = PROTOCOLS.find(
        (q) => this.transports.has(q) && (uri.scheme !== 'sips' || q === 'TLS'),
      );
      if (!fallback || p === 'WS' || p === 'WSS') throw new SipError(503, `No ${p} transport`);
      p = fallback;
    }
    return p;
  }

  /** Resolves a URI (next hop) into a target. */
  async resolve(uri: SipUri): Promise<Target> {
    const protocol = this.protocolFor(uri);
    const port = uri.port ?? defaultPort(protocol);
    const host = stripBrackets(uri.params.get('maddr') ?? uri.host);
    if (isIP(host)) return { protocol, address: host, port };
    try {
      const family = isIP(this.opts.ip) === 6 ? 6 : 4;
      const { address } = await dns.lookup(host, { family });
      return { protocol, address, port };
    } catch {
      throw new SipError(503, `Cannot resolve ${host}`);
    }
  }

  /** whether a stream connection is still open (for connection reuse in dialogs) */
  isOpen(target: Target): boolean {
    if (target.connectionId === undefined) return false;
    return this.transports.get(target.protocol)?.hasConnection(target.connectionId) ?? false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.transports.values()].map((t) => t.close().catch(() => undefined)));
  }
}

/** The source guard's say on a parsed request: ACKs and to-tagged requests draw on the source's dialog budget. */
function guardAdmits(guard: Pick<SourceGuard, 'checkRequest'>, req: SipRequest, flow: Flow): boolean {
  let inDialog = false;
  try {
    inDialog = req.to.tag !== undefined;
  } catch {
    // a To header that does not parse is answered 400 further on; here it counts as a new request
  }
  const verdict = guard.checkRequest(flow.address, {
    method: req.method,
    userAgent: req.rawHeaders.get('user-agent'),
    inDialog,
  });
  return verdict === GuardVerdict.Pass;
}

function isPort(p: number | null | undefined): p is number {
  return typeof p === 'number' && p >= 0;
}

function withPartial(err: SipParseError, req: SipRequest): SipParseError {
  const e = new SipParseError(err.status || 400, err.reason ?? err.message, req);
  return e;
}

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 13 && c !== 10 && c !== 32 && c !== 0) return false;
  }
  return true;
}

/**
 * §18.2.1: add `received` when the sent-by host differs from the packet's source address; RFC 3581 §4: when
 * `rport` is present without a value, fill it with the source port (and always add `received`).
 */
export function stampReceived(req: SipRequest, flow: Flow): void {
  const vias = req.vias;
  const via = vias[0];
  if (!via) throw new SipParseError(400, 'Missing Via header');
  // the message model's cached Via objects are live: the change is written back to the headers
  if (via.rport === null) {
    via.rport = flow.port;
    via.received = flow.address;
  } else if (stripBrackets(via.host) !== flow.address) {
    via.received = flow.address;
  }
}
