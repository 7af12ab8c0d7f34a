/**
 * GET /api/openapi.json: the document validates as OpenAPI 3.1 (@seriousme/openapi-schema-validator, run in a
 * child process: the package is ESM-only), documents exactly the routes a running Parley registers (App in
 * process, `HttpServer.routes()`), and real answers of that server match their documented schemas (Ajv 2020).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { App } from '../../../src/app';
import { VERSION } from '../../../src/app';
import { ERROR_CATALOGUE } from '../../../src/errors/catalogue';
import { buildOpenApiDocument, openapiPath } from '../../../src/http/openapi/openapi-document';
import { zodToJsonSchema } from '../../../src/http/openapi/zod-json-schema';
import { CreateRoomSchema } from '../../../src/protocol/dashboard-protocol';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';

jest.setTimeout(60_000);

/** Ajv 8 (JSON Schema 2020-12) as the validator package ships it. */
interface AjvLike {
  addSchema(schema: object, key?: string): AjvLike;
  getSchema(ref: string): ((data: unknown) => boolean) & { errors?: unknown };
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown };
}
const validatorDir = path.dirname(require.resolve('@seriousme/openapi-schema-validator/package.json'));
const Ajv2020 = (
  createRequire(path.join(validatorDir, 'index.js'))('ajv/dist/2020') as {
    default: new (o: object) => AjvLike;
  }
).default;

const API_TOKEN = 'openapi-test-token-0123456789';
const DOC_ID = 'https://parley.test/openapi.json';

let running: InProcessApp | undefined;
let app: App | undefined;
let base: string;
let doc: Record<string, unknown>;
let ajv: AjvLike;

beforeAll(async () => {
  running = await startInProcessApp({
    name: 'openapi',
    portBase: 34000,
    overrides: { auth: { adminPassword: 'openapi-admin-password', apiToken: API_TOKEN } },
  });
  app = running.app;
  base = running.base;
  const res = await fetch(`${base}/api/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Record<string, unknown>;
  ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: DOC_ID });
});

afterAll(() => running?.close());

/** Runs the ESM-only validator on `doc` in a child node process. */
function validateOpenApi(document: unknown): Promise<{ valid: boolean; version?: string; errors?: unknown }> {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    const v = new Validator();
    const r = await v.validate(JSON.parse(input));
    process.stdout.write(JSON.stringify({ valid: r.valid, version: v.version, errors: r.errors }));`;
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: path.resolve(__dirname, '../../..') },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as { valid: boolean; version?: string; errors?: unknown });
      },
    );
    child.stdin!.end(JSON.stringify(document));
  });
}

const pointer = (...parts: string[]): string =>
  `${DOC_ID}#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** Validates `body` against the documented JSON answer of `method path` with `status`; returns Ajv's errors. */
function check(method: string, route: string, status: number, body: unknown): unknown {
  const validate = ajv.getSchema(
    pointer('paths', route, method, 'responses', String(status), 'content', 'application/json', 'schema'),
  );
  if (!validate) throw new Error(`no documented ${status} JSON answer for ${method} ${route}`);
  return validate(body) ? null : validate.errors;
}

async function api(method: string, url: string, body?: unknown, auth = true) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(auth ? { Authorization: `Bearer ${API_TOKEN}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('GET /api/openapi.json', () => {
  it('is public and is the built document', () => {
    expect(doc).toEqual(buildOpenApiDocument({ version: VERSION }));
    expect(doc['openapi']).toBe('3.1.0');
  });

  it('validates as OpenAPI 3.1', async () => {
    const r = await validateOpenApi(doc);
    expect(r.errors ?? null).toBeNull();
    expect(r).toMatchObject({ valid: true, version: '3.1' });
  });

  it('the validator is not a rubber stamp: a broken document fails', async () => {
    const broken = JSON.parse(JSON.stringify(doc)) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    broken.paths['/api/rooms']!['get']!.responses['200'] = { content: {} }; // a Response needs a description
    const r = await validateOpenApi(broken);
    expect(r.valid).toBe(false);
  });

  it('documents exactly the routes the server registers (paths × methods)', () => {
    const documented = Object.entries(doc['paths'] as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    const registered = new Set(
      app!.http.routes().map((r) => `${r.method.toUpperCase()} ${openapiPath(r.path.replace(/^\/api/, ''))}`),
    );
    expect(documented).toEqual([...registered].sort());
  });

  it('names only catalogue codes, each under its own HTTP status', () => {
    for (const [route, ops] of Object.entries(
      doc['paths'] as Record<string, Record<string, { responses: Record<string, unknown> }>>,
    ))
      for (const [method, op] of Object.entries(ops))
        for (const [status, answer] of Object.entries(op.responses)) {
          const codes = (
            answer as {
              content?: Record<string, { schema: { properties?: { error?: { enum?: string[] } } } }>;
            }
          ).content?.['application/json']?.schema.properties?.error?.enum;
          if (!codes) continue;
          for (const c of codes) {
            const entry = ERROR_CATALOGUE[c as keyof typeof ERROR_CATALOGUE];
            expect([route, method, c, entry?.http]).toEqual([route, method, c, Number(status)]);
          }
        }
  });
});

describe('real answers match the document', () => {
  it('POST /api/rooms, GET /api/rooms, GET /api/rooms/{id}, GET /api/rooms/{id}/participants', async () => {
    const created = await api('POST', '/api/rooms', {
      roomId: 'spec',
      displayName: 'Spec room',
      moderatorPin: '4321',
    });
    expect(created.status).toBe(201);
    expect(check('post', '/api/rooms', 201, created.body)).toBeNull();
    const list = await api('GET', '/api/rooms');
    expect(list.status).toBe(200);
    expect(check('get', '/api/rooms', 200, list.body)).toBeNull();
    expect((list.body as { rooms: { id: string }[] }).rooms.map((r) => r.id)).toContain('spec');
    const one = await api('GET', '/api/rooms/spec');
    expect(one.status).toBe(200);
    expect(check('get', '/api/rooms/{id}', 200, one.body)).toBeNull();
    const people = await api('GET', '/api/rooms/spec/participants');
    expect(check('get', '/api/rooms/{id}/participants', 200, people.body)).toBeNull();
    // the schemas are not empty: a room missing a field is refused
    const { locked: _locked, ...partial } = created.body as Record<string, unknown>;
    expect(check('post', '/api/rooms', 201, partial)).not.toBeNull();
  });

  it('errors: 409 ROOM_EXISTS, 404 CONF_ROOM_NOT_FOUND, 401 AUTH_REQUIRED, 400 API_BAD_REQUEST as documented', async () => {
    await api('POST', '/api/rooms', { roomId: 'twice' });
    const again = await api('POST', '/api/rooms', { roomId: 'twice' });
    expect([again.status, (again.body as { error: string }).error]).toEqual([409, 'ROOM_EXISTS']);
    expect(check('post', '/api/rooms', 409, again.body)).toBeNull();
    const missing = await api('GET', '/api/rooms/nobody-here');
    expect([missing.status, (missing.body as { error: string }).error]).toEqual([404, 'CONF_ROOM_NOT_FOUND']);
    expect(check('get', '/api/rooms/{id}', 404, missing.body)).toBeNull();
    const anonymous = await api('GET', '/api/rooms', undefined, false);
    expect(anonymous.status).toBe(401);
    expect(check('get', '/api/rooms', 401, anonymous.body)).toBeNull();
    const bad = await api('POST', '/api/rooms/twice/lock', { locked: 'yes' });
    expect(bad.status).toBe(400);
    expect(check('post', '/api/rooms/{id}/lock', 400, bad.body)).toBeNull();
    // a code the route does not document is refused by its schema
    expect(
      check('get', '/api/rooms/{id}', 404, { error: 'ATTACHMENT_NOT_FOUND', message: 'x' }),
    ).not.toBeNull();
  });

  it('GET /api/auth/me and a failed sign-in', async () => {
    const me = await api('GET', '/api/auth/me');
    expect(check('get', '/api/auth/me', 200, me.body)).toBeNull();
    const login = await api(
      'POST',
      '/api/auth/login',
      { username: 'admin', password: 'not-the-password' },
      false,
    );
    expect(login.status).toBe(401);
    expect(check('post', '/api/auth/login', 401, login.body)).toBeNull();
  });

  it('an unknown route stays 404 API_NO_ROUTE', async () => {
    const r = await api('GET', '/api/no/such/route');
    expect(r).toEqual({ status: 404, body: { error: 'API_NO_ROUTE', message: expect.any(String) } });
  });
});

describe('request schemas derived from zod', () => {
  it('CreateRoomSchema and its JSON Schema accept and refuse the same bodies', () => {
    const validate = ajv.compile(zodToJsonSchema(CreateRoomSchema));
    const samples: unknown[] = [
      { roomId: 'a' },
      { roomId: 'a b' },
      { roomId: 'x', pin: '12a' },
      { roomId: 'x', pin: '1234', moderatorPin: '99', maxParticipants: 10, displayName: 'X' },
      { roomId: 'x', maxParticipants: 0 },
      { roomId: 'x', maxParticipants: 1.5 },
      { roomId: 'x', extra: true },
      { displayName: 'no id' },
      { roomId: 'y'.repeat(65) },
    ];
    expect(samples.map((s) => validate(s))).toEqual(
      samples.map((s) => CreateRoomSchema.safeParse(s).success),
    );
    expect(samples.map((s) => validate(s))).toContain(false);
    expect(samples.map((s) => validate(s))).toContain(true);
  });
});
