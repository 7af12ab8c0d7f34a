import { SpeakingBatcher, type SpeakingBatch } from '../../../../src/moderation/dashboard/speaking-batcher';

/** A manual clock with timers, so batches are checked without waiting. */
class Clock {
  t = 1_000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now = (): number => this.t;
  set = (fn: () => void, ms: number): number => {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clear = (id: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

function setup(): { clock: Clock; out: Array<SpeakingBatch & { at: number }>; b: SpeakingBatcher } {
  const clock = new Clock();
  const out: Array<SpeakingBatch & { at: number }> = [];
  const b = new SpeakingBatcher({
    intervalMs: 100,
    flush: (batch) => out.push({ ...batch, at: clock.t }),
    now: clock.now,
    setTimer: clock.set,
    clearTimer: clock.clear,
  });
  return { clock, out, b };
}

describe('SpeakingBatcher', () => {
  it('sends a change after a quiet spell on the next turn, not 100 ms later', () => {
    const { clock, out, b } = setup();
    b.change('r', 'a', true);
    expect(out).toHaveLength(0);
    clock.advance(0);
    expect(out).toEqual([{ roomId: 'r', changes: [{ participantId: 'a', speaking: true }], at: 1_000 }]);
  });

  it('sends at most one batch per room per interval, with the latest flag of each participant', () => {
    const { clock, out, b } = setup();
    // 200 participants flipping every 10 ms for one second: 20,000 changes
    for (let step = 0; step < 100; step++) {
      for (let i = 0; i < 200; i++) b.change('r', `p${i}`, (step + i) % 2 === 0);
      clock.advance(10);
    }
    clock.advance(200);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < out.length; i++) expect(out[i]!.at - out[i - 1]!.at).toBeGreaterThanOrEqual(100);
    // each batch names a participant once, and the last batch carries the last flags set
    for (const batch of out)
      expect(new Set(batch.changes.map((c) => c.participantId)).size).toBe(batch.changes.length);
    const last = new Map<string, boolean>();
    for (const batch of out) for (const c of batch.changes) last.set(c.participantId, c.speaking);
    for (let i = 0; i < 200; i++) expect(last.get(`p${i}`)).toBe((99 + i) % 2 === 0);
  });

  it('keeps rooms apart: each room has its own batch and pace', () => {
    const { clock, out, b } = setup();
    b.change('r1', 'a', true);
    b.change('r2', 'b', true);
    clock.advance(0);
    expect(out.map((x) => x.roomId).sort()).toEqual(['r1', 'r2']);
  });

  it('forgets a participant that left and a room that closed; sends nothing after close()', () => {
    const { clock, out, b } = setup();
    b.change('r', 'a', true);
    b.change('r', 'b', true);
    b.forget('r', 'a');
    clock.advance(0);
    expect(out[0]!.changes).toEqual([{ participantId: 'b', speaking: true }]);
    b.change('r', 'b', false);
    b.dropRoom('r');
    clock.advance(500);
    expect(out).toHaveLength(1);
    b.change('r', 'b', true);
    b.close();
    b.close();
    clock.advance(500);
    b.change('r', 'c', true);
    clock.advance(500);
    expect(out).toHaveLength(1);
  });
});
