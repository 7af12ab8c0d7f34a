import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema';
import { AppError } from '../../errors/app-error';
import { SESSION_COOKIE, type Principal } from '../../protocol/dashboard-protocol';
import { sipHa1s } from '../../sip/auth/request-authenticator';
import type {
  AccountRecord,
  AccountRole,
  ApiTokenRecord,
  SessionRecord,
  SipDigestHa1,
  Store,
} from '../../storage/store';
import type { Actor, ModerationService } from '../moderation-service';
import type { Authenticator } from './authenticator';
import { LoginLimiter } from './login-limiter';
import { hashPassword, randomSecret, sha256Hex, verifyPassword } from './password';

/** AUTH_RATE_LIMITED with the seconds the client should wait (the REST API sends them as Retry-After). */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('AUTH_RATE_LIMITED', `too many failed attempts; try again in ${retryAfterSeconds} s`);
  }
}

/** What the API shows of an account (never its hash). */
export interface AccountView {
  id: string;
  username: string;
  role: AccountRole;
  disabled: boolean;
  createdAt: string;
}

/** What the API shows of an API token (never the token or its hash). */
export interface TokenView {
  id: string;
  accountId: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A new session: `secret` goes into the cookie (HttpOnly), only its SHA-256 is stored. */
export interface NewSession {
  principal: Principal;
  secret: string;
  expiresAt: string;
}

export interface AuthServiceOptions {
  store: Store;
  auth: Readonly<Config['auth']>;
  /** Where sign-ins, account and token changes are recorded. */
  audit: Pick<ModerationService, 'record'>;
  /** Whether `pin` is room `roomId`'s moderator PIN (the conference's `isModeratorPin`). */
  isModeratorPin: (roomId: string, pin: string) => boolean;
  log: Logger;
  /** Milliseconds since the epoch (a fake clock in tests). */
  now?: () => number;
  /**
   * The SIP digest realm (`sip.realm`): setting a password also stores its HA1s for this realm, so the account can
   * REGISTER with the same name and password (scrypt stays the web sign-in's hash). Unset: no SIP credentials.
   */
  sipRealm?: string;
}

/** Name of the API token seeded from `auth.apiToken` / PARLEY_API_TOKEN. */
export const SEEDED_TOKEN_NAME = 'env';
/** `accountId` of a session that holds only moderator-PIN grants. */
const PIN_ONLY = '';
/** A token's last use is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 60_000;

/**
 * Accounts, sessions and API tokens: the one `Authenticator` behind both the REST middleware and the dashboard's
 * socket.io handshake. Secrets never reach the store in clear (scrypt password hashes, SHA-256 of session secrets
 * and tokens). Sign-ins and wrong moderator PINs are rate-limited per source and per account (or room); every
 * sign-in, failure, logout, account and token change is recorded in the audit log.
 *
 * Create with `AuthService.create`, which makes the initial admin when there is no account (its generated
 * password is handed out once by `takeGeneratedAdminPassword`, never logged) and seeds the configured API token.
 */
export class AuthService implements Authenticator {
  private readonly limiter: LoginLimiter;
  private readonly now: () => number;
  private readonly endedListeners: Array<(principalName: string, sessionIdHash: string) => void> = [];
  /** The account behind each principal this service resolved (principals are plain protocol objects). */
  private readonly accountOfPrincipal = new WeakMap<Principal, string>();
  /** The session behind each session principal. */
  private readonly sessionOfPrincipal = new WeakMap<Principal, string>();
  private generatedAdminPassword?: string;
  /** A scrypt hash to verify against when the username is unknown, so timing does not tell accounts apart. */
  private dummyHash?: string;

  private constructor(private readonly opts: AuthServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.limiter = new LoginLimiter({
      maxAttempts: opts.auth.loginMaxAttempts,
      windowMs: opts.auth.loginWindowSeconds * 1000,
      now: this.now,
    });
  }

  static async create(opts: AuthServiceOptions): Promise<AuthService> {
    const s = new AuthService(opts);
    await s.ensureInitialAdmin();
    s.seedApiToken();
    s.dummyHash = await hashPassword(randomSecret());
    return s;
  }

  /**
   * The initial admin's password when this start generated it (no account existed and `auth.adminPassword` was
   * unset); answers it once, then forgets it. The caller prints it for the operator.
   */
  takeGeneratedAdminPassword(): string | undefined {
    const p = this.generatedAdminPassword;
    this.generatedAdminPassword = undefined;
    return p;
  }

  // ------------------------------------------------------------------ Authenticator

  fromHeaders(headers: IncomingHttpHeaders): Principal | undefined {
    const bearer = bearerOf(headers);
    if (bearer !== undefined) return this.fromToken(bearer);
    const secret = cookieOf(headers, SESSION_COOKIE);
    return secret === undefined ? undefined : this.fromSession(secret);
  }

  fromHandshake(headers: IncomingHttpHeaders, auth: Record<string, unknown>): Principal | undefined {
    if (typeof auth.token === 'string' && auth.token !== '') return this.fromToken(auth.token);
    return this.fromHeaders(headers);
  }

  claimRoom(
    headers: IncomingHttpHeaders,
    auth: Record<string, unknown>,
    roomId: string,
    moderatorPin: string,
    source: string | null,
  ): Principal {
    const current = this.fromHandshake(headers, auth);
    const idHash = current && this.sessionOfPrincipal.get(current);
    if (!current || !idHash)
      throw new AppError(
        'AUTH_REQUIRED',
        'a moderator PIN is claimed in a session (sign in or POST /api/auth/pin)',
      );
    this.checkPin(roomId, moderatorPin, source, current.name);
    const session = this.opts.store.sessions.get(idHash);
    if (!session) throw new AppError('AUTH_REQUIRED');
    const grants = session.roomGrants.includes(roomId) ? session.roomGrants : [...session.roomGrants, roomId];
    this.opts.store.sessions.setRoomGrants(idHash, grants);
    return this.fromSession(undefined, { ...session, roomGrants: grants })!;
  }

  onSessionEnded(listener: (principalName: string, sessionIdHash: string) => void): () => void {
    this.endedListeners.push(listener);
    return () => {
      const i = this.endedListeners.indexOf(listener);
      if (i >= 0) this.endedListeners.splice(i, 1);
    };
  }

  // ------------------------------------------------------------------ sign-in, PIN sessions, sign-out

  /**
   * Signs in with a username and password. Throws AUTH_RATE_LIMITED (`RateLimitedError`) when the source or the
   * account has too many recent failures — checked before the password, so a right guess in a flood is refused too
   * — and AUTH_BAD_CREDENTIALS for a wrong password, an unknown or a disabled account (alike).
   */
  async login(username: string, password: string, source: string | null): Promise<NewSession> {
    const keys = [`source:${source ?? 'unknown'}`, `account:${username.toLowerCase()}`];
    const verdict = this.limiter.check(keys);
    if (verdict.limited) {
      this.opts.audit.record({ name: username, source }, 'login-failed', {
        outcome: 'error',
        detail: 'AUTH_RATE_LIMITED',
      });
      throw new RateLimitedError(verdict.retryAfterSeconds);
    }
    const account = this.opts.store.accounts.byUsername(username);
    const ok = await verifyPassword(password, account?.passwordHash ?? this.dummyHash ?? '');
    if (!account || !ok || account.disabled) {
      this.limiter.fail(keys);
      this.opts.audit.record({ name: username, source }, 'login-failed', {
        outcome: 'error',
        detail: 'AUTH_BAD_CREDENTIALS',
      });
      throw new AppError('AUTH_BAD_CREDENTIALS');
    }
    const s = this.newSession(account.id, source, []);
    this.opts.audit.record({ name: account.username, source }, 'login');
    return s;
  }

  /**
   * A session holding only room `roomId`'s moderator rights (no account), from its moderator PIN. Throws
   * AUTH_WRONG_PIN, or AUTH_RATE_LIMITED after too many wrong PINs from the source or for the room.
   */
  pinSession(roomId: string, moderatorPin: string, source: string | null): NewSession {
    this.checkPin(roomId, moderatorPin, source, `pin:${roomId}`);
    return this.newSession(PIN_ONLY, source, [roomId]);
  }

  /** Ends the session whose cookie the headers carry (no-op without one). */
  logout(headers: IncomingHttpHeaders, source: string | null): void {
    const secret = cookieOf(headers, SESSION_COOKIE);
    if (secret === undefined) return;
    const idHash = sha256Hex(secret);
    const session = this.opts.store.sessions.get(idHash);
    if (!session) return;
    const name = this.principalName(session);
    this.opts.store.sessions.delete(idHash);
    this.opts.audit.record({ name, source }, 'logout');
    this.ended(name, idHash);
  }

  /** Removes expired sessions (the retention job calls it); returns how many. */
  pruneSessions(): number {
    return this.opts.store.sessions.deleteExpired(new Date(this.now()).toISOString());
  }

  // ------------------------------------------------------------------ accounts (admin)

  listAccounts(actor: Actor): AccountView[] {
    requireAdmin(actor);
    return this.opts.store.accounts.list().map(accountView);
  }

  async createAccount(
    actor: Actor,
    a: { username: string; password: string; role: AccountRole },
  ): Promise<AccountView> {
    requireAdmin(actor);
    return this.auditedAccount(
      actor,
      'account-create',
      a.username,
      JSON.stringify({ role: a.role }),
      async () => {
        if (this.opts.store.accounts.byUsername(a.username)) throw new AppError('ACCOUNT_EXISTS');
        const record: AccountRecord = {
          id: crypto.randomUUID(),
          username: a.username,
          role: a.role,
          passwordHash: await hashPassword(a.password),
          disabled: false,
          createdAt: new Date(this.now()).toISOString(),
          sip: this.sipCredentials(a.username, a.password),
        };
        // The hash took time: another request may have taken the name meanwhile (the UNIQUE index is the last word).
        if (this.opts.store.accounts.byUsername(a.username)) throw new AppError('ACCOUNT_EXISTS');
        this.opts.store.accounts.create(record);
        return accountView(record);
      },
    );
  }

  /** Changes role, password or disabled; a password change or disabling ends the account's sessions. */
  async updateAccount(
    actor: Actor,
    id: string,
    patch: { role?: AccountRole; password?: string; disabled?: boolean },
  ): Promise<AccountView> {
    requireAdmin(actor);
    const detail = JSON.stringify({
      role: patch.role,
      disabled: patch.disabled,
      password: patch.password !== undefined,
    });
    return this.auditedAccount(actor, 'account-update', id, detail, async () => {
      const a = this.account(id);
      const stillAdmin = (patch.role ?? a.role) === 'admin' && !(patch.disabled ?? a.disabled);
      if (a.role === 'admin' && !a.disabled && !stillAdmin && this.activeAdmins() <= 1)
        throw new AppError('ACCOUNT_LAST_ADMIN');
      const passwordHash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
      this.opts.store.accounts.update(id, {
        ...(patch.role !== undefined ? { role: patch.role } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
        ...(passwordHash !== undefined
          ? { passwordHash, sip: this.sipCredentials(a.username, patch.password!) }
          : {}),
      });
      // Roles are read afresh on every request; a new password or a disabled account ends the sessions.
      if (passwordHash !== undefined || patch.disabled === true) this.endSessionsOf(a);
      return accountView(this.account(id));
    });
  }

  deleteAccount(actor: Actor, id: string): void {
    requireAdmin(actor);
    this.auditedAccountSync(actor, 'account-delete', id, () => {
      const a = this.account(id);
      if (a.role === 'admin' && !a.disabled && this.activeAdmins() <= 1)
        throw new AppError('ACCOUNT_LAST_ADMIN');
      this.endSessionsOf(a);
      this.opts.store.accounts.delete(id); // its tokens go with it (ON DELETE CASCADE)
    });
  }

  // ------------------------------------------------------------------ API tokens

  /**
   * Creates an API token for account `accountId`; answers the token in clear — the only time it is seen — and its
   * stored view. `by` (the actor) is recorded in the audit log when given.
   */
  createToken(
    accountId: string,
    name: string,
    by?: { name: string; source: string | null },
  ): { token: string; view: TokenView } {
    const account = this.account(accountId);
    const token = `pt_${randomSecret()}`;
    const record: ApiTokenRecord = {
      id: crypto.randomUUID(),
      accountId,
      name,
      tokenHash: sha256Hex(token),
      createdAt: new Date(this.now()).toISOString(),
      lastUsedAt: null,
    };
    this.opts.store.tokens.create(record);
    if (by) this.opts.audit.record(by, 'token-create', { target: `${account.username}/${name}` });
    return { token, view: tokenView(record) };
  }

  /** The tokens of the actor's own account. */
  listTokens(actor: Actor): TokenView[] {
    return this.opts.store.tokens.listForAccount(this.accountIdOf(actor.principal)).map(tokenView);
  }

  /** An API token for the actor's own account (see `createToken`). */
  issueToken(actor: Actor, name: string): { token: string; view: TokenView } {
    return this.createToken(this.accountIdOf(actor.principal), name, {
      name: actor.principal.name,
      source: actor.source,
    });
  }

  /** Revokes a token of the actor's account (an admin: any token). Throws TOKEN_NOT_FOUND. */
  deleteToken(actor: Actor, id: string): void {
    const own = this.accountIdOf(actor.principal);
    const accounts =
      actor.principal.role === 'admin' ? this.opts.store.accounts.list().map((a) => a.id) : [own];
    const t = accounts.flatMap((a) => this.opts.store.tokens.listForAccount(a)).find((x) => x.id === id);
    if (!t) {
      this.opts.audit.record({ name: actor.principal.name, source: actor.source }, 'token-delete', {
        target: id,
        outcome: 'error',
        detail: 'TOKEN_NOT_FOUND',
      });
      throw new AppError('TOKEN_NOT_FOUND');
    }
    this.opts.store.tokens.delete(id);
    this.opts.audit.record({ name: actor.principal.name, source: actor.source }, 'token-delete', {
      target: `${this.opts.store.accounts.byId(t.accountId)?.username ?? t.accountId}/${t.name}`,
    });
  }

  /** The account id behind an account or token principal; AUTH_FORBIDDEN for a PIN-only session. */
  accountIdOf(principal: Principal): string {
    const known = this.accountOfPrincipal.get(principal);
    if (known) return known;
    if (principal.kind === 'account') {
      const a = this.opts.store.accounts.byUsername(principal.name);
      if (a) return a.id;
    }
    throw new AppError('AUTH_FORBIDDEN', 'this needs an account');
  }

  // ------------------------------------------------------------------ internals

  /** The SIP digest HA1s of a new password (RFC 7616 §3.4.2), or null when no SIP realm is configured. */
  private sipCredentials(username: string, password: string): SipDigestHa1 | null {
    const realm = this.opts.sipRealm;
    if (realm === undefined) return null;
    const h = sipHa1s(username, realm, password);
    return { realm, md5: h.MD5, sha256: h['SHA-256'] };
  }

  private async ensureInitialAdmin(): Promise<void> {
    if (this.opts.store.accounts.count() > 0) return;
    const configured = this.opts.auth.adminPassword;
    const password = configured ?? randomSecret(18);
    this.opts.store.accounts.create({
      id: crypto.randomUUID(),
      username: 'admin',
      role: 'admin',
      passwordHash: await hashPassword(password),
      disabled: false,
      createdAt: new Date(this.now()).toISOString(),
      sip: this.sipCredentials('admin', password),
    });
    if (configured === undefined) this.generatedAdminPassword = password;
    this.opts.audit.record({ name: 'parley', source: null }, 'account-create', {
      target: 'admin',
      detail:
        configured === undefined ? 'initial admin, generated password' : 'initial admin, configured password',
    });
    // The password itself is never logged.
    this.opts.log.info(
      { username: 'admin', generated: configured === undefined },
      'initial admin account created',
    );
  }

  /**
   * Seeds `auth.apiToken` as the token named `env` of the first admin; a changed value replaces the old one (so
   * rotating the variable revokes the previous token).
   */
  private seedApiToken(): void {
    const token = this.opts.auth.apiToken;
    if (token === undefined) return;
    const hash = sha256Hex(token);
    if (this.opts.store.tokens.byHash(hash)) return;
    const admin = this.opts.store.accounts.list().find((a) => a.role === 'admin' && !a.disabled);
    if (!admin) {
      this.opts.log.warn('auth.apiToken set but no enabled admin account: not seeded');
      return;
    }
    for (const old of this.opts.store.tokens.listForAccount(admin.id))
      if (old.name === SEEDED_TOKEN_NAME) this.opts.store.tokens.delete(old.id);
    this.opts.store.tokens.create({
      id: crypto.randomUUID(),
      accountId: admin.id,
      name: SEEDED_TOKEN_NAME,
      tokenHash: hash,
      createdAt: new Date(this.now()).toISOString(),
      lastUsedAt: null,
    });
    this.opts.audit.record({ name: 'parley', source: null }, 'token-create', {
      target: `${admin.username}/${SEEDED_TOKEN_NAME}`,
      detail: 'seeded from auth.apiToken',
    });
  }

  private checkPin(roomId: string, pin: string, source: string | null, actorName: string): void {
    const keys = [`pin-source:${source ?? 'unknown'}`, `pin-room:${roomId}`];
    const verdict = this.limiter.check(keys);
    if (verdict.limited) {
      this.opts.audit.record({ name: actorName, source }, 'claim-room', {
        roomId,
        outcome: 'error',
        detail: 'AUTH_RATE_LIMITED',
      });
      throw new RateLimitedError(verdict.retryAfterSeconds);
    }
    if (!this.opts.isModeratorPin(roomId, pin)) {
      this.limiter.fail(keys);
      this.opts.audit.record({ name: actorName, source }, 'claim-room', {
        roomId,
        outcome: 'error',
        detail: 'AUTH_WRONG_PIN',
      });
      throw new AppError('AUTH_WRONG_PIN');
    }
    this.opts.audit.record({ name: actorName, source }, 'claim-room', { roomId });
  }

  private newSession(accountId: string, source: string | null, roomGrants: string[]): NewSession {
    const secret = randomSecret();
    const now = this.now();
    const record: SessionRecord = {
      idHash: sha256Hex(secret),
      accountId,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.opts.auth.sessionTtlHours * 3600_000).toISOString(),
      source,
      roomGrants,
    };
    this.opts.store.sessions.create(record);
    return { principal: this.fromSession(undefined, record)!, secret, expiresAt: record.expiresAt };
  }

  /** The principal of a session secret (or of a session record already read). */
  private fromSession(secret: string | undefined, known?: SessionRecord): Principal | undefined {
    const session =
      known ?? (secret !== undefined ? this.opts.store.sessions.get(sha256Hex(secret)) : undefined);
    if (!session) return undefined;
    if (Date.parse(session.expiresAt) <= this.now()) {
      this.opts.store.sessions.delete(session.idHash);
      this.ended(this.principalName(session), session.idHash);
      return undefined;
    }
    let p: Principal;
    if (session.accountId === PIN_ONLY) {
      if (session.roomGrants.length === 0) return undefined;
      p = {
        kind: 'pin',
        name: `pin:${session.roomGrants[0]!}`,
        role: 'moderator',
        roomGrants: [...session.roomGrants],
      };
    } else {
      const a = this.opts.store.accounts.byId(session.accountId);
      if (!a || a.disabled) return undefined;
      p = { kind: 'account', name: a.username, role: a.role, roomGrants: [...session.roomGrants] };
      this.accountOfPrincipal.set(p, a.id);
    }
    this.sessionOfPrincipal.set(p, session.idHash);
    return p;
  }

  private fromToken(token: string): Principal | undefined {
    const t = this.opts.store.tokens.byHash(sha256Hex(token));
    if (!t) return undefined;
    const a = this.opts.store.accounts.byId(t.accountId);
    if (!a || a.disabled) return undefined;
    const now = this.now();
    if (t.lastUsedAt === null || now - Date.parse(t.lastUsedAt) >= TOUCH_EVERY_MS)
      this.opts.store.tokens.touch(t.id, new Date(now).toISOString());
    const p: Principal = { kind: 'token', name: `token:${t.name}`, role: a.role, roomGrants: [] };
    this.accountOfPrincipal.set(p, a.id);
    return p;
  }

  private principalName(s: SessionRecord): string {
    if (s.accountId === PIN_ONLY) return `pin:${s.roomGrants[0] ?? ''}`;
    return this.opts.store.accounts.byId(s.accountId)?.username ?? s.accountId;
  }

  private ended(name: string, idHash: string): void {
    for (const l of this.endedListeners) {
      try {
        l(name, idHash);
      } catch (err) {
        this.opts.log.error({ err }, 'session-ended listener failed');
      }
    }
  }

  /**
   * Ends every session of an account. The store's interface has no per-account session listing, so open dashboards
   * are told with the account's name and an empty id hash (listeners match on the name).
   */
  private endSessionsOf(a: AccountRecord): void {
    this.opts.store.sessions.deleteForAccount(a.id);
    this.ended(a.username, '');
  }

  private account(id: string): AccountRecord {
    const a = this.opts.store.accounts.byId(id);
    if (!a) throw new AppError('ACCOUNT_NOT_FOUND');
    return a;
  }

  private activeAdmins(): number {
    return this.opts.store.accounts.list().filter((a) => a.role === 'admin' && !a.disabled).length;
  }

  private async auditedAccount<T>(
    actor: Actor,
    action: string,
    target: string,
    detail: string | null,
    run: () => Promise<T>,
  ): Promise<T> {
    const by = { name: actor.principal.name, source: actor.source };
    try {
      const out = await run();
      this.opts.audit.record(by, action, {
        target: this.describeAccount(target),
        ...(detail ? { detail } : {}),
      });
      return out;
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'INTERNAL';
      this.opts.audit.record(by, action, {
        target: this.describeAccount(target),
        outcome: 'error',
        detail: code,
      });
      throw err;
    }
  }

  private auditedAccountSync(actor: Actor, action: string, target: string, run: () => void): void {
    const by = { name: actor.principal.name, source: actor.source };
    const described = this.describeAccount(target);
    try {
      run();
      this.opts.audit.record(by, action, { target: described });
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'INTERNAL';
      this.opts.audit.record(by, action, { target: described, outcome: 'error', detail: code });
      throw err;
    }
  }

  /** `"<username> (<id>)"` for a known account id, else the text as given (a username being created). */
  private describeAccount(idOrName: string): string {
    const a = this.opts.store.accounts.byId(idOrName);
    return a ? `${a.username} (${a.id})` : idOrName;
  }
}

/** Throws AUTH_FORBIDDEN unless the actor is an admin (account or admin's token). */
export function requireAdmin(actor: Actor): void {
  if (actor.principal.role !== 'admin' || actor.principal.kind === 'pin')
    throw new AppError('AUTH_FORBIDDEN', 'admins only');
}

function accountView(a: AccountRecord): AccountView {
  return { id: a.id, username: a.username, role: a.role, disabled: a.disabled, createdAt: a.createdAt };
}

function tokenView(t: ApiTokenRecord): TokenView {
  return { id: t.id, accountId: t.accountId, name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt };
}

/** The bearer token of an `Authorization` header. */
function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const h = headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** One cookie's value from a `Cookie` header (RFC 6265 §5.4 syntax; the first occurrence wins). */
export function cookieOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const h = headers.cookie;
  if (typeof h !== 'string') return undefined;
  for (const part of h.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    return v === '' ? undefined : v;
  }
  return undefined;
}
