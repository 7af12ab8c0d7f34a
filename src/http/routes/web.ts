/**
 * The browser pages: `/` (type a room name), `/r/:room` (name, PIN, then the room), `/dashboard` (the moderators'
 * console; it signs in by itself, so the shell is public and holds nothing private) and their bundled assets under
 * `/assets/` (content-hashed names from scripts/build-web.mjs, so cached for a year). Every response carries the
 * pages' security headers: a strict Content-Security-Policy (no inline script or style, media only from blob:, no
 * framing), nosniff, no referrer.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { roomName } from '../../protocol/rtc-protocol';

export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
}

/** dist/web beside the compiled server (dist/src/http/routes → dist/web), also when run from sources (ts-jest). */
export function defaultWebDistDir(): string {
  const up3 = path.resolve(__dirname, '../../..');
  return path.basename(up3) === 'dist' ? path.join(up3, 'web') : path.join(up3, 'dist', 'web');
}

type PageName = 'join' | 'room' | 'dashboard' | '404';

export function webRouter(opts: { distDir: string }): Router {
  const router = express.Router();
  const pages = new Map<string, string>();
  /** The built HTML shell (read once); undefined when the pages were not built. */
  const page = (name: PageName): string | undefined => {
    let html = pages.get(name);
    if (html === undefined) {
      try {
        html = fs.readFileSync(path.join(opts.distDir, `${name}.html`), 'utf8');
      } catch {
        return undefined;
      }
      pages.set(name, html);
    }
    return html;
  };
  const send = (res: Response, status: number, name: PageName): void => {
    const html = page(name);
    res.setHeader('Cache-Control', 'no-cache');
    if (html === undefined) {
      res.status(503).type('text/plain').send('The web pages are not built (npm run build).\n');
      return;
    }
    res.status(status).type('html').send(html);
  };

  router.get('/', securityHeaders, (_req, res) => send(res, 200, 'join'));
  router.get('/r/:room', securityHeaders, (req, res) => {
    if (roomName.safeParse(req.params['room']).success) send(res, 200, 'room');
    else send(res, 404, '404');
  });
  router.get(['/dashboard', '/dashboard/'], securityHeaders, (_req, res) => send(res, 200, 'dashboard'));
  const assets = express.Router();
  assets.use(securityHeaders);
  assets.use(
    express.static(path.join(opts.distDir, 'assets'), {
      index: false,
      immutable: true,
      maxAge: '365d',
      fallthrough: true,
      dotfiles: 'ignore',
    }),
  );
  assets.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found\n');
  });
  router.use('/assets', assets);
  return router;
}
