import { DigestClient, computeHa1, computeResponse } from '../../../../src/sip/auth/digest';
import {
  DigestRequestAuthenticator,
  sipHa1s,
  type SipAuthResult,
} from '../../../../src/sip/auth/request-authenticator';
import { parseMessage } from '../../../../src/sip/parser/message-parser';
import type { SipRequest } from '../../../../src/sip/message/sip-message';

const REALM = 'parley';
const URI = 'sip:127.0.0.1:5060';

function register(auth?: string | string[], uri = URI): SipRequest {
  const lines = [
    `REGISTER ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1',
    'From: <sip:alice@127.0.0.1>;tag=a',
    'To: <sip:alice@127.0.0.1>',
    'Call-ID: c1',
    'CSeq: 1 REGISTER',
    'Contact: <sip:alice@127.0.0.1:5070>',
    'Max-Forwards: 70',
  ];
  for (const a of typeof auth === 'string' ? [auth] : (auth ?? [])) lines.push(`Authorization: ${a}`);
  lines.push('Content-Length: 0', '', '');
  return parseMessage(Buffer.from(lines.join('\r\n'))) as SipRequest;
}

function challengesOf(r: SipAuthResult): string[] {
  if (r.ok) throw new Error('expected a refusal');
  const v = r.headers['WWW-Authenticate'];
  return typeof v === 'string' ? [v] : (v ?? []);
}

describe('DigestRequestAuthenticator (RFC 3261 §22.4, RFC 8760)', () => {
  let now = 1_700_000_000_000;
  const clock = (): number => now;
  const dbUsers = new Map([['bob', { ha1: sipHa1s('bob', REALM, 'bob-pw') }]]);
  const auth = new DigestRequestAuthenticator({
    realm: REALM,
    secret: 'a-test-secret-of-32-bytes-length!',
    accounts: [{ username: 'alice', password: 'alice-pw' }],
    source: { lookup: (u, realm) => (realm === REALM ? dbUsers.get(u) : undefined) },
    clock,
    nonceTtlSec: 60,
  });

  function answer(user: string, password: string, challenge: string, uri = URI): string {
    return new DigestClient({ username: user, password }).authorize('REGISTER', uri, challenge);
  }

  it('challenges a request without credentials with 401 and SHA-256 before MD5 (RFC 8760 §2.4)', async () => {
    const r = await auth.check(register());
    expect(r).toMatchObject({ ok: false, status: 401 });
    const c = challengesOf(r);
    expect(c).toHaveLength(2);
    expect(c[0]).toMatch(/algorithm=SHA-256/);
    expect(c[1]).toMatch(/algorithm=MD5/);
    expect(c[0]).toMatch(/qop="auth"/);
  });

  it('accepts a config account with SHA-256 and with MD5', async () => {
    // the challenges of one 401 share a nonce: a new 401 for each answer (its nc starts at 1 again)
    const [sha] = challengesOf(await auth.check(register()));
    const [, md5] = challengesOf(await auth.check(register()));
    expect(await auth.check(register(answer('alice', 'alice-pw', sha!)))).toEqual({
      ok: true,
      user: 'alice',
    });
    expect(await auth.check(register(answer('alice', 'alice-pw', md5!)))).toEqual({
      ok: true,
      user: 'alice',
    });
  });

  it('accepts a database account known only by its stored HA1s', async () => {
    const [sha] = challengesOf(await auth.check(register()));
    const [, md5] = challengesOf(await auth.check(register()));
    expect(await auth.check(register(answer('bob', 'bob-pw', sha!)))).toEqual({ ok: true, user: 'bob' });
    expect(await auth.check(register(answer('bob', 'bob-pw', md5!)))).toEqual({ ok: true, user: 'bob' });
    expect(auth.knows('bob')).toBe(true);
    expect(auth.knows('carol')).toBe(false);
  });

  it('answers a wrong password and an unknown user alike with 403', async () => {
    const [sha] = challengesOf(await auth.check(register()));
    const wrong = await auth.check(register(answer('alice', 'nope', sha!)));
    const unknown = await auth.check(register(answer('mallory', 'alice-pw', sha!)));
    expect(wrong).toMatchObject({ ok: false, status: 403 });
    expect(unknown).toEqual(wrong);
  });

  it('answers a correct digest on an expired nonce with 401 stale=true (RFC 7616 §3.3)', async () => {
    const [sha] = challengesOf(await auth.check(register()));
    now += 61_000;
    const r = await auth.check(register(answer('alice', 'alice-pw', sha!)));
    expect(r).toMatchObject({ ok: false, status: 401 });
    expect(challengesOf(r)[0]).toMatch(/stale=true/);
    // a wrong password on the same expired nonce is not "stale": 403
    expect(await auth.check(register(answer('alice', 'bad', sha!)))).toMatchObject({ status: 403 });
  });

  it('refuses a replayed nonce count (RFC 7616 §3.4)', async () => {
    const [sha] = challengesOf(await auth.check(register()));
    const cred = answer('alice', 'alice-pw', sha!);
    expect((await auth.check(register(cred))).ok).toBe(true);
    expect(await auth.check(register(cred))).toMatchObject({ ok: false, status: 403 });
  });

  it('re-challenges credentials with a nonce it never issued, or only for another realm', async () => {
    const foreign =
      'Digest username="alice", realm="parley", nonce="abc", uri="sip:127.0.0.1:5060", response="00", qop=auth, nc=00000001, cnonce="x"';
    expect(await auth.check(register(foreign))).toMatchObject({ ok: false, status: 401 });
    const other = foreign.replace('realm="parley"', 'realm="elsewhere"');
    const r = await auth.check(register(other));
    expect(r).toMatchObject({ ok: false, status: 401, reason: 'No credentials for realm' });
  });

  it('picks the credentials for its realm among several (RFC 3261 §22.4)', async () => {
    const [sha] = challengesOf(await auth.check(register()));
    const other =
      'Digest username="x", realm="elsewhere", nonce="n", uri="sip:127.0.0.1:5060", response="00", qop=auth, nc=00000001, cnonce="x"';
    expect(await auth.check(register([other, answer('alice', 'alice-pw', sha!)]))).toEqual({
      ok: true,
      user: 'alice',
    });
  });

  it('refuses credentials computed for another Request-URI (RFC 7616 §3.4.6)', async () => {
    const [sha] = challengesOf(await auth.check(register()));
    const r = await auth.check(register(answer('alice', 'alice-pw', sha!, 'sip:other.example.com')));
    expect(r).toMatchObject({ ok: false, status: 403 });
  });

  it('answers with 407 + Proxy-Authenticate when configured as a proxy (RFC 3261 §22.3)', async () => {
    const proxy = new DigestRequestAuthenticator({
      realm: REALM,
      secret: 'a-test-secret-of-32-bytes-length!',
      challengeStatus: 407,
    });
    const r = await proxy.check(register());
    expect(r).toMatchObject({ ok: false, status: 407 });
    if (!r.ok) expect(r.headers['Proxy-Authenticate']).toBeDefined();
  });
});

describe('HA1 verification (digest.ts)', () => {
  it('a response computed from the password equals the one computed from its HA1', () => {
    const base = {
      username: 'bob',
      realm: REALM,
      method: 'REGISTER',
      uri: URI,
      nonce: 'n',
      qop: 'auth',
      nc: '00000001',
      cnonce: 'c',
    };
    for (const algorithm of ['MD5', 'SHA-256'] as const) {
      const fromPassword = computeResponse({ ...base, algorithm, password: 'pw' });
      const ha1 = computeHa1(algorithm, 'bob', REALM, 'pw');
      expect(computeResponse({ ...base, algorithm, ha1 })).toBe(fromPassword);
      // and a wrong HA1 gives another response
      expect(
        computeResponse({
          ...base,
          algorithm,
          ha1: ha1.replace(/^./, '0') === ha1 ? ha1.replace(/^./, '1') : ha1.replace(/^./, '0'),
        }),
      ).not.toBe(fromPassword);
    }
  });
});

describe('online guessing guard', () => {
  it('refuses a source with too many wrong digests at once, without verifying, until its failures age out', async () => {
    let now = 1_700_000_000_000;
    const auth = new DigestRequestAuthenticator({
      realm: REALM,
      secret: 'a-test-secret-of-32-bytes-length!',
      accounts: [{ username: 'alice', password: 'alice-pw' }],
      clock: () => now,
      maxFailuresPerSource: 3,
      failureWindowSec: 60,
    });
    const answer = async (password: string): Promise<SipAuthResult> => {
      const [sha] = challengesOf(await auth.check(register()));
      const cred = new DigestClient({ username: 'alice', password }).authorize('REGISTER', URI, sha!);
      return auth.check(register(cred));
    };
    for (let i = 0; i < 3; i++)
      expect(await answer('guess')).toMatchObject({ status: 403, reason: 'Forbidden' });
    // the right password now gets the same refusal: nothing is verified for this source
    expect(await answer('alice-pw')).toMatchObject({
      ok: false,
      status: 403,
      reason: 'Forbidden (too many failed attempts)',
    });
    // a request without credentials is still challenged (a phone can still learn the realm)
    expect(await auth.check(register())).toMatchObject({ status: 401 });
    now += 61_000;
    expect(await answer('alice-pw')).toEqual({ ok: true, user: 'alice' });
  });
});
