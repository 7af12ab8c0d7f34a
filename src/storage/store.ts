/**
 * What Parley keeps on disk besides chat attachments: moderator accounts, sign-in sessions, API tokens, declared
 * rooms, the audit log and call detail records. One interface, so a PostgreSQL implementation (several nodes)
 * drops in beside the embedded SQLite default (`SqliteStore`). Storage knows nothing of SIP, media or rooms as
 * objects: it stores plain records.
 *
 * Secrets never reach the store in clear: passwords arrive as scrypt hashes, session ids and API tokens as their
 * SHA-256 (hex). Times are ISO 8601 strings (UTC).
 */

export type AccountRole = 'admin' | 'moderator';

export interface AccountRecord {
  id: string;
  username: string;
  role: AccountRole;
  /** `scrypt$N$r$p$<salt b64>$<hash b64>` */
  passwordHash: string;
  disabled: boolean;
  createdAt: string;
  /**
   * SIP digest HA1s (RFC 7616 §3.4.2) for `realm`, written whenever the password is set; null for accounts whose
   * password predates SIP credentials (they need a password reset to use SIP).
   */
  sip?: SipDigestHa1 | null;
}

/** H(username:realm:password) per digest algorithm: enough to verify a SIP digest, without the password. */
export interface SipDigestHa1 {
  realm: string;
  md5: string;
  sha256: string;
}

/** One contact bound to a user by REGISTER (RFC 3261 §10.3). */
export interface RegistrationRecord {
  username: string;
  /** The contact URI as bound (without the name-addr's display name and header params). */
  contact: string;
  /** The contact's q-value (0..1), null when absent. */
  q: number | null;
  /** Call-ID and CSeq of the REGISTER that last refreshed this binding (§10.3 step 7). */
  callId: string;
  cseq: number;
  expiresAt: string;
  registeredAt: string;
  /** Where the REGISTER came from: `UDP 192.0.2.1:5060`. */
  source: string;
  userAgent: string | null;
}

export interface SessionRecord {
  /** SHA-256 (hex) of the session secret the cookie carries. */
  idHash: string;
  accountId: string;
  createdAt: string;
  expiresAt: string;
  /** Where it signed in from. */
  source: string | null;
  /** Rooms granted by a moderator PIN entered in this session. */
  roomGrants: string[];
}

export interface ApiTokenRecord {
  id: string;
  accountId: string;
  name: string;
  /** SHA-256 (hex) of the token. */
  tokenHash: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface RoomRecord {
  name: string;
  displayName: string | null;
  pin: string | null;
  moderatorPin: string | null;
  maxParticipants: number | null;
  createdAt: string;
  createdBy: string;
  /** The room's webinar policy as JSON (WebinarSchema, validated again when the room is declared); null: plain. */
  webinar?: string | null;
}

export interface AuditRecord {
  id: number;
  at: string;
  /** Account username, `token:<name>`, or `pin:<room>` for a moderator PIN session. */
  actor: string;
  /** e.g. `mute`, `unmute`, `mute-all`, `kick`, `lock`, `unlock`, `dial`, `move`, `end-room`, `create-room`, `login`, `login-failed`, `logout`, `account-create`, `token-create`. */
  action: string;
  roomId: string | null;
  /** The participant (id and display name) or account the action was on. */
  target: string | null;
  /** The client's address. */
  source: string | null;
  outcome: 'ok' | 'error';
  /** JSON or a short text: arguments, the error code. */
  detail: string | null;
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

export interface QualitySummary {
  loss: number | null;
  jitterMs: number | null;
  rttMs: number | null;
  mos: number | null;
}

export interface CdrRecord {
  /** The participant id (unique per call or browser session). */
  id: string;
  roomId: string;
  kind: 'sip' | 'webrtc' | 'sip-ws';
  direction: 'inbound' | 'outbound';
  displayName: string;
  uri: string;
  callId: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string;
  durationSeconds: number;
  codec: string | null;
  transport: string;
  leaveReason: string;
  quality: QualitySummary;
}

export interface TimeRange {
  from?: string;
  to?: string;
}

export interface AuditQuery extends TimeRange {
  roomId?: string;
  actor?: string;
  action?: string;
  limit: number;
  offset: number;
}

export interface CdrQuery extends TimeRange {
  roomId?: string;
  /** Substring of display name or URI (case-insensitive). */
  q?: string;
  limit: number;
  offset: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface AccountRepository {
  create(a: AccountRecord): void;
  byId(id: string): AccountRecord | undefined;
  byUsername(username: string): AccountRecord | undefined;
  list(): AccountRecord[];
  update(id: string, patch: Partial<Pick<AccountRecord, 'role' | 'passwordHash' | 'disabled' | 'sip'>>): void;
  delete(id: string): void;
  count(): number;
}

export interface SessionRepository {
  create(s: SessionRecord): void;
  get(idHash: string): SessionRecord | undefined;
  setRoomGrants(idHash: string, rooms: string[]): void;
  delete(idHash: string): void;
  deleteForAccount(accountId: string): void;
  /** Removes expired sessions; returns how many. */
  deleteExpired(now: string): number;
}

export interface ApiTokenRepository {
  create(t: ApiTokenRecord): void;
  byHash(tokenHash: string): ApiTokenRecord | undefined;
  listForAccount(accountId: string): ApiTokenRecord[];
  touch(id: string, at: string): void;
  delete(id: string): void;
}

export interface RoomRepository {
  put(r: RoomRecord): void;
  get(name: string): RoomRecord | undefined;
  list(): RoomRecord[];
  delete(name: string): void;
}

export interface AuditRepository {
  append(e: NewAuditRecord): AuditRecord;
  query(q: AuditQuery): Page<AuditRecord>;
  /** Deletes entries older than `before`; returns how many. */
  prune(before: string): number;
}

export interface CdrRepository {
  /** Inserts, or replaces the record with the same id. */
  put(c: CdrRecord): void;
  get(id: string): CdrRecord | undefined;
  query(q: CdrQuery): Page<CdrRecord>;
  prune(before: string): number;
}

export interface RegistrationRepository {
  /** The bindings of one user (expired ones included until swept). */
  forUser(username: string): RegistrationRecord[];
  /** Every binding, ordered by username. */
  list(): RegistrationRecord[];
  /** Replaces all bindings of `username` with `records` in one transaction. */
  replaceUser(username: string, records: readonly RegistrationRecord[]): void;
  /** Deletes one binding. */
  delete(username: string, contact: string): void;
  /** Removes bindings that expired at or before `now`; returns how many. */
  deleteExpired(now: string): number;
}

export interface Store {
  readonly accounts: AccountRepository;
  readonly sessions: SessionRepository;
  readonly tokens: ApiTokenRepository;
  readonly rooms: RoomRepository;
  readonly audit: AuditRepository;
  readonly cdrs: CdrRepository;
  /** Registrar bindings (survive a restart). */
  readonly registrations: RegistrationRepository;
  /** The schema version the store is at (the highest migration applied). */
  readonly schemaVersion: number;
  /** Idempotent. */
  close(): void;
}
