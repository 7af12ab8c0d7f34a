/**
 * The SQLite schema, as an ordered list of migrations kept in the repository. `SqliteStore.open` applies the ones
 * newer than the database (each in its own transaction, recorded in `schema_migrations`), so a database created by
 * any earlier release is brought up to date at start. Never edit a migration that has shipped: add the next one.
 */
export interface Migration {
  /** Strictly increasing from 1. */
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, sessions, tokens, rooms, audit, cdrs',
    sql: `
      CREATE TABLE accounts (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'moderator')),
        password_hash TEXT NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0,
        created_at    TEXT NOT NULL
      );

      -- account_id is '' for a session that holds only moderator-PIN grants (no account).
      CREATE TABLE sessions (
        id_hash     TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        source      TEXT,
        room_grants TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX sessions_account ON sessions (account_id);
      CREATE INDEX sessions_expires ON sessions (expires_at);

      CREATE TABLE api_tokens (
        id           TEXT PRIMARY KEY,
        account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   TEXT NOT NULL,
        last_used_at TEXT
      );
      CREATE INDEX api_tokens_account ON api_tokens (account_id);

      CREATE TABLE rooms (
        name             TEXT PRIMARY KEY,
        display_name     TEXT,
        pin              TEXT,
        moderator_pin    TEXT,
        max_participants INTEGER,
        created_at       TEXT NOT NULL,
        created_by       TEXT NOT NULL
      );

      CREATE TABLE audit (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        room_id TEXT,
        target  TEXT,
        source  TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        detail  TEXT
      );
      CREATE INDEX audit_at ON audit (at);
      CREATE INDEX audit_room_at ON audit (room_id, at);
      CREATE INDEX audit_actor_at ON audit (actor, at);

      CREATE TABLE cdrs (
        id               TEXT PRIMARY KEY,
        room_id          TEXT NOT NULL,
        kind             TEXT NOT NULL,
        direction        TEXT NOT NULL,
        display_name     TEXT NOT NULL,
        uri              TEXT NOT NULL,
        call_id          TEXT,
        started_at       TEXT NOT NULL,
        answered_at      TEXT,
        ended_at         TEXT NOT NULL,
        duration_seconds REAL NOT NULL,
        codec            TEXT,
        transport        TEXT NOT NULL,
        leave_reason     TEXT NOT NULL,
        quality_loss     REAL,
        quality_jitter_ms REAL,
        quality_rtt_ms   REAL,
        quality_mos      REAL
      );
      CREATE INDEX cdrs_started ON cdrs (started_at);
      CREATE INDEX cdrs_ended ON cdrs (ended_at);
      CREATE INDEX cdrs_room_started ON cdrs (room_id, started_at);
    `,
  },
  {
    version: 2,
    name: 'SIP digest HA1 per account; registrar bindings',
    sql: `
      -- HA1 = H(username:realm:password) for SIP digest (RFC 7616 §3.4.2), written when a password is set or
      -- changed; accounts older than this migration have none until their password is reset.
      ALTER TABLE accounts ADD COLUMN sip_realm TEXT;
      ALTER TABLE accounts ADD COLUMN sip_ha1_md5 TEXT;
      ALTER TABLE accounts ADD COLUMN sip_ha1_sha256 TEXT;

      -- One row per contact bound to a user (RFC 3261 §10.3); expired rows are swept.
      CREATE TABLE registrations (
        username    TEXT NOT NULL,
        contact     TEXT NOT NULL,
        q           REAL,
        call_id     TEXT NOT NULL,
        cseq        INTEGER NOT NULL,
        expires_at  TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        source      TEXT NOT NULL,
        user_agent  TEXT,
        PRIMARY KEY (username, contact)
      );
      CREATE INDEX registrations_expires ON registrations (expires_at);
    `,
  },
  {
    version: 3,
    name: 'webinar policy of rooms created at run time',
    sql: `
      -- The webinar policy of a room created through the API or the dashboard (JSON of WebinarSchema,
      -- src/protocol/webinar-protocol.ts; its PINs in clear like the room's own), NULL for a plain room.
      ALTER TABLE rooms ADD COLUMN webinar TEXT;
    `,
  },
];
