import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DialPatternError, DialPolicy } from '../../../src/conference/focus/dial-policy';
import { ConfigError, loadConfig } from '../../../src/config/load';
import { SipUri } from '../../../src/sip/message/uri';

const allows = (patterns: string[], target: string): boolean =>
  DialPolicy.compile(patterns).allows(SipUri.parse(target));

describe('DialPolicy (security.dialOut.allow)', () => {
  it('a glob on user@host: * is any run of characters, the rest literal', () => {
    const p = ['1555*@trunk.example.com'];
    expect(allows(p, 'sip:15551234@trunk.example.com')).toBe(true);
    expect(allows(p, 'sip:1555@trunk.example.com')).toBe(true);
    expect(allows(p, 'sip:1900555@trunk.example.com')).toBe(false);
    // "." is literal: trunkXexample.com is another host.
    expect(allows(p, 'sip:15551234@trunkXexample.com')).toBe(false);
    expect(allows(p, 'sip:15551234@trunk.example.com.evil.net')).toBe(false);
    expect(allows(p, 'sip:15551234@evil.trunk.example.com')).toBe(false);
  });

  it('the host is matched case-insensitively, the user part case-sensitively (RFC 3261 §19.1.4)', () => {
    expect(allows(['alice@pbx.example.com'], 'sip:alice@PBX.Example.COM')).toBe(true);
    expect(allows(['alice@pbx.example.com'], 'sip:Alice@pbx.example.com')).toBe(false);
  });

  it('a bare host allows any user there; port, scheme and parameters are not part of the subject', () => {
    const p = ['pbx.example.com'];
    expect(allows(p, 'sip:100@pbx.example.com')).toBe(true);
    expect(allows(p, 'sips:100@pbx.example.com:5061;transport=tls')).toBe(true);
    expect(allows(p, 'sip:pbx.example.com')).toBe(true);
    expect(allows(p, 'sip:100@pbx2.example.com')).toBe(false);
  });

  it('a regular expression /.../ is anchored on the whole user@host', () => {
    const p = ['/1555\\d{4}@trunk\\.example\\.com/'];
    expect(allows(p, 'sip:15551234@trunk.example.com')).toBe(true);
    expect(allows(p, 'sip:155512345@trunk.example.com')).toBe(false);
    expect(allows(p, 'sip:x15551234@trunk.example.com')).toBe(false);
    expect(allows(['/alice@pbx/i'], 'sip:ALICE@pbx')).toBe(true);
  });

  it('the default allows loopback only', () => {
    const p = [...DialPolicy.LOOPBACK_ONLY];
    expect(allows(p, 'sip:callee@127.0.0.1:5099')).toBe(true);
    expect(allows(p, 'sip:callee@localhost')).toBe(true);
    expect(allows(p, 'sip:callee@[::1]:5070')).toBe(true);
    expect(allows(p, 'sip:callee@127.0.0.3')).toBe(false);
    expect(allows(p, 'sip:00900123456@sip.premium-numbers.example')).toBe(false);
    expect(allows([], 'sip:callee@127.0.0.1')).toBe(false);
  });

  it('a maddr parameter or URI headers are refused whatever the list says (they redirect the INVITE)', () => {
    const policy = DialPolicy.compile(['*']);
    expect(policy.allows(SipUri.parse('sip:x@127.0.0.1'))).toBe(true);
    expect(policy.check(SipUri.parse('sip:x@127.0.0.1;maddr=203.0.113.9'))).toMatch(/maddr/);
    expect(policy.check(SipUri.parse('sip:x@127.0.0.1?Route=%3Csip%3A203.0.113.9%3Blr%3E'))).toMatch(
      /header/,
    );
  });

  it('a user part with an escaped @ cannot make another host match', () => {
    expect(allows(['*@127.0.0.1'], 'sip:x%40127.0.0.1@evil.example.com')).toBe(false);
    expect(allows(['/.*@127\\.0\\.0\\.1/'], 'sip:x%40127.0.0.1@evil.example.com')).toBe(false);
  });

  it.each([
    ['', /empty/],
    [' *@pbx', /spaces/],
    ['/[unclosed/', /regular expression/],
    ['/no-end', /written \/\.\.\.\//],
    ['alice@', /no host/],
    ['alice@pbx;maddr=x', /user@host only/],
  ])('refuses the pattern %j, naming it', (pattern, why) => {
    expect(() => DialPolicy.compile(['*@ok', pattern])).toThrow(DialPatternError);
    expect(() => DialPolicy.compile(['*@ok', pattern])).toThrow(why);
    expect(() => DialPolicy.compile(['*@ok', pattern])).toThrow(/pattern 1/);
  });

  it('a bad pattern in the config stops the start naming the key security.dialOut.allow.N', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dial-policy-'));
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, 'security:\n  dialOut:\n    allow: ["*@pbx.example.com", "/[oops/"]\n');
    try {
      expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
      expect(() => loadConfig({ file, env: {} })).toThrow(/security\.dialOut\.allow\.1/);
      // Every pattern the schema lets through compiles.
      const ok = loadConfig({ env: {} });
      expect(ok.security.dialOut.allow).toEqual(DialPolicy.LOOPBACK_ONLY);
      expect(() => DialPolicy.compile(ok.security.dialOut.allow)).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
