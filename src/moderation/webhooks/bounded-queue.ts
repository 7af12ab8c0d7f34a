/**
 * A FIFO with a fixed capacity over a ring buffer: push and shift are O(1), and pushing into a full queue evicts
 * the oldest item (returned, so the caller can count it). Webhook deliveries wait here; a receiver that is down
 * for hours costs a bounded amount of memory.
 */
export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends `item`; when full, drops the oldest and returns it. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.count === this.capacity) evicted = this.shift();
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return evicted;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  clear(): number {
    const n = this.count;
    this.items.fill(undefined);
    this.head = 0;
    this.count = 0;
    return n;
  }
}
