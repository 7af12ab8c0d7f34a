/**
 * SqliteStore on a real database file: migrations from zero, accounts/sessions/tokens/rooms/audit/CDRs surviving a
 * close and reopen (a restart), a database newer than the code refused, filtered and paged queries, pruning.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { configSchema } from '../../../src/config/schema';
import { openStore } from '../../../src/storage/open-store';
import { MIGRATIONS } from '../../../src/storage/sqlite/migrations';
import { SchemaTooNewError, SqliteStore } from '../../../src/storage/sqlite/sqlite-store';
import type { CdrRecord, NewAuditRecord } from '../../../src/storage/store';

/** The schema version this release writes, and the one a next release would add. */
const LATEST = MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0);
const NEXT = LATEST + 1;

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-sqlite-'));
  file = path.join(dir, 'nested', 'parley.db');
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function audit(at: string, o: Partial<NewAuditRecord> = {}): NewAuditRecord {
  return {
    at,
    actor: 'alice',
    action: 'mute',
    roomId: 'r1',
    target: null,
    source: '127.0.0.1',
    outcome: 'ok',
    detail: null,
    ...o,
  };
}

function cdr(id: string, startedAt: string, o: Partial<CdrRecord> = {}): CdrRecord {
  return {
    id,
    roomId: 'r1',
    kind: 'sip',
    direction: 'inbound',
    displayName: 'Alice',
    uri: 'sip:alice@example.com',
    callId: `call-${id}`,
    startedAt,
    answeredAt: startedAt,
    endedAt: startedAt.replace(/T(\d\d)/, (_m, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`),
    durationSeconds: 3600,
    codec: 'opus',
    transport: 'udp',
    leaveReason: 'bye',
    quality: { loss: 0.01, jitterMs: 4.5, rttMs: 20, mos: 4.2 },
    ...o,
  };
}

describe('SqliteStore', () => {
  it('creates the file and its directory, applies every migration from zero in WAL mode, records them', () => {
    const s = SqliteStore.open({ file });
    expect(s.schemaVersion).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
    s.close();
    s.close(); // idempotent
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    );
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as { name: string }[]
    ).map((r) => r.name);
    expect(indexes).toEqual(
      expect.arrayContaining([
        'audit_at',
        'audit_room_at',
        'audit_actor_at',
        'cdrs_started',
        'cdrs_room_started',
      ]),
    );
    db.close();
  });

  it('keeps accounts, sessions, tokens, rooms, the audit log and CDRs across a restart', () => {
    const a = SqliteStore.open({ file });
    a.accounts.create({
      id: 'u1',
      username: 'alice',
      role: 'admin',
      passwordHash: 'scrypt$x',
      disabled: false,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    a.sessions.create({
      idHash: 'h1',
      accountId: 'u1',
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2099-01-01T00:00:00.000Z',
      source: '::1',
      roomGrants: ['r1'],
    });
    a.tokens.create({
      id: 't1',
      accountId: 'u1',
      name: 'ci',
      tokenHash: 'th1',
      createdAt: '2026-01-01T00:00:00.000Z',
      lastUsedAt: null,
    });
    a.rooms.put({
      name: 'board',
      displayName: 'Board',
      pin: '1',
      moderatorPin: '2',
      maxParticipants: 5,
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'alice',
    });
    const e = a.audit.append(audit('2026-01-02T00:00:00.000Z', { detail: '{"x":1}' }));
    a.cdrs.put(cdr('p1', '2026-01-02T10:00:00.000Z'));
    a.close();

    const b = SqliteStore.open({ file });
    expect(b.accounts.byUsername('alice')).toEqual({
      id: 'u1',
      username: 'alice',
      role: 'admin',
      passwordHash: 'scrypt$x',
      disabled: false,
      createdAt: '2026-01-01T00:00:00.000Z',
      sip: null,
    });
    expect(b.sessions.get('h1')?.roomGrants).toEqual(['r1']);
    expect(b.tokens.byHash('th1')?.name).toBe('ci');
    expect(b.rooms.list()).toEqual([
      expect.objectContaining({ name: 'board', moderatorPin: '2', maxParticipants: 5 }),
    ]);
    expect(b.audit.query({ limit: 10, offset: 0 })).toEqual({ items: [e], total: 1 });
    expect(b.cdrs.get('p1')).toEqual(cdr('p1', '2026-01-02T10:00:00.000Z'));
    b.close();
  });

  it('refuses a database written by a newer release, naming both versions', () => {
    const future = [
      ...MIGRATIONS,
      { version: 99, name: 'from the future', sql: 'CREATE TABLE future (x INTEGER)' },
    ];
    SqliteStore.open({ file, migrations: future }).close();
    expect(() => SqliteStore.open({ file })).toThrow(SchemaTooNewError);
    expect(() => SqliteStore.open({ file })).toThrow(
      new RegExp(`schema version 99, newer than this Parley knows \\(${LATEST}\\)`),
    );
  });

  it('applies only the migrations newer than the database (an upgrade), each recorded', () => {
    SqliteStore.open({ file }).close();
    const next = [
      ...MIGRATIONS,
      { version: NEXT, name: 'add a column', sql: 'ALTER TABLE rooms ADD COLUMN note TEXT' },
    ];
    const s = SqliteStore.open({ file, migrations: next });
    expect(s.schemaVersion).toBe(NEXT);
    s.close();
    const db = new Database(file, { readonly: true });
    expect(
      (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
        (r) => r.version,
      ),
    ).toEqual(Array.from({ length: NEXT }, (_, i) => i + 1));
    db.close();
  });

  it('rolls a failing migration back whole (nothing of it stays)', () => {
    SqliteStore.open({ file }).close();
    const broken = [
      ...MIGRATIONS,
      { version: NEXT, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT nope FROM nowhere;' },
    ];
    expect(() => SqliteStore.open({ file, migrations: broken })).toThrow(/no such table: nowhere/);
    const s = SqliteStore.open({ file });
    expect(s.schemaVersion).toBe(LATEST);
    s.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").all()).toEqual([]);
    db.close();
  });

  it('queries the audit log by time, room, actor and action, newest first, with limit/offset and the total', () => {
    const s = SqliteStore.open({ file });
    for (let i = 0; i < 10; i++)
      s.audit.append(
        audit(`2026-03-${String(i).padStart(2, '0')}T00:00:00.000Z`, {
          roomId: i % 2 ? 'odd' : 'even',
          actor: i < 5 ? 'alice' : 'bob',
          action: i % 3 ? 'mute' : 'kick',
        }),
      );
    const all = s.audit.query({ limit: 3, offset: 0 });
    expect(all.total).toBe(10);
    expect(all.items.map((e) => e.at.slice(8, 10))).toEqual(['09', '08', '07']);
    expect(s.audit.query({ limit: 3, offset: 9 }).items.map((e) => e.at.slice(8, 10))).toEqual(['00']);
    const odd = s.audit.query({ roomId: 'odd', actor: 'bob', limit: 100, offset: 0 });
    expect(odd.items.map((e) => e.at.slice(8, 10))).toEqual(['09', '07', '05']);
    expect(s.audit.query({ action: 'kick', limit: 100, offset: 0 }).total).toBe(4);
    const range = s.audit.query({
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-04T00:00:00.000Z',
      limit: 100,
      offset: 0,
    });
    expect(range.items.map((e) => e.at.slice(8, 10))).toEqual(['04', '03', '02']);
    s.close();
  });

  it('queries CDRs by room, time and a case-insensitive substring of name or URI (LIKE wildcards literal); quality as columns', () => {
    const s = SqliteStore.open({ file });
    s.cdrs.put(cdr('a', '2026-04-01T10:00:00.000Z', { displayName: 'Alice Smith' }));
    s.cdrs.put(
      cdr('b', '2026-04-02T10:00:00.000Z', { displayName: 'Bob', uri: 'sip:bob@Example.com', roomId: 'r2' }),
    );
    s.cdrs.put(
      cdr('c', '2026-04-03T10:00:00.000Z', {
        displayName: '100% Carol',
        quality: { loss: null, jitterMs: null, rttMs: null, mos: null },
      }),
    );
    expect(s.cdrs.query({ q: 'SMITH', limit: 10, offset: 0 }).items.map((c) => c.id)).toEqual(['a']);
    expect(s.cdrs.query({ q: 'example.COM', limit: 10, offset: 0 }).total).toBe(3);
    expect(s.cdrs.query({ q: '%', limit: 10, offset: 0 }).items.map((c) => c.id)).toEqual(['c']);
    expect(s.cdrs.query({ roomId: 'r2', limit: 10, offset: 0 }).items.map((c) => c.id)).toEqual(['b']);
    expect(s.cdrs.query({ from: '2026-04-02T00:00:00.000Z', limit: 1, offset: 0 })).toMatchObject({
      total: 2,
      items: [{ id: 'c' }],
    });
    expect(s.cdrs.get('c')?.quality).toEqual({ loss: null, jitterMs: null, rttMs: null, mos: null });
    // put replaces the record of the same id
    s.cdrs.put(cdr('a', '2026-04-01T10:00:00.000Z', { leaveReason: 'kicked' }));
    expect(s.cdrs.get('a')?.leaveReason).toBe('kicked');
    expect(s.cdrs.query({ limit: 10, offset: 0 }).total).toBe(3);
    s.close();
  });

  it('prunes audit entries and CDRs older than a date, and expired sessions', () => {
    const s = SqliteStore.open({ file });
    s.audit.append(audit('2025-01-01T00:00:00.000Z'));
    s.audit.append(audit('2026-06-01T00:00:00.000Z'));
    s.cdrs.put(cdr('old', '2025-01-01T10:00:00.000Z'));
    s.cdrs.put(cdr('new', '2026-06-01T10:00:00.000Z'));
    s.sessions.create({
      idHash: 'gone',
      accountId: '',
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: '2025-01-02T00:00:00.000Z',
      source: null,
      roomGrants: ['r'],
    });
    s.sessions.create({
      idHash: 'live',
      accountId: '',
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2099-01-02T00:00:00.000Z',
      source: null,
      roomGrants: ['r'],
    });
    expect(s.audit.prune('2026-01-01T00:00:00.000Z')).toBe(1);
    expect(s.cdrs.prune('2026-01-01T00:00:00.000Z')).toBe(1);
    expect(s.sessions.deleteExpired('2026-01-01T00:00:00.000Z')).toBe(1);
    expect(s.audit.query({ limit: 10, offset: 0 }).items.map((e) => e.at)).toEqual([
      '2026-06-01T00:00:00.000Z',
    ]);
    expect(s.cdrs.get('old')).toBeUndefined();
    expect(s.sessions.get('live')).toBeDefined();
    s.close();
  });

  it('accounts: update, unique usernames, delete takes the tokens with it; sessions per account', () => {
    const s = SqliteStore.open({ file: ':memory:' });
    s.accounts.create({
      id: 'u1',
      username: 'bob',
      role: 'moderator',
      passwordHash: 'h',
      disabled: false,
      createdAt: 'x',
    });
    expect(() =>
      s.accounts.create({
        id: 'u2',
        username: 'bob',
        role: 'admin',
        passwordHash: 'h',
        disabled: false,
        createdAt: 'x',
      }),
    ).toThrow(/UNIQUE/);
    s.accounts.update('u1', { role: 'admin', disabled: true });
    expect(s.accounts.byId('u1')).toMatchObject({ role: 'admin', disabled: true, passwordHash: 'h' });
    s.tokens.create({
      id: 't1',
      accountId: 'u1',
      name: 'n',
      tokenHash: 'th',
      createdAt: 'x',
      lastUsedAt: null,
    });
    s.tokens.touch('t1', '2026-01-01T00:00:00.000Z');
    expect(s.tokens.listForAccount('u1')[0]!.lastUsedAt).toBe('2026-01-01T00:00:00.000Z');
    s.sessions.create({
      idHash: 's1',
      accountId: 'u1',
      createdAt: 'x',
      expiresAt: '2099',
      source: null,
      roomGrants: [],
    });
    s.sessions.setRoomGrants('s1', ['a', 'b']);
    expect(s.sessions.get('s1')!.roomGrants).toEqual(['a', 'b']);
    s.sessions.deleteForAccount('u1');
    expect(s.sessions.get('s1')).toBeUndefined();
    s.accounts.delete('u1');
    expect(s.tokens.byHash('th')).toBeUndefined();
    expect(s.accounts.count()).toBe(0);
    s.close();
  });

  it('openStore: sqlite under the data directory for a relative file, as given for an absolute one', () => {
    const rel = openStore(configSchema.parse({ storage: { file: 'db/p.db' } }), dir);
    rel.close();
    expect(fs.existsSync(path.join(dir, 'db', 'p.db'))).toBe(true);
    const abs = path.join(dir, 'abs.db');
    openStore(configSchema.parse({ storage: { file: abs } }), '/nonexistent').close();
    expect(fs.existsSync(abs)).toBe(true);
  });

  it('keeps SIP digest HA1s and registrar bindings across a restart; sweeps expired bindings', () => {
    const a = SqliteStore.open({ file });
    a.accounts.create({
      id: 'u2',
      username: 'bob',
      role: 'moderator',
      passwordHash: 'scrypt$y',
      disabled: false,
      createdAt: '2026-01-01T00:00:00.000Z',
      sip: { realm: 'parley', md5: 'm'.repeat(32), sha256: 's'.repeat(64) },
    });
    const binding = (contact: string, expiresAt: string) => ({
      username: 'bob',
      contact,
      q: 0.5,
      callId: 'c1',
      cseq: 7,
      expiresAt,
      registeredAt: '2026-01-01T00:00:00.000Z',
      source: 'UDP 127.0.0.1:5070',
      userAgent: 'linphone',
    });
    a.registrations.replaceUser('bob', [
      binding('sip:bob@127.0.0.1:5070', '2026-01-01T01:00:00.000Z'),
      binding('sip:bob@127.0.0.1:5072', '2026-01-01T00:10:00.000Z'),
    ]);
    a.close();

    const b = SqliteStore.open({ file });
    expect(b.accounts.byUsername('bob')?.sip).toEqual({
      realm: 'parley',
      md5: 'm'.repeat(32),
      sha256: 's'.repeat(64),
    });
    expect(b.registrations.forUser('bob')).toEqual([
      binding('sip:bob@127.0.0.1:5070', '2026-01-01T01:00:00.000Z'),
      binding('sip:bob@127.0.0.1:5072', '2026-01-01T00:10:00.000Z'),
    ]);
    expect(b.registrations.deleteExpired('2026-01-01T00:10:00.000Z')).toBe(1);
    expect(b.registrations.list().map((r) => r.contact)).toEqual(['sip:bob@127.0.0.1:5070']);
    // a password change without SIP credentials clears them (null), an update without the key keeps them
    b.accounts.update('u2', { role: 'admin' });
    expect(b.accounts.byId('u2')?.sip?.realm).toBe('parley');
    b.accounts.update('u2', { sip: null });
    expect(b.accounts.byId('u2')?.sip).toBeNull();
    b.registrations.replaceUser('bob', []);
    expect(b.registrations.forUser('bob')).toEqual([]);
    b.close();
  });
});
