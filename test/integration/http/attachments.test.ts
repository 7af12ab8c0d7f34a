/**
 * Chat attachments over real HTTP: the real HttpServer (its JSON error handler) with the attachments router and a
 * real store in a temporary data directory, a fake session directory, on 127.0.0.1 port 0. Upload, download and
 * its headers, the size limit declared and streamed, tokens of no room and of another room, and an HTML file that
 * comes back as an octet-stream attachment.
 */
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HttpServer } from '../../../src/http/http-server';
import { attachmentsRouter, type SessionDirectory } from '../../../src/http/routes/attachments';
import { silentLogger } from '../../../src/logging/logger';
import type { ChatAttachment } from '../../../src/protocol/rtc-protocol';
import { AttachmentStore } from '../../../src/storage/attachment-store';

const MAX = 64 * 1024;
const TOKENS: Record<string, { participantId: string; roomId: string; displayName: string }> = {
  'alice-token-0123456789': { participantId: 'alice', roomId: 'demo', displayName: 'Alice' },
  'bob-token-0123456789': { participantId: 'bob', roomId: 'demo', displayName: 'Bob' },
  'eve-token-0123456789': { participantId: 'eve', roomId: 'other', displayName: 'Eve' },
};
const ALICE = { authorization: 'Bearer alice-token-0123456789' };
const BOB = { authorization: 'Bearer bob-token-0123456789' };
const EVE = { authorization: 'Bearer eve-token-0123456789' };

let dataDir: string;
let store: AttachmentStore;
let server: HttpServer;
let base: string;

beforeEach(async () => {
  dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'parley-http-attachments-'));
  store = new AttachmentStore({ dataDir, maxBytes: MAX });
  const sessions: SessionDirectory = { authenticate: (t) => TOKENS[t] };
  server = await HttpServer.create({
    ip: '127.0.0.1',
    port: 0,
    version: 'test',
    logger: silentLogger(),
    health: { health: () => ({ ok: true, workers: [] }) },
    api: [attachmentsRouter({ store, sessions, maxBytes: MAX })],
  });
  base = `http://127.0.0.1:${server.port}/api`;
});

afterEach(async () => {
  await server.close();
  await store.close();
  await fsp.rm(dataDir, { recursive: true, force: true });
});

async function upload(
  room: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/rooms/${room}/attachments`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

/** Files under the data directory (partial uploads included). */
async function files(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const d of await fsp.readdir(dir, { withFileTypes: true }).catch(() => []))
      if (d.isDirectory()) await walk(path.join(dir, d.name));
      else out.push(path.relative(dataDir, path.join(dir, d.name)));
  };
  await walk(dataDir);
  return out.sort();
}

/**
 * A raw request with node:http, for bodies fetch cannot send as wanted: `write` is called until the response
 * arrives (a body that never ends on its own), and the request's own errors (the server closing while we still
 * write) are ignored.
 */
function raw(opts: {
  path: string;
  headers: Record<string, string | number>;
  /** Writes a piece of the body and returns its size. */
  write?: (req: http.ClientRequest) => number;
  intervalMs?: number;
}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    const req = http.request(`${base}${opts.path}`, { method: 'POST', headers: opts.headers });
    let timer: NodeJS.Timeout | undefined;
    req.on('error', () => undefined);
    req.on('response', (res) => {
      clearInterval(timer);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.flushHeaders();
    if (opts.write) {
      const w = opts.write;
      timer = setInterval(() => {
        // Give up long after the limit: a server that never answers fails the test instead of hanging it.
        if (req.destroyed || written > 100 * MAX) return clearInterval(timer);
        written += w(req);
      }, opts.intervalMs ?? 2);
    }
  });
}

describe('POST/GET /api/rooms/:room/attachments', () => {
  it('uploads a file (201 ChatAttachment) and a participant of the room downloads it with safe headers', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]);
    const up = await upload('demo', bytes, {
      ...ALICE,
      'content-type': 'image/png',
      'x-file-name': encodeURIComponent('Ré "sumé" 😀.png'),
    });
    expect(up.status).toBe(201);
    const a = up.json as unknown as ChatAttachment;
    expect(a).toEqual({
      id: expect.any(String),
      name: 'Ré "sumé" 😀.png',
      size: bytes.length,
      contentType: 'image/png',
      url: `/api/rooms/demo/attachments/${a.id}`,
    });
    expect(up.headers.get('location')).toBe(a.url);

    const res = await fetch(`http://127.0.0.1:${server.port}${a.url}`, { headers: BOB });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="R_ _sum__ _.png"; filename*=UTF-8''R%C3%A9%20%22sum%C3%A9%22%20%F0%9F%98%80.png`,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('private, no-store');
  });

  it('an HTML upload is served as application/octet-stream, as an attachment', async () => {
    const html = '<!doctype html><script>alert(document.cookie)</script>';
    const up = await upload('demo', html, {
      ...ALICE,
      'content-type': 'text/html',
      'x-file-name': 'page.html',
    });
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({ name: 'page.html', contentType: 'application/octet-stream' });
    const res = await fetch(`http://127.0.0.1:${server.port}${String(up.json.url)}`, { headers: ALICE });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="page.html"/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(html);
  });

  it('an SVG or a file without a type or name is an octet-stream named "attachment"', async () => {
    const svg = await upload('demo', '<svg onload="alert(1)"/>', {
      ...ALICE,
      'content-type': 'image/svg+xml',
    });
    expect(svg.json).toMatchObject({ contentType: 'application/octet-stream', name: 'attachment' });
    const res = await fetch(`${base}/rooms/demo/attachments`, {
      method: 'POST',
      headers: ALICE,
      body: new Uint8Array([1]),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ contentType: 'application/octet-stream', name: 'attachment' });
  });

  it('a Content-Length above the limit is refused with 413 before the body is read', async () => {
    const r = await raw({
      path: '/rooms/demo/attachments',
      headers: { ...ALICE, 'content-type': 'application/octet-stream', 'content-length': MAX + 1 },
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({
      error: 'ATTACHMENT_TOO_LARGE',
      message: `attachments are limited to ${MAX} bytes`,
    });
    expect(r.headers.connection).toBe('close');
    expect(await files()).toEqual([]);
  });

  it('a body that grows past the limit (chunked, no Content-Length) is cut with 413 and nothing is kept', async () => {
    const chunk = Buffer.alloc(4096, 0x61);
    const r = await raw({
      path: '/rooms/demo/attachments',
      headers: { ...ALICE, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      write: (req) => (req.write(chunk), chunk.length),
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'ATTACHMENT_TOO_LARGE' });
    expect(r.headers.connection).toBe('close');
    expect(await files()).toEqual([]);
    // The server still serves the next upload.
    expect((await upload('demo', 'ok', { ...ALICE })).status).toBe(201);
  });

  it('a body of exactly the limit is accepted', async () => {
    const up = await upload('demo', Buffer.alloc(MAX, 1), { ...ALICE, 'content-type': 'application/pdf' });
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({ size: MAX, contentType: 'application/pdf' });
  });

  it('no token, an unknown token, a non-Bearer scheme or a ?token= query: 401 AUTH_REQUIRED', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-a-known-token' },
      { authorization: 'Basic YWxpY2U6cHc=' },
      { authorization: 'alice-token-0123456789' },
    ];
    for (const headers of cases) {
      const up = await upload('demo', 'x', headers);
      expect([up.status, up.json.error]).toEqual([401, 'AUTH_REQUIRED']);
      expect(up.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const a = (await upload('demo', 'secret', ALICE)).json as unknown as ChatAttachment;
    for (const headers of cases) {
      const res = await fetch(`http://127.0.0.1:${server.port}${a.url}`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'AUTH_REQUIRED' });
    }
    const q = await fetch(`http://127.0.0.1:${server.port}${a.url}?token=alice-token-0123456789`);
    expect(q.status).toBe(401);
    expect(await files()).toHaveLength(2); // only the one good upload (file + sidecar)
  });

  it("another room's token: 403 AUTH_FORBIDDEN, both ways", async () => {
    const up = await upload('demo', 'x', { ...EVE });
    expect([up.status, up.json.error]).toEqual([403, 'AUTH_FORBIDDEN']);
    const a = (await upload('demo', 'secret', ALICE)).json as unknown as ChatAttachment;
    const res = await fetch(`http://127.0.0.1:${server.port}${a.url}`, { headers: EVE });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'AUTH_FORBIDDEN' });
  });

  it("an attachment of another room, asked for under one's own room, is 404 ATTACHMENT_NOT_FOUND", async () => {
    const theirs = (await upload('other', 'eve-only', EVE)).json as unknown as ChatAttachment;
    const res = await fetch(`${base}/rooms/demo/attachments/${theirs.id}`, { headers: ALICE });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'ATTACHMENT_NOT_FOUND' });
    const unknown = await fetch(`${base}/rooms/demo/attachments/..%2F..%2Fattachments`, { headers: ALICE });
    expect(unknown.status).toBe(404);
  });

  it('an X-File-Name that is not URI-encoded is API_BAD_REQUEST', async () => {
    const up = await upload('demo', 'x', { ...ALICE, 'x-file-name': '%E0%A4%A' });
    expect([up.status, up.json.error]).toEqual([400, 'API_BAD_REQUEST']);
    expect(await files()).toEqual([]);
  });

  it('a client that goes away mid-upload leaves no file behind', async () => {
    const req = http.request(`${base}/rooms/demo/attachments`, {
      method: 'POST',
      headers: { ...ALICE, 'transfer-encoding': 'chunked' },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 50));
    expect((await files()).some((f) => f.endsWith('.part'))).toBe(true);
    req.destroy();
    for (let i = 0; i < 50 && (await files()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await files()).toEqual([]);
  });
});
