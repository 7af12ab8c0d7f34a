import os from 'node:os';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import { ROOM_MEDIA_CODECS } from './media-codecs';
import { mediasoupLogLevel } from './mediasoup-log-level';

export interface WorkerPoolOptions {
  /** 0 = one worker per CPU core. */
  numWorkers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel: types.WorkerLogLevel;
  logger: Logger;
  /**
   * One WebRtcServer per worker (browsers' ICE/DTLS on fixed ports, so a firewall needs only those): worker `i`
   * listens on UDP and TCP `port + i` on every address (`port` 0: any free port, for tests). Absent: none.
   */
  webRtc?: WebRtcListenOptions;
}

export interface WebRtcListenOptions {
  port: number;
  listen: ReadonlyArray<{ ip: string; announcedAddress?: string | null }>;
}

export interface WorkerPoolEvents {
  /** A worker died: every router on it is gone. The pool replaces the worker. */
  workerDied: [pid: number, error: Error];
}

export interface WorkerStatus {
  pid: number;
  alive: boolean;
  routers: number;
}

interface Slot {
  worker: types.Worker;
  routers: number;
  webRtcServer?: types.WebRtcServer;
  /** Where the WebRtcServer listens (ports resolved when configured as 0). */
  webRtcPorts?: { udp: number[]; tcp: number[] };
}

/**
 * A pool of mediasoup workers, one per core by default. Routers are placed on the worker holding the fewest
 * routers. Worker logs go to pino; a dead worker is reported with `workerDied` and replaced.
 */
export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  private readonly slots: Slot[] = [];
  /** The WebRtcServer of each router's worker (browsers' transports on that router listen there). */
  private readonly serverOf = new WeakMap<types.Router, types.WebRtcServer>();
  /** The worker of each router (a room's fan-out places one router per worker). */
  private readonly workerOf = new WeakMap<types.Router, types.Worker>();
  private closed = false;
  private readonly log: Logger;
  /** Replacements of dead workers under way: a router asked for meanwhile waits for them when no worker is live. */
  private readonly replacing = new Set<Promise<void>>();

  private constructor(private readonly opts: WorkerPoolOptions) {
    super(opts.logger);
    this.log = opts.logger.child({ component: 'worker-pool' });
  }

  static async create(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    const n = opts.numWorkers > 0 ? opts.numWorkers : os.availableParallelism();
    try {
      for (let i = 0; i < n; i++) pool.slots.push(await pool.spawn(i));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({
      pid: s.worker.pid,
      alive: !s.worker.closed && !s.worker.died,
      routers: s.routers,
    }));
  }

  /** A router with the room codecs on the least-loaded live worker. */
  async createRouter(appData: Record<string, unknown> = {}): Promise<types.Router> {
    if (this.closed) throw new Error('worker pool closed');
    let live = this.slots.filter((s) => !s.worker.closed && !s.worker.died);
    // Every worker died (one worker, or all at once): rooms rebuilding their media wait for the replacement
    // rather than fail the calls they are trying to save.
    if (live.length === 0 && this.replacing.size > 0) {
      await Promise.race(this.replacing);
      if (this.closed) throw new Error('worker pool closed');
      live = this.slots.filter((s) => !s.worker.closed && !s.worker.died);
    }
    if (live.length === 0) throw new Error('no live mediasoup worker');
    const slot = live.reduce((a, b) => (b.routers < a.routers ? b : a));
    const router = await slot.worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS, appData });
    slot.routers++;
    if (slot.webRtcServer) this.serverOf.set(router, slot.webRtcServer);
    this.workerOf.set(router, slot.worker);
    router.observer.once('close', () => slot.routers--);
    return router;
  }

  /**
   * A router with the room codecs on worker `index` (a room's fan-out: one router per worker, see RouterFanout);
   * undefined when that worker is dead or being replaced.
   */
  async createRouterOn(
    index: number,
    appData: Record<string, unknown> = {},
  ): Promise<types.Router | undefined> {
    if (this.closed) throw new Error('worker pool closed');
    const slot = this.slots[index];
    if (!slot || slot.worker.closed || slot.worker.died) return undefined;
    const router = await slot.worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS, appData });
    slot.routers++;
    if (slot.webRtcServer) this.serverOf.set(router, slot.webRtcServer);
    this.workerOf.set(router, slot.worker);
    router.observer.once('close', () => slot.routers--);
    return router;
  }

  /** The index of the live worker hosting `router` (undefined: not from this pool, or its worker is gone). */
  workerIndexOf(router: types.Router): number | undefined {
    const worker = this.workerOf.get(router);
    const i = this.slots.findIndex((s) => s.worker === worker);
    return i < 0 ? undefined : i;
  }

  /** The WebRtcServer of the worker hosting `router` (undefined: the pool runs without WebRTC listening). */
  webRtcServerFor(router: types.Router): types.WebRtcServer | undefined {
    return this.serverOf.get(router);
  }

  /** The ports each worker's WebRtcServer listens on (for the start line and tests). */
  webRtcPorts(): Array<{ udp: number[]; tcp: number[] }> {
    return this.slots.map((s) => s.webRtcPorts ?? { udp: [], tcp: [] });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.worker.close();
  }

  private async spawn(index: number): Promise<Slot> {
    const worker = await this.spawnWorker();
    const web = this.opts.webRtc;
    if (!web) return { worker, routers: 0 };
    try {
      const listenInfos: types.TransportListenInfo[] = web.listen.flatMap((l) =>
        (['udp', 'tcp'] as const).map((protocol) => ({
          protocol,
          ip: l.ip,
          ...(l.announcedAddress ? { announcedAddress: l.announcedAddress } : {}),
          ...(web.port > 0 ? { port: web.port + index } : {}),
        })),
      );
      const webRtcServer = await worker.createWebRtcServer({ listenInfos });
      const dump = await webRtcServer.dump();
      const webRtcPorts = {
        udp: dump.udpSockets.map((u) => u.port),
        tcp: dump.tcpServers.map((t) => t.port),
      };
      this.log.info({ workerPid: worker.pid, ...webRtcPorts }, 'WebRTC server listening');
      return { worker, routers: 0, webRtcServer, webRtcPorts };
    } catch (err) {
      worker.close();
      throw err;
    }
  }

  private async spawnWorker(): Promise<types.Worker> {
    const wlog = this.log;
    const worker = await mediasoup.createWorker({
      logLevel: this.opts.logLevel,
      rtcMinPort: this.opts.rtcMinPort,
      rtcMaxPort: this.opts.rtcMaxPort,
    });
    const child = wlog.child({ workerPid: worker.pid });
    worker.on('died', (error) => {
      child.error({ err: error }, 'mediasoup worker died');
      this.safeEmit('workerDied', worker.pid, error);
      this.replace(worker);
    });
    child.info('mediasoup worker started');
    return worker;
  }

  private replace(dead: types.Worker): void {
    if (this.closed) return;
    const idx = this.slots.findIndex((s) => s.worker === dead);
    if (idx < 0) return;
    const done = this.spawn(idx).then(
      (slot) => {
        if (this.closed) {
          slot.worker.close();
          return;
        }
        this.slots[idx] = slot;
        // In service from now on (its WebRtcServer listens): new rooms may be placed on it.
        this.log.info({ workerPid: slot.worker.pid, deadPid: dead.pid }, 'mediasoup worker replaced');
      },
      (err: unknown) => this.log.error({ err }, 'cannot replace dead mediasoup worker'),
    );
    this.replacing.add(done);
    void done.finally(() => this.replacing.delete(done));
  }
}

/**
 * Route mediasoup's own debug/warn/error logs (its `debug` module) into pino, closes of what the worker had already
 * closed at debug (mediasoup-log-level.ts). Call once at start.
 */
export function routeMediasoupLogs(logger: Logger): void {
  const log = logger.child({ component: 'mediasoup' });
  mediasoup.setLogEventListeners({
    ondebug: (namespace, msg) => log.debug({ namespace }, msg),
    onwarn: (namespace, msg) => log[mediasoupLogLevel('warn', msg)]({ namespace }, msg),
    onerror: (namespace, msg, error) => log[mediasoupLogLevel('error', msg)]({ namespace, err: error }, msg),
  });
}
