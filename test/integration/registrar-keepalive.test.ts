/**
 * Registrar NAT keep-alive on real SIP stacks over UDP/TCP loopback: a Node SIP stack registers two contacts with
 * digest — one it answers (its own UA answers OPTIONS 200) and one at a UDP socket that never answers. The OPTIONS
 * ping keeps the first and drops the second once its transaction times out (short T1 here: Timer F = 64*T1). A
 * third contact names a private address (a phone behind a NAT): its ping goes to the REGISTER's source, which
 * answers, so it stays.
 * Bindings are in a real SQLite file and read back by a new Registrar (a restart). Over TCP, a CRLFCRLF ping gets
 * its CRLF pong (RFC 5626 §3.5.1), so phones using outbound-style keep-alives keep their connection.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Registrar } from '../../src/conference/registrar/registrar';
import { silentLogger } from '../../src/logging/logger';
import { DigestClient } from '../../src/sip/auth/digest';
import { DigestRequestAuthenticator } from '../../src/sip/auth/request-authenticator';
import { SipStack } from '../../src/sip/ua/sip-stack';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store';

const log = silentLogger();
const policy = {
  minExpiresSeconds: 60,
  maxExpiresSeconds: 3600,
  defaultExpiresSeconds: 600,
  maxContactsPerUser: 5,
  keepAliveSeconds: 0, // the test calls keepAlive() itself
};

let dir: string;
let server: SipStack;
let phone: SipStack;
let dead: dgram.Socket;
let store: SqliteStore;
let registrar: Registrar;

function makeRegistrar(s: SqliteStore): Registrar {
  return new Registrar({
    sip: server,
    authenticator: new DigestRequestAuthenticator({
      realm: 'parley',
      secret: 'keepalive-test-secret-0123456789',
      accounts: [{ username: 'alice', password: 'alice-secret' }],
    }),
    knowsUser: (u) => u === 'alice',
    isOurDomain: (h) => h === '127.0.0.1',
    store: s.registrations,
    policy,
    log,
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-keepalive-'));
  const timers = { T1: 20, T2: 80, T4: 100 };
  server = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: 0 }, timers, logger: log });
  phone = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, timers, logger: log });
  dead = dgram.createSocket('udp4');
  await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
  store = SqliteStore.open({ file: path.join(dir, 'parley.db') });
  registrar = makeRegistrar(store);
});

afterAll(async () => {
  registrar?.close();
  store?.close();
  await phone?.close();
  await server?.close();
  dead?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** REGISTER, answer the 401 with digest, return the final status. */
async function register(contacts: string[], expires: number): Promise<number> {
  const uri = `sip:127.0.0.1:${server.ports.udp}`;
  const base = {
    from: '<sip:alice@127.0.0.1>',
    to: '<sip:alice@127.0.0.1>',
  };
  const headers = { Contact: contacts, Expires: String(expires) };
  const first = await phone.request(uri, 'REGISTER', { ...base, headers });
  expect(first.status).toBe(401);
  const challenges = first.headers.getAll('WWW-Authenticate');
  const pick = DigestClient.pickChallenge(challenges)!;
  const authz = new DigestClient({ username: 'alice', password: 'alice-secret' }).authorize(
    'REGISTER',
    uri,
    pick,
  );
  const second = await phone.request(uri, 'REGISTER', {
    ...base,
    headers: { ...headers, Authorization: authz },
  });
  return second.status;
}

test('OPTIONS keep-alive keeps a contact that answers and drops one that stops answering', async () => {
  const live = `<sip:alice@127.0.0.1:${phone.ports.udp}>`;
  const gone = `<sip:alice@127.0.0.1:${(dead.address() as net.AddressInfo).port}>`;
  // a phone behind a NAT names its private address: the ping goes to where its REGISTER came from instead
  const natted = '<sip:alice@10.9.9.9:5060>';
  expect(await register([live, gone, natted], 600)).toBe(200);
  expect(registrar.bindingsOf('alice')).toHaveLength(3);
  const changed: string[] = [];
  registrar.on('changed', (u) => changed.push(u));

  // the ping: the phone's UA answers 200, the dead socket says nothing (Timer F = 64*T1 = 1.28 s)
  let pinged = 0;
  dead.on('message', (m) => {
    if (m.toString().startsWith('OPTIONS ')) pinged++;
  });
  await registrar.keepAlive();
  expect(pinged).toBeGreaterThan(0);
  expect(
    registrar
      .bindingsOf('alice')
      .map((b) => b.contact)
      .sort(),
  ).toEqual([`sip:alice@10.9.9.9:5060`, `sip:alice@127.0.0.1:${phone.ports.udp}`]);
  expect(changed).toEqual(['alice']);
  // and the drop is in the database
  expect(store.registrations.forUser('alice')).toHaveLength(2);
}, 20_000);

test('bindings survive a restart: a new Registrar on the same database locates the contact', async () => {
  registrar.close();
  store.close();
  store = SqliteStore.open({ file: path.join(dir, 'parley.db') });
  registrar = makeRegistrar(store);
  expect((await registrar.locate('alice')).sort()).toEqual([
    `sip:alice@10.9.9.9:5060`,
    `sip:alice@127.0.0.1:${phone.ports.udp}`,
  ]);
});

test('a CRLFCRLF keep-alive on a TCP connection gets a CRLF pong (RFC 5626 §3.5.1)', async () => {
  const sock = net.connect(server.ports.tcp!, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const pong = new Promise<string>((r) => sock.once('data', (d: Buffer) => r(d.toString('latin1'))));
  sock.write('\r\n\r\n');
  expect(await pong).toBe('\r\n');
  sock.destroy();
});
