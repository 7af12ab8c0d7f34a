import { CidrList, parseCidr } from '../../../../src/sip/security/cidr';
import {
  GuardVerdict,
  SourceGuard,
  type SourceGuardOptions,
} from '../../../../src/sip/security/source-guard';
import { TokenBucket } from '../../../../src/sip/security/token-bucket';
import { WindowCounter } from '../../../../src/sip/security/window-counter';

const INVITE = { method: 'INVITE', userAgent: 'Yealink T46', inDialog: false };

function guard(over: Partial<SourceGuardOptions> = {}) {
  const clock = { t: 1_000_000 };
  const bans: string[] = [];
  const g = new SourceGuard({
    requestsPerSecond: 10,
    burst: 20,
    banAfterSeconds: 2,
    banSeconds: 60,
    allow: [],
    deny: [],
    scannerUserAgents: ['friendly-scanner', 'sipvicious', 'sipcli'],
    now: () => clock.t,
    onBan: (a) => bans.push(a),
    ...over,
  });
  return { g, clock, bans };
}

describe('TokenBucket', () => {
  it('lets a burst through, then refills at its rate', () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(99)).toBe(false); // 0.99 of a token
    expect(b.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(b.isFull(100)).toBe(false);
    expect(b.isFull(600)).toBe(true);
    expect(b.take(10_000, 6)).toBe(false); // never more than the capacity
  });
});

describe('CIDR lists', () => {
  it('match IPv4 and IPv6 networks and bare addresses', () => {
    const l = new CidrList(['192.0.2.0/24', '2001:db8::/32', '198.51.100.7', '::1']);
    expect(l.has('192.0.2.200')).toBe(true);
    expect(l.has('192.0.3.1')).toBe(false);
    expect(l.has('2001:db8:ffff::5')).toBe(true);
    expect(l.has('2001:db9::5')).toBe(false);
    expect(l.has('198.51.100.7')).toBe(true);
    expect(l.has('198.51.100.8')).toBe(false);
    expect(l.has('::1')).toBe(true);
    expect(l.has('::2')).toBe(false);
    expect(l.has('not-an-ip')).toBe(false);
  });

  it('match an IPv4-mapped IPv6 source against an IPv4 network (dual-stack sockets)', () => {
    expect(new CidrList(['10.0.0.0/8']).has('::ffff:10.1.2.3')).toBe(true);
  });

  it('refuse entries that are not networks, naming them', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/10\.0\.0\.0\/33/);
    expect(() => parseCidr('2001:db8::/129')).toThrow(/prefix/);
    expect(() => parseCidr('example.com')).toThrow(/not an IP/);
    expect(() => parseCidr('10.0.0.0/8/1')).toThrow();
    expect(() => parseCidr('10.0.0.0/x')).toThrow();
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  });
});

describe('WindowCounter', () => {
  it('counts events of the last window per key', () => {
    const w = new WindowCounter(60_000, 10);
    w.add('a', 0);
    w.add('a', 30_000);
    w.add('b', 30_000);
    expect(w.count('a', 59_999)).toBe(2);
    expect(w.count('a', 60_000)).toBe(1);
    expect(w.oldest('a', 60_000)).toBe(30_000);
    expect(w.count('a', 90_000)).toBe(0);
    expect(w.count('b', 60_000)).toBe(1);
  });
});

describe('SourceGuard', () => {
  it('drops requests over the rate silently, per source', () => {
    const { g } = guard();
    for (let i = 0; i < 20; i++) expect(g.checkRequest('192.0.2.1', INVITE)).toBe(GuardVerdict.Pass);
    expect(g.checkRequest('192.0.2.1', INVITE)).toBe(GuardVerdict.RateLimited);
    expect(g.checkRequest('192.0.2.2', INVITE)).toBe(GuardVerdict.Pass);
    expect(g.stats().dropped[GuardVerdict.RateLimited]).toBe(1);
  });

  it('bans a source after banAfterSeconds worth of excess, and the ban expires', () => {
    const { g, clock, bans } = guard();
    for (let i = 0; i < 20; i++) g.checkRequest('192.0.2.1', INVITE);
    // threshold: 10/s × 2 s = 20 dropped requests
    for (let i = 0; i < 19; i++) expect(g.checkRequest('192.0.2.1', INVITE)).toBe(GuardVerdict.RateLimited);
    expect(g.isBanned('192.0.2.1')).toBe(false);
    g.checkRequest('192.0.2.1', INVITE);
    expect(g.isBanned('192.0.2.1')).toBe(true);
    expect(bans).toEqual(['192.0.2.1']);
    expect(g.checkPacket('192.0.2.1')).toBe(GuardVerdict.Banned);
    expect(g.checkPacket('192.0.2.2')).toBe(GuardVerdict.Pass);
    expect(g.stats()).toMatchObject({ bans: 1, bansActive: 1 });
    clock.t += 59_999;
    expect(g.checkPacket('192.0.2.1')).toBe(GuardVerdict.Banned);
    clock.t += 1;
    expect(g.checkPacket('192.0.2.1')).toBe(GuardVerdict.Pass);
    expect(g.checkRequest('192.0.2.1', INVITE)).toBe(GuardVerdict.Pass);
    expect(g.stats()).toMatchObject({ bans: 1, bansActive: 0 });
  });

  it('forgives excess after banAfterSeconds without a drop', () => {
    const { g, clock } = guard();
    for (let i = 0; i < 35; i++) g.checkRequest('192.0.2.1', INVITE); // 15 dropped
    clock.t += 2_000; // bucket refills, excess forgotten
    for (let i = 0; i < 35; i++) g.checkRequest('192.0.2.1', INVITE); // 15 more dropped: a fresh count
    expect(g.isBanned('192.0.2.1')).toBe(false);
  });

  it('keeps a budget of its own for ACKs and in-dialog requests: an INVITE flood does not starve the BYE', () => {
    const { g } = guard();
    for (let i = 0; i < 25; i++) g.checkRequest('192.0.2.1', INVITE);
    expect(g.checkRequest('192.0.2.1', INVITE)).toBe(GuardVerdict.RateLimited);
    expect(g.checkRequest('192.0.2.1', { method: 'ACK', userAgent: undefined, inDialog: false })).toBe(
      GuardVerdict.Pass,
    );
    expect(g.checkRequest('192.0.2.1', { method: 'BYE', userAgent: undefined, inDialog: true })).toBe(
      GuardVerdict.Pass,
    );
    // ...which is limited too
    for (let i = 0; i < 18; i++)
      g.checkRequest('192.0.2.1', { method: 'BYE', userAgent: undefined, inDialog: true });
    expect(g.checkRequest('192.0.2.1', { method: 'BYE', userAgent: undefined, inDialog: true })).toBe(
      GuardVerdict.RateLimited,
    );
  });

  it('drops known scanners by User-Agent (case-insensitive substring) and bans them', () => {
    const { g, clock, bans } = guard();
    expect(g.isScanner('friendly-scanner')).toBe(true);
    expect(g.isScanner('SIPVicious 0.3.3')).toBe(true);
    expect(g.isScanner('Linphone/5.1')).toBe(false);
    expect(g.checkRequest('192.0.2.9', { ...INVITE, userAgent: 'Friendly-Scanner' })).toBe(
      GuardVerdict.Scanner,
    );
    expect(g.isBanned('192.0.2.9')).toBe(false);
    // the second scanner request bans, however long after the first (not forgiven like rate excess)
    clock.t += 3_600_000;
    expect(g.checkRequest('192.0.2.9', { ...INVITE, userAgent: 'sipcli/v1.8' })).toBe(GuardVerdict.Scanner);
    expect(g.isBanned('192.0.2.9')).toBe(true);
    expect(g.stats().dropped[GuardVerdict.Scanner]).toBe(2);
    expect(bans).toEqual(['192.0.2.9']);
    expect(g.checkPacket('192.0.2.9')).toBe(GuardVerdict.Banned);
  });

  it('never limits or bans the allow list, always drops the deny list', () => {
    const { g } = guard({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['203.0.113.0/24'] });
    for (let i = 0; i < 1000; i++) {
      expect(g.checkRequest('10.1.2.3', INVITE)).toBe(GuardVerdict.Pass);
      expect(g.checkRequest('2001:db8::1', INVITE)).toBe(GuardVerdict.Pass);
    }
    expect(g.checkRequest('10.1.2.3', { ...INVITE, userAgent: 'friendly-scanner' })).toBe(GuardVerdict.Pass);
    g.penalize('10.1.2.3', 1000);
    expect(g.isBanned('10.1.2.3')).toBe(false);
    expect(g.checkPacket('203.0.113.50')).toBe(GuardVerdict.Denied);
    expect(g.checkPacket('203.0.114.50')).toBe(GuardVerdict.Pass);
    expect(g.stats().dropped[GuardVerdict.Denied]).toBe(1);
  });

  it('counts penalties from above (refused calls) toward a ban', () => {
    const { g } = guard();
    g.penalize('192.0.2.5', 19);
    expect(g.isBanned('192.0.2.5')).toBe(false);
    g.penalize('192.0.2.5');
    expect(g.isBanned('192.0.2.5')).toBe(true);
  });

  it('forgets sources in good standing beyond maxSources, never a ban', () => {
    const { g } = guard({ maxSources: 3 });
    g.penalize('192.0.2.1', 20);
    g.checkRequest('192.0.2.2', INVITE);
    g.checkRequest('192.0.2.3', INVITE);
    g.checkRequest('192.0.2.4', INVITE);
    expect(g.isBanned('192.0.2.1')).toBe(true);
    expect(g.stats().sources).toBeLessThanOrEqual(3);
  });
});
