import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';

export interface HealthSource {
  health(): { workers: { pid: number; alive: boolean; routers: number }[]; ok: boolean };
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
}

/** Express app: GET /healthz, the /api routers, JSON errors carrying AppError.httpStatus. */
export class HttpServer {
  private readonly server: http.Server;
  private closed = false;
  private readonly started = Date.now();

  private constructor(opts: HttpServerOptions) {
    const app = express();
    app.disable('x-powered-by');
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
      res.status(h.ok ? 200 : 503).json({
        status: h.ok ? 'ok' : 'degraded',
        version: opts.version,
        uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
        workers: { alive: h.workers.filter((w) => w.alive).length, total: h.workers.length, list: h.workers },
      });
    });
    for (const r of opts.api ?? []) app.use('/api', r);
    for (const r of opts.pages ?? []) app.use(r);
    const send = (res: Response, err: AppError): void => {
      res.status(err.httpStatus).json({ error: err.code, message: err.message });
    };
    app.use((_req, res) => send(res, new AppError('API_NO_ROUTE')));
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      if (err instanceof AppError) {
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
