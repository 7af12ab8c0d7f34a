import { silentLogger } from '../../logging/logger';
import type { ParserLimits } from '../parser/message-parser';
import type { Clock } from '../transaction/clock';
import type { TimerConfig } from '../transaction/timers';
import { TransactionLayer } from '../transaction/transaction-layer';
import type { TlsCredentialOptions } from '../transport/tls-credentials';
import { TransportLayer, type TransportPorts } from '../transport/transport-layer';
import type { SipLogger, TransportProtocol } from '../transport/transport';
import type { SessionTimerOptions } from '../dialog/session-timer';
import { MessageTracer, type MessageTraceListener } from './message-trace';
import { UserAgentCore, type UserAgentCoreOptions } from './user-agent-core';

export interface SipStackOptions extends UserAgentCoreOptions {
  listen: {
    /** the one address to bind (e.g. 127.0.0.1); never a wildcard unless configured so */
    ip: string;
    /** port per transport: a number (0 = ephemeral) or null/undefined to disable */
    udp?: number | null;
    tcp?: number | null;
    tls?: number | null;
    ws?: number | null;
    wss?: number | null;
  };
  /** host for Via sent-by and Contact instead of the listen ip */
  publicHost?: string | null;
  /** public ports for Contact per transport (behind port mapping) */
  publicPorts?: Partial<Record<Lowercase<TransportProtocol>, number>>;
  /** TLS/WSS certificate: PEM contents or paths; none → self-signed development certificate */
  tls?: TlsCredentialOptions;
  /** close idle TCP/TLS/WS connections after this many ms (default 300000; 0 = never) */
  idleTimeoutMs?: number;
  logger?: SipLogger;
  clock?: Clock;
  /** T1/T2/T4 overrides (ms) */
  timers?: Partial<TimerConfig>;
  /** wait this long (< 200 ms) for the application before sending 100 Trying (default 100; 0 = at once) */
  tryingDelayMs?: number;
  limits?: Partial<ParserLimits>;
  sessionTimers?: SessionTimerOptions;
  /**
   * A version to append to `userAgent` ("Parley/0.1.0") in our Server and User-Agent headers. Unset by default:
   * RFC 3261 §20.35 notes that revealing the version makes a server more open to attacks against known holes,
   * and scanners (svmap) fingerprint exactly that.
   */
  advertisedVersion?: string;
}

/** The product token of our Server/User-Agent headers (§20.35, §20.41): `userAgent`, plus the version if asked. */
export function productToken(opts: Pick<SipStackOptions, 'userAgent' | 'advertisedVersion'>): string {
  const base = opts.userAgent ?? 'Parley';
  return opts.advertisedVersion ? `${base}/${opts.advertisedVersion}` : base;
}

/**
 * The SIP stack: transports + transactions + user-agent core, created and closed as one.
 *
 * ```ts
 * const stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 5060, tcp: 5060 } });
 * stack.onInvite(async (inv) => {
 *   inv.progress(180);
 *   const dialog = await inv.accept({ sdp: answer, contactParams: ';isfocus' });
 *   dialog.on('modify', (m) => m.accept({ sdp: newAnswer(m.sdp) }));
 *   dialog.on('terminated', ({ reason }) => ...);
 * });
 * const out = await stack.invite('sip:bob@127.0.0.1:5070', { sdp: offer });
 * await stack.close();
 * ```
 */
export class SipStack extends UserAgentCore {
  private closing?: Promise<void>;
  private readonly tracer: MessageTracer;

  private constructor(
    readonly transport: TransportLayer,
    transactions: TransactionLayer,
    opts: SipStackOptions,
  ) {
    super(transactions, transport, { ...opts, userAgent: productToken(opts) });
    this.tracer = new MessageTracer(
      (active) => transport.setTap(active ? this.tracer : undefined),
      opts.logger ?? silentLogger(),
    );
  }

  /**
   * Every SIP message sent or received from now on (requests and responses, retransmissions and malformed ones
   * included), as a `MessageTrace` read from the bytes on the wire: the dashboard's call ladders. Returns the
   * unsubscribe function. Nothing is traced, at no cost, while nobody listens. A listener must be cheap: it runs
   * on the SIP hot path.
   */
  onTrace(listener: MessageTraceListener): () => void {
    return this.tracer.subscribe(listener);
  }

  static async create(opts: SipStackOptions): Promise<SipStack> {
    const logger = opts.logger ?? silentLogger();
    const transport = await TransportLayer.create({
      ...opts.listen,
      publicHost: opts.publicHost,
      publicPorts: opts.publicPorts,
      tlsCredentials: opts.tls,
      idleTimeoutMs: opts.idleTimeoutMs,
      limits: opts.limits,
      logger,
    });
    const transactions = new TransactionLayer(transport, {
      clock: opts.clock,
      timers: opts.timers,
      logger,
      tryingDelayMs: opts.tryingDelayMs,
    });
    const stack = new SipStack(transport, transactions, opts);
    transport.setReceiver(transactions);
    return stack;
  }

  /** The bound ports per transport (ephemeral ones resolved). */
  get ports(): TransportPorts {
    return this.transport.ports;
  }

  /** Closes everything: dialogs (no BYE), transactions, sockets. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.coreClosed = true;
      this.closeDialogs();
      this.transactions.close();
      this.closing = this.transport.close();
    }
    return this.closing;
  }
}
