import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../../src/config/load';

function tmpYaml(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'parley-sec-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

describe('security config', () => {
  it('has the documented defaults, the scanners included', () => {
    const c = loadConfig({ env: {} }).security;
    expect(c.scannerUserAgents).toEqual(
      expect.arrayContaining(['friendly-scanner', 'sipvicious', 'VaxSIPUserAgent']),
    );
    expect(c.allow).toEqual([]);
    expect(c.maxSetupsPerSource).toBeLessThanOrEqual(c.maxCallsPerSource);
  });

  it('takes IPv4 and IPv6 networks in allow and deny', () => {
    const f = tmpYaml(
      'security:\n  allow: [192.0.2.0/24, "2001:db8::/32", 198.51.100.1]\n  deny: ["::1/128"]\n',
    );
    expect(loadConfig({ file: f, env: {} }).security.allow).toHaveLength(3);
  });

  it.each([
    ['security:\n  allow: [192.0.2.0/33]\n', 'security.allow.0'],
    ['security:\n  deny: [10.0.0.0/8, example.com]\n', 'security.deny.1'],
    ['security:\n  requestsPerSecond: 0\n', 'security.requestsPerSecond'],
    ['security:\n  maxCallsPerSource: 0\n', 'security.maxCallsPerSource'],
    ['security:\n  pinLockoutSecs: 5\n', 'pinLockoutSecs'],
  ])('rejects %j naming the key %s', (yaml, key) => {
    let err: unknown;
    try {
      loadConfig({ file: tmpYaml(yaml), env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(key);
  });
});
