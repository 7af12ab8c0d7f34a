import { backoffDelay, RestartPolicy } from '../../../src/livestream/restart-policy';

describe('backoffDelay', () => {
  it('doubles from the initial delay and stops at the maximum', () => {
    const o = { initialMs: 1000, maxMs: 5000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, o))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe('RestartPolicy', () => {
  const opts = { initialMs: 100, maxMs: 1000, maxRestarts: 3, stableMs: 60_000 };

  it('restarts quick failures with a growing delay and gives up after maxRestarts', () => {
    const p = new RestartPolicy(opts);
    expect(p.onExit(0, 10)).toEqual({ restart: true, delayMs: 100, attempt: 1 });
    expect(p.onExit(100, 200)).toEqual({ restart: true, delayMs: 200, attempt: 2 });
    expect(p.onExit(400, 500)).toEqual({ restart: true, delayMs: 400, attempt: 3 });
    expect(p.onExit(900, 1000)).toEqual({ restart: false, attempt: 4 });
  });

  it('a run that lasted resets the back-off', () => {
    const p = new RestartPolicy(opts);
    p.onExit(0, 10);
    p.onExit(100, 200);
    expect(p.onExit(1000, 1000 + 60_000)).toEqual({ restart: true, delayMs: 100, attempt: 1 });
    expect(p.consecutiveFailures).toBe(1);
  });

  it('with maxRestarts 0 it never restarts', () => {
    expect(new RestartPolicy({ ...opts, maxRestarts: 0 }).onExit(0, 1)).toEqual({
      restart: false,
      attempt: 1,
    });
  });
});
