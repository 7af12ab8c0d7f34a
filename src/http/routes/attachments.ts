import { promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { chatAttachment } from '../../conference/chat/room-chat';
import { AppError } from '../../errors/app-error';
import type { ChatAttachment } from '../../protocol/rtc-protocol';
import type { AttachmentStore } from '../../storage/attachment-store';

/** Who a session token belongs to (the signaling server knows: tokens are the `sessionToken` of a join). */
export interface SessionDirectory {
  authenticate(token: string): { participantId: string; roomId: string; displayName: string } | undefined;
}

export interface AttachmentsRouterOptions {
  store: AttachmentStore;
  sessions: SessionDirectory;
  /** Upper bound of an upload (chat.attachmentMaxBytes). */
  maxBytes: number;
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>` (headers only: a token in a URL ends up in logs and history). */
function bearer(req: Request): string | undefined {
  const m = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)[ ]*$/i.exec(req.get('authorization') ?? '');
  return m?.[1];
}

/** The caller's session, which must be one of this room's participants: 401 without one, 403 for another room. */
function authorize(req: Request, res: Response, sessions: SessionDirectory, room: string): void {
  const token = bearer(req);
  const session = token === undefined ? undefined : sessions.authenticate(token);
  if (!session) {
    res.set('WWW-Authenticate', 'Bearer realm="parley"');
    throw new AppError('AUTH_REQUIRED', 'a session token is required (Authorization: Bearer <sessionToken>)');
  }
  if (session.roomId !== room) throw new AppError('AUTH_FORBIDDEN', "this session is not one of this room's");
}

/** The uploader's file name from `X-File-Name` (URI-encoded; the store sanitises it). */
function fileName(req: Request): string {
  const raw = req.get('x-file-name');
  if (raw === undefined) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AppError('API_BAD_REQUEST', 'X-File-Name must be URI-encoded (encodeURIComponent)');
  }
}

/** RFC 6266 / RFC 8187: an ASCII fallback plus the exact name as `filename*`. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/gu, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A refusal before the body is read: the connection closes after the answer instead of reading what is left. */
function refuseBody(res: Response, err: AppError): never {
  res.set('Connection', 'close');
  throw err;
}

/**
 * Chat attachments of a room, for that room's participants only (Bearer session token):
 * POST /api/rooms/:room/attachments        raw body (any type), `X-File-Name` (URI-encoded) → 201 ChatAttachment;
 *                                          413 ATTACHMENT_TOO_LARGE for a declared or streamed size above maxBytes
 * GET  /api/rooms/:room/attachments/:id    the file, always as an attachment (safe type, nosniff, sandbox CSP)
 * 401 AUTH_REQUIRED without a known token, 403 AUTH_FORBIDDEN for another room's token, 404 ATTACHMENT_NOT_FOUND.
 */
export function attachmentsRouter(opts: AttachmentsRouterOptions): Router {
  const { store, sessions, maxBytes } = opts;
  const r = Router();

  r.post('/rooms/:room/attachments', async (req, res) => {
    const room = req.params.room;
    authorize(req, res, sessions, room);
    const declared = req.get('content-length');
    if (declared !== undefined && Number(declared) > maxBytes)
      refuseBody(res, new AppError('ATTACHMENT_TOO_LARGE', `attachments are limited to ${maxBytes} bytes`));
    if (req.readableEnded || req.readableDidRead)
      throw new AppError(
        'API_BAD_REQUEST',
        'the body was already read (send it with a non-JSON Content-Type)',
      );
    let meta;
    try {
      meta = await store.put(room, {
        name: fileName(req),
        contentType: req.get('content-type'),
        body: req,
        maxBytes,
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'ATTACHMENT_TOO_LARGE') refuseBody(res, err);
      if (!(err instanceof AppError) && (req.destroyed || !req.complete))
        throw new AppError('API_BAD_REQUEST', 'the upload was interrupted');
      throw err;
    }
    const body: ChatAttachment = chatAttachment(room, meta);
    res.status(201).location(body.url).json(body);
  });

  r.get('/rooms/:room/attachments/:id', async (req, res) => {
    const room = req.params.room;
    authorize(req, res, sessions, room);
    const a = await store.get(room, req.params.id);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(a.path, 'r');
    } catch {
      throw new AppError('ATTACHMENT_NOT_FOUND'); // removed between get() and open()
    }
    // setHeader, not res.set: express would append a charset guessed from the type.
    const headers: Record<string, string> = {
      'Content-Type': a.contentType,
      'Content-Length': String(a.size),
      'Content-Disposition': contentDisposition(a.name),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "sandbox; default-src 'none'",
      'Cache-Control': 'private, no-store',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    res.status(200);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    // Once the headers are out an error can only cut the response (the client sees a short body).
    await pipeline(fh.createReadStream(), res).catch(() => res.destroy());
  });

  return r;
}
