/**
 * The audit log and call records tabs: filters, a paged table (fetched over the socket: `audit`, `cdrs`), and an
 * "Export CSV" link to the REST export with the same filters.
 */
import {
  formatDateTime,
  formatDuration,
  formatLoss,
  formatMs,
  GRADE_LABEL,
  KIND_LABEL,
  mosGrade,
} from './format';
import { queryString, type DashboardSession } from './session';
import type { DashboardState, RecordsView } from './state';

type Props = { state: DashboardState; session: DashboardSession };

function value(e: Event): string {
  return (e.currentTarget as HTMLInputElement).value;
}

/** One labelled filter field: a text input, or a date-time picker for `from`/`to`. */
function Filter({
  label,
  value: current,
  onValue,
  dateTime = false,
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  dateTime?: boolean;
}) {
  return (
    <label class="field filter">
      <span class="field-label">{label}</span>
      <input
        class="input"
        {...(dateTime ? { type: 'datetime-local' } : {})}
        value={current}
        onInput={(e) => onValue(value(e))}
      />
    </label>
  );
}

function Pager<T, F>({
  view,
  load,
  what,
}: {
  view: RecordsView<T, F>;
  load: (offset: number) => void;
  what: string;
}) {
  const from = view.total === 0 ? 0 : view.offset + 1;
  const to = Math.min(view.offset + view.items.length, view.total);
  return (
    <div class="pager">
      <span class="muted" role="status">
        {view.loading ? 'Loading…' : `${from}–${to} of ${view.total} ${what}`}
      </span>
      <button
        class="btn btn-ghost btn-tiny"
        type="button"
        disabled={view.loading || view.offset === 0}
        onClick={() => load(Math.max(0, view.offset - view.limit))}
      >
        Previous page
      </button>
      <button
        class="btn btn-ghost btn-tiny"
        type="button"
        disabled={view.loading || view.offset + view.limit >= view.total}
        onClick={() => load(view.offset + view.limit)}
      >
        Next page
      </button>
    </div>
  );
}

export function AuditView({ state, session }: Props) {
  const v = state.audit;
  const f = v.filters;
  const load = (offset: number): void => void session.loadAudit(offset);
  return (
    <section class="records" aria-labelledby="audit-title">
      <div class="records-head">
        <h2 id="audit-title" class="dash-h1">
          Audit log
        </h2>
        <a
          class="btn btn-ghost btn-small"
          href={`/api/audit.csv${queryString(session.auditQuery())}`}
          download
        >
          Export CSV
        </a>
      </div>
      <form
        class="filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          load(0);
        }}
      >
        <Filter label="From" value={f.from} onValue={(v) => session.setAuditFilters({ from: v })} dateTime />
        <Filter label="To" value={f.to} onValue={(v) => session.setAuditFilters({ to: v })} dateTime />
        <Filter label="Room" value={f.roomId} onValue={(v) => session.setAuditFilters({ roomId: v })} />
        <Filter label="Actor" value={f.actor} onValue={(v) => session.setAuditFilters({ actor: v })} />
        <Filter label="Action" value={f.action} onValue={(v) => session.setAuditFilters({ action: v })} />
        <button class="btn btn-primary btn-small" type="submit">
          Search
        </button>
      </form>
      {v.error && (
        <p class="form-error" role="alert">
          {v.error}
        </p>
      )}
      <div class="table-wrap">
        <table class="dash-table" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Room</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
              <th scope="col">Outcome</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {v.items.length === 0 && (
              <tr>
                <td colSpan={8} class="table-empty">
                  {v.loading ? 'Loading…' : 'No entries match.'}
                </td>
              </tr>
            )}
            {v.items.map((a) => (
              <tr key={a.id}>
                <td class="mono nowrap">{formatDateTime(a.at)}</td>
                <td>{a.actor}</td>
                <td class="mono">{a.action}</td>
                <td class="mono">{a.roomId ?? '—'}</td>
                <td>{a.target ?? '—'}</td>
                <td class="mono">{a.source ?? '—'}</td>
                <td>
                  <span class={`tag ${a.outcome === 'ok' ? 'tag-ok' : 'tag-danger'}`}>
                    {a.outcome === 'ok' ? 'OK' : 'Error'}
                  </span>
                </td>
                <td class="cell-detail">{a.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager view={v} load={load} what="entries" />
    </section>
  );
}

export function CdrView({ state, session }: Props) {
  const v = state.cdrs;
  const f = v.filters;
  const load = (offset: number): void => void session.loadCdrs(offset);
  return (
    <section class="records" aria-labelledby="cdr-title">
      <div class="records-head">
        <h2 id="cdr-title" class="dash-h1">
          Call records
        </h2>
        <a class="btn btn-ghost btn-small" href={`/api/cdrs.csv${queryString(session.cdrQuery())}`} download>
          Export CSV
        </a>
      </div>
      <form
        class="filters"
        aria-label="Filter the call records"
        onSubmit={(e) => {
          e.preventDefault();
          load(0);
        }}
      >
        <Filter label="From" value={f.from} onValue={(v) => session.setCdrFilters({ from: v })} dateTime />
        <Filter label="To" value={f.to} onValue={(v) => session.setCdrFilters({ to: v })} dateTime />
        <Filter label="Room" value={f.roomId} onValue={(v) => session.setCdrFilters({ roomId: v })} />
        <Filter label="Name or URI" value={f.q} onValue={(v) => session.setCdrFilters({ q: v })} />
        <button class="btn btn-primary btn-small" type="submit">
          Search
        </button>
      </form>
      {v.error && (
        <p class="form-error" role="alert">
          {v.error}
        </p>
      )}
      <div class="table-wrap">
        <table class="dash-table" aria-label="Call records">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Room</th>
              <th scope="col">Caller</th>
              <th scope="col">Kind</th>
              <th scope="col">Direction</th>
              <th scope="col">Duration</th>
              <th scope="col">Codec</th>
              <th scope="col">Ended</th>
              <th scope="col">Quality</th>
            </tr>
          </thead>
          <tbody>
            {v.items.length === 0 && (
              <tr>
                <td colSpan={9} class="table-empty">
                  {v.loading ? 'Loading…' : 'No calls match.'}
                </td>
              </tr>
            )}
            {v.items.map((c) => {
              const grade = mosGrade(c.quality.mos);
              return (
                <tr key={c.id}>
                  <td class="mono nowrap">{formatDateTime(c.startedAt)}</td>
                  <td class="mono">{c.roomId}</td>
                  <td>
                    <span class="who">
                      <span class="who-name">{c.displayName}</span>
                      <span class="who-uri mono">{c.uri}</span>
                    </span>
                  </td>
                  <td>{KIND_LABEL[c.kind] ?? c.kind}</td>
                  <td>{c.direction === 'inbound' ? 'In' : 'Out'}</td>
                  <td class="mono">{formatDuration(c.durationSeconds * 1000)}</td>
                  <td class="mono">
                    {c.codec ?? '—'} · {c.transport.toUpperCase()}
                  </td>
                  <td>
                    <span class="mono nowrap">{formatDateTime(c.endedAt)}</span>
                    <span class="muted small block">{c.leaveReason}</span>
                  </td>
                  <td class="cell-quality">
                    <span class={`mos mos-${grade}`}>
                      <span class="mos-value mono">
                        {c.quality.mos === null ? '—' : c.quality.mos.toFixed(1)}
                      </span>
                      <span class="mos-label">{GRADE_LABEL[grade]}</span>
                    </span>
                    <span class="quality-figures mono">
                      <span>loss {formatLoss(c.quality)}</span>
                      <span>jitter {formatMs(c.quality.jitterMs)}</span>
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Pager view={v} load={load} what="calls" />
    </section>
  );
}
