import { performance } from 'node:perf_hooks';
import type {
  CreateRelayParams,
  Method,
  Notification,
  RequestMap,
  RequestMessage,
  ResponseMessage,
  SerializedError,
  ThreadToMain,
} from '../protocol';
import { UdpRelay } from '../relay/udp-relay';
import type { RelayNotification } from '../relay/rtp-relay';
import { createRelaySrtp } from '../relay/srtp-context';
import type { RoomHostRegistry } from './mixer-room-host';

/** How often relays are checked for inactivity (the timeouts themselves are per leg, in ms). */
export const RELAY_TICK_MS = 250;

/** An Error with a string `code` (errno-style), serialised across the thread boundary. */
export class HostError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

type Handler<M extends Method> = (
  params: RequestMap[M]['params'],
) => Promise<RequestMap[M]['result']> | RequestMap[M]['result'];

/**
 * Everything a media worker thread does, independent of `worker_threads`: it takes RequestMessages, answers with
 * ResponseMessages and posts Notifications through `post`. Owns the relays (and, through `rooms`, the mixer rooms)
 * of its thread and one periodic timer for relay inactivity.
 */
export class MediaThreadHost {
  private readonly relays = new Map<string, UdpRelay>();
  /** legIds being opened (the bind is async): a second create for the same leg must fail, not race. */
  private readonly opening = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly eluStart = performance.eventLoopUtilization();
  private readonly handlers: { [M in Method]?: Handler<M> } = {};
  rooms: RoomHostRegistry | null = null;

  constructor(private readonly post: (msg: ThreadToMain, transfer?: ArrayBuffer[]) => void) {
    this.handlers['relay.create'] = (p) => this.createRelay(p);
    this.handlers['relay.connectInner'] = (p) => {
      this.relay(p.legId).core.connectInner(p.ip, p.port);
      return null;
    };
    this.handlers['relay.disconnectInner'] = (p) => {
      this.relay(p.legId).core.disconnectInner();
      return null;
    };
    this.handlers['relay.updateRemote'] = (p) => {
      this.relay(p.legId).core.updateRemote(p.remote, p.latch);
      return null;
    };
    this.handlers['relay.setInactivityTimeout'] = (p) => {
      this.relay(p.legId).core.setInactivityTimeout(p.ms, Date.now());
      return null;
    };
    this.handlers['relay.setDtmf'] = (p) => {
      this.relay(p.legId).core.setDtmf(p.dtmf);
      return null;
    };
    this.handlers['relay.setPayloadTypeMap'] = (p) => {
      this.relay(p.legId).core.setPayloadTypeMap(p.map);
      return null;
    };
    this.handlers['relay.setSrtp'] = (p) => {
      const r = this.relay(p.legId);
      r.core.setSrtp(p.srtp ? createRelaySrtp(p.srtp) : null);
      return null;
    };
    this.handlers['relay.setDirection'] = (p) => {
      this.relay(p.legId).core.setDirection(p.sends, p.receives);
      return null;
    };
    this.handlers['relay.stats'] = (p) => this.relay(p.legId).counters();
    this.handlers['relay.close'] = async (p) => {
      const r = this.relays.get(p.legId);
      if (r) {
        this.relays.delete(p.legId);
        await r.close();
      }
      this.updateTimer();
      return null;
    };
    this.handlers['thread.stats'] = () => {
      const elu = performance.eventLoopUtilization(this.eluStart);
      return {
        eventLoopUtilization: elu.utilization,
        activeMs: elu.active,
        idleMs: elu.idle,
        relays: this.relays.size,
        rooms: this.rooms?.size ?? 0,
      };
    };
    this.handlers['thread.crash'] = () => {
      setImmediate(() => {
        throw new Error('media thread crash requested (test hook)');
      });
      return null;
    };
  }

  /** Register handlers for more methods (the mixer rooms do this). */
  register<M extends Method>(method: M, handler: Handler<M>): void {
    (this.handlers as Record<string, unknown>)[method] = handler;
  }

  notify(n: Notification): void {
    if (!this.closed) this.post(n);
  }

  async handle(msg: RequestMessage): Promise<void> {
    let response: ResponseMessage;
    try {
      const h = this.handlers[msg.method] as Handler<Method> | undefined;
      if (!h) throw new HostError(`unknown method ${msg.method}`, 'ENOSYS');
      if (this.closed) throw new HostError('media thread closing', 'ECLOSED');
      const result = await h(msg.params as never);
      response = { kind: 'response', id: msg.id, ok: true, result: result ?? null };
    } catch (err) {
      response = { kind: 'response', id: msg.id, ok: false, error: serializeError(err) };
    }
    this.post(response);
  }

  get relayCount(): number {
    return this.relays.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(all.map((r) => r.close()));
    await this.rooms?.closeAll();
  }

  /** A relay of this thread, for the mixer rooms that attach legs directly. Throws ENOENT. */
  relay(legId: string): UdpRelay {
    const r = this.relays.get(legId);
    if (!r) throw new HostError(`no relay for leg ${legId}`, 'ENOENT');
    return r;
  }

  private async createRelay(p: CreateRelayParams): Promise<RequestMap['relay.create']['result']> {
    if (this.relays.has(p.legId) || this.opening.has(p.legId)) {
      throw new HostError(`relay for leg ${p.legId} exists`, 'EEXIST');
    }
    this.opening.add(p.legId);
    let relay: UdpRelay;
    try {
      const srtp = p.srtp ? createRelaySrtp(p.srtp) : null;
      relay = await UdpRelay.open({
        srtp,
        ip: p.ip,
        port: p.port,
        rtcpPort: p.rtcpPort,
        remote: p.remote ?? null,
        latch: p.latch,
        dtmf: p.dtmf,
        notify: (n) => this.onRelayNotification(p.legId, n),
        onSocketError: (err, socket) =>
          this.notify({
            kind: 'notification',
            event: 'log',
            level: 'warn',
            msg: 'relay socket error',
            data: { legId: p.legId, socket, err: err.message },
          }),
      });
    } finally {
      this.opening.delete(p.legId);
    }
    if (this.closed) {
      await relay.close();
      throw new HostError('media thread closing', 'ECLOSED');
    }
    if (p.inactivityTimeoutMs) relay.core.setInactivityTimeout(p.inactivityTimeoutMs, Date.now());
    if (p.direction) relay.core.setDirection(p.direction.sends, p.direction.receives);
    this.relays.set(p.legId, relay);
    this.updateTimer();
    return { innerIp: relay.ip, innerPort: relay.innerPort, port: relay.port, rtcpPort: relay.rtcpPort };
  }

  private onRelayNotification(legId: string, n: RelayNotification): void {
    switch (n.type) {
      case 'ssrc':
        return this.notify({
          kind: 'notification',
          event: 'relay.ssrc',
          legId,
          ssrc: n.ssrc,
          payloadType: n.payloadType,
        });
      case 'latched':
        return this.notify({ kind: 'notification', event: 'relay.latched', legId, ip: n.ip, port: n.port });
      case 'inactive':
        return this.notify({ kind: 'notification', event: 'relay.inactive', legId });
      case 'dtmf':
        return this.notify({
          kind: 'notification',
          event: 'relay.dtmf',
          legId,
          digit: n.digit,
          durationMs: n.durationMs,
        });
    }
  }

  private updateTimer(): void {
    if (this.relays.size > 0 && !this.timer && !this.closed) {
      this.timer = setInterval(() => {
        const now = Date.now();
        for (const r of this.relays.values()) r.core.tick(now);
      }, RELAY_TICK_MS);
    } else if (this.relays.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, name: err.name, code: typeof code === 'string' ? code : undefined };
  }
  return { message: String(err) };
}
