import { CommandRateLimiter } from '../../../src/util/command-rate-limiter';

describe('CommandRateLimiter', () => {
  it('allows a burst, refuses the next, and refills at the rate', () => {
    let t = 0;
    const l = new CommandRateLimiter(20, 20, () => t);
    for (let i = 0; i < 20; i++) expect(l.take()).toBe(true);
    expect(l.take()).toBe(false);
    t += 50; // one token back at 20/s
    expect(l.take()).toBe(true);
    expect(l.take()).toBe(false);
    t += 10_000; // never more than the burst
    let n = 0;
    while (l.take()) n++;
    expect(n).toBe(20);
  });
});
