import type { Flow, SipLogger, Target, TransportProtocol, WireTap } from '../transport/transport';

/** Bytes of a message kept in a trace (headers and the start of the body); the rest is cut with a note. */
export const TRACE_MAX_BYTES = 8 * 1024;

/**
 * One SIP message as it crossed the wire, for diagnostics (the dashboard's call ladder): requests and responses,
 * retransmissions included, in both directions. Taken from the bytes the transport already has (never
 * re-serialised); the summary fields are read from the start line and the Call-ID / CSeq headers.
 */
export interface MessageTrace {
  /** `in`: received by us; `out`: sent by us. */
  direction: 'in' | 'out';
  /** Milliseconds since the epoch. */
  at: number;
  /** The Call-ID header (long or compact form); null when the message has none (garbage, keep-alive). */
  callId: string | null;
  /** The request method, or for a response the method of its CSeq. */
  method: string;
  /** The status code of a response; null for a request. */
  status: number | null;
  transport: TransportProtocol;
  /** Our address and port (`ip:port`, IPv6 in brackets). */
  local: string;
  /** The far end's address and port. */
  remote: string;
  /** The message as text, capped at TRACE_MAX_BYTES (a note says how much was cut). */
  raw: string;
}

export type MessageTraceListener = (trace: MessageTrace) => void;

const hostPort = (ip: string, port: number): string => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

const CALL_ID = /^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*$/im;
const STATUS_LINE = /^SIP\/\d+\.\d+[ \t]+(\d{3})/;
const CSEQ = /^cseq[ \t]*:[ \t]*\d+[ \t]+([^\s]+)/im;

/** Reads start line, Call-ID and CSeq method from a message's text; tolerant of anything (it is diagnostics). */
export function summariseMessage(raw: string): Pick<MessageTrace, 'callId' | 'method' | 'status'> {
  const eol = raw.indexOf('\r\n');
  const startLine = eol < 0 ? raw : raw.slice(0, eol);
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.length;
  const head = raw.slice(0, end);
  const callId = CALL_ID.exec(head)?.[1] || null;
  const cseqMethod = CSEQ.exec(head)?.[1] ?? '';
  const status = STATUS_LINE.exec(startLine);
  if (status) return { callId, method: cseqMethod, status: Number(status[1]) };
  const sp = startLine.indexOf(' ');
  return { callId, method: sp > 0 ? startLine.slice(0, sp) : cseqMethod, status: null };
}

function text(data: Buffer): string {
  if (data.length <= TRACE_MAX_BYTES) return data.toString('utf8');
  return `${data.toString('utf8', 0, TRACE_MAX_BYTES)}\r\n[… ${data.length - TRACE_MAX_BYTES} more bytes not kept]`;
}

/**
 * The SIP stack's message trace: listeners subscribe with `subscribe()` (through `SipStack.onTrace`) and get a
 * `MessageTrace` for every message sent or received. The tracer is the transport layer's wire tap only while it
 * has listeners (`onActive`), so a stack nobody traces does no work at all per message.
 */
export class MessageTracer implements WireTap {
  private readonly listeners = new Set<MessageTraceListener>();

  constructor(
    private readonly onActive: (active: boolean) => void,
    private readonly log: SipLogger,
  ) {}

  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** Adds a listener; returns its unsubscribe function (idempotent). */
  subscribe(listener: MessageTraceListener): () => void {
    // A wrapper per subscription: the same function subscribed twice is two subscriptions.
    const entry: MessageTraceListener = (t) => listener(t);
    this.listeners.add(entry);
    if (this.listeners.size === 1) this.onActive(true);
    return () => {
      if (this.listeners.delete(entry) && this.listeners.size === 0) this.onActive(false);
    };
  }

  received(data: Buffer, flow: Flow): void {
    this.deliver('in', data, flow.protocol, hostPort(flow.localAddress, flow.localPort), flow);
  }

  sent(data: Buffer, target: Target, localAddress: string, localPort: number): void {
    this.deliver('out', data, target.protocol, hostPort(localAddress, localPort), target);
  }

  private deliver(
    direction: 'in' | 'out',
    data: Buffer,
    transport: TransportProtocol,
    local: string,
    remote: Target,
  ): void {
    const raw = text(data);
    const trace: MessageTrace = {
      direction,
      at: Date.now(),
      ...summariseMessage(raw),
      transport,
      local,
      remote: hostPort(remote.address, remote.port),
      raw,
    };
    for (const l of this.listeners) {
      try {
        l(trace);
      } catch (err) {
        this.log.warn({ err }, 'message trace listener threw');
      }
    }
  }
}
