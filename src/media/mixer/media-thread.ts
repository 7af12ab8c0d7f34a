import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import type {
  Method,
  Notification,
  RelaySrtpParams,
  RemoteAddress,
  RequestMap,
  RequestMessage,
  ThreadStatsResult,
  ThreadToMain,
} from '../../../workers/mixer/protocol';
import { MixerRoomHandle } from './mixer-room-handle';
import { RelayHandle } from './relay-handle';
import { startMediaWorker } from './worker-entry';

export interface MediaThreadEvents {
  /** The thread exited unexpectedly: every relay/room on it is gone (their handles emit `closed`). */
  died: [error: Error];
}

export interface CreateRelayOptions {
  legId: string;
  /** Phone-facing socket(s) to bind; rtcpPort only when the phone does not mux RTCP. */
  ip: string;
  port: number;
  rtcpPort?: number;
  /** From the SDP (may be absent / 0.0.0.0 on hold). */
  remote?: RemoteAddress;
  latch: boolean;
  /** Optional: start with an inactivity timeout (ms, 0 = off). */
  inactivityTimeoutMs?: number;
  /** Optional: decode RFC 4733 digits from the phone's RTP (plain RTP legs only, see RelayHandle.setDtmf). */
  dtmf?: { payloadType: number; clockRate?: number };
  /** Terminate SDES-SRTP in the thread. */
  srtp?: RelaySrtpParams;
  /** Initial direction (hold): whether the phone's media is passed on, whether it is sent media. */
  direction?: { sends: boolean; receives: boolean };
}

/** An Error from the thread, with its errno-style `.code` (EADDRINUSE when a port is taken). */
export class MediaThreadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly method: string,
  ) {
    super(message);
    this.name = 'MediaThreadError';
  }
}

/** A request unanswered this long rejects (the thread is stuck or died without an exit event). */
export const REQUEST_TIMEOUT_MS = 15000;

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Something living in the thread that must learn about notifications and the thread's death. */
export interface ThreadChild {
  onThreadNotification(n: Notification): void;
  onThreadGone(): void;
}

/**
 * Main-thread proxy of one media worker thread: requests with ids and a pending map (like mediasoup's Channel),
 * notifications routed to the relay handles / mixer rooms it created.
 */
export class MediaThread extends TypedEmitter<MediaThreadEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly relays = new Map<string, RelayHandle>();
  private readonly rooms = new Map<string, ThreadChild>();
  private state: 'running' | 'closed' | 'died' = 'running';
  private readonly log: Logger;
  private exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly index: number,
    logger: Logger,
  ) {
    super(logger);
    this.log = logger.child({ component: 'media-thread', thread: index });
    let onExit!: () => void;
    this.exited = new Promise((r) => (onExit = r));
    worker.on('message', (m: ThreadToMain) => this.onMessage(m));
    worker.on('error', (err) => this.onDeath(err));
    worker.on('exit', (code) => {
      onExit();
      this.onDeath(new Error(`media thread ${index} exited with code ${code}`));
    });
  }

  static async start(opts: { index: number; logger: Logger }): Promise<MediaThread> {
    const worker = startMediaWorker({ name: `parley-media-${opts.index}` });
    const thread = new MediaThread(worker, opts.index, opts.logger);
    await new Promise<void>((resolve, reject) => {
      const onReady = (m: ThreadToMain): void => {
        if (m.kind !== 'ready') return;
        cleanup();
        resolve();
      };
      const onFail = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number): void =>
        onFail(new Error(`media thread exited with code ${code} while starting`));
      const cleanup = (): void => {
        worker.off('message', onReady);
        worker.off('error', onFail);
        worker.off('exit', onExit);
      };
      worker.on('message', onReady);
      worker.on('error', onFail);
      worker.on('exit', onExit);
    });
    return thread;
  }

  get alive(): boolean {
    return this.state === 'running';
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /**
   * How busy the thread's event loop was (Node's `worker.performance.eventLoopUtilization()`, read from the main
   * thread without a message: it answers even when the thread is too busy to answer one): since the thread started,
   * or since `since` (an earlier reading) when given. A mixer thread near 1 is late on its 20 ms ticks.
   */
  eventLoopUtilization(since?: EventLoopUtilization): EventLoopUtilization {
    return this.worker.performance.eventLoopUtilization(since);
  }

  /** Number of relays currently open on this thread. */
  get relayCount(): number {
    return this.relays.size;
  }

  /**
   * Bind the phone-facing socket(s) and an inner socket in the thread. Rejects with a MediaThreadError whose
   * `.code === 'EADDRINUSE'` when the port is taken (take another from the PortAllocator and retry).
   */
  async createRelay(opts: CreateRelayOptions): Promise<RelayHandle> {
    if (this.relays.has(opts.legId))
      throw new MediaThreadError(`relay ${opts.legId} exists`, 'EEXIST', 'relay.create');
    const r = await this.request('relay.create', {
      legId: opts.legId,
      ip: opts.ip,
      port: opts.port,
      rtcpPort: opts.rtcpPort,
      remote: opts.remote ?? null,
      latch: opts.latch,
      inactivityTimeoutMs: opts.inactivityTimeoutMs,
      dtmf: opts.dtmf ?? null,
      srtp: opts.srtp ?? null,
      ...(opts.direction ? { direction: opts.direction } : {}),
    });
    const handle = new RelayHandle(this, { legId: opts.legId, ...r }, this.log);
    this.relays.set(opts.legId, handle);
    return handle;
  }

  /**
   * A room's audio mix in this thread: two loopback sockets (input from the room's mixer-input PlainTransport,
   * output to its mixer-output PlainTransport) and a place in the thread's 20 ms mix clock. See MixerRoomHandle.
   */
  async createMixerRoom(opts: {
    roomId: string;
    ip?: string;
    rate?: 8000 | 16000 | 48000 | 'auto';
  }): Promise<MixerRoomHandle> {
    if (this.rooms.has(opts.roomId)) {
      throw new MediaThreadError(`mixer room ${opts.roomId} exists`, 'EEXIST', 'mixer.createRoom');
    }
    const r = await this.request('mixer.createRoom', {
      roomId: opts.roomId,
      ip: opts.ip ?? '127.0.0.1',
      rate: opts.rate,
    });
    const handle = new MixerRoomHandle(this, { roomId: opts.roomId, ...r }, this.log);
    this.rooms.set(opts.roomId, handle);
    return handle;
  }

  async stats(): Promise<ThreadStatsResult> {
    return this.request('thread.stats', {});
  }

  /**
   * Test-only: makes the thread throw an uncaught exception (honoured only when the process runs with
   * PARLEY_FAULT_INJECTION=1; see workers/mixer/mixer.worker.ts).
   */
  injectFault(): void {
    if (this.state === 'running') this.worker.postMessage({ kind: 'fault' });
  }

  /** @internal typed request to the thread. */
  request<M extends Method>(
    method: M,
    params: RequestMap[M]['params'],
    transfer?: ArrayBuffer[],
  ): Promise<RequestMap[M]['result']> {
    if (this.state !== 'running') {
      return Promise.reject(
        new MediaThreadError(`media thread ${this.index} is ${this.state}`, 'ECLOSED', method),
      );
    }
    const id = this.nextId++;
    const msg: RequestMessage<M> = { kind: 'request', id, method, params };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new MediaThreadError(`media thread request ${method} timed out`, 'ETIMEDOUT', method));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.worker.postMessage(msg, transfer);
    });
  }

  /** @internal */
  forgetRelay(legId: string, handle: RelayHandle): void {
    if (this.relays.get(legId) === handle) this.relays.delete(legId);
  }

  /** @internal used by mixer rooms */
  adoptRoom(roomId: string, child: ThreadChild): void {
    this.rooms.set(roomId, child);
  }

  /** @internal */
  forgetRoom(roomId: string, child: ThreadChild): void {
    if (this.rooms.get(roomId) === child) this.rooms.delete(roomId);
  }

  /** Terminates the thread (idempotent). Handles on it emit `closed`; no `died`. */
  async close(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'closed';
      this.failAll(new MediaThreadError(`media thread ${this.index} closed`, 'ECLOSED', 'close'));
      await this.worker.terminate();
    }
    await this.exited;
  }

  private onMessage(m: ThreadToMain): void {
    switch (m.kind) {
      case 'response': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.result);
        else p.reject(new MediaThreadError(m.error.message, m.error.code, p.method));
        return;
      }
      case 'notification':
        return this.onNotification(m);
      case 'ready':
        return;
    }
  }

  private onNotification(n: Notification): void {
    switch (n.event) {
      case 'relay.ssrc':
        return this.relays.get(n.legId)?.onNotification('ssrc', [n.ssrc, n.payloadType]);
      case 'relay.latched':
        return this.relays.get(n.legId)?.onNotification('latched', [n.ip, n.port]);
      case 'relay.inactive':
        return this.relays.get(n.legId)?.onNotification('inactive', []);
      case 'relay.dtmf':
        return this.relays.get(n.legId)?.onNotification('dtmf', [n.digit, n.durationMs]);
      case 'log':
        this.log[n.level](n.data ?? {}, n.msg);
        return;
      default:
        this.rooms.get(n.roomId)?.onThreadNotification(n);
        return;
    }
  }

  private onDeath(err: Error): void {
    if (this.state !== 'running') return;
    this.state = 'died';
    this.log.error({ err }, 'media thread died');
    this.failAll(new MediaThreadError(`media thread ${this.index} died: ${err.message}`, 'EDIED', 'died'));
    this.safeEmit('died', err);
    // make sure it is really gone (an 'error' is followed by 'exit', but be explicit)
    void this.worker.terminate().catch(() => undefined);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const h of [...this.relays.values()]) h.markClosed();
    this.relays.clear();
    for (const r of [...this.rooms.values()]) r.onThreadGone();
    this.rooms.clear();
  }
}
