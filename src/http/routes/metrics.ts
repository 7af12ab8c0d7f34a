import { Router } from 'express';
import { AppError } from '../../errors/app-error';
import type { Authenticator } from '../../moderation/auth/authenticator';
import type { MetricsCollector } from '../metrics/metrics-collector';

export interface MetricsRouterOptions {
  collector: Pick<MetricsCollector, 'scrape'>;
  authenticator: Pick<Authenticator, 'fromHeaders'>;
  /** `metrics.public`: anyone reaching the HTTP port may scrape (a scraper on a private network). */
  public: boolean;
}

/**
 * GET /metrics → the Prometheus text exposition (`collector.scrape()`), mounted at the root where scrapers look.
 *
 * Protected by default: the figures name rooms and tell how busy the server is, which an attacker probing for
 * toll fraud or a flood's effect should not read. A scraper sends an API token (`Authorization: Bearer <token>`,
 * Prometheus's `authorization` scrape setting); a signed-in admin or moderator may read it too. A moderator-PIN
 * session (one room's rights) is refused: the metrics cover every room. `metrics.public: true` drops the check.
 */
export function metricsRouter(opts: MetricsRouterOptions): Router {
  const r = Router();
  r.get('/metrics', async (req, res) => {
    if (!opts.public) {
      const principal = opts.authenticator.fromHeaders(req.headers);
      if (!principal)
        throw new AppError('AUTH_REQUIRED', 'send Authorization: Bearer <API token>, or sign in');
      if (principal.kind === 'pin')
        throw new AppError('AUTH_FORBIDDEN', 'a room PIN session cannot read the server metrics');
    }
    const { contentType, body } = await opts.collector.scrape();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  });
  return r;
}
