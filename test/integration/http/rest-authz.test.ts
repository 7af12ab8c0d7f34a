/**
 * Authorisation of the whole REST API against the real App (in process, real HTTP, real SQLite file): every /api
 * route the server registers (`http.routes()`) refuses a request without credentials; a moderator-PIN session of
 * room A is refused on room B and on the admin routes; a moderator account on the account admin routes; logout
 * revokes the cookie; cookie-signed state changes must be JSON; a sign-in flood is rate-limited (429, even with the
 * right password) until the window passes. Security headers on API answers.
 */
import type { App } from '../../../src/app';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';

jest.setTimeout(60_000);

const TOKEN = 'authz-test-token-0123456789abcdef';
const ADMIN_PASSWORD = 'admin-password-for-tests';
const WINDOW_SECONDS = 2;
const MAX_ATTEMPTS = 3;

let app: App;
let running: InProcessApp | undefined;
let base: string;

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  headers: Headers;
}

async function call(
  method: string,
  p: string,
  o: { body?: unknown; token?: string; cookie?: string; contentType?: string; rawBody?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.cookie) headers.cookie = o.cookie;
  if (o.body !== undefined || o.rawBody !== undefined)
    headers['content-type'] = o.contentType ?? 'application/json';
  const res = await fetch(`${base}${p}`, {
    method,
    headers,
    ...(o.body !== undefined
      ? { body: JSON.stringify(o.body) }
      : o.rawBody !== undefined
        ? { body: o.rawBody }
        : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    headers: res.headers,
  };
}

/** The session cookie (`name=value`) a sign-in answer set. */
function cookieOf(a: Answer): string {
  const c = a.headers.getSetCookie().find((x) => x.startsWith('parley_session='));
  if (!c) throw new Error(`no session cookie in ${JSON.stringify(a.body)}`);
  return c.split(';')[0]!;
}

async function login(username: string, password: string): Promise<Answer> {
  return call('POST', '/api/auth/login', { body: { username, password } });
}

/** An Express path with its parameters filled in: `:id` is `room`, anything else a made-up id. */
function fill(p: string, room: string): string {
  return p.replace(/:id(?=\/|$)/, room).replace(/:(\w+)/g, 'nobody');
}

/** Routes that answer without the moderators' credentials: sign-in, the OpenAPI document, browsers' attachments. */
function isPublic(r: { method: string; path: string }): boolean {
  return (
    (r.method === 'POST' && (r.path === '/api/auth/login' || r.path === '/api/auth/pin')) ||
    r.path === '/api/openapi.json' ||
    r.path.includes('/attachments')
  );
}

beforeAll(async () => {
  running = await startInProcessApp({
    name: 'authz',
    portBase: 44000,
    overrides: {
      auth: {
        adminPassword: ADMIN_PASSWORD,
        apiToken: TOKEN,
        loginMaxAttempts: MAX_ATTEMPTS,
        loginWindowSeconds: WINDOW_SECONDS,
      },
      conference: {
        rooms: [
          { name: 'alpha', moderatorPin: '1111' },
          { name: 'beta', moderatorPin: '2222' },
        ],
      },
    },
  });
  ({ app, base } = running);
  const config = running.config;
  // Both rooms open (declared rooms are kept when empty).
  for (const name of ['alpha', 'beta'])
    await app.conference.declareRoom(config.conference.rooms.find((r) => r.name === name)!);
});

afterAll(() => running?.close());

describe('REST authorisation', () => {
  it('lists the /api routes it registered (the rooms, auth and accounts routes among them)', () => {
    const routes = app.http.routes();
    for (const r of [
      { method: 'GET', path: '/api/rooms' },
      { method: 'POST', path: '/api/rooms' },
      { method: 'POST', path: '/api/rooms/:id/participants/:pid/mute' },
      { method: 'DELETE', path: '/api/rooms/:id/livestream' },
      { method: 'POST', path: '/api/auth/login' },
      { method: 'PATCH', path: '/api/accounts/:id' },
      { method: 'DELETE', path: '/api/tokens/:id' },
    ])
      expect(routes).toContainEqual(r);
    expect(routes.every((r) => r.path.startsWith('/api/'))).toBe(true);
  });

  it('refuses every non-public /api route without credentials: 401 AUTH_REQUIRED, nothing done', async () => {
    const routes = app.http.routes().filter((r) => !isPublic(r));
    expect(routes.length).toBeGreaterThan(15);
    for (const r of routes) {
      const a = await call(r.method, fill(r.path, 'alpha'), r.method === 'GET' ? {} : { body: {} });
      expect({ route: r, status: a.status, error: a.body?.error }).toEqual({
        route: r,
        status: 401,
        error: 'AUTH_REQUIRED',
      });
    }
    // a wrong token is no token
    expect((await call('GET', '/api/rooms', { token: 'x'.repeat(40) })).status).toBe(401);
    expect(
      app.conference
        .listRooms()
        .map((r) => r.id)
        .sort(),
    ).toEqual(['alpha', 'beta']);
  });

  it('a moderator-PIN session of room A: room A only; 403 on room B and on the admin routes', async () => {
    const wrong = await call('POST', '/api/auth/pin', { body: { roomId: 'alpha', moderatorPin: '9999' } });
    expect([wrong.status, wrong.body?.error]).toEqual([403, 'AUTH_WRONG_PIN']);
    const pin = await call('POST', '/api/auth/pin', { body: { roomId: 'alpha', moderatorPin: '1111' } });
    expect(pin.status).toBe(200);
    expect(pin.body?.principal).toEqual({
      kind: 'pin',
      name: 'pin:alpha',
      role: 'moderator',
      roomGrants: ['alpha'],
    });
    const cookie = cookieOf(pin);

    const listed = await call('GET', '/api/rooms', { cookie });
    expect((listed.body?.rooms as Array<{ id: string }>).map((r) => r.id)).toEqual(['alpha']);
    expect((await call('GET', '/api/rooms/alpha', { cookie })).status).toBe(200);
    expect((await call('POST', '/api/rooms/alpha/lock', { cookie, body: { locked: true } })).status).toBe(
      200,
    );
    expect(app.conference.getRoom('alpha').view().locked).toBe(true);
    await call('POST', '/api/rooms/alpha/lock', { cookie, body: { locked: false } });

    const roomB = app.http.routes().filter((r) => r.path.startsWith('/api/rooms/:id') && !isPublic(r));
    expect(roomB.length).toBeGreaterThan(8);
    for (const r of roomB) {
      const a = await call(r.method, fill(r.path, 'beta'), {
        cookie,
        ...(r.method === 'GET' ? {} : { body: {} }),
      });
      expect({ route: r, status: a.status, error: a.body?.error }).toEqual({
        route: r,
        status: 403,
        error: 'AUTH_FORBIDDEN',
      });
    }
    // moving someone from A into B needs rights on B too
    expect(
      (await call('POST', '/api/rooms/alpha/participants/x/move', { cookie, body: { room: 'beta' } })).status,
    ).toBe(403);
    expect(app.conference.getRoom('beta').view().locked).toBe(false);

    const admin = app.http.routes().filter((r) => /^\/api\/(accounts|tokens)(\/|$)/.test(r.path));
    expect(admin.length).toBe(7);
    for (const r of [...admin, { method: 'POST', path: '/api/rooms' }]) {
      const body = r.path === '/api/rooms' ? { roomId: 'gamma' } : {};
      const a = await call(r.method, fill(r.path, 'beta'), {
        cookie,
        ...(r.method === 'GET' ? {} : { body }),
      });
      expect({ route: r, status: a.status, error: a.body?.error }).toEqual({
        route: r,
        status: 403,
        error: 'AUTH_FORBIDDEN',
      });
    }
    // the refusals are in the audit log
    const refused = app.store.audit.query({
      actor: 'pin:alpha',
      roomId: 'beta',
      limit: 100,
      offset: 0,
    }).items;
    expect(refused.length).toBeGreaterThan(5);
    expect(refused.every((e) => e.outcome === 'error' && e.detail?.startsWith('AUTH_FORBIDDEN'))).toBe(true);

    // the PIN of B, entered in the same session, adds B
    const claimed = await call('POST', '/api/auth/pin', {
      cookie,
      body: { roomId: 'beta', moderatorPin: '2222' },
    });
    expect(claimed.body?.principal).toMatchObject({ kind: 'pin', roomGrants: ['alpha', 'beta'] });
    expect((await call('GET', '/api/rooms/beta', { cookie })).status).toBe(200);
  });

  it('a moderator account moderates every room but gets 403 on the account admin routes', async () => {
    const created = await call('POST', '/api/accounts', {
      token: TOKEN,
      body: { username: 'mod', password: 'moderator-pass', role: 'moderator' },
    });
    expect(created.status).toBe(201);
    const modId = (created.body?.account as { id: string }).id;
    const s = await login('mod', 'moderator-pass');
    expect(s.body?.principal).toEqual({ kind: 'account', name: 'mod', role: 'moderator', roomGrants: [] });
    const cookie = cookieOf(s);
    expect((await call('GET', '/api/rooms/beta', { cookie })).status).toBe(200);
    expect((await call('POST', '/api/rooms/beta/lock', { cookie, body: { locked: false } })).status).toBe(
      200,
    );
    const accounts = app.http.routes().filter((r) => r.path.startsWith('/api/accounts'));
    for (const r of accounts) {
      const a = await call(r.method, fill(r.path, modId), {
        cookie,
        ...(r.method === 'GET' ? {} : { body: {} }),
      });
      expect({ route: r, status: a.status }).toEqual({ route: r, status: 403 });
    }
    // own tokens are allowed, and the token authenticates as the account
    const t = await call('POST', '/api/tokens', { cookie, body: { name: 'script' } });
    expect(t.status).toBe(201);
    const me = await call('GET', '/api/auth/me', { token: t.body?.token as string });
    expect(me.body?.principal).toEqual({
      kind: 'token',
      name: 'token:script',
      role: 'moderator',
      roomGrants: [],
    });
    expect((await call('GET', '/api/tokens', { cookie })).body?.tokens).toEqual([
      expect.objectContaining({ name: 'script', id: t.body?.id }),
    ]);
    expect(JSON.stringify((await call('GET', '/api/tokens', { cookie })).body)).not.toContain(
      t.body?.token as string,
    );
    expect((await call('DELETE', `/api/tokens/${String(t.body?.id)}`, { cookie })).status).toBe(204);
    expect((await call('GET', '/api/auth/me', { token: t.body?.token as string })).status).toBe(401);
  });

  it('the last admin cannot be demoted or deleted (409 ACCOUNT_LAST_ADMIN)', async () => {
    const admin = app.store.accounts.byUsername('admin')!;
    const demote = await call('PATCH', `/api/accounts/${admin.id}`, {
      token: TOKEN,
      body: { role: 'moderator' },
    });
    expect([demote.status, demote.body?.error]).toEqual([409, 'ACCOUNT_LAST_ADMIN']);
    const del = await call('DELETE', `/api/accounts/${admin.id}`, { token: TOKEN });
    expect([del.status, del.body?.error]).toEqual([409, 'ACCOUNT_LAST_ADMIN']);
    expect(app.store.accounts.byId(admin.id)?.role).toBe('admin');
  });

  it('logout revokes the session: the old cookie is refused afterwards', async () => {
    const s = await login('admin', ADMIN_PASSWORD);
    const cookie = cookieOf(s);
    expect(s.headers.getSetCookie()[0]).toMatch(/HttpOnly/);
    expect(s.headers.getSetCookie()[0]).toMatch(/SameSite=Strict/);
    expect(s.headers.getSetCookie()[0]).not.toMatch(/Secure/); // plain HTTP, secureCookie 'auto'
    expect((await call('GET', '/api/auth/me', { cookie })).body?.principal).toMatchObject({ name: 'admin' });
    const out = await call('POST', '/api/auth/logout', { cookie, body: {} });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()[0]).toMatch(/^parley_session=; .*Max-Age=0/);
    const after = await call('GET', '/api/rooms', { cookie });
    expect([after.status, after.body?.error]).toEqual([401, 'AUTH_REQUIRED']);
    const entries = app.store.audit
      .query({ actor: 'admin', limit: 10, offset: 0 })
      .items.map((e) => e.action);
    expect(entries.slice(0, 2)).toEqual(['logout', 'login']);
  });

  it('a cookie-signed state change must be JSON (no cross-site form posts): 400 API_BAD_REQUEST', async () => {
    const cookie = cookieOf(await login('admin', ADMIN_PASSWORD));
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const a = await call('POST', '/api/rooms/beta/lock', {
        cookie,
        contentType,
        rawBody: '{"locked":true}',
      });
      expect([contentType, a.status, a.body?.error]).toEqual([contentType, 400, 'API_BAD_REQUEST']);
    }
    expect(app.conference.getRoom('beta').view().locked).toBe(false);
  });

  it('sends the security headers on API answers', async () => {
    const a = await call('GET', '/api/rooms', { token: TOKEN });
    expect(a.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(a.headers.get('x-content-type-options')).toBe('nosniff');
    expect(a.headers.get('referrer-policy')).toBe('no-referrer');
    expect(a.headers.get('x-frame-options')).toBe('DENY');
    expect(a.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(a.headers.get('strict-transport-security')).toBeNull();
    expect((await call('GET', '/api/rooms')).headers.get('www-authenticate')).toBe('Bearer realm="parley"');
  });

  // Last: it locks the test's own address out for the window.
  it('a sign-in flood is rate-limited (429 + Retry-After), the right password too, until the window passes', async () => {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const a = await login('admin', `wrong-${i}`);
      expect([a.status, a.body?.error]).toEqual([401, 'AUTH_BAD_CREDENTIALS']);
    }
    const limited = await login('admin', 'wrong-again');
    expect([limited.status, limited.body?.error]).toEqual([429, 'AUTH_RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const right = await login('admin', ADMIN_PASSWORD);
    expect([right.status, right.body?.error]).toEqual([429, 'AUTH_RATE_LIMITED']);
    expect(right.headers.getSetCookie()).toEqual([]);
    // another account from the same address is limited too (per source)
    expect((await login('mod', 'moderator-pass')).status).toBe(429);
    await new Promise((r) => setTimeout(r, (Number(right.headers.get('retry-after')) + 0.2) * 1000));
    expect((await login('admin', ADMIN_PASSWORD)).status).toBe(200);
    const failed = app.store.audit.query({ action: 'login-failed', actor: 'admin', limit: 100, offset: 0 });
    expect(failed.items.map((e) => e.detail)).toEqual(
      expect.arrayContaining(['AUTH_BAD_CREDENTIALS', 'AUTH_RATE_LIMITED']),
    );
  });
});
