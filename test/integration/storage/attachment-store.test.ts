/**
 * The attachment store on real files in a temporary data directory: streaming puts, the hard byte limit (partial
 * file deleted, source left alone), safe content types, sanitised names never used as paths, scopes kept apart,
 * removal, close() during an upload.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { AppError } from '../../../src/errors/app-error';
import {
  AttachmentStore,
  safeContentType,
  sanitizeFileName,
  type AttachmentMeta,
} from '../../../src/storage/attachment-store';

let dataDir: string;
let store: AttachmentStore;

beforeEach(async () => {
  dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'parley-attachments-'));
  store = new AttachmentStore({ dataDir, maxBytes: 1000, now: () => Date.UTC(2026, 0, 1) });
});

afterEach(async () => {
  await store.close();
  await fsp.rm(dataDir, { recursive: true, force: true });
});

async function* chunks(...parts: Array<string | Buffer>): AsyncIterable<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

/** Every file under the data directory, relative. */
async function tree(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) await walk(p);
      else out.push(path.relative(dataDir, p));
    }
  };
  await walk(dataDir);
  return out.sort();
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${String(err)}`;
  }
  return 'resolved';
}

describe('AttachmentStore', () => {
  it('streams a file to <dataDir>/attachments/<room>/<id> with a sidecar, and get() finds it', async () => {
    const meta = await store.put('demo', {
      name: 'photo.png',
      contentType: 'image/png',
      body: chunks('abc', 'def'),
    });
    expect(meta).toEqual<AttachmentMeta>({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'photo.png',
      size: 6,
      contentType: 'image/png',
      storedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await tree()).toEqual([`attachments/demo/${meta.id}`, `attachments/demo/${meta.id}.json`]);
    const got = await store.get('demo', meta.id);
    expect(got).toEqual({ ...meta, path: path.join(dataDir, 'attachments', 'demo', meta.id) });
    expect(await fsp.readFile(got.path, 'utf8')).toBe('abcdef');
  });

  it('takes a Node stream as the body too', async () => {
    const meta = await store.put('demo', {
      name: 'a.txt',
      contentType: 'text/plain; charset=utf-8',
      body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
    });
    expect(meta).toMatchObject({ size: 11, contentType: 'text/plain' });
    expect(await fsp.readFile((await store.get('demo', meta.id)).path, 'utf8')).toBe('hello world');
  });

  it('exactly the limit is fine; one byte more: ATTACHMENT_TOO_LARGE, nothing left on disk', async () => {
    const ok = await store.put('demo', {
      name: 'a',
      contentType: undefined,
      body: chunks(Buffer.alloc(1000)),
    });
    expect(ok.size).toBe(1000);
    expect(
      await rejection(
        store.put('demo', {
          name: 'b',
          contentType: undefined,
          body: chunks(Buffer.alloc(600), Buffer.alloc(401)),
        }),
      ),
    ).toBe('ATTACHMENT_TOO_LARGE');
    expect(await tree()).toEqual([`attachments/demo/${ok.id}`, `attachments/demo/${ok.id}.json`]);
    // A per-upload limit below the store's applies.
    expect(
      await rejection(
        store.put('demo', { name: 'c', contentType: undefined, body: chunks('12345'), maxBytes: 4 }),
      ),
    ).toBe('ATTACHMENT_TOO_LARGE');
  });

  it('over the limit it stops reading and leaves a Node stream open (the caller answers on its connection)', async () => {
    const body = new PassThrough();
    let pulled = 0;
    const p = store.put('demo', { name: 'big', contentType: undefined, body });
    body.write(Buffer.alloc(800));
    body.write(Buffer.alloc(800));
    expect(await rejection(p)).toBe('ATTACHMENT_TOO_LARGE');
    expect(body.destroyed).toBe(false);
    body.on('data', (c: Buffer) => (pulled += c.length));
    body.end(Buffer.alloc(10));
    await new Promise((r) => body.once('end', r));
    expect(pulled).toBe(10);
    expect(await tree()).toEqual([]);
  });

  it('a source that fails deletes the partial file and rethrows', async () => {
    async function* failing(): AsyncIterable<Buffer> {
      yield Buffer.from('part');
      throw new Error('connection reset');
    }
    await expect(store.put('demo', { name: 'x', contentType: undefined, body: failing() })).rejects.toThrow(
      'connection reset',
    );
    expect(await tree()).toEqual([]);
  });

  it('only harmless content types are kept; HTML, SVG, scripts and unknown types become octet-stream', async () => {
    for (const [given, kept] of [
      ['image/PNG', 'image/png'],
      ['image/jpg', 'image/jpeg'],
      ['image/gif', 'image/gif'],
      ['image/webp', 'image/webp'],
      ['application/pdf', 'application/pdf'],
      ['text/plain;charset=latin1', 'text/plain'],
      ['text/html', 'application/octet-stream'],
      ['application/xhtml+xml', 'application/octet-stream'],
      ['image/svg+xml', 'application/octet-stream'],
      ['text/javascript', 'application/octet-stream'],
      ['application/javascript', 'application/octet-stream'],
      ['text/xml', 'application/octet-stream'],
      ['text/plain, text/html', 'application/octet-stream'],
      ['', 'application/octet-stream'],
      [undefined, 'application/octet-stream'],
    ] as const)
      expect([given, safeContentType(given)]).toEqual([given, kept]);
    const m = await store.put('demo', { name: 'x.html', contentType: 'text/html', body: chunks('<script>') });
    expect(m.contentType).toBe('application/octet-stream');
  });

  it('file names are sanitised and never become paths', async () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(sanitizeFileName('..\\..\\boot.ini')).toBe('_.._boot.ini');
    expect(sanitizeFileName('a\u0000b\nc\u007f.txt')).toBe('abc.txt');
    expect(sanitizeFileName('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
    expect(sanitizeFileName('...')).toBe('attachment');
    expect(sanitizeFileName('  ')).toBe('attachment');
    expect(sanitizeFileName('x'.repeat(300))).toHaveLength(200);
    expect(sanitizeFileName('e\u0301.txt')).toBe('\u00e9.txt');
    const m = await store.put('demo', {
      name: '../../../escape.txt',
      contentType: 'text/plain',
      body: chunks('x'),
    });
    expect(m.name).toBe('_.._.._escape.txt');
    expect(await tree()).toEqual([`attachments/demo/${m.id}`, `attachments/demo/${m.id}.json`]);
  });

  it('room names become folder names that never escape the attachments folder', async () => {
    const a = await store.put('..', { name: 'a', contentType: undefined, body: chunks('1') });
    const b = await store.put('a/../../b', { name: 'b', contentType: undefined, body: chunks('2') });
    const c = await store.put('.hidden', { name: 'c', contentType: undefined, body: chunks('3') });
    expect(await tree()).toEqual(
      [
        `attachments/%2E./${a.id}`,
        `attachments/%2E./${a.id}.json`,
        `attachments/%2Ehidden/${c.id}`,
        `attachments/%2Ehidden/${c.id}.json`,
        `attachments/a%2F..%2F..%2Fb/${b.id}`,
        `attachments/a%2F..%2F..%2Fb/${b.id}.json`,
      ].sort(),
    );
    expect(await rejection(store.put('', { name: 'x', contentType: undefined, body: chunks('1') }))).toBe(
      'API_BAD_REQUEST',
    );
    await store.removeRoom('..');
    expect(await fsp.stat(dataDir)).toBeTruthy();
    expect(await tree()).toHaveLength(4);
  });

  it('an id of another room, an unknown id and a path-like id are ATTACHMENT_NOT_FOUND', async () => {
    const m = await store.put('room-a', { name: 'a', contentType: undefined, body: chunks('1') });
    expect(await rejection(store.get('room-b', m.id))).toBe('ATTACHMENT_NOT_FOUND');
    expect(await rejection(store.get('room-a', 'f00'))).toBe('ATTACHMENT_NOT_FOUND');
    expect(await rejection(store.get('room-a', `../room-a/${m.id}`))).toBe('ATTACHMENT_NOT_FOUND');
    expect(await rejection(store.get('room-a', `${m.id}.json`))).toBe('ATTACHMENT_NOT_FOUND');
    expect((await store.get('room-a', m.id)).id).toBe(m.id);
  });

  it('an unfinished upload is not visible', async () => {
    const body = new PassThrough();
    const p = store.put('demo', { name: 'slow', contentType: undefined, body });
    body.write('first half');
    await new Promise((r) => setTimeout(r, 20));
    const [part] = await tree();
    expect(part).toMatch(/\.part$/);
    const id = path.basename(part!, '.part');
    expect(await rejection(store.get('demo', id))).toBe('ATTACHMENT_NOT_FOUND');
    body.end(' and the rest');
    expect((await p).size).toBe('first half and the rest'.length);
    expect((await store.get('demo', id)).size).toBe(23);
  });

  it('remove() deletes one attachment, removeRoom() the room folder; unknown ones are ignored', async () => {
    const a = await store.put('demo', { name: 'a', contentType: undefined, body: chunks('1') });
    const b = await store.put('demo', { name: 'b', contentType: undefined, body: chunks('2') });
    const c = await store.put('other', { name: 'c', contentType: undefined, body: chunks('3') });
    await store.remove('demo', a.id);
    await store.remove('demo', a.id);
    await store.remove('demo', '../other');
    expect(await rejection(store.get('demo', a.id))).toBe('ATTACHMENT_NOT_FOUND');
    expect((await store.get('demo', b.id)).id).toBe(b.id);
    await store.removeRoom('demo');
    await store.removeRoom('never-existed');
    expect(await tree()).toEqual([`attachments/other/${c.id}`, `attachments/other/${c.id}.json`]);
  });

  it('an id source that repeats never overwrites a file', async () => {
    const ids = ['same', 'same', 'next'];
    const s = new AttachmentStore({ dataDir, maxBytes: 10, newId: () => ids.shift()! });
    const one = await s.put('demo', { name: 'a', contentType: undefined, body: chunks('one') });
    const two = await s.put('demo', { name: 'b', contentType: undefined, body: chunks('two') });
    expect([one.id, two.id]).toEqual(['same', 'next']);
    expect(await fsp.readFile((await s.get('demo', 'same')).path, 'utf8')).toBe('one');
    await s.close();
  });

  it('close() aborts a stalled upload (partial file deleted), refuses new ones, and is idempotent', async () => {
    const body = new PassThrough();
    const p = store.put('demo', { name: 'stalled', contentType: undefined, body });
    body.write('some');
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([store.close(), store.close()]);
    expect(await rejection(p)).toBe('CONF_SHUTTING_DOWN');
    expect(await tree()).toEqual([]);
    expect(await rejection(store.put('demo', { name: 'x', contentType: undefined, body: chunks('1') }))).toBe(
      'CONF_SHUTTING_DOWN',
    );
  });
});
