/**
 * The records REST routes over a real SQLite file and a real HttpServer: filters, paging, PIN sessions limited to
 * their rooms (one or several), CSV exports (header, quoting, formula injection), audit, bad query strings. The
 * principal is set by a test middleware (sign-in is another part's); ladders come from a CallLadders fed by a
 * trace source the test drives.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from 'express';
import { HttpServer } from '../../../src/http/http-server';
import { recordsRouter } from '../../../src/http/routes/records';
import { silentLogger } from '../../../src/logging/logger';
import { ModerationService } from '../../../src/moderation/moderation-service';
import type { AuditEntryView, CdrView, Page, Principal } from '../../../src/protocol/dashboard-protocol';
import { SqliteStore } from '../../../src/storage/sqlite/sqlite-store';
import type { CdrRecord } from '../../../src/storage/store';
import { makeConference } from '../../unit/conference/fakes';

const ADMIN: Principal = { kind: 'account', name: 'admin', role: 'admin', roomGrants: [] };
const PIN_AB: Principal = { kind: 'pin', name: 'pin:a', role: 'moderator', roomGrants: ['a', 'b'] };
const PIN_C: Principal = { kind: 'pin', name: 'pin:c', role: 'moderator', roomGrants: ['c'] };

function cdr(id: string, roomId: string, minute: number, displayName = id): CdrRecord {
  const t = (s: number) => new Date(Date.UTC(2026, 10, 1, 10, minute, s)).toISOString();
  return {
    id,
    roomId,
    kind: 'sip',
    direction: 'inbound',
    displayName,
    uri: `sip:${id}@example.com`,
    callId: `call-${id}`,
    startedAt: t(0),
    answeredAt: t(1),
    endedAt: t(31),
    durationSeconds: 30,
    codec: 'PCMU',
    transport: 'UDP',
    leaveReason: 'remote-bye',
    quality: { loss: 0.01, jitterMs: 3.5, rttMs: null, mos: 4.2 },
  };
}

describe('records REST routes', () => {
  let dir: string;
  let store: SqliteStore;
  let http: HttpServer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-records-http-'));
    store = SqliteStore.open({ file: path.join(dir, 'parley.db') });
    store.cdrs.put(cdr('a1', 'a', 1));
    store.cdrs.put(cdr('b1', 'b', 2));
    store.cdrs.put(cdr('a2', 'a', 3));
    store.cdrs.put(cdr('c1', 'c', 4, '=HYPERLINK("http://evil","x"), "Bob"'));
    store.audit.append({
      at: '2026-11-01T10:00:00.000Z',
      actor: 'admin',
      action: 'mute',
      roomId: 'a',
      target: 'a1',
      source: '127.0.0.1',
      outcome: 'ok',
      detail: null,
    });
    store.audit.append({
      at: '2026-11-01T10:05:00.000Z',
      actor: 'admin',
      action: 'lock',
      roomId: 'c',
      target: null,
      source: '127.0.0.1',
      outcome: 'ok',
      detail: '+cmd',
    });
    const log = silentLogger();
    const { conference } = makeConference();
    const moderation = new ModerationService({ conference, audit: store.audit, rooms: store.rooms, log });
    const principal = Router().use((req, res, next) => {
      const h = req.header('x-test-principal');
      if (h) res.locals.principal = JSON.parse(h) as Principal;
      next();
    });
    const ladders = { ladderOf: () => undefined, roomsOf: () => [] };
    http = await HttpServer.create({
      ip: '127.0.0.1',
      port: 0,
      version: 'test',
      logger: log,
      health: { health: () => ({ ok: true, workers: [] }) },
      api: [principal, recordsRouter({ store, moderation, ladders })],
    });
  });

  afterAll(async () => {
    await http?.close();
    store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, who: Principal | null = ADMIN): Promise<Response> =>
    fetch(`http://127.0.0.1:${http.port}${url}`, {
      headers: who ? { 'x-test-principal': JSON.stringify(who) } : {},
    });
  const json = async <T>(url: string, who: Principal = ADMIN): Promise<T> => {
    const res = await get(url, who);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it('lists every CDR newest first for an account, with filters and paging', async () => {
    const all = await json<Page<CdrView>>('/api/cdrs');
    expect(all.total).toBe(4);
    expect(all.items.map((c) => c.id)).toEqual(['c1', 'a2', 'b1', 'a1']);
    expect(all.items[3]).toEqual(cdr('a1', 'a', 1));
    const a = await json<Page<CdrView>>('/api/cdrs?roomId=a&limit=1&offset=1');
    expect(a).toEqual({ items: [cdr('a1', 'a', 1)], total: 2 });
    const q = await json<Page<CdrView>>('/api/cdrs?q=B1');
    expect(q.items.map((c) => c.id)).toEqual(['b1']);
    const from = await json<Page<CdrView>>(`/api/cdrs?from=${encodeURIComponent('2026-11-01T10:02:30Z')}`);
    expect(from.items.map((c) => c.id)).toEqual(['c1', 'a2']);
  });

  it('limits a PIN session to its rooms: merged across several, 403 for another', async () => {
    const ab = await json<Page<CdrView>>('/api/cdrs', PIN_AB);
    expect(ab.items.map((c) => c.id)).toEqual(['a2', 'b1', 'a1']);
    expect(ab.total).toBe(3);
    const page2 = await json<Page<CdrView>>('/api/cdrs?limit=2&offset=1', PIN_AB);
    expect(page2).toMatchObject({ total: 3 });
    expect(page2.items.map((c) => c.id)).toEqual(['b1', 'a1']);
    const forbidden = await get('/api/cdrs?roomId=c', PIN_AB);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: 'AUTH_FORBIDDEN' });
    expect((await get('/api/cdrs.csv?roomId=a', PIN_C)).status).toBe(403);
    expect((await get('/api/audit?roomId=a', PIN_C)).status).toBe(403);
    const audit = await json<Page<AuditEntryView>>('/api/audit', PIN_C);
    expect(audit.items.map((e) => e.action)).toEqual(['lock']);
  });

  it('exports CSV with a header, quoting and no formula a spreadsheet would run', async () => {
    const res = await get('/api/cdrs.csv?roomId=c');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="parley-cdrs-[^"]+\.csv"$/);
    const text = await res.text();
    const [header, row, end] = text.split('\r\n');
    expect(header).toBe(
      'id,roomId,kind,direction,displayName,uri,callId,startedAt,answeredAt,endedAt,durationSeconds,codec,transport,' +
        'leaveReason,loss,jitterMs,rttMs,mos',
    );
    expect(row).toBe(
      'c1,c,sip,inbound,"\'=HYPERLINK(""http://evil"",""x""), ""Bob""",sip:c1@example.com,call-c1,' +
        '2026-11-01T10:04:00.000Z,2026-11-01T10:04:01.000Z,2026-11-01T10:04:31.000Z,30,PCMU,UDP,remote-bye,0.01,3.5,,4.2',
    );
    expect(end).toBe('');
    const audit = (await (await get('/api/audit.csv')).text()).split('\r\n');
    expect(audit[0]).toBe('id,at,actor,action,roomId,target,source,outcome,detail');
    expect(audit[1]).toMatch(/^\d+,2026-11-01T10:05:00.000Z,admin,lock,c,,127\.0\.0\.1,ok,'\+cmd$/);
    expect(audit).toHaveLength(4);
  });

  it('answers 400 API_BAD_REQUEST to bad query strings and 401 without a principal', async () => {
    for (const url of [
      '/api/cdrs?limit=0',
      '/api/cdrs?limit=abc',
      '/api/cdrs?limit=5000',
      '/api/cdrs?from=yesterday',
      '/api/cdrs?unknown=1',
      '/api/cdrs?roomId=a&roomId=b',
      '/api/audit?offset=-1',
      '/api/audit.csv?actor=' + 'x'.repeat(200),
    ]) {
      const res = await get(url);
      expect([url, res.status]).toEqual([url, 400]);
      expect(await res.json()).toMatchObject({ error: 'API_BAD_REQUEST' });
    }
    const anon = await get('/api/cdrs', null);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: 'AUTH_REQUIRED' });
  });

  it('answers LADDER_NOT_FOUND for a participant without a ladder', async () => {
    const res = await get('/api/rooms/a/participants/nobody/ladder');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'LADDER_NOT_FOUND' });
  });
});
