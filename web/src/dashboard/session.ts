/**
 * The dashboard's session: signs in over REST (the server sets an HttpOnly cookie), keeps one /dashboard socket
 * whose snapshot and deltas it folds into the store, and runs every moderation action as a request with an
 * acknowledgement. It is the only writer of the page's store; the page never decides what it may do (the server
 * authorises every event), it only shows what the server said.
 */
import type {
  DashboardClientToServer,
  DashboardParticipant,
  DashboardRoom,
  DashboardSnapshot,
  Principal,
} from '../../../src/protocol/dashboard-protocol';
import type { Store } from '../common/store';
import {
  connectDashboard,
  connectErrorCode,
  DashboardError,
  postJson,
  request,
  type DashboardSocket,
} from './dashboard-client';
import { localInputToIso } from './format';
import {
  LEFT_KEPT,
  type AuditFilters,
  type CdrFilters,
  type DashboardState,
  type Dialog,
  type Tab,
} from './state';

function messageOf(err: unknown): string {
  if (err instanceof DashboardError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Sign-in errors as sentences an operator can act on. */
function signinMessage(err: unknown): string {
  if (!(err instanceof DashboardError)) return messageOf(err);
  switch (err.code) {
    case 'AUTH_BAD_CREDENTIALS':
      return 'Wrong username or password.';
    case 'AUTH_WRONG_PIN':
      return 'That moderator PIN is not right for this room.';
    case 'AUTH_RATE_LIMITED':
      return err.retryAfterSeconds
        ? `Too many failed sign-ins. Try again in ${formatWait(err.retryAfterSeconds)}.`
        : 'Too many failed sign-ins. Try again later.';
    default:
      return err.message;
  }
}

function formatWait(seconds: number): string {
  const s = Math.ceil(seconds);
  return s < 90 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

export class DashboardSession {
  private socket: DashboardSocket | null = null;
  private statusId = 0;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(private readonly store: Store<DashboardState>) {
    // Durations tick on screen; one timer for the page.
    this.ticker = setInterval(() => {
      if (this.state.phase === 'live') this.store.set({ now: Date.now() });
    }, 1000);
  }

  private get state(): DashboardState {
    return this.store.get();
  }

  /** Server time now (ms), from our clock and the skew measured at the last snapshot. */
  serverNow(): number {
    return this.state.now + this.state.skewMs;
  }

  // ------------------------------------------------------------------ sign-in, socket

  /** First thing on load: a cookie from an earlier visit may still be good; the socket finds out. */
  start(): void {
    this.connect();
  }

  async signIn(username: string, password: string): Promise<void> {
    await this.signInWith('/api/auth/login', { username, password });
  }

  async signInWithPin(roomId: string, moderatorPin: string): Promise<void> {
    await this.signInWith('/api/auth/pin', { roomId, moderatorPin });
  }

  private async signInWith(path: string, body: unknown): Promise<void> {
    if (this.state.signingIn) return;
    this.store.set({ signingIn: true, signinError: null });
    try {
      await postJson(path, body);
      this.connect();
    } catch (err) {
      this.store.set({ signingIn: false, signinError: signinMessage(err) });
    }
  }

  async signOut(): Promise<void> {
    this.closeSocket();
    try {
      await postJson('/api/auth/logout', {});
    } catch {
      // signed out locally anyway; the cookie is HttpOnly and expires on its own
    }
    this.toSignin(null);
  }

  private toSignin(message: string | null): void {
    this.closeSocket();
    this.store.set({
      phase: 'signin',
      signingIn: false,
      signinError: message,
      principal: null,
      rooms: {},
      participants: {},
      left: [],
      dialog: null,
      ladder: null,
      busy: {},
      reconnecting: false,
    });
  }

  private connect(): void {
    this.closeSocket();
    const socket = connectDashboard();
    this.socket = socket;
    socket.on('connect', () => this.store.set({ reconnecting: false }));
    socket.on('connect_error', (err) => {
      if (this.socket !== socket) return;
      const code = connectErrorCode(err);
      if (code === 'AUTH_REQUIRED' || code === 'AUTH_FORBIDDEN') {
        const wasTrying = this.state.signingIn;
        this.toSignin(wasTrying ? 'Signed in, but the dashboard refused the session. Sign in again.' : null);
        return;
      }
      // Transient (server restarting, network): socket.io retries by itself.
      if (this.state.phase === 'live') this.store.set({ reconnecting: true });
      else if (this.state.phase === 'checking' || this.state.signingIn)
        this.store.set({
          phase: this.state.phase === 'checking' ? 'signin' : this.state.phase,
          signingIn: false,
          signinError: `The dashboard cannot connect: ${err.message}`,
        });
    });
    socket.on('disconnect', (reason) => {
      if (this.socket !== socket) return;
      // The server closing the socket means the session is over; anything else is a drop socket.io repairs.
      if (reason === 'io server disconnect') this.toSignin('The server ended this session. Sign in again.');
      else this.store.set({ reconnecting: true });
    });
    socket.on('signedOut', (e) => {
      if (this.socket === socket) this.toSignin(`Signed out: ${e.reason}.`);
    });
    socket.on('snapshot', (s) => this.onSnapshot(s));
    socket.on('room', (r) => this.upsertRoom(r));
    socket.on('roomClosed', ({ roomId }) => this.removeRoom(roomId));
    // The livestream's own news (the room's `streaming` flag comes with `room`): live, and why it failed.
    socket.on('livestream', (e) => {
      if (e.state === 'live') this.say(`Livestream of ${e.roomId} is live${e.restarts ? ' again' : ''}.`);
      else if (e.state === 'restarting')
        this.say(`Livestream of ${e.roomId}: ffmpeg restarting (${e.error ?? 'exited'}).`, true);
      else if (e.state === 'failed')
        this.say(`Livestream of ${e.roomId} failed: ${e.error ?? 'unknown error'}.`, true);
    });
    socket.on('participant', (p) => this.upsertParticipant(p));
    socket.on('user', (u) => this.store.set((s) => ({ users: { ...s.users, [u.user]: u } })));
    socket.on('participantLeft', (e) => this.removeParticipant(e.participantId, e.reason));
    socket.on('speaking', ({ changes }) => {
      const participants = { ...this.state.participants };
      let changed = false;
      for (const c of changes) {
        const p = participants[c.participantId];
        if (p && p.speaking !== c.speaking) {
          participants[c.participantId] = { ...p, speaking: c.speaking };
          changed = true;
        }
      }
      if (changed) this.store.set({ participants });
    });
    socket.on('quality', ({ figures }) => {
      const participants = { ...this.state.participants };
      for (const f of figures) {
        const p = participants[f.participantId];
        if (p) participants[f.participantId] = { ...p, quality: f.quality };
      }
      this.store.set({ participants });
    });
  }

  private closeSocket(): void {
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.removeAllListeners();
      s.disconnect();
    }
  }

  // ------------------------------------------------------------------ the live view

  private onSnapshot(s: DashboardSnapshot): void {
    const rooms: Record<string, DashboardRoom> = {};
    for (const r of s.rooms) rooms[r.id] = r;
    const participants: Record<string, DashboardParticipant> = {};
    for (const p of s.participants) participants[p.id] = p;
    const serverNow = Date.parse(s.now);
    const selected = this.state.selectedRoom;
    const users: DashboardState['users'] = {};
    for (const u of s.users ?? []) users[u.user] = u;
    this.store.set({
      phase: 'live',
      signingIn: false,
      signinError: null,
      reconnecting: false,
      principal: s.principal,
      rooms,
      participants,
      users,
      skewMs: Number.isFinite(serverNow) ? serverNow - Date.now() : 0,
      now: Date.now(),
      selectedRoom: selected && rooms[selected] ? selected : (s.rooms[0]?.id ?? null),
    });
  }

  private upsertRoom(r: DashboardRoom): void {
    this.store.set((s) => ({
      rooms: { ...s.rooms, [r.id]: r },
      selectedRoom: s.selectedRoom ?? r.id,
    }));
  }

  private removeRoom(roomId: string): void {
    this.store.set((s) => {
      const rooms = { ...s.rooms };
      delete rooms[roomId];
      const participants: Record<string, DashboardParticipant> = {};
      for (const p of Object.values(s.participants)) if (p.roomId !== roomId) participants[p.id] = p;
      return {
        rooms,
        participants,
        selectedRoom: s.selectedRoom === roomId ? (Object.keys(rooms)[0] ?? null) : s.selectedRoom,
      };
    });
  }

  private upsertParticipant(p: DashboardParticipant): void {
    this.store.set((s) => ({
      participants: { ...s.participants, [p.id]: p },
      // a participant moved back in is not "left" any more
      left: s.left.filter((l) => l.participant.id !== p.id),
    }));
  }

  private removeParticipant(id: string, reason: string): void {
    this.store.set((s) => {
      const p = s.participants[id];
      if (!p) return {};
      const participants = { ...s.participants };
      delete participants[id];
      return {
        participants,
        left: [{ participant: p, reason, leftAt: Date.now() }, ...s.left].slice(0, LEFT_KEPT),
      };
    });
  }

  selectRoom(roomId: string): void {
    this.store.set({ selectedRoom: roomId });
  }

  setTab(tab: Tab): void {
    this.store.set({ tab });
    if (tab === 'audit' && !this.state.audit.loaded) void this.loadAudit(0);
    if (tab === 'cdrs' && !this.state.cdrs.loaded) void this.loadCdrs(0);
  }

  // ------------------------------------------------------------------ status line, dialogs

  /** Shows `text` in the status line (announced by screen readers); it fades after a while. */
  say(text: string, error = false): void {
    const id = ++this.statusId;
    this.store.set({ status: { id, text, error } });
    clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(
      () => {
        if (this.state.status?.id === id) this.store.set({ status: null });
      },
      error ? 15000 : 8000,
    );
  }

  open(dialog: Dialog): void {
    this.store.set({ dialog });
  }

  closeDialog(): void {
    this.store.set({ dialog: null });
  }

  /** Runs one action: its button is busy meanwhile; success or the server's refusal goes to the status line. */
  private async act<T>(
    key: string,
    done: string | ((result: T) => string),
    run: (s: DashboardSocket) => Promise<T>,
  ): Promise<boolean> {
    const socket = this.socket;
    if (!socket) {
      this.say('Not connected.', true);
      return false;
    }
    if (this.state.busy[key]) return false;
    this.store.set((s) => ({ busy: { ...s.busy, [key]: true } }));
    try {
      const result = await run(socket);
      this.say(typeof done === 'string' ? done : done(result));
      return true;
    } catch (err) {
      const code = err instanceof DashboardError ? ` (${err.code})` : '';
      this.say(`${messageOf(err)}${code}`, true);
      return false;
    } finally {
      this.store.set((s) => {
        const busy = { ...s.busy };
        delete busy[key];
        return { busy };
      });
    }
  }

  // ------------------------------------------------------------------ actions

  mute(p: DashboardParticipant, muted: boolean): Promise<boolean> {
    return this.act(`mute:${p.id}`, `${p.displayName} ${muted ? 'muted' : 'unmuted'}.`, (s) =>
      request(s, 'mute', { roomId: p.roomId, participantId: p.id, muted }),
    );
  }

  kick(p: DashboardParticipant): Promise<boolean> {
    return this.act(`kick:${p.id}`, `${p.displayName} removed from the room.`, (s) =>
      request(s, 'kick', { roomId: p.roomId, participantId: p.id }),
    );
  }

  /** A webinar's attendee may speak (`true`), or a panelist goes back to the audience. */
  promote(p: DashboardParticipant, up: boolean): Promise<boolean> {
    return this.act(
      `promote:${p.id}`,
      `${p.displayName} ${up ? 'promoted to panelist' : 'back in the audience'}.`,
      (s) => request(s, up ? 'promote' : 'demote', { roomId: p.roomId, participantId: p.id }),
    );
  }

  /** Lets a person waiting in a webinar's lobby in (`true`), or turns it away. */
  admit(p: DashboardParticipant, yes: boolean): Promise<boolean> {
    return this.act(`admit:${p.id}`, `${p.displayName} ${yes ? 'admitted' : 'turned away'}.`, (s) =>
      request(s, yes ? 'admit' : 'deny', { roomId: p.roomId, participantId: p.id }),
    );
  }

  move(p: DashboardParticipant, toRoomId: string): Promise<boolean> {
    return this.act(`move:${p.id}`, `${p.displayName} moved to ${toRoomId}.`, (s) =>
      request(s, 'move', { roomId: p.roomId, participantId: p.id, toRoomId }),
    );
  }

  muteAll(roomId: string, muted: boolean): Promise<boolean> {
    return this.act(
      `muteAll:${roomId}`,
      (r: { participants: string[] }) =>
        `${muted ? 'Muted' : 'Unmuted'} ${r.participants.length} in ${roomId}.`,
      (s) => request(s, 'muteAll', { roomId, muted }),
    );
  }

  lock(roomId: string, locked: boolean): Promise<boolean> {
    return this.act(`lock:${roomId}`, `${roomId} ${locked ? 'locked' : 'unlocked'}.`, (s) =>
      request(s, 'lock', { roomId, locked }),
    );
  }

  endRoom(roomId: string): Promise<boolean> {
    return this.act(`end:${roomId}`, `${roomId} ended.`, (s) => request(s, 'endRoom', { roomId }));
  }

  deleteRoom(roomId: string): Promise<boolean> {
    return this.act(`delete:${roomId}`, `${roomId} deleted.`, (s) => request(s, 'deleteRoom', { roomId }));
  }

  dial(roomId: string, target: string): Promise<boolean> {
    // While it rings the callee is listed as joining; a refusal shows the catalogue message ("busy: 486 Busy Here",
    // "timeout: no answer within 60 s").
    return this.act(`dial:${roomId}`, `${target} answered.`, async (s) => {
      const r = await request(s, 'dial', { roomId, target });
      this.upsertParticipant(r.participant);
    });
  }

  livestream(roomId: string, start: boolean): Promise<boolean> {
    return this.act(`stream:${roomId}`, `Livestream ${start ? 'started' : 'stopped'}.`, (s) =>
      start ? request(s, 'startLivestream', { roomId }) : request(s, 'stopLivestream', { roomId }),
    );
  }

  createRoom(req: {
    roomId: string;
    displayName?: string;
    pin?: string;
    moderatorPin?: string;
  }): Promise<boolean> {
    return this.act('createRoom', `Room ${req.roomId} created.`, async (s) => {
      const room = await request(s, 'createRoom', req);
      this.upsertRoom(room);
      this.store.set({ selectedRoom: room.id });
    });
  }

  claimRoom(roomId: string, moderatorPin: string): Promise<boolean> {
    return this.act('claimRoom', `You moderate ${roomId} now.`, async (s) => {
      // The server sends a fresh snapshot with the newly visible room right after the answer.
      const principal: Principal = await request(s, 'claimRoom', { roomId, moderatorPin });
      this.store.set({ principal });
    });
  }

  // ------------------------------------------------------------------ the call ladder

  async openLadder(p: DashboardParticipant): Promise<void> {
    this.store.set({
      ladder: {
        participantId: p.id,
        roomId: p.roomId,
        displayName: p.displayName,
        ladder: null,
        error: null,
        selected: null,
      },
    });
    const socket = this.socket;
    if (!socket) return;
    try {
      const ladder = await request(socket, 'ladder', { roomId: p.roomId, participantId: p.id });
      if (this.state.ladder?.participantId === p.id)
        this.store.set((s) => ({ ladder: s.ladder && { ...s.ladder, ladder } }));
    } catch (err) {
      if (this.state.ladder?.participantId === p.id)
        this.store.set((s) => ({ ladder: s.ladder && { ...s.ladder, error: messageOf(err) } }));
    }
  }

  selectLadderMessage(index: number | null): void {
    this.store.set((s) => ({ ladder: s.ladder && { ...s.ladder, selected: index } }));
  }

  closeLadder(): void {
    this.store.set({ ladder: null });
  }

  // ------------------------------------------------------------------ audit log, call records

  setAuditFilters(f: Partial<AuditFilters>): void {
    this.store.set((s) => ({ audit: { ...s.audit, filters: { ...s.audit.filters, ...f } } }));
  }

  setCdrFilters(f: Partial<CdrFilters>): void {
    this.store.set((s) => ({ cdrs: { ...s.cdrs, filters: { ...s.cdrs.filters, ...f } } }));
  }

  /** The audit query of the current filters (also the CSV link's query string). */
  auditQuery(): Omit<Parameters<DashboardClientToServer['audit']>[0], 'limit' | 'offset'> {
    const f = this.state.audit.filters;
    return clean({
      from: localInputToIso(f.from),
      to: localInputToIso(f.to),
      roomId: f.roomId.trim() || undefined,
      actor: f.actor.trim() || undefined,
      action: f.action.trim() || undefined,
    });
  }

  cdrQuery(): Omit<Parameters<DashboardClientToServer['cdrs']>[0], 'limit' | 'offset'> {
    const f = this.state.cdrs.filters;
    return clean({
      from: localInputToIso(f.from),
      to: localInputToIso(f.to),
      roomId: f.roomId.trim() || undefined,
      q: f.q.trim() || undefined,
    });
  }

  async loadAudit(offset: number): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const limit = this.state.audit.limit;
    this.store.set((s) => ({ audit: { ...s.audit, loading: true, error: null } }));
    try {
      const page = await request(socket, 'audit', { ...this.auditQuery(), limit, offset });
      this.store.set((s) => ({
        audit: { ...s.audit, ...page, offset, loading: false, loaded: true },
      }));
    } catch (err) {
      this.store.set((s) => ({ audit: { ...s.audit, loading: false, loaded: true, error: messageOf(err) } }));
    }
  }

  async loadCdrs(offset: number): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const limit = this.state.cdrs.limit;
    this.store.set((s) => ({ cdrs: { ...s.cdrs, loading: true, error: null } }));
    try {
      const page = await request(socket, 'cdrs', { ...this.cdrQuery(), limit, offset });
      this.store.set((s) => ({ cdrs: { ...s.cdrs, ...page, offset, loading: false, loaded: true } }));
    } catch (err) {
      this.store.set((s) => ({ cdrs: { ...s.cdrs, loading: false, loaded: true, error: messageOf(err) } }));
    }
  }

  close(): void {
    clearInterval(this.ticker);
    clearTimeout(this.statusTimer);
    this.closeSocket();
  }
}

/** The object without its undefined fields. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** `?a=1&b=2` of a query object (for the CSV links). */
export function queryString(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
