import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error';
import type { AuthService, NewSession } from '../../moderation/auth/auth-service';
import { ClaimRoomSchema, SESSION_COOKIE } from '../../protocol/dashboard-protocol';
import { principalOf } from '../principal';

const LoginBody = z
  .object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) })
  .strict();

export interface AuthRouterOptions {
  auth: AuthService;
  /** The session cookie's Secure flag; `auto`: when the request came over TLS. */
  secureCookie: boolean | 'auto';
}

/** Parses a JSON body or throws API_BAD_REQUEST naming the expected shape. */
export function parseBody<T extends z.ZodTypeAny>(schema: T, req: Request, shape: string): z.output<T> {
  const r = schema.safeParse(req.body ?? {});
  if (!r.success) throw new AppError('API_BAD_REQUEST', `body must be ${shape}`);
  return r.data as z.output<T>;
}

/**
 * Sign-in and sessions:
 * POST /api/auth/login   {"username", "password"} → {principal, expiresAt} + the session cookie
 *                        (401 AUTH_BAD_CREDENTIALS, 429 AUTH_RATE_LIMITED with Retry-After)
 * POST /api/auth/pin     {"roomId", "moderatorPin"} → {principal}: adds the room to the signed-in session, or opens
 *                        a session holding only that room's rights (403 AUTH_WRONG_PIN, 429)
 * POST /api/auth/logout  → 204: the session is revoked and the cookie cleared
 * GET  /api/auth/me      → {principal}
 *
 * The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and Secure behind
 * TLS; it carries a random secret whose SHA-256 alone is stored.
 */
export function authRouter(opts: AuthRouterOptions): Router {
  const r = Router();
  const secure = (req: Request): boolean => (opts.secureCookie === 'auto' ? req.secure : opts.secureCookie);
  const setCookie = (req: Request, res: Response, s: NewSession): void => {
    const maxAge = Math.max(0, Math.floor((Date.parse(s.expiresAt) - Date.now()) / 1000));
    res.setHeader(
      'Set-Cookie',
      `${SESSION_COOKIE}=${s.secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure(req) ? '; Secure' : ''}`,
    );
  };
  const source = (req: Request): string | null => req.socket.remoteAddress ?? null;

  r.post('/auth/login', async (req, res) => {
    const { username, password } = parseBody(LoginBody, req, '{"username": "...", "password": "..."}');
    const s = await opts.auth.login(username, password, source(req));
    setCookie(req, res, s);
    res.json({ principal: s.principal, expiresAt: s.expiresAt });
  });

  r.post('/auth/pin', (req, res) => {
    const { roomId, moderatorPin } = parseBody(
      ClaimRoomSchema,
      req,
      '{"roomId": "...", "moderatorPin": "1234"}',
    );
    const current = (res.locals as { principal?: unknown }).principal;
    if (current && req.headers.authorization === undefined) {
      // Signed in by cookie: the room joins this session's grants.
      res.json({ principal: opts.auth.claimRoom(req.headers, {}, roomId, moderatorPin, source(req)) });
      return;
    }
    const s = opts.auth.pinSession(roomId, moderatorPin, source(req));
    setCookie(req, res, s);
    res.json({ principal: s.principal, expiresAt: s.expiresAt });
  });

  r.post('/auth/logout', (req, res) => {
    principalOf(res);
    opts.auth.logout(req.headers, source(req));
    res.setHeader(
      'Set-Cookie',
      `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure(req) ? '; Secure' : ''}`,
    );
    res.status(204).end();
  });

  r.get('/auth/me', (_req, res) => {
    res.json({ principal: principalOf(res) });
  });
  return r;
}
