import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import { AppError } from '../../errors/app-error';
import type { CallLadders } from '../../moderation/ladder/call-ladders';
import { toCsv, type CsvCell } from '../../moderation/cdr/csv';
import type { ModerationService } from '../../moderation/moderation-service';
import {
  AuditQuerySchema,
  CdrQuerySchema,
  type AuditEntryView,
  type CdrView,
  type Page,
  type Principal,
} from '../../protocol/dashboard-protocol';
import type { AuditRecord, CdrRecord, Store } from '../../storage/store';
import { principalOf } from '../principal';

export interface RecordsRouterOptions {
  store: Pick<Store, 'cdrs' | 'audit'>;
  moderation: Pick<ModerationService, 'canModerate'>;
  ladders: Pick<CallLadders, 'ladderOf' | 'roomsOf'>;
}

/** Rows of one CSV export at most (pages of EXPORT_PAGE read from the store). */
const EXPORT_MAX_ROWS = 100_000;
const EXPORT_PAGE = 1000;

const CDR_COLUMNS = [
  'id',
  'roomId',
  'kind',
  'direction',
  'displayName',
  'uri',
  'callId',
  'startedAt',
  'answeredAt',
  'endedAt',
  'durationSeconds',
  'codec',
  'transport',
  'leaveReason',
  'loss',
  'jitterMs',
  'rttMs',
  'mos',
] as const;

const AUDIT_COLUMNS = [
  'id',
  'at',
  'actor',
  'action',
  'roomId',
  'target',
  'source',
  'outcome',
  'detail',
] as const;

type CdrQueryIn = z.output<typeof CdrQuerySchema>;
type AuditQueryIn = z.output<typeof AuditQuerySchema>;

/**
 * The records: call detail records, the audit log and the SIP call ladders.
 * GET /api/cdrs?from&to&roomId&q&limit&offset     → {items: CdrView[], total}, newest first
 * GET /api/cdrs.csv?from&to&roomId&q[&limit&offset] → the same as RFC 4180 CSV (an attachment; every match when
 *                                                   no limit is given, up to 100000 rows)
 * GET /api/audit?from&to&roomId&actor&action&limit&offset → {items: AuditEntryView[], total}
 * GET /api/audit.csv?...                           → CSV, as for CDRs
 * GET /api/rooms/:id/participants/:pid/ladder      → CallLadder: the SIP messages of the participant's call
 *                                                   (live or recently ended; 404 LADDER_NOT_FOUND for browsers and
 *                                                   calls no longer kept)
 *
 * Every route needs a principal (401). Accounts and API tokens see every record; a moderator-PIN session sees
 * the records of its rooms only: a `roomId` filter or a ladder of another room is 403 AUTH_FORBIDDEN, and without
 * a filter it gets its rooms' records. Bad query strings are 400 API_BAD_REQUEST.
 */
export function recordsRouter(opts: RecordsRouterOptions): Router {
  const { store, moderation, ladders } = opts;
  const r = Router();

  r.get('/cdrs', (req, res) => {
    const q = parseQuery(CdrQuerySchema, req, 'from, to, roomId, q, limit, offset');
    const page = cdrPage(q, principalOf(res));
    const body: Page<CdrView> = { items: page.items.map(cdrView), total: page.total };
    res.json(body);
  });

  r.get('/cdrs.csv', (req, res) => {
    const q = parseQuery(CdrQuerySchema, req, 'from, to, roomId, q, limit, offset');
    const principal = principalOf(res);
    const rows = exportRows(req, q, (p) => cdrPage(p, principal)).map(cdrRow);
    sendCsv(res, 'cdrs', toCsv(CDR_COLUMNS, rows));
  });

  r.get('/audit', (req, res) => {
    const q = parseQuery(AuditQuerySchema, req, 'from, to, roomId, actor, action, limit, offset');
    const page = auditPage(q, principalOf(res));
    const body: Page<AuditEntryView> = { items: page.items.map(auditView), total: page.total };
    res.json(body);
  });

  r.get('/audit.csv', (req, res) => {
    const q = parseQuery(AuditQuerySchema, req, 'from, to, roomId, actor, action, limit, offset');
    const principal = principalOf(res);
    const rows = exportRows(req, q, (p) => auditPage(p, principal)).map(auditRow);
    sendCsv(res, 'audit', toCsv(AUDIT_COLUMNS, rows));
  });

  r.get('/rooms/:id/participants/:pid/ladder', (req, res) => {
    const principal = principalOf(res);
    const roomId = String(req.params.id);
    const pid = String(req.params.pid);
    if (!moderation.canModerate(principal, roomId))
      throw new AppError('AUTH_FORBIDDEN', `no rights on room ${roomId}`);
    const ladder = ladders.ladderOf(pid);
    // Only through a room the participant was in: rights on room A never reveal room B's calls.
    if (!ladder || !ladders.roomsOf(pid).includes(roomId))
      throw new AppError('LADDER_NOT_FOUND', `no SIP messages kept for participant ${pid} in room ${roomId}`);
    res.json(ladder);
  });

  /** The rooms whose records `principal` may read: undefined for every room. */
  const roomsFor = (principal: Principal, roomId: string | undefined): string[] | undefined => {
    if (roomId !== undefined) {
      if (!moderation.canModerate(principal, roomId))
        throw new AppError('AUTH_FORBIDDEN', `no rights on room ${roomId}`);
      return [roomId];
    }
    if (principal.kind !== 'pin') return undefined;
    return principal.roomGrants.filter((room) => moderation.canModerate(principal, room));
  };

  const cdrPage = (q: CdrQueryIn, principal: Principal): Page<CdrRecord> =>
    pageAcross(roomsFor(principal, q.roomId), q, (sub) => store.cdrs.query(sub), byNewest('startedAt'));

  const auditPage = (q: AuditQueryIn, principal: Principal): Page<AuditRecord> =>
    pageAcross(roomsFor(principal, q.roomId), q, (sub) => store.audit.query(sub), byNewest('at'));

  return r;
}

/**
 * A page of the records of several rooms (a PIN session holding more than one room): each room's first
 * `offset + limit` records, merged newest first, then the page cut out of them. One room, or every room: the
 * store's own page.
 */
function pageAcross<Q extends { roomId?: string; limit: number; offset: number }, T>(
  rooms: string[] | undefined,
  q: Q,
  query: (q: Q) => Page<T>,
  order: (a: T, b: T) => number,
): Page<T> {
  if (rooms === undefined) return query(q);
  if (rooms.length === 1) return query({ ...q, roomId: rooms[0] });
  const pages = rooms.map((roomId) => query({ ...q, roomId, offset: 0, limit: q.offset + q.limit }));
  const items = pages
    .flatMap((p) => p.items)
    .sort(order)
    .slice(q.offset, q.offset + q.limit);
  return { items, total: pages.reduce((n, p) => n + p.total, 0) };
}

function byNewest<K extends string>(key: K) {
  return (
    a: { [P in K]: string } & { id: string | number },
    b: { [P in K]: string } & { id: string | number },
  ) => (a[key] < b[key] ? 1 : a[key] > b[key] ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Every record matching the filters, in pages from the store (a CSV export): the `limit`/`offset` of the query
 * string when one was given, else all of them up to EXPORT_MAX_ROWS.
 */
function exportRows<Q extends { limit: number; offset: number }, T>(
  req: Request,
  q: Q,
  page: (q: Q) => Page<T>,
): T[] {
  if (req.query.limit !== undefined) return page(q).items;
  const out: T[] = [];
  for (let offset = q.offset; out.length < EXPORT_MAX_ROWS; offset += EXPORT_PAGE) {
    const p = page({ ...q, offset, limit: EXPORT_PAGE });
    out.push(...p.items.slice(0, EXPORT_MAX_ROWS - out.length));
    if (p.items.length < EXPORT_PAGE) break;
  }
  return out;
}

/** Parses the query string with a protocol schema: limit and offset coerced to numbers; 400 when bad. */
function parseQuery<T extends z.ZodTypeAny>(schema: T, req: Request, shape: string): z.output<T> {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.query)) {
    if (typeof v !== 'string')
      throw new AppError('API_BAD_REQUEST', `query parameter ${k} given more than once`);
    raw[k] = (k === 'limit' || k === 'offset') && /^\d{1,9}$/.test(v) ? Number(v) : v;
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new AppError('API_BAD_REQUEST', `query parameters: ${shape} (ISO 8601 times)`);
  return r.data as z.output<T>;
}

function sendCsv(res: Response, name: string, csv: string): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="parley-${name}-${stamp}.csv"`);
  res.setHeader('Cache-Control', 'no-store');
  res.send(csv);
}

function cdrView(c: CdrRecord): CdrView {
  return {
    id: c.id,
    roomId: c.roomId,
    kind: c.kind,
    direction: c.direction,
    displayName: c.displayName,
    uri: c.uri,
    callId: c.callId,
    startedAt: c.startedAt,
    answeredAt: c.answeredAt,
    endedAt: c.endedAt,
    durationSeconds: c.durationSeconds,
    codec: c.codec,
    transport: c.transport,
    leaveReason: c.leaveReason,
    quality: { ...c.quality },
  };
}

function cdrRow(c: CdrRecord): CsvCell[] {
  return [
    c.id,
    c.roomId,
    c.kind,
    c.direction,
    c.displayName,
    c.uri,
    c.callId,
    c.startedAt,
    c.answeredAt,
    c.endedAt,
    c.durationSeconds,
    c.codec,
    c.transport,
    c.leaveReason,
    c.quality.loss,
    c.quality.jitterMs,
    c.quality.rttMs,
    c.quality.mos,
  ];
}

function auditView(a: AuditRecord): AuditEntryView {
  return { ...a };
}

function auditRow(a: AuditRecord): CsvCell[] {
  return [a.id, a.at, a.actor, a.action, a.roomId, a.target, a.source, a.outcome, a.detail];
}
