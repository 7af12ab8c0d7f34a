import { BoundedQueue } from '../../../../src/moderation/webhooks/bounded-queue';

describe('BoundedQueue', () => {
  it('is FIFO across wrap-around', () => {
    const q = new BoundedQueue<number>(3);
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      q.push(i);
      if (i % 2 === 1) out.push(q.shift()!, q.shift()!);
    }
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('a push into a full queue evicts and returns the oldest', () => {
    const q = new BoundedQueue<string>(2);
    expect(q.push('a')).toBeUndefined();
    expect(q.push('b')).toBeUndefined();
    expect(q.push('c')).toBe('a');
    expect(q.size).toBe(2);
    expect([q.shift(), q.shift()]).toEqual(['b', 'c']);
  });

  it('clear() empties it and says how many were dropped', () => {
    const q = new BoundedQueue<number>(4);
    q.push(1);
    q.push(2);
    expect(q.clear()).toBe(2);
    expect(q.size).toBe(0);
    q.push(3);
    expect(q.shift()).toBe(3);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });
});
