import type { Logger } from 'pino';
import type { Store } from '../storage/store';

export interface RetentionOptions {
  store: Pick<Store, 'audit' | 'cdrs' | 'sessions'>;
  auditRetentionDays: number;
  cdrRetentionDays: number;
  log: Logger;
  /** How often to prune (default hourly). */
  intervalMs?: number;
  now?: () => number;
}

export interface PruneResult {
  audit: number;
  cdrs: number;
  sessions: number;
}

const DAY_MS = 86_400_000;

/**
 * Keeps the audit log and the call detail records within their configured retention (`storage.auditRetentionDays`,
 * `storage.cdrRetentionDays`) and drops expired sign-in sessions: once at start, then hourly on an unref'd timer
 * (it never keeps the process alive). A failed pass is logged and retried at the next tick.
 */
export class Retention {
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;

  private constructor(private readonly opts: RetentionOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Prunes now and schedules the hourly passes. */
  static start(opts: RetentionOptions): Retention {
    const r = new Retention(opts);
    r.runSafely();
    r.timer = setInterval(() => r.runSafely(), opts.intervalMs ?? 3_600_000);
    r.timer.unref();
    return r;
  }

  /** One pass; answers how many rows each kind lost. */
  prune(): PruneResult {
    const now = this.now();
    const iso = (days: number) => new Date(now - days * DAY_MS).toISOString();
    return {
      audit: this.opts.store.audit.prune(iso(this.opts.auditRetentionDays)),
      cdrs: this.opts.store.cdrs.prune(iso(this.opts.cdrRetentionDays)),
      sessions: this.opts.store.sessions.deleteExpired(new Date(now).toISOString()),
    };
  }

  /** Idempotent. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private runSafely(): void {
    try {
      const r = this.prune();
      if (r.audit + r.cdrs + r.sessions > 0) this.opts.log.info(r, 'retention: pruned');
    } catch (err) {
      this.opts.log.error({ err }, 'retention: prune failed');
    }
  }
}
