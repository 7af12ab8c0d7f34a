/**
 * The first start and a restart of the real App on one data directory: the initial admin's password is generated,
 * printed once (never logged; only its scrypt hash in the database), signs in; the sign-in and sign-out are
 * audited; a restart keeps the accounts, the audit log, a real call's CDR and the rooms created through the API
 * (re-declared), and
 * prints no password again; a changed PARLEY_API_TOKEN replaces the seeded token.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { App } from '../../../src/app';
import { loadConfig } from '../../../src/config/load';
import { createLogger } from '../../../src/logging/logger';
import { SipPhone } from '../../support/sip-phone';

jest.setTimeout(60_000);

let dataDir: string;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-auth-boot-'));
});

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function start(
  apiToken: string,
): Promise<{ app: App; printed: string[]; logs: string[]; base: string }> {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const min = 45600 + ((worker - 1) % 4) * 400;
  const config = loadConfig({
    env: { PARLEY_API_TOKEN: apiToken },
    overrides: {
      dataDir,
      http: { ip: '127.0.0.1', port: 0 },
      sip: { listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null } },
      rtc: { numWorkers: 1, minPort: min, maxPort: min + 399 },
      webrtc: { port: 0 },
      conference: { joinTones: false },
    },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const printed: string[] = [];
  const app = await App.create(config, createLogger({ level: 'debug', destination: sink }), {
    print: (l) => printed.push(l),
  });
  return { app, printed, logs, base: `http://127.0.0.1:${app.http.port}` };
}

async function post(base: string, p: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null, res };
}

/** Every byte of the database (the main file and its write-ahead log). */
function databaseBytes(): string {
  return fs
    .readdirSync(dataDir)
    .filter((f) => f.startsWith('parley.db'))
    .map((f) => fs.readFileSync(path.join(dataDir, f)).toString('latin1'))
    .join('');
}

describe('initial admin and restart', () => {
  it('generates, prints once and stores only the hash; audit, accounts, CDRs and created rooms survive a restart', async () => {
    const first = await start('first-token-0123456789abcdef');
    let password: string;
    try {
      const line = first.printed.find((l) => l.startsWith('initial admin password: '));
      expect(line).toBeDefined();
      password = /^initial admin password: (\S+)/.exec(line!)![1]!;
      expect(password.length).toBeGreaterThanOrEqual(20);
      expect(line).toContain(`${first.base}/dashboard`);
      expect(first.printed).toContain(`Parley dashboard: ${first.base}/dashboard`);
      const started = first.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'parley started');
      expect(started?.dashboard).toBe(`${first.base}/dashboard`);
      // never in the logs; in the database only as scrypt
      expect(first.logs.join('')).not.toContain(password);
      const admin = first.app.store.accounts.byUsername('admin')!;
      expect(admin.role).toBe('admin');
      expect(admin.passwordHash).toMatch(/^scrypt\$16384\$8\$1\$/);
      expect(databaseBytes()).not.toContain(password);

      const login = await post(first.base, '/api/auth/login', { username: 'admin', password });
      expect(login.status).toBe(200);
      const cookie = login.res.headers.getSetCookie()[0]!.split(';')[0]!;
      const secret = cookie.split('=')[1]!;
      expect(databaseBytes()).not.toContain(secret);
      const room = await post(first.base, '/api/rooms', { roomId: 'kept', moderatorPin: '5150' }, { cookie });
      expect(room.status).toBe(201);
      // A real call: its CDR is written when it hangs up.
      const phone = await SipPhone.call({
        target: `sip:kept@127.0.0.1:${first.app.sip.ports.udp!}`,
        user: 'dora',
        codec: 'PCMU',
        tone: null,
      });
      await phone.close();
      const deadline = Date.now() + 10_000;
      while (
        first.app.store.cdrs.query({ q: 'dora', limit: 1, offset: 0 }).total === 0 &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 50));
      expect((await post(first.base, '/api/auth/logout', {}, { cookie })).status).toBe(204);
      const actions = first.app.store.audit
        .query({ actor: 'admin', limit: 10, offset: 0 })
        .items.map((e) => `${e.action} ${e.outcome} ${e.source ?? ''}`);
      expect(actions).toEqual([
        expect.stringMatching(/^logout ok (::ffff:)?127\.0\.0\.1$/),
        expect.stringMatching(/^create-room ok /),
        expect.stringMatching(/^login ok /),
      ]);
    } finally {
      await first.app.close();
    }

    const second = await start('second-token-0123456789abcdef');
    try {
      expect(second.printed.some((l) => l.includes('initial admin password'))).toBe(false);
      expect(second.logs.join('')).not.toContain(password);
      expect(second.app.store.accounts.list().map((a) => a.username)).toEqual(['admin']);
      expect((await post(second.base, '/api/auth/login', { username: 'admin', password })).status).toBe(200);
      expect(second.app.store.audit.query({ action: 'logout', limit: 10, offset: 0 }).total).toBe(1);
      // the call detail record of the call before the restart, over REST
      const cdrs = (await (
        await fetch(`${second.base}/api/cdrs?q=dora`, {
          headers: { authorization: 'Bearer second-token-0123456789abcdef' },
        })
      ).json()) as { total: number; items: { roomId: string; leaveReason: string; codec: string }[] };
      expect(cdrs.total).toBe(1);
      expect(cdrs.items[0]).toMatchObject({ roomId: 'kept', leaveReason: 'remote-bye', codec: 'PCMU' });
      // the room created through the API is declared again, with its moderator PIN
      expect(second.app.conference.listRooms().map((r) => r.id)).toContain('kept');
      expect(second.app.conference.isModeratorPin('kept', '5150')).toBe(true);
      // the token of the first start was replaced by the new one
      const me = async (token: string) =>
        (await fetch(`${second.base}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status;
      expect(await me('first-token-0123456789abcdef')).toBe(401);
      expect(await me('second-token-0123456789abcdef')).toBe(200);
    } finally {
      await second.app.close();
    }
  });
});
