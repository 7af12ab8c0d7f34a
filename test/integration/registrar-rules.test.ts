/**
 * The registrar's answers on the wire (real SIP stacks over UDP loopback): malformed REGISTERs get 400 with a
 * reason, a foreign domain 404 before any challenge, a correct digest on an expired nonce 401 with stale=true
 * (RFC 7616 §3.3) and then 200 with the fresh nonce, and an account that stops being known (disabled, deleted)
 * is no longer located for dial-by-name.
 */
import { Registrar } from '../../src/conference/registrar/registrar';
import { silentLogger } from '../../src/logging/logger';
import { DigestClient, parseChallenge } from '../../src/sip/auth/digest';
import { DigestRequestAuthenticator } from '../../src/sip/auth/request-authenticator';
import type { SipResponse } from '../../src/sip/message/sip-message';
import { SipStack } from '../../src/sip/ua/sip-stack';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store';

const log = silentLogger();
let server: SipStack;
let phone: SipStack;
let store: SqliteStore;
let registrar: Registrar;
let now = Date.now();
const known = new Set(['alice']);

beforeAll(async () => {
  server = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, logger: log });
  phone = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, logger: log });
  store = SqliteStore.open({ file: ':memory:' });
  registrar = new Registrar({
    sip: server,
    authenticator: new DigestRequestAuthenticator({
      realm: 'parley',
      secret: 'rules-test-secret-0123456789abcdef',
      accounts: [{ username: 'alice', password: 'alice-secret' }],
      nonceTtlSec: 60,
      clock: () => now,
    }),
    knowsUser: (u) => known.has(u),
    isOurDomain: (h) => h === '127.0.0.1',
    store: store.registrations,
    policy: {
      minExpiresSeconds: 60,
      maxExpiresSeconds: 3600,
      defaultExpiresSeconds: 600,
      maxContactsPerUser: 5,
      keepAliveSeconds: 0,
    },
    log,
    now: () => now,
  });
});

afterAll(async () => {
  registrar?.close();
  store?.close();
  await phone?.close();
  await server?.close();
});

const uri = (): string => `sip:127.0.0.1:${server.ports.udp}`;
const contact = (): string => `<sip:alice@127.0.0.1:${phone.ports.udp}>`;
const AOR = { from: '<sip:alice@127.0.0.1>', to: '<sip:alice@127.0.0.1>' };

/** REGISTER with `headers`; answers a 401 with alice's digest when `auth` (default). */
async function register(
  headers: Record<string, string | string[]>,
  o: { auth?: boolean; ruri?: string } = {},
): Promise<SipResponse> {
  const ruri = o.ruri ?? uri();
  const first = await phone.request(ruri, 'REGISTER', { ...AOR, headers });
  if (first.status !== 401 || o.auth === false) return first;
  const c = DigestClient.pickChallenge(first.headers.getAll('WWW-Authenticate'))!;
  const authz = new DigestClient({ username: 'alice', password: 'alice-secret' }).authorize(
    'REGISTER',
    ruri,
    c,
  );
  return phone.request(ruri, 'REGISTER', { ...AOR, headers: { ...headers, Authorization: authz } });
}

test('malformed REGISTERs get 400 with a reason naming the problem', async () => {
  const cases: Array<[Record<string, string | string[]>, string]> = [
    [{ Contact: contact(), Expires: 'soon' }, 'Bad Expires header'],
    [{ Contact: `${contact()};expires=x` }, 'Bad expires parameter'],
    [{ Contact: `${contact()};q=2` }, 'Bad q parameter'],
    // the parser refuses "*" among other contacts before the registrar sees it
    [{ Contact: ['*', contact()], Expires: '0' }, 'Bad Contact header'],
    [{ Contact: '*' }, 'Wildcard Contact needs Expires: 0'],
    [{ Contact: `<sip:alice@127.0.0.1:5999;maddr=192.0.2.1>` }, 'Contact with maddr not accepted'],
    [{ Contact: `<sip:alice@127.0.0.1:5999?Route=%3Csip:x%3E>` }, 'Contact with header fields not accepted'],
  ];
  for (const [headers, reason] of cases) {
    const r = await register(headers);
    expect({ status: r.status, reason: r.reason }).toEqual({ status: 400, reason });
  }
  expect(store.registrations.forUser('alice')).toEqual([]);
});

// (this registrar serves 127.0.0.1 only: "localhost" is another domain to it)
test('a REGISTER for a domain that is not ours gets 404 without a challenge (§10.3 step 1)', async () => {
  const r = await register({ Contact: contact() }, { ruri: `sip:localhost:${server.ports.udp}` });
  expect(r.status).toBe(404);
  expect(r.headers.has('WWW-Authenticate')).toBe(false);
});

test('a correct digest on an expired nonce gets 401 stale=true, then 200 with the new nonce (RFC 7616 §3.3)', async () => {
  const first = await phone.request(uri(), 'REGISTER', { ...AOR, headers: { Contact: contact() } });
  expect(first.status).toBe(401);
  now += 61_000;
  const client = new DigestClient({ username: 'alice', password: 'alice-secret' });
  const old = DigestClient.pickChallenge(first.headers.getAll('WWW-Authenticate'))!;
  const stale = await phone.request(uri(), 'REGISTER', {
    ...AOR,
    headers: { Contact: contact(), Authorization: client.authorize('REGISTER', uri(), old) },
  });
  expect(stale.status).toBe(401);
  const fresh = stale.headers.getAll('WWW-Authenticate').map(parseChallenge);
  expect(fresh.every((c) => c.stale === true)).toBe(true);
  const ok = await phone.request(uri(), 'REGISTER', {
    ...AOR,
    headers: { Contact: contact(), Authorization: client.authorize('REGISTER', uri(), fresh[0]!) },
  });
  expect(ok.status).toBe(200);
  expect(await registrar.locate('alice')).toEqual([`sip:alice@127.0.0.1:${phone.ports.udp}`]);
});

test('an account no longer known is not located, nor listed, though its row waits for expiry', async () => {
  expect(registrar.bindingsOf('alice')).toHaveLength(1);
  known.delete('alice');
  try {
    expect(await registrar.locate('alice')).toEqual([]);
    expect(registrar.list()).toEqual([]);
    expect(store.registrations.forUser('alice')).toHaveLength(1);
  } finally {
    known.add('alice');
  }
});
