import { Router } from 'express';
import { z } from 'zod';
import { requireAdmin, type AuthService } from '../../moderation/auth/auth-service';
import { actorOf } from '../principal';
import { parseBody } from './auth';

const username = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'usernames are A-Z a-z 0-9 . _ @ -');
const password = z.string().min(8).max(1024);
const role = z.enum(['admin', 'moderator']);

const CreateAccountBody = z.object({ username, password, role: role.default('moderator') }).strict();
const UpdateAccountBody = z
  .object({ role: role.optional(), password: password.optional(), disabled: z.boolean().optional() })
  .strict();
const CreateTokenBody = z.object({ name: z.string().trim().min(1).max(64) }).strict();

/**
 * Accounts (admins only) and API tokens (each account its own; admins may revoke any):
 * GET    /api/accounts          → {accounts}
 * POST   /api/accounts          {"username", "password" (8+), "role"?: "admin"|"moderator"} → 201 {account}
 * PATCH  /api/accounts/:id      {"role"?, "password"?, "disabled"?} → {account} (409 ACCOUNT_LAST_ADMIN)
 * DELETE /api/accounts/:id      → 204 (409 ACCOUNT_LAST_ADMIN)
 * GET    /api/tokens            → {tokens} of the caller's account
 * POST   /api/tokens            {"name"} → 201 {token, id, name, ...}: the token in clear, this once
 * DELETE /api/tokens/:id        → 204 (404 TOKEN_NOT_FOUND)
 */
export function accountsRouter(auth: AuthService): Router {
  const r = Router();
  r.get('/accounts', (req, res) => {
    res.json({ accounts: auth.listAccounts(actorOf(req, res)) });
  });
  r.post('/accounts', async (req, res) => {
    const actor = actorOf(req, res);
    requireAdmin(actor);
    const b = parseBody(
      CreateAccountBody,
      req,
      '{"username", "password" (8+ chars), "role"?: "admin"|"moderator"}',
    );
    res.status(201).json({ account: await auth.createAccount(actor, b) });
  });
  r.patch('/accounts/:id', async (req, res) => {
    const actor = actorOf(req, res);
    requireAdmin(actor);
    const b = parseBody(UpdateAccountBody, req, '{"role"?, "password"?, "disabled"?}');
    res.json({ account: await auth.updateAccount(actor, req.params.id, b) });
  });
  r.delete('/accounts/:id', (req, res) => {
    auth.deleteAccount(actorOf(req, res), req.params.id);
    res.status(204).end();
  });
  r.get('/tokens', (req, res) => {
    res.json({ tokens: auth.listTokens(actorOf(req, res)) });
  });
  r.post('/tokens', (req, res) => {
    const actor = actorOf(req, res);
    auth.accountIdOf(actor.principal); // 403 for a PIN session, before the body
    const { name } = parseBody(CreateTokenBody, req, '{"name": "..."}');
    const t = auth.issueToken(actor, name);
    res.status(201).json({ token: t.token, ...t.view });
  });
  r.delete('/tokens/:id', (req, res) => {
    auth.deleteToken(actorOf(req, res), req.params.id);
    res.status(204).end();
  });
  return r;
}
