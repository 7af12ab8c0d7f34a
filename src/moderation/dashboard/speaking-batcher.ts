/** One room's batch of speaking changes: the latest flag per participant since the last flush. */
export interface SpeakingBatch {
  roomId: string;
  changes: { participantId: string; speaking: boolean }[];
}

export interface SpeakingBatcherOptions {
  /** At most one batch per room per this many milliseconds (default 100). */
  intervalMs?: number;
  /** Called once per batch; the batch is built once and handed on as it is (one encode for every dashboard). */
  flush: (batch: SpeakingBatch) => void;
  /** Clock and timers (tests drive them). */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

interface RoomBatch {
  pending: Map<string, boolean>;
  timer?: unknown;
  lastFlush: number;
}

/**
 * Coalesces speaking flags per room: the mixer's VAD can flip every participant several times a second, and a
 * room of 200 callers watched by 50 dashboards would otherwise cost 200 × 10 × 50 socket writes a second. A change
 * after a quiet spell goes out on the next turn of the event loop; while changes keep coming, a room sends at most
 * one batch per `intervalMs`, carrying only each participant's latest flag. A flag that flips back within a batch
 * is still sent (with its latest value): the dashboard may have missed neither state's meaning, only its blink.
 */
export class SpeakingBatcher {
  private readonly rooms = new Map<string, RoomBatch>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (t: unknown) => void;
  private closed = false;

  constructor(private readonly opts: SpeakingBatcherOptions) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.now = opts.now ?? Date.now;
    this.setTimer =
      opts.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      });
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  /** Records `participantId`'s latest flag in room `roomId` and schedules the room's batch. */
  change(roomId: string, participantId: string, speaking: boolean): void {
    if (this.closed) return;
    let b = this.rooms.get(roomId);
    if (!b) {
      b = { pending: new Map(), lastFlush: -Infinity };
      this.rooms.set(roomId, b);
    }
    b.pending.set(participantId, speaking);
    if (b.timer !== undefined) return;
    const wait = Math.max(0, b.lastFlush + this.intervalMs - this.now());
    const batch = b;
    b.timer = this.setTimer(() => this.flushRoom(roomId, batch), wait);
  }

  /** Drops what is pending for a participant that left (its `participantLeft` says enough). */
  forget(roomId: string, participantId: string): void {
    this.rooms.get(roomId)?.pending.delete(participantId);
  }

  /** Drops a closed room's batch and timer. */
  dropRoom(roomId: string): void {
    const b = this.rooms.get(roomId);
    if (!b) return;
    if (b.timer !== undefined) this.clearTimer(b.timer);
    this.rooms.delete(roomId);
  }

  /** Stops every timer; nothing is flushed afterwards. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.rooms.keys()]) this.dropRoom(id);
  }

  private flushRoom(roomId: string, b: RoomBatch): void {
    b.timer = undefined;
    if (this.closed || this.rooms.get(roomId) !== b || b.pending.size === 0) return;
    b.lastFlush = this.now();
    const changes = [...b.pending].map(([participantId, speaking]) => ({ participantId, speaking }));
    b.pending.clear();
    this.opts.flush({ roomId, changes });
  }
}
