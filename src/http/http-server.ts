import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';
import type { Authenticator } from '../moderation/auth/authenticator';

export interface HealthSource {
  /** `draining`: new calls are refused; /healthz answers 503 "draining" so a load balancer takes the node out. */
  health(): { workers: { pid: number; alive: boolean; routers: number }[]; ok: boolean; draining?: boolean };
}

export interface HttpServerOptions {
  ip: string;
  port: number;
  version: string;
  logger: Logger;
  health: HealthSource;
  /** Extra routers mounted under /api (rooms, participants...). */
  api?: Router[];
  /** Routers mounted at the root after the API (the browser pages). */
  pages?: Router[];
  /**
   * Resolves the session cookie or bearer token of every /api request into `res.locals.principal` (nothing set
   * without valid credentials: `principalOf(res)` then answers AUTH_REQUIRED).
   */
  authenticator?: Authenticator;
  /** Strict-Transport-Security on every response: set when the server is reached over TLS (a terminating proxy). */
  hsts?: boolean;
}

/** The CSP of API answers (JSON): nothing may load, nobody may frame them. The pages router sets its own. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * Helmet-style headers on every response. A router that serves HTML (the pages) replaces the CSP with its own,
 * stricter-for-pages policy after this runs.
 */
function securityHeaders(hsts: boolean) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('Content-Security-Policy', API_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  };
}

const ATTACHMENTS = /\/attachments(\/|$|\?)/;

/**
 * Puts the request's principal on `res.locals.principal`.
 *
 * CSRF: the session cookie is SameSite=Strict, so no other site's page makes the browser send it; and a request
 * that authenticates with the cookie and carries a body (POST/PUT/PATCH) must be `Content-Type: application/json`,
 * which a cross-site form or a "simple" cross-origin fetch cannot send without a CORS preflight we never answer.
 * DELETE is never a simple request (always preflighted), so it needs no body type. Bearer tokens are not sent by
 * browsers on their own and need no such check. Attachment uploads authenticate with the browsers' own session
 * tokens (never the cookie) and stream raw bodies, so they are exempt.
 */
function authenticate(authenticator: Authenticator) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const principal = authenticator.fromHeaders(req.headers);
    if (!principal) {
      next();
      return;
    }
    const byCookie = req.headers.authorization === undefined;
    const hasBody = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH';
    const json = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
    if (byCookie && hasBody && !json && !ATTACHMENTS.test(req.originalUrl)) {
      next(
        new AppError(
          'API_BAD_REQUEST',
          'requests signed in by cookie must send Content-Type: application/json',
        ),
      );
      return;
    }
    (res.locals as { principal?: unknown }).principal = principal;
    next();
  };
}

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
  rawPath?: unknown;
}

/** Every route of an Express 5 router stack, with the mount paths of nested routers as prefixes. */
function walk(stack: RouterLayer[], prefix: string, out: { method: string; path: string }[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths)
        for (const [m, on] of Object.entries(layer.route.methods))
          if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + p });
    } else if (Array.isArray(layer.handle.stack)) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      walk(layer.handle.stack, prefix + mount, out);
    }
  }
}

/** Express app: GET /healthz, the /api routers, JSON errors carrying AppError.httpStatus. */
export class HttpServer {
  private readonly server: http.Server;
  private closed = false;
  private readonly started = Date.now();
  private readonly app: express.Express;

  private constructor(opts: HttpServerOptions) {
    const app = express();
    this.app = app;
    app.disable('x-powered-by');
    app.use(securityHeaders(opts.hsts ?? false));
    // JSON bodies for the API, except uploads (chat attachments are streamed raw, whatever their type).
    app.use(
      express.json({
        limit: '64kb',
        type: (req) =>
          (req.headers['content-type'] ?? '').startsWith('application/json') &&
          !/\/attachments(\/|$|\?)/.test(req.url ?? ''),
      }),
    );
    app.get('/healthz', (_req, res) => {
      const h = opts.health.health();
      const status = h.draining ? 'draining' : h.ok ? 'ok' : 'degraded';
      res.status(status === 'ok' ? 200 : 503).json({
        status,
        version: opts.version,
        uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
        workers: { alive: h.workers.filter((w) => w.alive).length, total: h.workers.length, list: h.workers },
      });
    });
    if (opts.authenticator) app.use('/api', authenticate(opts.authenticator));
    for (const r of opts.api ?? []) app.use('/api', r);
    for (const r of opts.pages ?? []) app.use(r);
    const send = (res: Response, err: AppError): void => {
      res.status(err.httpStatus).json({ error: err.code, message: err.message });
    };
    app.use((_req, res) => send(res, new AppError('API_NO_ROUTE')));
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      if (err instanceof AppError) {
        const retry = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
        if (typeof retry === 'number') res.setHeader('Retry-After', String(retry));
        if (err.code === 'AUTH_REQUIRED') res.setHeader('WWW-Authenticate', 'Bearer realm="parley"');
        send(res, err);
        return;
      }
      // Express's own 4xx (a body that is not JSON, too large): the client's fault, told as a bad request.
      const status = (err as { status?: number }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        send(res, new AppError('API_BAD_REQUEST', (err as Error).message));
        return;
      }
      opts.logger.error({ err, url: req.url }, 'http handler failed');
      send(res, new AppError('INTERNAL'));
    });
    this.server = http.createServer(app);
    this.server.keepAliveTimeout = 5000;
  }

  static async create(opts: HttpServerOptions): Promise<HttpServer> {
    const s = new HttpServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.ip, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  /** Every registered /api route (method and Express path), e.g. `{ method: 'POST', path: '/api/rooms/:id/lock' }`. */
  routes(): { method: string; path: string }[] {
    const out: { method: string; path: string }[] = [];
    const router = (this.app as unknown as { router: { stack: RouterLayer[] } }).router;
    walk(router.stack, '', out);
    const seen = new Set<string>();
    return out.filter((r) => {
      const k = `${r.method} ${r.path}`;
      if (!r.path.startsWith('/api/') || seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /** The Node server (socket.io attaches to it). */
  get nodeServer(): http.Server {
    return this.server;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
