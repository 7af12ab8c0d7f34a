import type { types } from 'mediasoup';
import type { Logger } from 'pino';

/** The worker pool as a fan-out sees it: one router per worker, made on demand. */
export interface FanoutWorkers {
  /** Workers in the pool (live or being replaced). */
  readonly size: number;
  /** A router on worker `index`; undefined when that worker is dead or being replaced. */
  createRouterOn(index: number, appData?: Record<string, unknown>): Promise<types.Router | undefined>;
  /** Which worker hosts `router` (undefined: none any more). */
  workerIndexOf(router: types.Router): number | undefined;
}

/** A producer as seen on one router of the fan-out: the source itself on the origin, a piped copy elsewhere. */
export interface PipedProducer {
  readonly producer: types.Producer;
  /** This user no longer needs it: the last release closes the pipe (the source is untouched). Idempotent. */
  release(): void;
}

/** One worker's share of the room: its router (if made yet) and the consumers living there. */
export interface WorkerLoad {
  workerIndex: number;
  /** The origin's worker, or a router made there; undefined: none yet (a router would be made on demand). */
  routerId: string | undefined;
  origin: boolean;
  /** Consumers on that router now (viewers' consumers, and the pipe consumers feeding other routers). */
  consumers: number;
}

export interface RouterFanoutOptions {
  /** The room's own router: every source (producer) lives there. */
  origin: types.Router;
  workers: FanoutWorkers;
  /** Where the pipe transports between routers listen (one machine: loopback). */
  pipeListenIp?: string;
  appData?: Record<string, unknown>;
  log: Logger;
}

interface Pipe {
  refs: number;
  ready: Promise<types.Producer>;
}

interface Made {
  workerIndex: number;
  router: Promise<types.Router | undefined>;
}

/**
 * One room's routers on the other workers of the pool, so the room's receivers spread over every core: a mediasoup
 * router runs on one worker (one thread), and each consumer costs that worker a packet copy (plus SRTP) per packet
 * of its producer. Routers are made on demand, one per worker; `producerOn()` gives a source producer's copy on one
 * of them (`pipeToRouter`: a pipe consumer on the origin, a pipe producer with the same id on the target, over a
 * pair of PipeTransports on loopback that mediasoup keeps per router pair). Each copy is made once per router and
 * shared by reference count: it closes with its source (mediasoup closes the pipe consumer with its producer, and
 * the pipe producer with it), or when its last user releases it. `close()` closes every router it made, and with
 * them every pipe transport (mediasoup closes the origin's end of each pair with the other).
 *
 * Consumers are counted per router from the routers' observers (`loads()`), so placement can pick the least
 * loaded worker without anyone keeping its own tally.
 */
export class RouterFanout {
  private readonly made = new Map<number, Made>();
  /** Routers made so far (resolved), by worker index. */
  private readonly routers = new Map<number, types.Router>();
  private readonly pipes = new Map<string, Pipe>();
  private readonly consumers = new Map<string, number>();
  private readonly log: Logger;
  private readonly originIndex: number | undefined;
  private closed = false;

  constructor(private readonly opts: RouterFanoutOptions) {
    this.log = opts.log.child({ component: 'router-fanout' });
    this.originIndex = opts.workers.workerIndexOf(opts.origin);
    this.count(opts.origin);
    // The room's own router went (its worker died, or the room closed): the copies have nothing left to carry.
    opts.origin.observer.once('close', () => this.close());
  }

  get origin(): types.Router {
    return this.opts.origin;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Every worker of the pool with its router (if any) and the consumers on it. */
  loads(): WorkerLoad[] {
    const out: WorkerLoad[] = [];
    for (let i = 0; i < this.opts.workers.size; i++) {
      const origin = i === this.originIndex;
      const router = origin ? this.opts.origin : this.routers.get(i);
      out.push({
        workerIndex: i,
        routerId: router?.id,
        origin,
        consumers: router ? (this.consumers.get(router.id) ?? 0) : 0,
      });
    }
    return out;
  }

  /**
   * The room's router on worker `index`: the origin on its own worker, elsewhere one made on first use (concurrent
   * callers share it). Undefined when that worker is dead or being replaced.
   */
  async routerOn(index: number): Promise<types.Router | undefined> {
    if (this.closed) throw new Error('router fan-out closed');
    if (index === this.originIndex) return this.opts.origin;
    let made = this.made.get(index);
    if (!made) {
      made = { workerIndex: index, router: this.make(index) };
      this.made.set(index, made);
    }
    return made.router;
  }

  /**
   * `producer` (a source on the origin) as a producer on `router`: itself on the origin, else its piped copy
   * there (made once, shared). Release the answer when done with it.
   */
  async producerOn(router: types.Router, producer: types.Producer): Promise<PipedProducer> {
    if (this.closed) throw new Error('router fan-out closed');
    if (router === this.opts.origin) return { producer, release: () => undefined };
    const key = `${router.id}/${producer.id}`;
    let pipe = this.pipes.get(key);
    if (!pipe) {
      const entry: Pipe = { refs: 0, ready: Promise.resolve(producer) };
      // Its source closed (or its router did): forgotten, so the next user pipes afresh.
      entry.ready = this.pipe(router, producer, () => {
        if (this.pipes.get(key) === entry) this.pipes.delete(key);
      });
      this.pipes.set(key, entry);
      pipe = entry;
    }
    const held = pipe;
    held.refs++;
    let piped: types.Producer;
    try {
      piped = await held.ready;
    } catch (err) {
      this.release(key, held);
      throw err;
    }
    let released = false;
    return {
      producer: piped,
      release: () => {
        if (released) return;
        released = true;
        this.release(key, held);
      },
    };
  }

  /** Piped copies alive now (for tests and the debug view). */
  get pipeCount(): number {
    return this.pipes.size;
  }

  /** Closes every router made here (their consumers, pipe producers and pipe transports with them). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.made.size > 0)
      this.log.info({ routers: this.made.size, origin: this.opts.origin.id }, 'fan-out closed');
    this.pipes.clear();
    for (const m of this.made.values())
      void m.router.then(
        (r) => r?.close(),
        () => undefined,
      );
    this.made.clear();
  }

  private async make(index: number): Promise<types.Router | undefined> {
    let router: types.Router | undefined;
    try {
      router = await this.opts.workers.createRouterOn(index, {
        ...this.opts.appData,
        fanoutOf: this.opts.origin.id,
      });
    } catch (err) {
      this.made.delete(index);
      throw err;
    }
    if (!router) {
      this.made.delete(index);
      return undefined;
    }
    if (this.closed) {
      router.close();
      return undefined;
    }
    const r = router;
    this.routers.set(index, r);
    this.count(r);
    r.observer.once('close', () => {
      // Its worker died (or close()): the next viewer placed there gets a fresh router on the replacement.
      if (this.routers.get(index) === r) {
        this.routers.delete(index);
        this.made.delete(index);
      }
      this.consumers.delete(r.id);
    });
    this.log.info({ workerIndex: index, routerId: r.id, origin: this.opts.origin.id }, 'fan-out router made');
    return r;
  }

  private async pipe(
    router: types.Router,
    producer: types.Producer,
    onClose: () => void,
  ): Promise<types.Producer> {
    const { pipeProducer } = await this.opts.origin.pipeToRouter({
      producerId: producer.id,
      router,
      listenInfo: { protocol: 'udp', ip: this.opts.pipeListenIp ?? '127.0.0.1' },
      // No DataChannels anywhere in Parley: no SCTP association per pipe pair either.
      enableSctp: false,
    });
    if (!pipeProducer) throw new Error('pipeToRouter gave no producer');
    pipeProducer.observer.once('close', onClose);
    if (this.closed) pipeProducer.close();
    return pipeProducer;
  }

  private release(key: string, pipe: Pipe): void {
    pipe.refs--;
    if (pipe.refs > 0) return;
    if (this.pipes.get(key) === pipe) this.pipes.delete(key);
    // Closing the pipe producer closes its pipe consumer on the origin (pipeToRouter links them).
    void pipe.ready.then(
      (p) => p.close(),
      () => undefined,
    );
  }

  /** Keeps `router`'s live consumer count (its transports' consumers, made and closed). */
  private count(router: types.Router): void {
    this.consumers.set(router.id, 0);
    const bump = (d: number): void => {
      const n = this.consumers.get(router.id);
      if (n !== undefined) this.consumers.set(router.id, n + d);
    };
    router.observer.on('newtransport', (t) => {
      t.observer.on('newconsumer', (c) => {
        bump(1);
        c.observer.once('close', () => bump(-1));
      });
    });
  }
}
