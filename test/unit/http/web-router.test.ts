/**
 * The pages' router on a tiny express app: the HTML shells for `/`, `/r/:room` and `/dashboard` (room names checked with the
 * protocol's `roomName`; anything else is the 404 page), hashed assets with a year of cache, and the security
 * headers (strict CSP, nosniff, no referrer, no framing) on every one of its responses.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { PAGE_CSP, webRouter } from '../../../src/http/routes/web';

let server: http.Server;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'join.html'), '<!doctype html><title>join</title>');
  fs.writeFileSync(path.join(dir, 'room.html'), '<!doctype html><title>room</title>');
  fs.writeFileSync(path.join(dir, '404.html'), '<!doctype html><title>not found</title>');
  fs.writeFileSync(path.join(dir, 'dashboard.html'), '<!doctype html><title>dashboard</title>');
  fs.writeFileSync(path.join(dir, 'assets', 'room-ABC123.js'), 'console.log(1)');
  const app = express();
  app.use(webRouter({ distDir: dir }));
  app.get('/api/x', (_req, res) => {
    res.json({ ok: true });
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
}

describe('webRouter', () => {
  it('serves the start page at / with the security headers', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<title>join</title>');
    expectSecurityHeaders(res);
  });

  it('serves the room page for a valid room name, and the 404 page otherwise', async () => {
    for (const room of ['demo', 'Weekly.sync_2~x-y', 'a'.repeat(64)]) {
      const res = await fetch(`${base}/r/${room}`);
      expect({ room, status: res.status }).toEqual({ room, status: 200 });
      expect(await res.text()).toContain('<title>room</title>');
      expectSecurityHeaders(res);
    }
    for (const room of ['a'.repeat(65), 'bad%20name', '%3Cscript%3E', 'x%2Fy']) {
      const res = await fetch(`${base}/r/${room}`);
      expect({ room, status: res.status }).toEqual({ room, status: 404 });
      expect(await res.text()).toContain('<title>not found</title>');
      expectSecurityHeaders(res);
    }
  });

  it('serves the dashboard at /dashboard with the same security headers, never cached', async () => {
    for (const url of ['/dashboard', '/dashboard/']) {
      const res = await fetch(`${base}${url}`);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<title>dashboard</title>');
      expectSecurityHeaders(res);
    }
    const other = await fetch(`${base}/dashboard/anything`);
    expect(other.status).toBe(404);
  });

  it('the CSP allows no inline script or style, media from blob: only, and no framing', () => {
    const d = Object.fromEntries(
      PAGE_CSP.split(';').map((x) => {
        const [k, ...v] = x.trim().split(/\s+/);
        return [k, v.join(' ')];
      }),
    );
    expect(d['default-src']).toBe("'self'");
    expect(d['script-src']).toBe("'self'");
    expect(d['style-src']).toBe("'self'");
    expect(d['img-src']).toBe("'self' data: blob:");
    expect(d['media-src']).toBe("'self' blob:");
    expect(d['connect-src']).toBe("'self' ws: wss:");
    expect(d['frame-ancestors']).toBe("'none'");
    expect(PAGE_CSP).not.toContain('unsafe');
  });

  it('serves assets with a long immutable cache, and a plain 404 for a missing one', async () => {
    const res = await fetch(`${base}/assets/room-ABC123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expectSecurityHeaders(res);
    const missing = await fetch(`${base}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);
    const traversal = await fetch(`${base}/assets/..%2Fjoin.html`);
    expect(traversal.status).toBe(404);
  });

  it('leaves other routes alone (no page headers on the API)', async () => {
    const res = await fetch(`${base}/api/x`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBeNull();
  });

  it('answers 503 with a hint when the pages were not built', async () => {
    const app = express();
    app.use(webRouter({ distDir: path.join(dir, 'missing') }));
    const s = http.createServer(app);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`);
    await new Promise((r) => s.close(r));
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build/);
  });
});
