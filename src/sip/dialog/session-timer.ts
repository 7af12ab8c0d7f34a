import type { SipMessage, SipRequest } from '../message/sip-message';
import type { Clock, TimerHandle } from '../transaction/clock';

/** RFC 4028 session timers, enabled per stack. */
export interface SessionTimerOptions {
  /** the Session-Expires we ask for and the largest we accept (seconds; RFC 4028 recommends 1800) */
  sessionExpires: number;
  /** our Min-SE (seconds; at least 90, RFC 4028 §4) */
  minSE: number;
  /** the refresh request when we are the refresher (UPDATE is cheaper; falls back to INVITE if the peer lacks it) */
  refreshMethod?: 'UPDATE' | 'INVITE';
}

/** The negotiated interval and whether we must refresh (otherwise we watch for the peer's refreshes). */
export interface SessionTimerParams {
  interval: number;
  weRefresh: boolean;
}

export function parseSessionExpires(
  value: string | undefined,
): { delta: number; refresher?: 'uac' | 'uas' } | undefined {
  if (!value) return undefined;
  const [d, ...params] = value.split(';');
  const delta = Number(d.trim());
  if (!Number.isInteger(delta) || delta <= 0) return undefined;
  let refresher: 'uac' | 'uas' | undefined;
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim().toLowerCase());
    if (k === 'refresher' && (v === 'uac' || v === 'uas')) refresher = v;
  }
  return { delta, refresher };
}

export function supportsTimer(msg: SipMessage): boolean {
  return [...msg.headers.getList('Supported'), ...msg.headers.getList('Require')].some(
    (t) => t.toLowerCase() === 'timer',
  );
}

export type UasNegotiation =
  | { ok: true; params: SessionTimerParams; headers: Record<string, string> }
  | { ok: false; status: 422; headers: Record<string, string> };

/**
 * RFC 4028 §9: as the UAS of an INVITE or UPDATE. Rejects a Session-Expires below our Min-SE with 422 (§9);
 * otherwise answers with the interval and the refresher (honouring the UAC's choice; when it chose none, the UAC
 * refreshes if it supports timers, else we do), plus Require: timer when the UAC supports the extension.
 */
export function negotiateAsUas(req: SipRequest, opts: SessionTimerOptions): UasNegotiation {
  const se = parseSessionExpires(req.headers.get('Session-Expires'));
  const uacSupports = supportsTimer(req);
  if (se && se.delta < opts.minSE)
    return { ok: false, status: 422, headers: { 'Min-SE': String(opts.minSE) } };
  const reqMinSE = Number(req.headers.get('Min-SE')?.split(';')[0] ?? 0) || 0;
  const interval = se
    ? Math.max(reqMinSE, opts.minSE, Math.min(se.delta, opts.sessionExpires))
    : Math.max(reqMinSE, opts.sessionExpires);
  const refresher = se?.refresher ?? (uacSupports ? 'uac' : 'uas');
  const headers: Record<string, string> = { 'Session-Expires': `${interval};refresher=${refresher}` };
  if (uacSupports) headers['Require'] = 'timer';
  return { ok: true, params: { interval, weRefresh: refresher === 'uas' }, headers };
}

/** RFC 4028 §7: the UAC reads the 2xx; no Session-Expires means no session timer. */
export function negotiateAsUac(res: SipMessage): SessionTimerParams | undefined {
  const se = parseSessionExpires(res.headers.get('Session-Expires'));
  if (!se) return undefined;
  return { interval: se.delta, weRefresh: (se.refresher ?? 'uac') === 'uac' };
}

/**
 * The running timer of one dialog: refresh at half the interval when we are the refresher (§10), otherwise
 * expire at interval − min(32, interval/3) seconds without a refresh (§10: send BYE).
 */
export class SessionTimer {
  private handle?: TimerHandle;
  params: SessionTimerParams;

  constructor(
    private readonly clock: Clock,
    params: SessionTimerParams,
    private readonly onRefreshDue: () => void,
    private readonly onExpired: () => void,
  ) {
    this.params = params;
    this.arm();
  }

  reset(params: SessionTimerParams): void {
    this.params = params;
    this.arm();
  }

  private arm(): void {
    this.stop();
    const { interval, weRefresh } = this.params;
    if (weRefresh) this.handle = this.clock.setTimeout(() => this.onRefreshDue(), (interval * 1000) / 2);
    else
      this.handle = this.clock.setTimeout(
        () => this.onExpired(),
        (interval - Math.min(32, interval / 3)) * 1000,
      );
  }

  stop(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
