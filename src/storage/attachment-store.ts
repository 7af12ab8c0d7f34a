import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../errors/app-error';

/**
 * Content types served as themselves; anything else (HTML, SVG, XML, JavaScript, unknown) is stored as
 * application/octet-stream. Files are always served as attachments with `nosniff` too: this list is a second
 * line, so that even a page that shows an attachment inline shows only harmless media.
 */
export const SAFE_CONTENT_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'video/mp4',
  'video/webm',
  'application/zip',
]);
const CONTENT_TYPE_ALIASES: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'application/x-zip-compressed': 'application/zip',
};
export const FALLBACK_CONTENT_TYPE = 'application/octet-stream';
/** Longest file name kept (UTF-16 units). */
export const ATTACHMENT_NAME_MAX = 200;
const DEFAULT_NAME = 'attachment';

/** The media type of a Content-Type value if it is on the allow-list, else application/octet-stream. */
export function safeContentType(contentType: string | undefined): string {
  const essence = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const t = CONTENT_TYPE_ALIASES[essence] ?? essence;
  return SAFE_CONTENT_TYPES.has(t) ? t : FALLBACK_CONTENT_TYPE;
}

// C0/C1 controls, DEL, and the bidirectional overrides/isolates that make "txt.exe" read as "exe.txt".
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME_CHARS = /[\u0000-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * A file name fit to show and to offer in Content-Disposition: NFC, no control or bidi-override characters, path
 * separators replaced by `_`, no leading dots, at most ATTACHMENT_NAME_MAX; empty → "attachment". It is never
 * used as a path.
 */
export function sanitizeFileName(name: string): string {
  let s = name.normalize('NFC').replace(UNSAFE_NAME_CHARS, '').replace(/[/\\]/g, '_').trim();
  s = s.replace(/^\.+/, '').trim();
  if (s.length > ATTACHMENT_NAME_MAX) {
    const c = s.charCodeAt(ATTACHMENT_NAME_MAX - 1);
    s = s.slice(0, c >= 0xd800 && c <= 0xdbff ? ATTACHMENT_NAME_MAX - 1 : ATTACHMENT_NAME_MAX).trimEnd();
  }
  return s.length > 0 ? s : DEFAULT_NAME;
}

export interface AttachmentMeta {
  id: string;
  /** Sanitised file name (for display and Content-Disposition only). */
  name: string;
  size: number;
  /** The safe content type (see `safeContentType`). */
  contentType: string;
  /** ISO time of the upload. */
  storedAt: string;
}

export interface StoredAttachment extends AttachmentMeta {
  /** Absolute path of the file's bytes. */
  path: string;
}

export interface AttachmentUpload {
  name: string;
  contentType: string | undefined;
  body: AsyncIterable<Buffer | string | Uint8Array> | NodeJS.ReadableStream;
  /** A lower limit than the store's for this upload. */
  maxBytes?: number;
}

export interface AttachmentStoreOptions {
  /** The data directory: files go under `<dataDir>/attachments/<scope>/`. */
  dataDir: string;
  /** Hard upper bound of one file. */
  maxBytes: number;
  /** File ids (default randomUUID). Must match /^[A-Za-z0-9_-]{1,128}$/. */
  newId?: () => string;
  /** Upload times (default Date.now). */
  now?: () => number;
}

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const SCOPE_MAX = 128;

/**
 * Uploaded files on disk, each in a scope (the caller's room id; this layer knows nothing of rooms):
 * `<dataDir>/attachments/<scope>/<id>` plus a sidecar `<id>.json` with its meta. A scope name becomes a directory
 * name by percent-encoding (never `.`/`..`, no separators), an id is ours and checked against ID_RE, and the
 * uploader's file name is never part of a path. An upload streams to `<id>.part` with a hard byte limit and
 * becomes visible (renamed) only once complete.
 */
export class AttachmentStore {
  readonly root: string;
  readonly maxBytes: number;
  private readonly newId: () => string;
  private readonly now: () => number;
  private readonly uploads = new Set<AbortController>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private isClosed = false;

  constructor(opts: AttachmentStoreOptions) {
    if (!Number.isInteger(opts.maxBytes) || opts.maxBytes < 1)
      throw new Error(`AttachmentStore: maxBytes must be a positive integer (got ${opts.maxBytes})`);
    this.root = path.resolve(opts.dataDir, 'attachments');
    this.maxBytes = opts.maxBytes;
    this.newId = opts.newId ?? randomUUID;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Streams an upload to disk. Beyond the limit it stops reading (the source is left as it is: the caller
   * decides whether to drain or drop it), deletes the partial file and throws ATTACHMENT_TOO_LARGE. A source
   * that fails deletes the partial file and rethrows. A scope that cannot name a folder is API_BAD_REQUEST.
   */
  put(scope: string, upload: AttachmentUpload): Promise<AttachmentMeta> {
    if (this.isClosed)
      return Promise.reject(new AppError('CONF_SHUTTING_DOWN', 'the attachment store is closed'));
    const dir = this.scopeDir(scope);
    if (!dir) return Promise.reject(new AppError('API_BAD_REQUEST', 'not a valid room for attachments'));
    const abort = new AbortController();
    this.uploads.add(abort);
    const p = this.write(dir, upload, abort.signal).finally(() => this.uploads.delete(abort));
    this.track(p);
    return p;
  }

  /** The meta and file path of an attachment of this scope; anything else (incl. another scope's id) is ATTACHMENT_NOT_FOUND. */
  async get(scope: string, id: string): Promise<StoredAttachment> {
    const dir = this.scopeDir(scope);
    if (!dir || !ID_RE.test(id)) throw new AppError('ATTACHMENT_NOT_FOUND');
    const file = path.join(dir, id);
    let meta: AttachmentMeta;
    try {
      meta = JSON.parse(await fsp.readFile(`${file}.json`, 'utf8')) as AttachmentMeta;
      await fsp.access(file);
    } catch {
      throw new AppError('ATTACHMENT_NOT_FOUND');
    }
    return {
      id,
      name: meta.name,
      size: meta.size,
      contentType: meta.contentType,
      storedAt: meta.storedAt,
      path: file,
    };
  }

  /** Deletes one attachment; an unknown one is ignored. */
  async remove(scope: string, id: string): Promise<void> {
    const dir = this.scopeDir(scope);
    if (!dir || !ID_RE.test(id)) return;
    const file = path.join(dir, id);
    await Promise.all([fsp.rm(file, { force: true }), fsp.rm(`${file}.json`, { force: true })]);
  }

  /** Deletes every attachment of a scope (its folder). */
  async removeRoom(scope: string): Promise<void> {
    const dir = this.scopeDir(scope);
    if (!dir) return;
    await fsp.rm(dir, { recursive: true, force: true });
  }

  /** Refuses new uploads, aborts those in flight (their partial files deleted) and waits for them. Idempotent. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const a of this.uploads) a.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** `<root>/<encoded scope>`, or undefined for a scope that cannot be one. */
  private scopeDir(scope: string): string | undefined {
    if (typeof scope !== 'string' || scope.length === 0 || scope.length > SCOPE_MAX) return undefined;
    // encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ): no separator, no NUL; a leading dot is encoded
    // too, so the result is never "." or ".." nor hidden.
    const name = encodeURIComponent(scope).replace(/^\./, '%2E');
    return path.join(this.root, name);
  }

  private track(p: Promise<unknown>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }

  private async write(dir: string, upload: AttachmentUpload, signal: AbortSignal): Promise<AttachmentMeta> {
    const limit = Math.min(this.maxBytes, upload.maxBytes ?? Infinity);
    await fsp.mkdir(dir, { recursive: true });
    // Never overwrite: a taken id (only ever with an injected newId) is skipped, and 'wx' fails on a racing one.
    let id = '';
    let fh: fsp.FileHandle | undefined;
    for (let tries = 0; !fh; tries++) {
      id = this.newId();
      if (!ID_RE.test(id)) throw new Error(`AttachmentStore: bad id from newId(): ${JSON.stringify(id)}`);
      if (tries >= 5) throw new Error('AttachmentStore: no free attachment id');
      if (await exists(path.join(dir, id))) continue;
      try {
        fh = await fsp.open(path.join(dir, `${id}.part`), 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const part = path.join(dir, `${id}.part`);
    const file = path.join(dir, id);
    let size = 0;
    const source = upload.body as Partial<Readable> & AsyncIterable<Buffer | string | Uint8Array>;
    // A Node stream's default iterator destroys the stream when the loop ends early; an HTTP request destroyed
    // that way takes its socket along and the client never hears the 413. Leave the source as it is instead.
    const chunks: AsyncIterable<Buffer | string | Uint8Array> =
      typeof source.iterator === 'function' ? source.iterator({ destroyOnReturn: false }) : source;
    // Shutting down: a source that stalls must not hold close() up.
    const onAbort = (): void => {
      source.destroy?.(new AppError('CONF_SHUTTING_DOWN', 'upload aborted: the server is shutting down'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        for await (const chunk of chunks) {
          if (signal.aborted)
            throw new AppError('CONF_SHUTTING_DOWN', 'upload aborted: the server is shutting down');
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          if (size + buf.length > limit)
            throw new AppError('ATTACHMENT_TOO_LARGE', `attachments are limited to ${limit} bytes`);
          size += buf.length;
          await fh.write(buf);
        }
        if (signal.aborted)
          throw new AppError('CONF_SHUTTING_DOWN', 'upload aborted: the server is shutting down');
      } finally {
        signal.removeEventListener('abort', onAbort);
        await fh.close();
      }
      const meta: AttachmentMeta = {
        id,
        name: sanitizeFileName(upload.name),
        size,
        contentType: safeContentType(upload.contentType),
        storedAt: new Date(this.now()).toISOString(),
      };
      await fsp.writeFile(`${file}.json`, JSON.stringify(meta));
      await fsp.rename(part, file);
      return meta;
    } catch (err) {
      await Promise.all([fsp.rm(part, { force: true }), fsp.rm(`${file}.json`, { force: true })]);
      throw err;
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}
