/**
 * The registrar (RFC 3261 §10.3) on the real App, driven by SIPp as the registering phone: digest (401, then 200 or
 * 403), the 200 listing every binding with its expiry, several contacts ordered by q, 423 + Min-Expires, Contact: *
 * unregistering all, 404 for an AOR that is no user, 403 for another user's AOR, and what the REST API shows.
 * Config accounts (`sip.accounts`) and a database account (its HA1 written when its password was set) both work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type AckResult,
  type DashboardSnapshot,
  type UserAvailabilityView,
} from '../../src/protocol/dashboard-protocol';
import { freePort, runSipp } from '../support/sipp';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';

const SCENARIO = path.resolve(__dirname, '../e2e/sipp/registrar-register.xml');

let parley: InProcessApp;
let token: string;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-registrar-'));
  parley = await startInProcessApp({
    name: 'registrar',
    portBase: 50000,
    overrides: {
      sip: {
        accounts: [
          { username: 'alice', password: 'alice-secret' },
          { username: 'bob', password: 'bob-secret!' },
        ],
        // SIPp 3.6 answers MD5 only (and takes the first challenge): challenge with MD5 alone here.
        digestAlgorithms: ['MD5'],
        registrar: { keepAliveSeconds: 0, minExpiresSeconds: 60 },
      },
    },
  });
  // An admin API token, for the REST reads and to create a database account.
  const admin = parley.app.store.accounts.byUsername('admin')!;
  token = 'registrar-test-token-0123456789';
  parley.app.store.tokens.create({
    id: 'tok',
    accountId: admin.id,
    name: 'test',
    tokenHash: (await import('node:crypto')).createHash('sha256').update(token).digest('hex'),
    createdAt: new Date().toISOString(),
    lastUsedAt: null,
  });
}, 60_000);

afterAll(async () => {
  await parley?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function api<T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${parley.base}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

interface Registered {
  /** the statuses SIPp received, in order */
  statuses: number[];
  /** the last response SIPp received, whole */
  final: string;
}

/** One SIPp REGISTER exchange (REGISTER, 401, REGISTER with credentials, the final answer). */
async function register(o: {
  user: string;
  authUser?: string;
  password: string;
  contacts: string;
  expires: number;
  cseq?: number;
  callId?: string;
  port?: number;
}): Promise<Registered> {
  const port = o.port ?? (await freePort());
  const msgFile = path.join(dir, `reg-${port}-${Date.now()}.msg`);
  const cseq = o.cseq ?? 1;
  const keys: Record<string, string> = {
    user: o.user,
    contacts: o.contacts.replace(/PORT/g, String(port)),
    expires: String(o.expires),
    cseq: String(cseq),
    cseq2: String(cseq + 1),
  };
  const args = ['-au', o.authUser ?? o.user, '-ap', o.password, '-trace_msg', '-message_file', msgFile];
  for (const [k, v] of Object.entries(keys)) args.push('-key', k, v);
  if (o.callId !== undefined) args.push('-cid_str', o.callId);
  const r = await runSipp({
    scenario: SCENARIO,
    remote: `127.0.0.1:${parley.app.sip.ports.udp}`,
    localPort: port,
    timeoutSec: 15,
    extraArgs: args,
    cwd: dir,
  });
  const log = fs.existsSync(msgFile) ? fs.readFileSync(msgFile, 'utf8') : '';
  // SIPp's message log: blocks "----- <time>" then "UDP message received [n] bytes :" then the message
  const blocks = log
    .split(/\n(?=-{5,} )/)
    .filter((b) => /message received/.test(b.split('\n').slice(0, 3).join('\n')));
  const statuses = blocks
    .map((b) => /SIP\/2\.0 (\d{3})/.exec(b)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number);
  if (statuses.length === 0)
    throw new Error(`SIPp got no answer (exit ${r.code}): ${r.stderr}\n${r.stdout.slice(-2000)}`);
  return { statuses, final: blocks[blocks.length - 1]! };
}

/** The Contact header values of a response, with their parameters. */
function contactsOf(res: string): string[] {
  return res
    .split(/\r?\n/)
    .filter((l) => /^(Contact|m):/i.test(l.trim()))
    .flatMap((l) =>
      l
        .trim()
        .replace(/^(Contact|m):\s*/i, '')
        .split(/,\s*(?=<)/),
    );
}

interface Availability {
  user: string;
  state: string;
  registered: boolean;
  contacts: Array<{ uri: string; q: number | null; expiresInSeconds: number; userAgent: string | null }>;
}

describe('registrar (RFC 3261 §10.3) with SIPp', () => {
  it('challenges with 401, then binds the contact: 200 lists it with its expiry (§10.3 step 8); REST shows it', async () => {
    const r = await register({
      user: 'alice',
      password: 'alice-secret',
      contacts: '<sip:alice@127.0.0.1:PORT>',
      expires: 120,
    });
    expect(r.statuses).toEqual([401, 200]);
    const contacts = contactsOf(r.final);
    expect(contacts).toHaveLength(1);
    expect(contacts[0]).toMatch(/^<sip:alice@127\.0\.0\.1:\d+>;expires=(120|119)$/);
    expect(r.final).toMatch(/^Date: .+GMT\s*$/m);
    const list = await api<{ users: Availability[] }>('GET', '/api/registrations');
    expect(list.status).toBe(200);
    const alice = list.body.users.find((u) => u.user === 'alice');
    expect(alice).toMatchObject({ state: 'available', registered: true });
    expect(alice!.contacts[0]!.userAgent).toBe('sipp-registrar-test');
    const one = await api<Availability>('GET', '/api/users/alice/availability');
    expect(one.body.state).toBe('available');
    // and it is in the database
    expect(parley.app.store.registrations.forUser('alice').map((b) => b.contact)).toEqual([
      contactsOf(r.final)[0]!.replace(/^<|>;.*$/g, ''),
    ]);
  }, 30_000);

  it('a wrong password gets 403 after the 401, and binds nothing', async () => {
    const before = parley.app.store.registrations.forUser('bob').length;
    const r = await register({
      user: 'bob',
      password: 'wrong-one',
      contacts: '<sip:bob@127.0.0.1:PORT>',
      expires: 120,
    });
    expect(r.statuses).toEqual([401, 403]);
    expect(parley.app.store.registrations.forUser('bob')).toHaveLength(before);
  }, 30_000);

  it('an AOR that is no user gets 404 (§10.3 step 5); another user’s AOR 403 (step 6)', async () => {
    const nobody = await register({
      user: 'carol',
      authUser: 'alice',
      password: 'alice-secret',
      contacts: '<sip:carol@127.0.0.1:PORT>',
      expires: 120,
    });
    expect(nobody.statuses).toEqual([401, 404]);
    const other = await register({
      user: 'bob',
      authUser: 'alice',
      password: 'alice-secret',
      contacts: '<sip:bob@127.0.0.1:PORT>',
      expires: 120,
    });
    expect(other.statuses).toEqual([401, 403]);
    expect(parley.app.store.registrations.forUser('bob')).toEqual([]);
  }, 30_000);

  it('keeps several contacts, best q first; a too-brief Expires gets 423 with Min-Expires', async () => {
    const p2 = await freePort();
    const r = await register({
      user: 'bob',
      password: 'bob-secret!',
      contacts: `<sip:bob@127.0.0.1:PORT>;q=0.2, <sip:bob@127.0.0.1:${p2}>;q=0.9`,
      expires: 300,
    });
    expect(r.statuses).toEqual([401, 200]);
    const contacts = contactsOf(r.final);
    expect(contacts).toHaveLength(2);
    expect(contacts[0]).toContain(`:${p2}>`);
    expect(contacts[0]).toMatch(/;q=0\.9/);
    expect(await parley.app.registrar.locate('bob')).toEqual([
      `sip:bob@127.0.0.1:${p2}`,
      expect.stringMatching(/^sip:bob@127\.0\.0\.1:\d+$/),
    ]);

    const brief = await register({
      user: 'bob',
      password: 'bob-secret!',
      contacts: '<sip:bob@127.0.0.1:PORT>',
      expires: 10,
    });
    expect(brief.statuses).toEqual([401, 423]);
    expect(brief.final).toMatch(/^Min-Expires: 60\s*$/m);
    expect(parley.app.registrar.bindingsOf('bob')).toHaveLength(2);
  }, 30_000);

  it('Contact: * with Expires: 0 removes every binding (§10.2.2); the 200 lists none', async () => {
    expect(parley.app.registrar.bindingsOf('bob').length).toBeGreaterThan(0);
    const r = await register({ user: 'bob', password: 'bob-secret!', contacts: '*', expires: 0 });
    expect(r.statuses).toEqual([401, 200]);
    expect(contactsOf(r.final)).toEqual([]);
    expect(parley.app.store.registrations.forUser('bob')).toEqual([]);
    const bob = await api<Availability>('GET', '/api/users/bob/availability');
    expect(bob.body).toMatchObject({ state: 'offline', registered: false, contacts: [] });
  }, 30_000);

  it('a database account registers with its dashboard password (HA1 stored when the password was set)', async () => {
    const created = await api<{ id: string }>('POST', '/api/accounts', {
      username: 'dora',
      password: 'dora-password-1',
      role: 'moderator',
    });
    expect(created.status).toBe(201);
    expect(parley.app.store.accounts.byUsername('dora')?.sip?.realm).toBe('parley');
    const r = await register({
      user: 'dora',
      password: 'dora-password-1',
      contacts: '<sip:dora@127.0.0.1:PORT>',
      expires: 120,
    });
    expect(r.statuses).toEqual([401, 200]);
    expect(await api<unknown>('GET', '/api/users/nobody/availability')).toMatchObject({
      status: 404,
      body: { error: 'REG_USER_NOT_FOUND' },
    });
  }, 30_000);

  it('the dashboard lists registered users, pushes changes, and refuses to invite a name nobody registered', async () => {
    await register({
      user: 'alice',
      password: 'alice-secret',
      contacts: '<sip:alice@127.0.0.1:PORT>',
      expires: 300,
    });
    const c = connect(`${parley.base}${DASHBOARD_NAMESPACE}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token },
    });
    try {
      const pushed: UserAvailabilityView[] = [];
      c.on('user', (u: UserAvailabilityView) => pushed.push(u));
      const snapshot = await new Promise<DashboardSnapshot>((resolve, reject) => {
        c.once('snapshot', resolve);
        c.once('connect_error', reject);
      });
      expect(snapshot.users?.find((u) => u.user === 'alice')).toMatchObject({
        state: 'available',
        registered: true,
      });
      await register({
        user: 'bob',
        password: 'bob-secret!',
        contacts: '<sip:bob@127.0.0.1:PORT>',
        expires: 300,
      });
      const end = Date.now() + 5000;
      while (!pushed.some((u) => u.user === 'bob') && Date.now() < end)
        await new Promise((r) => setTimeout(r, 25));
      expect(pushed.find((u) => u.user === 'bob')).toMatchObject({ state: 'available', registered: true });
      // "Invite carol": dial-out by name of a user with no registration
      await parley.app.conference.declareRoom({ name: 'invites' });
      await parley.app.conference.openDeclaredRooms();
      const ack = await new Promise<AckResult<unknown>>((resolve) =>
        c.emit('dial', { roomId: 'invites', target: 'carol' }, resolve as never),
      );
      expect(ack).toMatchObject({ ok: false, error: { code: 'CONF_USER_NOT_REGISTERED' } });
    } finally {
      c.disconnect();
    }
  }, 30_000);

  it('presence (RFC 3856): a digest-authenticated watcher gets PIDF NOTIFYs as alice registers and unregisters', async () => {
    // alice is registered (previous test); bob watches her
    expect(parley.app.registrar.bindingsOf('alice').length).toBeGreaterThan(0);
    const port = await freePort();
    const out = path.join(dir, `presence-${port}.out`);
    const msgFile = path.join(dir, `presence-${port}.msg`);
    fs.writeFileSync(out, '');
    const watching = runSipp({
      scenario: path.resolve(__dirname, '../e2e/sipp/presence-watch.xml'),
      remote: `127.0.0.1:${parley.app.sip.ports.udp}`,
      localPort: port,
      timeoutSec: 20,
      extraArgs: [
        ...['-au', 'bob', '-ap', 'bob-secret!', '-trace_msg', '-message_file', msgFile],
        ...['-key', 'presentity', 'alice', '-key', 'out', out],
        // SIPp's digest uri is sip:<remote> unless told: the Request-URI here names the presentity
        ...['-auth_uri', `alice@127.0.0.1:${parley.app.sip.ports.udp}`],
      ],
      cwd: dir,
    });
    const seen = async (event: string): Promise<void> => {
      const end = Date.now() + 10_000;
      while (!fs.readFileSync(out, 'utf8').includes(event)) {
        if (Date.now() > end)
          throw new Error(`no ${event}: ${fs.readFileSync(msgFile, 'utf8').slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await seen('notify1');
    // alice unregisters: the watcher is told at once
    const gone = await register({ user: 'alice', password: 'alice-secret', contacts: '*', expires: 0 });
    expect(gone.statuses).toEqual([401, 200]);
    await seen('notify2');
    const r = await watching;
    expect(r.code).toBe(0);
    const log = fs.readFileSync(msgFile, 'utf8');
    // Distinct NOTIFY transactions: a retransmission (our 200-less NOTIFY resent after T1 when SIPp answers late on
    // a loaded machine) carries the same Via branch (RFC 3261 §17.1.2.2) and is one NOTIFY.
    const branch = (b: string): string | undefined => /^Via:.*;branch=([^;\s]+)/im.exec(b)?.[1];
    const notifies = log
      .split(/\n(?=-{5,} )/)
      .filter((b) => /message received/.test(b.split('\n').slice(0, 3).join('\n')) && /\bNOTIFY sip:/.test(b))
      .filter((b, i, all) => all.findIndex((x) => branch(x) === branch(b)) === i);
    expect(notifies).toHaveLength(3);
    const basic = (b: string): string | undefined => /<basic>(\w+)<\/basic>/.exec(b)?.[1];
    expect(notifies[0]).toMatch(/^Content-Type: application\/pidf\+xml\s*$/im);
    expect(notifies[0]).toMatch(/entity="sip:alice@127\.0\.0\.1"/);
    expect(basic(notifies[0]!)).toBe('open');
    expect(notifies[0]).toMatch(/<note>available<\/note>/);
    expect(basic(notifies[1]!)).toBe('closed');
    expect(notifies[2]).toMatch(/^Subscription-State: terminated/im);
  }, 40_000);
});
