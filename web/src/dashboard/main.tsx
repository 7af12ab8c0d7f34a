/** `/dashboard`: sign in, then the live rooms and participants, the call ladder, the audit log and call records. */
import { render } from 'preact';
import { Logo } from '../common/icons';
import { useStore } from '../common/store';
import { Dialogs } from './dialogs';
import { LadderDialog } from './ladder';
import { LiveView } from './live';
import { AuditView, CdrView } from './records';
import { DashboardSession } from './session';
import { SignIn } from './signin';
import { createDashboardStore, type DashboardState, type Tab } from './state';

const store = createDashboardStore();
const session = new DashboardSession(store);

const TABS: Array<[Tab, string]> = [
  ['live', 'Live'],
  ['audit', 'Audit log'],
  ['cdrs', 'Call records'],
];

function Header({ state }: { state: DashboardState }) {
  const p = state.principal;
  return (
    <header class="dash-header">
      <Logo />
      <span class="dash-product">Dashboard</span>
      <nav class="tabs" aria-label="Sections">
        {TABS.map(([tab, label]) => (
          <button
            key={tab}
            type="button"
            class={`tab${state.tab === tab ? ' active' : ''}`}
            aria-current={state.tab === tab ? 'page' : undefined}
            onClick={() => session.setTab(tab)}
          >
            {label}
          </button>
        ))}
      </nav>
      <span class="dash-spacer" />
      {state.reconnecting ? (
        <span class="chip chip-warn">
          <span class="spinner" aria-hidden="true" /> Reconnecting…
        </span>
      ) : (
        <span class="chip chip-ok">
          <span class="live-dot" aria-hidden="true" /> Live
        </span>
      )}
      {p && (
        <span class="whoami">
          <span class="whoami-name">{p.name}</span>
          <span class="whoami-role">
            {p.kind === 'pin' ? `moderator of ${p.roomGrants.join(', ')}` : p.role}
          </span>
        </span>
      )}
      <button class="btn btn-ghost btn-small" type="button" onClick={() => void session.signOut()}>
        Sign out
      </button>
    </header>
  );
}

function App() {
  const state = useStore(store);
  if (state.phase !== 'live') return <SignIn state={state} session={session} />;
  return (
    <div class="dash">
      <Header state={state} />
      <main class="dash-main">
        {state.tab === 'live' && <LiveView state={state} session={session} />}
        {state.tab === 'audit' && <AuditView state={state} session={session} />}
        {state.tab === 'cdrs' && <CdrView state={state} session={session} />}
      </main>
      <div class={`status-line${state.status?.error ? ' error' : ''}`} role="status" aria-live="polite">
        {state.status?.text}
      </div>
      <Dialogs state={state} session={session} />
      <LadderDialog state={state} session={session} />
    </div>
  );
}

document.title = 'Dashboard · Parley';
session.start();
render(<App />, document.getElementById('app')!);
