import os from 'node:os';
import type { Logger } from 'pino';
import { MediaThread } from './media-thread';

export interface MediaThreadPoolOptions {
  /** 0 = one per core. */
  threads: number;
  logger: Logger;
}

/**
 * The media worker threads (RTP relays of phone legs, audio mixer rooms). A room is placed once on the thread with
 * the fewest rooms and stays there, so its legs and its mix share a thread; a thread that dies is replaced (its
 * rooms are placed afresh on their next threadFor).
 */
export class MediaThreadPool {
  private readonly threads: MediaThread[] = [];
  private readonly placement = new Map<string, MediaThread>();
  /** Replacements of dead threads under way (`ready()` waits for them when no thread is alive). */
  private readonly replacing = new Set<Promise<void>>();
  private closed = false;
  private readonly log: Logger;

  private constructor(private readonly opts: MediaThreadPoolOptions) {
    this.log = opts.logger.child({ component: 'media-thread-pool' });
  }

  static async create(opts: MediaThreadPoolOptions): Promise<MediaThreadPool> {
    const pool = new MediaThreadPool(opts);
    const n = opts.threads > 0 ? opts.threads : os.availableParallelism();
    if (process.env.PARLEY_FAULT_INJECTION === '1') pool.armFaultInjection();
    try {
      for (let i = 0; i < n; i++) pool.threads.push(await pool.spawn(i));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** All threads (for stats / tests). */
  get all(): readonly MediaThread[] {
    return this.threads;
  }

  /**
   * Stable placement: a room's legs and mix always live on the same thread; rooms spread across threads. `prefer`:
   * the thread to place a new room on when it is alive (a room rebuilding its media after its router's worker died
   * stays on its thread, so its phones' legs, which live there, need no new address).
   */
  threadFor(roomId: string, prefer?: number): MediaThread {
    if (this.closed) throw new Error('media thread pool closed');
    const placed = this.placement.get(roomId);
    if (placed && placed.alive) return placed;
    const preferred =
      prefer === undefined ? undefined : this.threads.find((t) => t.index === prefer && t.alive);
    if (preferred) {
      this.placement.set(roomId, preferred);
      return preferred;
    }
    const live = this.threads.filter((t) => t.alive);
    const candidates = live.length > 0 ? live : this.threads;
    const load = new Map<MediaThread, number>(candidates.map((t) => [t, 0]));
    for (const t of this.placement.values()) if (load.has(t)) load.set(t, load.get(t)! + 1);
    const chosen = candidates.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
    this.placement.set(roomId, chosen);
    return chosen;
  }

  /**
   * Resolves when a live thread can take a room: at once unless every thread is dead and being replaced (a room
   * rebuilding its mixer after its thread died waits for the replacement rather than land on a dead thread).
   */
  async ready(): Promise<void> {
    while (!this.closed && !this.threads.some((t) => t.alive) && this.replacing.size > 0)
      await Promise.race(this.replacing);
  }

  /** The room has ended: forget its placement (its thread counts one room less). */
  releaseRoom(roomId: string): void {
    this.placement.delete(roomId);
  }

  /**
   * Test-only fault injection (PARLEY_FAULT_INJECTION=1): SIGUSR2 to the process makes every live media thread
   * hosting a room throw an uncaught exception — an external trigger for a real thread death, used by
   * test/e2e/fault-thread.test.ts. Never armed otherwise.
   */
  private armFaultInjection(): void {
    this.onFaultSignal = () => {
      const hosting = new Set(this.placement.values());
      for (const t of this.threads) if (t.alive && hosting.has(t)) t.injectFault();
      this.log.warn({ threads: [...hosting].map((t) => t.index) }, 'media thread fault injected');
    };
    process.on('SIGUSR2', this.onFaultSignal);
  }

  private onFaultSignal?: () => void;

  /** Idempotent; terminates every thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.onFaultSignal) process.off('SIGUSR2', this.onFaultSignal);
    this.placement.clear();
    await Promise.all(this.threads.map((t) => t.close()));
  }

  private async spawn(index: number): Promise<MediaThread> {
    const thread = await MediaThread.start({ index, logger: this.opts.logger });
    thread.once('died', () => this.track(this.replace(thread, index)));
    return thread;
  }

  private track(p: Promise<void>): void {
    this.replacing.add(p);
    void p.finally(() => this.replacing.delete(p));
  }

  private async replace(thread: MediaThread, index: number): Promise<void> {
    this.log.error({ thread: index }, 'media thread died; replacing it');
    for (const [room, t] of this.placement) if (t === thread) this.placement.delete(room);
    if (this.closed) return;
    try {
      const fresh = await MediaThread.start({ index, logger: this.opts.logger });
      if (this.closed) return void (await fresh.close());
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads[at] = fresh;
      fresh.once('died', () => this.track(this.replace(fresh, index)));
      this.log.info({ thread: index }, 'media thread replaced');
    } catch (err) {
      this.log.error({ err, thread: index }, 'cannot replace media thread');
    }
  }
}
