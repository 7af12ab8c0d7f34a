import {
  computeResponse,
  DigestClient,
  DigestServer,
  parseChallenge,
  parseCredentials,
  serializeChallenge,
  serializeCredentials,
} from '../../../../src/sip/auth/digest';
import { SipError } from '../../../../src/sip/errors';

// RFC 7616 §3.9.1
const RFC = {
  username: 'Mufasa',
  realm: 'http-auth@example.org',
  password: 'Circle of Life',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  qop: 'auth',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};

describe('digest computation (RFC 7616 §3.9.1 example)', () => {
  it('SHA-256', () => {
    expect(computeResponse({ ...RFC, algorithm: 'SHA-256' })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });
  it('MD5', () => {
    expect(computeResponse({ ...RFC, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(computeResponse({ ...RFC })).toBe('8ca523f5e9506fed4657c9700eebdbec'); // absent algorithm = MD5
  });
  it('RFC 2617 compatibility (no qop) and unsupported inputs', () => {
    // RFC 2617 §3.5 example: response="6629fae49393a05397450978507c4ef1" for GET /dir/index.html with qop=auth;
    // without qop the digest is H(HA1:nonce:HA2)
    const noQop = computeResponse({ ...RFC, qop: undefined, algorithm: 'MD5' });
    expect(noQop).toMatch(/^[0-9a-f]{32}$/);
    expect(noQop).not.toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(() => computeResponse({ ...RFC, algorithm: 'SHA-1' })).toThrow(SipError);
    expect(() => computeResponse({ ...RFC, qop: 'auth-int' })).toThrow('Unsupported qop auth-int');
  });
  it('RFC 2617 §3.5 example (MD5, qop=auth)', () => {
    expect(
      computeResponse({
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        nc: '00000001',
        cnonce: '0a4f113b',
        qop: 'auth',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });
});

describe('header values', () => {
  it('parses the RFC 7616 challenge and credentials', () => {
    const ch = parseChallenge(
      'Digest\r\n realm="http-auth@example.org",\r\n qop="auth, auth-int",\r\n algorithm=SHA-256,\r\n' +
        ' nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",\r\n opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    expect(ch.realm).toBe(RFC.realm);
    expect(ch.qop).toEqual(['auth', 'auth-int']);
    expect(ch.algorithm).toBe('SHA-256');
    expect(ch.nonce).toBe(RFC.nonce);
    expect(ch.opaque).toBe(RFC.opaque);
    const cr = parseCredentials(
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ' +
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
        'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    expect(cr).toMatchObject({
      username: 'Mufasa',
      nc: '00000001',
      qop: 'auth',
      cnonce: RFC.cnonce,
      uri: RFC.uri,
    });
    expect(computeResponse({ ...RFC, algorithm: cr.algorithm })).toBe(cr.response);
  });

  it('round-trips serialize → parse, with escapes in quoted strings', () => {
    const s = serializeChallenge({
      realm: 'a "quoted" \\ realm',
      nonce: 'n',
      qop: ['auth'],
      stale: true,
      algorithm: 'MD5',
    });
    expect(s).toBe(
      'Digest realm="a \\"quoted\\" \\\\ realm", nonce="n", stale=true, algorithm=MD5, qop="auth"',
    );
    const back = parseChallenge(s);
    expect(back.realm).toBe('a "quoted" \\ realm');
    expect(back.stale).toBe(true);
    const c = serializeCredentials({
      username: 'bob',
      realm: 'r',
      nonce: 'n',
      uri: 'sip:x@y',
      response: 'abc',
      qop: 'auth',
      nc: '0000000a',
      cnonce: 'c',
    });
    expect(parseCredentials(c)).toMatchObject({
      username: 'bob',
      uri: 'sip:x@y',
      nc: '0000000a',
      qop: 'auth',
    });
    expect(c).toContain('qop=auth, nc=0000000a');
  });

  it.each([
    'Basic abc',
    'Digest realm="x"',
    'Digest realm="x", nonce="unterminated',
    'Digest realm="a", realm="b", nonce=1',
    '',
  ])('rejects %j', (v) => {
    expect(() => parseChallenge(v)).toThrow(SipError);
  });
});

describe('DigestServer / DigestClient', () => {
  const users: Record<string, string> = { alice: 'wonderland', bob: 'builder' };
  const lookup = (u: string): string | undefined => users[u];
  let now = 1_700_000_000_000;
  const clock = (): number => now;
  const make = (o: Partial<ConstructorParameters<typeof DigestServer>[0]> = {}): DigestServer =>
    new DigestServer({
      realm: 'parley.example.com',
      secret: 'a-very-secret-key-of-32-bytes!!!',
      clock,
      ...o,
    });

  beforeEach(() => {
    now = 1_700_000_000_000;
  });

  it('round trip: challenge → client → verify ok (SHA-256 and MD5)', () => {
    const server = make();
    for (const algorithm of ['SHA-256', 'MD5'] as const) {
      const ch = server.challenge({ algorithm });
      expect(ch).toContain(`algorithm=${algorithm}`);
      expect(ch).toContain('qop="auth"');
      const client = new DigestClient({ username: 'alice', password: 'wonderland' });
      const auth = client.authorize('INVITE', 'sip:conf@parley.example.com', ch);
      expect(server.verify('INVITE', auth, lookup, { requestUri: 'sip:conf@parley.example.com' })).toEqual({
        result: 'ok',
        username: 'alice',
      });
    }
  });

  it.each(['SHA-512-256', 'SHA-256-sess', 'MD5-sess'] as const)(
    'round trip with %s when configured',
    (algorithm) => {
      const server = make({ algorithms: [algorithm] });
      const ch = server.challenge();
      expect(ch).toContain(`algorithm=${algorithm}`);
      const auth = new DigestClient({ username: 'bob', password: 'builder' }).authorize(
        'SUBSCRIBE',
        'sip:c',
        ch,
      );
      expect(server.verify('SUBSCRIBE', auth, lookup)).toEqual({ result: 'ok', username: 'bob' });
      // an algorithm the server did not offer is refused
      const md5 = new DigestClient({ username: 'bob', password: 'builder' }).authorize(
        'SUBSCRIBE',
        'sip:c',
        ch.replace(`algorithm=${algorithm}`, 'algorithm=MD5'),
      );
      expect(server.verify('SUBSCRIBE', md5, lookup)).toMatchObject({
        result: 'fail',
        reason: 'unsupported algorithm',
      });
    },
  );

  it('fails on wrong password, unknown user, wrong method, tampered nonce, other realm, uri mismatch', () => {
    const server = make();
    const ch = server.challenge();
    const bad = new DigestClient({ username: 'alice', password: 'nope' }).authorize('REGISTER', 'sip:r', ch);
    expect(server.verify('REGISTER', bad, lookup)).toMatchObject({
      result: 'fail',
      reason: 'wrong response',
    });
    const unknown = new DigestClient({ username: 'mallory', password: 'x' }).authorize(
      'REGISTER',
      'sip:r',
      ch,
    );
    expect(server.verify('REGISTER', unknown, lookup)).toMatchObject({
      result: 'fail',
      reason: 'unknown user',
    });
    const good = new DigestClient({ username: 'bob', password: 'builder' }).authorize(
      'REGISTER',
      'sip:r',
      ch,
    );
    expect(server.verify('INVITE', good, lookup)).toMatchObject({ result: 'fail', reason: 'wrong response' });
    expect(server.verify('REGISTER', good, lookup, { requestUri: 'sip:other' })).toMatchObject({
      reason: 'uri mismatch',
    });
    const nonce = parseChallenge(ch).nonce;
    const flipped = nonce.slice(0, 5) + (nonce[5] === 'A' ? 'B' : 'A') + nonce.slice(6);
    const tampered = new DigestClient({ username: 'bob', password: 'builder' }).authorize(
      'REGISTER',
      'sip:r',
      ch.replace(nonce, flipped),
    );
    expect(server.verify('REGISTER', tampered, lookup)).toMatchObject({
      result: 'fail',
      reason: 'invalid nonce',
    });
    const other = make({ realm: 'other.example.com' });
    expect(other.verify('REGISTER', good, lookup)).toMatchObject({
      result: 'fail',
      reason: 'realm mismatch',
    });
    const otherSecret = make({ secret: 'another-secret-of-enough-length!' });
    expect(otherSecret.verify('REGISTER', good, lookup)).toMatchObject({
      result: 'fail',
      reason: 'invalid nonce',
    });
    expect(server.verify('REGISTER', 'Digest garbage', lookup).result).toBe('fail');
  });

  it('expired nonce with a correct digest → stale; a wrong digest stays fail', () => {
    const server = make({ nonceTtlSec: 60 });
    const ch = server.challenge();
    now += 61_000;
    const good = new DigestClient({ username: 'alice', password: 'wonderland' }).authorize(
      'INVITE',
      'sip:c',
      ch,
    );
    expect(server.verify('INVITE', good, lookup)).toEqual({ result: 'stale', username: 'alice' });
    const bad = new DigestClient({ username: 'alice', password: 'x' }).authorize('INVITE', 'sip:c', ch);
    expect(server.verify('INVITE', bad, lookup).result).toBe('fail');
    expect(server.challenge({ stale: true })).toContain('stale=true');
    // just inside the lifetime is fine
    now -= 2_000;
    expect(server.verify('INVITE', good, lookup).result).toBe('ok');
  });

  it('replay: the same nc is rejected; increasing nc on the same nonce is accepted', () => {
    const server = make();
    const ch = server.challenge();
    const client = new DigestClient({ username: 'alice', password: 'wonderland' });
    const a1 = client.authorize('INVITE', 'sip:c', ch);
    expect(a1).toContain('nc=00000001');
    expect(server.verify('INVITE', a1, lookup).result).toBe('ok');
    expect(server.verify('INVITE', a1, lookup)).toMatchObject({
      result: 'fail',
      reason: 'replayed nonce count',
    });
    const a2 = client.authorize('INVITE', 'sip:c', ch);
    expect(a2).toContain('nc=00000002');
    expect(server.verify('INVITE', a2, lookup).result).toBe('ok');
    expect(server.verify('INVITE', a1, lookup).result).toBe('fail');
    // a new nonce resets the client's nc
    expect(client.authorize('INVITE', 'sip:c', server.challenge())).toContain('nc=00000001');
  });

  it('replay tracking memory is bounded; evicted-but-valid nonces get stale, not ok', () => {
    const server = make({ maxTrackedNonces: 3 });
    const auths: string[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1000;
      const ch = server.challenge();
      auths.push(new DigestClient({ username: 'bob', password: 'builder' }).authorize('BYE', 'sip:c', ch));
    }
    for (const a of auths) expect(server.verify('BYE', a, lookup).result).toBe('ok');
    expect(server.trackedNonces).toBe(3);
    // the first two were evicted: a replay of them must not be accepted as ok
    expect(server.verify('BYE', auths[0]!, lookup).result).toBe('stale');
    expect(server.verify('BYE', auths[1]!, lookup).result).toBe('stale');
    expect(server.verify('BYE', auths[4]!, lookup).result).toBe('fail');
    // expired entries are dropped first when room is needed
    now += 400_000;
    const fresh = new DigestClient({ username: 'bob', password: 'builder' }).authorize(
      'BYE',
      'sip:c',
      server.challenge(),
    );
    expect(server.verify('BYE', fresh, lookup).result).toBe('ok');
    expect(server.trackedNonces).toBe(1);
  });

  it('requires qop=auth with nc and cnonce', () => {
    const server = make();
    const ch = parseChallenge(server.challenge());
    const response = computeResponse({
      username: 'alice',
      realm: ch.realm,
      password: 'wonderland',
      method: 'INVITE',
      uri: 'sip:c',
      nonce: ch.nonce,
      algorithm: 'SHA-256',
    });
    const noQop = serializeCredentials({
      username: 'alice',
      realm: ch.realm,
      nonce: ch.nonce,
      uri: 'sip:c',
      response,
      algorithm: 'SHA-256',
    });
    expect(server.verify('INVITE', noQop, lookup)).toMatchObject({
      result: 'fail',
      reason: 'qop=auth required',
    });
  });

  it('opaque must be echoed; challenges() offers SHA-256 before MD5 with one nonce; client picks the strongest', () => {
    const server = make({ opaque: 'op-123' });
    const chs = server.challenges();
    expect(chs).toHaveLength(2);
    expect(chs[0]).toContain('algorithm=SHA-256');
    expect(chs[1]).toContain('algorithm=MD5');
    expect(parseChallenge(chs[0]!).nonce).toBe(parseChallenge(chs[1]!).nonce);
    const picked = DigestClient.pickChallenge([chs[1]!, 'Basic realm="x"', chs[0]!]);
    expect(picked?.algorithm).toBe('SHA-256');
    const auth = new DigestClient({ username: 'alice', password: 'wonderland' }).authorize(
      'INVITE',
      'sip:c',
      picked!,
    );
    expect(auth).toContain('opaque="op-123"');
    expect(server.verify('INVITE', auth, lookup).result).toBe('ok');
    const stripped = new DigestClient({ username: 'alice', password: 'wonderland' }).authorize(
      'INVITE',
      'sip:c',
      chs[0]!.replace(', opaque="op-123"', ''),
    );
    expect(server.verify('INVITE', stripped, lookup)).toMatchObject({
      result: 'fail',
      reason: 'opaque mismatch',
    });
  });

  it('client answers the RFC 7616 example exactly with a fixed cnonce', () => {
    const client = new DigestClient(
      { username: RFC.username, password: RFC.password },
      { cnonce: () => RFC.cnonce },
    );
    const ch = serializeChallenge({
      realm: RFC.realm,
      nonce: RFC.nonce,
      opaque: RFC.opaque,
      algorithm: 'SHA-256',
      qop: ['auth', 'auth-int'],
    });
    const v = parseCredentials(client.authorize('GET', RFC.uri, ch));
    expect(v.response).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(v.opaque).toBe(RFC.opaque);
    expect(v.nc).toBe('00000001');
  });

  it('rejects short secrets', () => {
    expect(() => new DigestServer({ realm: 'r', secret: 'short' })).toThrow();
  });
});

describe('interop: credentials captured from real clients (loopback, MD5, qop=auth)', () => {
  // captured by a one-off loopback run of DigestServer({ realm: 'parley.test', secret: SECRET, algorithms: ['MD5'] })
  // against SIPp 3.6.1 ([authentication] keyword) and baresip 1.0.0 REGISTER
  const SECRET = 'interop-secret-0123456789abcdef';
  const cases = [
    [
      'SIPp 3.6.1',
      'Digest username="alice",realm="parley.test",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5199",' +
        'nonce="AAABogtCHEilGT14SRyGbfXKgmbWXOzoUWR1bDKolr8",response="bd76226291cfbf463b4c555a63e73028",algorithm=MD5',
    ],
    [
      'baresip 1.0.0',
      'Digest username="alice", realm="parley.test", nonce="AAABogtDg_VtzWRgVUqkOAYMsLwRlKFsJ3ej_sB_TjQ", ' +
        'uri="sip:127.0.0.1:5199;transport=udp", response="dcc9c63baaf11cb2580a477e290e1bb9", cnonce="24604543a6320b3c", ' +
        'qop=auth, nc=00000001',
    ],
  ];
  it.each(cases)('%s', (_client, auth) => {
    const nonce = parseCredentials(auth).nonce;
    const issuedAt = Number(Buffer.from(nonce, 'base64url').readBigUInt64BE(0));
    let now = issuedAt + 1000;
    const server = new DigestServer({
      realm: 'parley.test',
      secret: SECRET,
      algorithms: ['MD5'],
      clock: () => now,
    });
    const lookup = (u: string): string | undefined => (u === 'alice' ? 'wonderland' : undefined);
    expect(server.verify('REGISTER', auth, lookup)).toEqual({ result: 'ok', username: 'alice' });
    expect(server.verify('REGISTER', auth, lookup).result).toBe('fail'); // replay
    now = issuedAt + 301_000;
    const fresh = new DigestServer({
      realm: 'parley.test',
      secret: SECRET,
      algorithms: ['MD5'],
      clock: () => now,
    });
    expect(fresh.verify('REGISTER', auth, lookup).result).toBe('stale');
    expect(fresh.verify('REGISTER', auth, () => 'wrong').result).toBe('fail');
  });
});
