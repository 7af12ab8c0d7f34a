import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type {
  AccountRecord,
  AccountRepository,
  ApiTokenRecord,
  ApiTokenRepository,
  AuditQuery,
  AuditRecord,
  AuditRepository,
  CdrQuery,
  CdrRecord,
  CdrRepository,
  NewAuditRecord,
  Page,
  RegistrationRecord,
  RegistrationRepository,
  RoomRecord,
  RoomRepository,
  SessionRecord,
  SessionRepository,
  Store,
} from '../store';
import { MIGRATIONS, type Migration } from './migrations';

type Db = Database.Database;
type Row = Record<string, unknown>;

/** Thrown by `SqliteStore.open` when the database was written by a newer Parley (its schema is unknown to us). */
export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly dbVersion: number,
    readonly codeVersion: number,
  ) {
    super(
      `database ${file} is at schema version ${dbVersion}, newer than this Parley knows (${codeVersion}): ` +
        'run the newer release, or restore a backup',
    );
    this.name = 'SchemaTooNewError';
  }
}

export interface SqliteStoreOptions {
  /** The database file (its directory is created), or `':memory:'` (tests). */
  file: string;
  /** The migrations to apply (default: the repository's); tests pass their own to simulate other releases. */
  migrations?: readonly Migration[];
}

/**
 * The embedded default `Store`: one SQLite file (WAL mode, so readers never wait on the writer), synchronous
 * better-sqlite3 calls (microseconds for these row counts, and no interleaving to reason about). The schema is
 * versioned by `MIGRATIONS`; a database newer than the code is refused rather than half-understood.
 */
export class SqliteStore implements Store {
  readonly accounts: AccountRepository;
  readonly sessions: SessionRepository;
  readonly tokens: ApiTokenRepository;
  readonly rooms: RoomRepository;
  readonly audit: AuditRepository;
  readonly cdrs: CdrRepository;
  readonly registrations: RegistrationRepository;
  private closed = false;

  private constructor(
    private readonly db: Db,
    readonly schemaVersion: number,
  ) {
    this.accounts = new SqliteAccounts(db);
    this.sessions = new SqliteSessions(db);
    this.tokens = new SqliteTokens(db);
    this.rooms = new SqliteRooms(db);
    this.audit = new SqliteAudit(db);
    this.cdrs = new SqliteCdrs(db);
    this.registrations = new SqliteRegistrations(db);
  }

  /** Opens (creating when absent) and migrates the database. Throws SchemaTooNewError. */
  static open(opts: SqliteStoreOptions): SqliteStore {
    const memory = opts.file === ':memory:';
    if (!memory) fs.mkdirSync(path.dirname(path.resolve(opts.file)), { recursive: true });
    const db = new Database(opts.file);
    try {
      if (!memory) db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      const version = migrate(db, opts.file, opts.migrations ?? MIGRATIONS);
      return new SqliteStore(db, version);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/** Applies the migrations newer than the database, each in a transaction; returns the resulting version. */
function migrate(db: Db, file: string, migrations: readonly Migration[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const current =
    (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > latest) throw new SchemaTooNewError(file, current, latest);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
  return Math.max(current, latest);
}

/**
 * WHERE clause and its parameters from optional filters: each `[clause, value]` is used when the value is defined,
 * its value bound once per `?` in the clause.
 */
function where(conds: Array<[string, unknown]>): { sql: string; params: unknown[] } {
  const used = conds.filter(([, v]) => v !== undefined);
  return {
    sql: used.length ? `WHERE ${used.map(([c]) => c).join(' AND ')}` : '',
    params: used.flatMap(([c, v]) => Array.from({ length: c.split('?').length - 1 }, () => v)),
  };
}

function str(v: unknown): string {
  return v as string;
}

function nstr(v: unknown): string | null {
  return v === null || v === undefined ? null : (v as string);
}

function nnum(v: unknown): number | null {
  return v === null || v === undefined ? null : (v as number);
}

// ------------------------------------------------------------------ accounts

function toAccount(r: Row): AccountRecord {
  return {
    id: str(r.id),
    username: str(r.username),
    role: r.role as AccountRecord['role'],
    passwordHash: str(r.password_hash),
    disabled: r.disabled === 1,
    createdAt: str(r.created_at),
    sip:
      typeof r.sip_realm === 'string' &&
      typeof r.sip_ha1_md5 === 'string' &&
      typeof r.sip_ha1_sha256 === 'string'
        ? { realm: r.sip_realm, md5: r.sip_ha1_md5, sha256: r.sip_ha1_sha256 }
        : null,
  };
}

class SqliteAccounts implements AccountRepository {
  constructor(private readonly db: Db) {}

  create(a: AccountRecord): void {
    this.db
      .prepare(
        `INSERT INTO accounts (id, username, role, password_hash, disabled, created_at,
           sip_realm, sip_ha1_md5, sip_ha1_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.username,
        a.role,
        a.passwordHash,
        a.disabled ? 1 : 0,
        a.createdAt,
        a.sip?.realm ?? null,
        a.sip?.md5 ?? null,
        a.sip?.sha256 ?? null,
      );
  }

  byId(id: string): AccountRecord | undefined {
    const r = this.db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined;
    return r && toAccount(r);
  }

  byUsername(username: string): AccountRecord | undefined {
    const r = this.db.prepare('SELECT * FROM accounts WHERE username = ?').get(username) as Row | undefined;
    return r && toAccount(r);
  }

  list(): AccountRecord[] {
    return (this.db.prepare('SELECT * FROM accounts ORDER BY username').all() as Row[]).map(toAccount);
  }

  update(
    id: string,
    patch: Partial<Pick<AccountRecord, 'role' | 'passwordHash' | 'disabled' | 'sip'>>,
  ): void {
    const sets: string[] = [];
    const params: unknown[] = [];
    const sip = patch.sip;
    const columns: Array<[string, unknown]> = [
      ['role', patch.role],
      ['password_hash', patch.passwordHash],
      ['disabled', patch.disabled === undefined ? undefined : patch.disabled ? 1 : 0],
      // null clears the SIP credentials (SQL NULL); undefined leaves them
      ['sip_realm', sip === undefined ? undefined : (sip?.realm ?? null)],
      ['sip_ha1_md5', sip === undefined ? undefined : (sip?.md5 ?? null)],
      ['sip_ha1_sha256', sip === undefined ? undefined : (sip?.sha256 ?? null)],
    ];
    for (const [column, value] of columns)
      if (value !== undefined) {
        sets.push(`${column} = ?`);
        params.push(value);
      }
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE accounts SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM accounts WHERE id = ?').run(id);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM accounts').get() as { n: number }).n;
  }
}

// ------------------------------------------------------------------ sessions

function toSession(r: Row): SessionRecord {
  return {
    idHash: str(r.id_hash),
    accountId: str(r.account_id),
    createdAt: str(r.created_at),
    expiresAt: str(r.expires_at),
    source: nstr(r.source),
    roomGrants: JSON.parse(str(r.room_grants)) as string[],
  };
}

class SqliteSessions implements SessionRepository {
  constructor(private readonly db: Db) {}

  create(s: SessionRecord): void {
    this.db
      .prepare(
        'INSERT INTO sessions (id_hash, account_id, created_at, expires_at, source, room_grants) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(s.idHash, s.accountId, s.createdAt, s.expiresAt, s.source, JSON.stringify(s.roomGrants));
  }

  get(idHash: string): SessionRecord | undefined {
    const r = this.db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as Row | undefined;
    return r && toSession(r);
  }

  setRoomGrants(idHash: string, rooms: string[]): void {
    this.db
      .prepare('UPDATE sessions SET room_grants = ? WHERE id_hash = ?')
      .run(JSON.stringify(rooms), idHash);
  }

  delete(idHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  deleteForAccount(accountId: string): void {
    this.db.prepare('DELETE FROM sessions WHERE account_id = ?').run(accountId);
  }

  deleteExpired(now: string): number {
    return this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes;
  }
}

// ------------------------------------------------------------------ API tokens

function toToken(r: Row): ApiTokenRecord {
  return {
    id: str(r.id),
    accountId: str(r.account_id),
    name: str(r.name),
    tokenHash: str(r.token_hash),
    createdAt: str(r.created_at),
    lastUsedAt: nstr(r.last_used_at),
  };
}

class SqliteTokens implements ApiTokenRepository {
  constructor(private readonly db: Db) {}

  create(t: ApiTokenRecord): void {
    this.db
      .prepare(
        'INSERT INTO api_tokens (id, account_id, name, token_hash, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(t.id, t.accountId, t.name, t.tokenHash, t.createdAt, t.lastUsedAt);
  }

  byHash(tokenHash: string): ApiTokenRecord | undefined {
    const r = this.db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as
      Row | undefined;
    return r && toToken(r);
  }

  listForAccount(accountId: string): ApiTokenRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM api_tokens WHERE account_id = ? ORDER BY created_at, id')
        .all(accountId) as Row[]
    ).map(toToken);
  }

  touch(id: string, at: string): void {
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM api_tokens WHERE id = ?').run(id);
  }
}

// ------------------------------------------------------------------ rooms

function toRoom(r: Row): RoomRecord {
  return {
    name: str(r.name),
    displayName: nstr(r.display_name),
    pin: nstr(r.pin),
    moderatorPin: nstr(r.moderator_pin),
    maxParticipants: nnum(r.max_participants),
    createdAt: str(r.created_at),
    createdBy: str(r.created_by),
    webinar: nstr(r.webinar),
  };
}

class SqliteRooms implements RoomRepository {
  constructor(private readonly db: Db) {}

  put(r: RoomRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO rooms
           (name, display_name, pin, moderator_pin, max_participants, created_at, created_by, webinar)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.name,
        r.displayName,
        r.pin,
        r.moderatorPin,
        r.maxParticipants,
        r.createdAt,
        r.createdBy,
        r.webinar ?? null,
      );
  }

  get(name: string): RoomRecord | undefined {
    const r = this.db.prepare('SELECT * FROM rooms WHERE name = ?').get(name) as Row | undefined;
    return r && toRoom(r);
  }

  list(): RoomRecord[] {
    return (this.db.prepare('SELECT * FROM rooms ORDER BY name').all() as Row[]).map(toRoom);
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM rooms WHERE name = ?').run(name);
  }
}

// ------------------------------------------------------------------ audit

function toAudit(r: Row): AuditRecord {
  return {
    id: r.id as number,
    at: str(r.at),
    actor: str(r.actor),
    action: str(r.action),
    roomId: nstr(r.room_id),
    target: nstr(r.target),
    source: nstr(r.source),
    outcome: r.outcome as AuditRecord['outcome'],
    detail: nstr(r.detail),
  };
}

class SqliteAudit implements AuditRepository {
  constructor(private readonly db: Db) {}

  append(e: NewAuditRecord): AuditRecord {
    const info = this.db
      .prepare(
        'INSERT INTO audit (at, actor, action, room_id, target, source, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(e.at, e.actor, e.action, e.roomId, e.target, e.source, e.outcome, e.detail);
    return { id: Number(info.lastInsertRowid), ...e };
  }

  /** Newest first. */
  query(q: AuditQuery): Page<AuditRecord> {
    const w = where([
      ['at >= ?', q.from],
      ['at <= ?', q.to],
      ['room_id = ?', q.roomId],
      ['actor = ?', q.actor],
      ['action = ?', q.action],
    ]);
    const total = (
      this.db.prepare(`SELECT COUNT(*) AS n FROM audit ${w.sql}`).get(...w.params) as { n: number }
    ).n;
    const items = (
      this.db
        .prepare(`SELECT * FROM audit ${w.sql} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`)
        .all(...w.params, q.limit, q.offset) as Row[]
    ).map(toAudit);
    return { items, total };
  }

  prune(before: string): number {
    return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
  }
}

// ------------------------------------------------------------------ CDRs

function toCdr(r: Row): CdrRecord {
  return {
    id: str(r.id),
    roomId: str(r.room_id),
    kind: r.kind as CdrRecord['kind'],
    direction: r.direction as CdrRecord['direction'],
    displayName: str(r.display_name),
    uri: str(r.uri),
    callId: nstr(r.call_id),
    startedAt: str(r.started_at),
    answeredAt: nstr(r.answered_at),
    endedAt: str(r.ended_at),
    durationSeconds: r.duration_seconds as number,
    codec: nstr(r.codec),
    transport: str(r.transport),
    leaveReason: str(r.leave_reason),
    quality: {
      loss: nnum(r.quality_loss),
      jitterMs: nnum(r.quality_jitter_ms),
      rttMs: nnum(r.quality_rtt_ms),
      mos: nnum(r.quality_mos),
    },
  };
}

/** `LIKE` pattern of a literal substring (`%`, `_` and the escape itself escaped with `\`). */
function likeSubstring(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

class SqliteCdrs implements CdrRepository {
  constructor(private readonly db: Db) {}

  put(c: CdrRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO cdrs (id, room_id, kind, direction, display_name, uri, call_id, started_at,
           answered_at, ended_at, duration_seconds, codec, transport, leave_reason,
           quality_loss, quality_jitter_ms, quality_rtt_ms, quality_mos)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
  }

  get(id: string): CdrRecord | undefined {
    const r = this.db.prepare('SELECT * FROM cdrs WHERE id = ?').get(id) as Row | undefined;
    return r && toCdr(r);
  }

  /** Newest first; the time range applies to the call's start. */
  query(q: CdrQuery): Page<CdrRecord> {
    const like = q.q !== undefined && q.q !== '' ? likeSubstring(q.q) : undefined;
    const w = where([
      ['started_at >= ?', q.from],
      ['started_at <= ?', q.to],
      ['room_id = ?', q.roomId],
      // LIKE is case-insensitive for ASCII in SQLite.
      ["(display_name LIKE ? ESCAPE '\\' OR uri LIKE ? ESCAPE '\\')", like],
    ]);
    const { sql, params } = w;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM cdrs ${sql}`).get(...params) as { n: number })
      .n;
    const items = (
      this.db
        .prepare(`SELECT * FROM cdrs ${sql} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`)
        .all(...params, q.limit, q.offset) as Row[]
    ).map(toCdr);
    return { items, total };
  }

  prune(before: string): number {
    return this.db.prepare('DELETE FROM cdrs WHERE ended_at < ?').run(before).changes;
  }
}

// ------------------------------------------------------------------ registrations

function toRegistration(r: Row): RegistrationRecord {
  return {
    username: str(r.username),
    contact: str(r.contact),
    q: nnum(r.q),
    callId: str(r.call_id),
    cseq: r.cseq as number,
    expiresAt: str(r.expires_at),
    registeredAt: str(r.registered_at),
    source: str(r.source),
    userAgent: nstr(r.user_agent),
  };
}

class SqliteRegistrations implements RegistrationRepository {
  constructor(private readonly db: Db) {}

  forUser(username: string): RegistrationRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM registrations WHERE username = ? ORDER BY contact')
        .all(username) as Row[]
    ).map(toRegistration);
  }

  list(): RegistrationRecord[] {
    return (this.db.prepare('SELECT * FROM registrations ORDER BY username, contact').all() as Row[]).map(
      toRegistration,
    );
  }

  replaceUser(username: string, records: readonly RegistrationRecord[]): void {
    const del = this.db.prepare('DELETE FROM registrations WHERE username = ?');
    const ins = this.db.prepare(
      `INSERT INTO registrations (username, contact, q, call_id, cseq, expires_at, registered_at, source, user_agent)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      del.run(username);
      for (const r of records)
        ins.run(
          username,
          r.contact,
          r.q,
          r.callId,
          r.cseq,
          r.expiresAt,
          r.registeredAt,
          r.source,
          r.userAgent,
        );
    })();
  }

  delete(username: string, contact: string): void {
    this.db.prepare('DELETE FROM registrations WHERE username = ? AND contact = ?').run(username, contact);
  }

  deleteExpired(now: string): number {
    return this.db.prepare('DELETE FROM registrations WHERE expires_at <= ?').run(now).changes;
  }
}
