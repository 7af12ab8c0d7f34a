/**
 * LoginLimiter on a fake clock: failures counted per key in a sliding window; at the maximum every attempt on the
 * key is refused (whatever the password) until the oldest failures leave the window.
 */
import { LoginLimiter } from '../../../../src/moderation/auth/login-limiter';

function limiter(maxAttempts = 3, windowMs = 60_000) {
  let now = 1_000_000;
  const l = new LoginLimiter({ maxAttempts, windowMs, now: () => now });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('LoginLimiter', () => {
  it('allows maxAttempts failures from a source, then refuses that source (and only it)', () => {
    const { l } = limiter(3);
    for (let i = 0; i < 3; i++) {
      expect(l.check(['source:1.2.3.4', `account:u${i}`]).limited).toBe(false);
      l.fail(['source:1.2.3.4', `account:u${i}`]);
    }
    expect(l.check(['source:1.2.3.4', 'account:fresh'])).toEqual({ limited: true, retryAfterSeconds: 60 });
    expect(l.check(['source:5.6.7.8', 'account:fresh']).limited).toBe(false);
  });

  it('counts per account across sources (a slow spray against one account)', () => {
    const { l } = limiter(3);
    for (const ip of ['a', 'b', 'c']) l.fail([`source:${ip}`, 'account:alice']);
    expect(l.check(['source:d', 'account:alice']).limited).toBe(true);
    expect(l.check(['source:d', 'account:bob']).limited).toBe(false);
  });

  it('frees a key once its failures leave the window, with Retry-After counting down', () => {
    const { l, advance } = limiter(2, 60_000);
    l.fail(['k']);
    advance(20_000);
    l.fail(['k']);
    expect(l.check(['k'])).toEqual({ limited: true, retryAfterSeconds: 40 });
    advance(39_000);
    expect(l.check(['k'])).toEqual({ limited: true, retryAfterSeconds: 1 });
    advance(1_000);
    // the first failure left the window: one failure, under the maximum of 2
    expect(l.check(['k'])).toEqual({ limited: false, retryAfterSeconds: 0 });
    l.fail(['k']);
    expect(l.check(['k'])).toEqual({ limited: true, retryAfterSeconds: 20 });
    advance(60_000);
    expect(l.check(['k']).limited).toBe(false);
    expect(l.size).toBe(0);
  });

  it('sweeps expired keys so an address scan cannot grow memory without bound', () => {
    let now = 0;
    const l = new LoginLimiter({ maxAttempts: 5, windowMs: 1000, now: () => now, sweepAbove: 100 });
    for (let i = 0; i < 100; i++) l.fail([`source:${i}`]);
    expect(l.size).toBe(100);
    now += 2000;
    // the 101st key triggers a sweep: the 100 expired keys go
    l.fail(['source:new']);
    expect(l.size).toBe(1);
  });
});
