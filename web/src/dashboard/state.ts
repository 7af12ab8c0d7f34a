/**
 * The dashboard page's one store: everything the components render. The session (session.ts) is its only writer;
 * components read it and call the session's methods.
 */
import type {
  AuditEntryView,
  CallLadder,
  CdrView,
  DashboardParticipant,
  DashboardRoom,
  Principal,
  UserAvailabilityView,
} from '../../../src/protocol/dashboard-protocol';
import { Store } from '../common/store';

/** `checking`: trying the cookie we may already have; `signin`: the forms; `live`: connected (or reconnecting). */
export type Phase = 'checking' | 'signin' | 'live';
export type Tab = 'live' | 'audit' | 'cdrs';

/** A participant who left while this page watched: its call ladder stays viewable for a while. */
export interface LeftParticipant {
  participant: DashboardParticipant;
  reason: string;
  leftAt: number;
}

export interface AuditFilters {
  from: string;
  to: string;
  roomId: string;
  actor: string;
  action: string;
}

export interface CdrFilters {
  from: string;
  to: string;
  roomId: string;
  q: string;
}

/** One paged table (audit log or call records). */
export interface RecordsView<T, F> {
  filters: F;
  offset: number;
  limit: number;
  items: T[];
  total: number;
  loading: boolean;
  error: string | null;
  /** Loaded at least once since the tab was opened. */
  loaded: boolean;
}

/** The modal dialog that is open, if any (one at a time). */
export type Dialog =
  | {
      kind: 'confirm';
      title: string;
      text: string;
      action: string;
      danger: boolean;
      run: () => Promise<void>;
    }
  | { kind: 'move'; participant: DashboardParticipant }
  | { kind: 'dial'; roomId: string }
  | { kind: 'create' }
  | { kind: 'claim' };

export interface LadderView {
  participantId: string;
  roomId: string;
  displayName: string;
  ladder: CallLadder | null;
  error: string | null;
  /** Index of the message whose raw text is shown. */
  selected: number | null;
}

export interface DashboardState {
  phase: Phase;
  /** The socket dropped and socket.io is reconnecting (the view is stale until the next snapshot). */
  reconnecting: boolean;
  signingIn: boolean;
  signinError: string | null;
  principal: Principal | null;
  rooms: Record<string, DashboardRoom>;
  participants: Record<string, DashboardParticipant>;
  /** Our SIP users' availability by name (registrar): accounts and tokens only. */
  users: Record<string, UserAvailabilityView>;
  /** Most recent first, bounded. */
  left: LeftParticipant[];
  /** Server clock minus ours (ms), from the last snapshot: durations are counted on the server's clock. */
  skewMs: number;
  /** Our clock, advanced every second so durations tick. */
  now: number;
  selectedRoom: string | null;
  tab: Tab;
  /** The aria-live status line: the outcome of the last action. */
  status: { id: number; text: string; error: boolean } | null;
  /** Actions awaiting their acknowledgement, by a key such as `mute:<participant>` (their buttons are disabled). */
  busy: Record<string, true>;
  dialog: Dialog | null;
  ladder: LadderView | null;
  audit: RecordsView<AuditEntryView, AuditFilters>;
  cdrs: RecordsView<CdrView, CdrFilters>;
}

export const PAGE_SIZE = 50;
export const LEFT_KEPT = 20;

function records<T, F>(filters: F): RecordsView<T, F> {
  return {
    filters,
    offset: 0,
    limit: PAGE_SIZE,
    items: [],
    total: 0,
    loading: false,
    error: null,
    loaded: false,
  };
}

export function createDashboardStore(): Store<DashboardState> {
  return new Store<DashboardState>({
    phase: 'checking',
    reconnecting: false,
    signingIn: false,
    signinError: null,
    principal: null,
    rooms: {},
    participants: {},
    users: {},
    left: [],
    skewMs: 0,
    now: Date.now(),
    selectedRoom: null,
    tab: 'live',
    status: null,
    busy: {},
    dialog: null,
    ladder: null,
    audit: records<AuditEntryView, AuditFilters>({ from: '', to: '', roomId: '', actor: '', action: '' }),
    cdrs: records<CdrView, CdrFilters>({ from: '', to: '', roomId: '', q: '' }),
  });
}
