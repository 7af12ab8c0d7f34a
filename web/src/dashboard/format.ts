/** Pure formatting of what the dashboard shows: durations, kinds, call quality grades. */
import type { CallQuality, DashboardParticipantKind } from '../../../src/protocol/dashboard-protocol';

/** `1:02:03`, `4:05` */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** Local wall-clock time of an ISO date, `14:03:07`. */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour12: false });
}

/** Local date and time of an ISO date, `2026-12-01 14:03:07`. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const KIND_LABEL: Record<DashboardParticipantKind, string> = {
  sip: 'Phone',
  webrtc: 'Browser',
  'sip-ws': 'SIP-WS',
};

export type QualityGrade = 'good' | 'fair' | 'poor' | 'bad' | 'unknown';

/**
 * The grade of an estimated MOS, with the bands usually quoted for the E-model: 4.0 and above users are satisfied,
 * 3.6 some are not, 3.1 many are not, below that nearly all are not.
 */
export function mosGrade(mos: number | null): QualityGrade {
  if (mos === null || !Number.isFinite(mos)) return 'unknown';
  if (mos >= 4.0) return 'good';
  if (mos >= 3.6) return 'fair';
  if (mos >= 3.1) return 'poor';
  return 'bad';
}

export const GRADE_LABEL: Record<QualityGrade, string> = {
  good: 'Good',
  fair: 'Fair',
  poor: 'Poor',
  bad: 'Bad',
  unknown: 'No data',
};

export function formatLoss(q: CallQuality): string {
  return q.loss === null ? '—' : `${(q.loss * 100).toFixed(q.loss < 0.1 ? 1 : 0)} %`;
}

export function formatMs(v: number | null): string {
  return v === null ? '—' : `${Math.round(v)} ms`;
}

/** A `datetime-local` input's value as an ISO date (the server wants an offset), or undefined when empty/bad. */
export function localInputToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
