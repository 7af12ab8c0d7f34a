import os from 'node:os';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import { ROOM_MEDIA_CODECS } from './media-codecs';

export interface WorkerPoolOptions {
  /** 0 = one worker per CPU core. */
  numWorkers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel: types.WorkerLogLevel;
  logger: Logger;
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
}

/**
 * A pool of mediasoup workers, one per core by default. Routers are placed on the worker holding the fewest
 * routers. Worker logs go to pino; a dead worker is reported with `workerDied` and replaced.
 */
export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  private readonly slots: Slot[] = [];
  private closed = false;
  private readonly log: Logger;

  private constructor(private readonly opts: WorkerPoolOptions) {
    super(opts.logger);
    this.log = opts.logger.child({ component: 'worker-pool' });
  }

  static async create(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    const n = opts.numWorkers > 0 ? opts.numWorkers : os.availableParallelism();
    try {
      for (let i = 0; i < n; i++) pool.slots.push({ worker: await pool.spawn(), routers: 0 });
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
    const live = this.slots.filter((s) => !s.worker.closed && !s.worker.died);
    if (live.length === 0) throw new Error('no live mediasoup worker');
    const slot = live.reduce((a, b) => (b.routers < a.routers ? b : a));
    const router = await slot.worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS, appData });
    slot.routers++;
    router.observer.once('close', () => slot.routers--);
    return router;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.worker.close();
  }

  private async spawn(): Promise<types.Worker> {
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
    this.spawn().then(
      (w) => {
        if (this.closed) w.close();
        else this.slots[idx] = { worker: w, routers: 0 };
      },
      (err: unknown) => this.log.error({ err }, 'cannot replace dead mediasoup worker'),
    );
  }
}

/** Route mediasoup's own debug/warn/error logs (its `debug` module) into pino. Call once at start. */
export function routeMediasoupLogs(logger: Logger): void {
  const log = logger.child({ component: 'mediasoup' });
  mediasoup.setLogEventListeners({
    ondebug: (namespace, msg) => log.debug({ namespace }, msg),
    onwarn: (namespace, msg) => log.warn({ namespace }, msg),
    onerror: (namespace, msg, error) => log.error({ namespace, err: error }, msg),
  });
}
