/**
 * The dashboard's socket.io namespace against real parts: a real App in-process (SIP stack, mediasoup worker,
 * media thread, HTTP server on 127.0.0.1 port 0, its AuthService and ModerationService on a real SQLite file in a
 * temporary data directory) and real `socket.io-client` dashboards; callers are Node SIP phones (our own stack,
 * PCMU over UDP) dialling into the rooms and typing the room PIN (RFC 4733).
 */
import { io as connect, type Socket } from 'socket.io-client';
import type { App } from '../../../src/app';
import type { AuthService } from '../../../src/moderation/auth/auth-service';
import type { DashboardSignaling } from '../../../src/moderation/dashboard/dashboard-signaling';
import {
  DASHBOARD_NAMESPACE,
  SESSION_COOKIE,
  type AckResult,
  type DashboardClientToServer,
  type DashboardServerToClient,
  type DashboardSnapshot,
} from '../../../src/protocol/dashboard-protocol';
import { SipError } from '../../../src/sip/errors';
import type { Store } from '../../../src/storage/store';
import { SipPhone } from '../../support/sip-phone';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';

jest.setTimeout(60_000);

const ADMIN_PASSWORD = 'correct horse battery';

type Client = Socket<DashboardServerToClient, DashboardClientToServer>;
interface Received {
  event: string;
  payload: unknown;
  at: number;
}

let running: InProcessApp | undefined;
let app: App;
let store: Store;
let auth: AuthService;
let dashboard: DashboardSignaling;
let url: string;
let sipPort: number;
const phones: SipPhone[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  running = await startInProcessApp({
    name: 'dashboard',
    portBase: 38000,
    overrides: {
      auth: { adminPassword: ADMIN_PASSWORD },
      conference: {
        rooms: [
          { name: 'alpha', pin: '1000', moderatorPin: '1111' },
          { name: 'bravo', pin: '2000', moderatorPin: '2222' },
        ],
      },
    },
  });
  app = running.app;
  store = app.store;
  auth = app.auth;
  dashboard = app.dashboard;
  url = `http://127.0.0.1:${app.http.port}${DASHBOARD_NAMESPACE}`;
  sipPort = app.sip.ports.udp!;
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(phones.map((p) => p.close()));
  dashboard?.close();
  dashboard?.close(); // idempotent
  await running?.close();
});

// ------------------------------------------------------------------ helpers

async function adminCookie(): Promise<string> {
  const s = await auth.login('admin', ADMIN_PASSWORD, '127.0.0.1');
  return `${SESSION_COOKIE}=${s.secret}`;
}

function pinCookie(room: string, pin: string): string {
  return `${SESSION_COOKIE}=${auth.pinSession(room, pin, '127.0.0.1').secret}`;
}

/** A dashboard: connects with `cookie` (or none), records every pushed event, resolves with its first snapshot. */
async function dashboardClient(
  cookie: string | undefined,
): Promise<{ c: Client; events: Received[]; snapshot: DashboardSnapshot }> {
  const c: Client = connect(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(cookie ? { extraHeaders: { cookie } } : {}),
  });
  clients.push(c);
  const events: Received[] = [];
  c.onAny((event: string, payload: unknown) => events.push({ event, payload, at: Date.now() }));
  const snapshot = await new Promise<DashboardSnapshot>((resolve, reject) => {
    c.once('snapshot', resolve);
    c.once('connect_error', reject);
  });
  return { c, events, snapshot };
}

/** Sends a command and resolves with its ack. */
function ask(c: Client, event: string, ...payload: unknown[]): Promise<AckResult<unknown>> {
  return new Promise((resolve) => {
    (c.emit as (e: string, ...a: unknown[]) => void)(event, ...payload, resolve);
  });
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const ROOM_PIN: Record<string, string> = { alpha: '1000', bravo: '2000' };

/** Calls `room` and types its PIN (the caller then joins as a participant). */
async function call(room: string, user: string, tone: number | null = null): Promise<SipPhone> {
  const p = await SipPhone.call({ target: `sip:${room}@127.0.0.1:${sipPort}`, user, codec: 'PCMU', tone });
  phones.push(p);
  const pin = ROOM_PIN[room];
  if (pin) await p.rfc4733(`${pin}#`);
  return p;
}

/** The participant id of the caller named `user` in `room`, once it has joined. */
async function joinedId(room: string, user: string): Promise<string> {
  return until(`${user} in ${room}`, () => {
    const r = app.conference.listRooms().find((x) => x.id === room);
    return r?.participants().find((p) => p.displayName === user && p.state === 'joined')?.id;
  });
}

const participantEvents = (events: Received[], name: string): Received[] =>
  events.filter(
    (e) => e.event === 'participant' && (e.payload as { displayName: string }).displayName === name,
  );

// ------------------------------------------------------------------ tests

test('no credentials, or a session that does not exist: the handshake is refused with AUTH_REQUIRED', async () => {
  for (const cookie of [undefined, `${SESSION_COOKIE}=not-a-session`]) {
    const c: Client = connect(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...(cookie ? { extraHeaders: { cookie } } : {}),
    });
    clients.push(c);
    const err = await new Promise<Error & { data?: { code: string } }>((resolve) =>
      c.once('connect_error', resolve),
    );
    expect(err.message).toBe('AUTH_REQUIRED');
    expect(err.data?.code).toBe('AUTH_REQUIRED');
    expect(c.connected).toBe(false);
  }
});

test('the snapshot lists the callers; a caller joining and leaving is pushed live; a reconnect gets the full state', async () => {
  const alice = await call('alpha', 'Alice');
  const aliceId = await joinedId('alpha', 'Alice');
  const { c, events, snapshot } = await dashboardClient(await adminCookie());
  expect(snapshot.principal).toMatchObject({ kind: 'account', name: 'admin', role: 'admin' });
  expect(snapshot.rooms.map((r) => r.id)).toContain('alpha');
  expect(snapshot.rooms.find((r) => r.id === 'alpha')).toMatchObject({ declared: true, participants: 1 });
  expect(snapshot.participants).toEqual([
    expect.objectContaining({
      id: aliceId,
      roomId: 'alpha',
      kind: 'sip',
      displayName: 'Alice',
      codec: 'PCMU',
      muted: false,
      state: 'joined',
      quality: { loss: null, jitterMs: null, rttMs: null, mos: null },
    }),
  ]);

  // Bob joins: pushed (admitted, then joined), and the room's count follows
  const bob = await call('alpha', 'Bob');
  const bobId = await joinedId('alpha', 'Bob');
  await until('Bob joined pushed', () =>
    participantEvents(events, 'Bob').find((e) => (e.payload as { state: string }).state === 'joined'),
  );
  expect(
    events.some(
      (e) => e.event === 'room' && (e.payload as { id: string; participants: number }).participants === 2,
    ),
  ).toBe(true);

  // Bob hangs up: participantLeft
  await bob.close();
  const left = await until('Bob left pushed', () =>
    events.find(
      (e) =>
        e.event === 'participantLeft' && (e.payload as { participantId: string }).participantId === bobId,
    ),
  );
  expect(left.payload).toMatchObject({ roomId: 'alpha', participantId: bobId });

  // a new connection: the full state again (Alice only)
  c.disconnect();
  const again = await dashboardClient(await adminCookie());
  expect(again.snapshot.participants.map((p) => p.id)).toEqual([aliceId]);
  // and the snapshot command answers the same
  const asked = await ask(again.c, 'snapshot');
  expect(asked.ok).toBe(true);
  expect((asked as { data: DashboardSnapshot }).data.participants.map((p) => p.id)).toEqual([aliceId]);
  void alice;
});

test('mute through the dashboard: the participant is muted in the conference, pushed, and audited with actor, action, target and source', async () => {
  const carol = await call('alpha', 'Carol');
  const carolId = await joinedId('alpha', 'Carol');
  const { c, events } = await dashboardClient(await adminCookie());
  const res = await ask(c, 'mute', { roomId: 'alpha', participantId: carolId, muted: true });
  expect(res).toEqual({ ok: true, data: null });
  expect(app.conference.participantIn('alpha', carolId).muted).toBe(true);
  await until('mute pushed', () =>
    participantEvents(events, 'Carol').find((e) => (e.payload as { muted: boolean }).muted),
  );
  const audit = store.audit.query({ action: 'mute', roomId: 'alpha', limit: 10, offset: 0 });
  expect(audit.items[0]).toMatchObject({
    actor: 'admin',
    action: 'mute',
    roomId: 'alpha',
    outcome: 'ok',
    target: `${carolId} (Carol)`,
  });
  expect(audit.items[0]!.source).toMatch(/127\.0\.0\.1/);
  // the audit is searchable from the dashboard too
  const page = await ask(c, 'audit', { action: 'mute' });
  expect(page.ok).toBe(true);
  expect((page as { data: { items: Array<{ target: string }> } }).data.items[0]!.target).toBe(
    `${carolId} (Carol)`,
  );

  expect(await ask(c, 'mute', { roomId: 'alpha', participantId: carolId, muted: false })).toEqual({
    ok: true,
    data: null,
  });
  expect(app.conference.participantIn('alpha', carolId).muted).toBe(false);
  await carol.close();
});

test('kick: the phone gets a BYE with a Reason header; lock: a new caller gets 403 until unlocked', async () => {
  const dave = await call('alpha', 'Dave');
  const daveId = await joinedId('alpha', 'Dave');
  const { c, events } = await dashboardClient(await adminCookie());
  expect(await ask(c, 'kick', { roomId: 'alpha', participantId: daveId })).toEqual({ ok: true, data: null });
  await dave.waitTerminated(10_000);
  expect(dave.byeFromServer?.headers.get('Reason')).toBeTruthy();
  const left = await until('Dave left pushed', () =>
    events.find(
      (e) =>
        e.event === 'participantLeft' && (e.payload as { participantId: string }).participantId === daveId,
    ),
  );
  expect((left.payload as { reason: string }).reason).toBe('kicked');

  expect(await ask(c, 'lock', { roomId: 'alpha', locked: true })).toEqual({ ok: true, data: null });
  await until('lock pushed', () =>
    events.find((e) => e.event === 'room' && (e.payload as { id: string; locked: boolean }).locked),
  );
  const refused = await call('alpha', 'Eve').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(SipError);
  expect((refused as SipError).status).toBe(403);
  expect(await ask(c, 'lock', { roomId: 'alpha', locked: false })).toEqual({ ok: true, data: null });
  const eve = await call('alpha', 'Eve');
  await joinedId('alpha', 'Eve');
  await eve.close();
});

test("a moderator-PIN session of room alpha: AUTH_FORBIDDEN on every bravo command, and none of bravo's events", async () => {
  const frank = await call('bravo', 'Frank');
  const frankId = await joinedId('bravo', 'Frank');
  const grace = await call('alpha', 'Grace');
  const graceId = await joinedId('alpha', 'Grace');
  const pin = await dashboardClient(pinCookie('alpha', '1111'));
  const admin = await dashboardClient(await adminCookie());
  expect(pin.snapshot.principal).toMatchObject({ kind: 'pin', roomGrants: ['alpha'] });
  expect(pin.snapshot.rooms.map((r) => r.id)).toEqual(['alpha']);
  expect(pin.snapshot.participants.every((p) => p.roomId === 'alpha')).toBe(true);
  expect(admin.snapshot.rooms.map((r) => r.id).sort()).toEqual(expect.arrayContaining(['alpha', 'bravo']));

  const ref = { roomId: 'bravo', participantId: frankId };
  const attempts: Array<[string, unknown]> = [
    ['mute', { ...ref, muted: true }],
    ['muteAll', { roomId: 'bravo', muted: true }],
    ['kick', ref],
    ['lock', { roomId: 'bravo', locked: true }],
    ['dial', { roomId: 'bravo', target: 'sip:nobody@127.0.0.1:9' }],
    ['move', { ...ref, toRoomId: 'alpha' }],
    ['move', { roomId: 'alpha', participantId: graceId, toRoomId: 'bravo' }],
    ['endRoom', { roomId: 'bravo' }],
    ['deleteRoom', { roomId: 'bravo' }],
    ['startLivestream', { roomId: 'bravo' }],
    ['stopLivestream', { roomId: 'bravo' }],
    ['ladder', ref],
    ['audit', { roomId: 'bravo' }],
    ['cdrs', { roomId: 'bravo' }],
    ['createRoom', { roomId: 'charlie' }],
  ];
  for (const [event, payload] of attempts) {
    const res = await ask(pin.c, event, payload);
    expect({ event, res }).toEqual({
      event,
      res: { ok: false, error: expect.objectContaining({ code: 'AUTH_FORBIDDEN' }) },
    });
  }
  // nothing happened to bravo
  expect(app.conference.participantIn('bravo', frankId).muted).toBe(false);
  expect(app.conference.getRoom('bravo').view().locked).toBe(false);
  expect(app.conference.participantIn('alpha', graceId)).toBeTruthy();
  // its own room works
  expect(await ask(pin.c, 'mute', { roomId: 'alpha', participantId: graceId, muted: true })).toEqual({
    ok: true,
    data: null,
  });
  const audit = store.audit.query({ actor: 'pin:alpha', action: 'mute', limit: 10, offset: 0 });
  expect(audit.items.map((a) => a.outcome)).toEqual(expect.arrayContaining(['ok', 'error']));

  // bravo changes reach the admin, never the PIN dashboard
  const henry = await call('bravo', 'Henry');
  await joinedId('bravo', 'Henry');
  admin.c.emit('mute', { roomId: 'bravo', participantId: frankId, muted: true }, () => undefined);
  await until('admin saw Henry', () => participantEvents(admin.events, 'Henry')[0]);
  await until('admin saw Frank muted', () =>
    participantEvents(admin.events, 'Frank').find((e) => (e.payload as { muted: boolean }).muted),
  );
  await henry.close();
  await until('admin saw Henry leave', () =>
    admin.events.find(
      (e) => e.event === 'participantLeft' && (e.payload as { roomId: string }).roomId === 'bravo',
    ),
  );
  const leaked = pin.events.filter((e) => {
    const p = e.payload as { roomId?: string; id?: string } | undefined;
    return p?.roomId === 'bravo' || (e.event === 'room' && p?.id === 'bravo');
  });
  expect(leaked).toEqual([]);
  // and the PIN dashboard's audit search only ever shows its room
  const mine = await ask(pin.c, 'audit', {});
  expect(mine.ok).toBe(true);
  const items = (mine as { data: { items: Array<{ roomId: string | null }> } }).data.items;
  expect(items.length).toBeGreaterThan(0);
  expect(items.every((i) => i.roomId === 'alpha')).toBe(true);

  // claiming bravo with its moderator PIN opens it: a fresh snapshot and the room's commands
  expect(await ask(pin.c, 'claimRoom', { roomId: 'bravo', moderatorPin: '9999' })).toMatchObject({
    ok: false,
    error: { code: 'AUTH_WRONG_PIN' },
  });
  const snaps = pin.events.filter((e) => e.event === 'snapshot').length;
  const claimed = await ask(pin.c, 'claimRoom', { roomId: 'bravo', moderatorPin: '2222' });
  expect(claimed).toMatchObject({ ok: true, data: { roomGrants: ['alpha', 'bravo'] } });
  await until('fresh snapshot', () => pin.events.filter((e) => e.event === 'snapshot').length > snaps);
  expect(await ask(pin.c, 'mute', { ...ref, muted: false })).toEqual({ ok: true, data: null });
  await until('PIN dashboard sees bravo now', () =>
    participantEvents(pin.events, 'Frank').find((e) => !(e.payload as { muted: boolean }).muted),
  );
  await frank.close();
  await grace.close();
});

test('malformed payloads get API_BAD_REQUEST acks; a missing ack is tolerated; unknown events are ignored', async () => {
  const { c } = await dashboardClient(await adminCookie());
  const bad: Array<[string, unknown]> = [
    ['mute', { roomId: 'alpha' }],
    ['mute', 'alpha'],
    ['mute', { roomId: 'alpha', participantId: 'x', muted: 'yes' }],
    ['mute', { roomId: 'alpha', participantId: 'x', muted: true, extra: 1 }],
    ['lock', null],
    ['dial', { roomId: '../etc', target: 'sip:x@y' }],
    ['createRoom', { roomId: 'ok', pin: 'abcd' }],
    ['audit', { limit: 5000 }],
    ['cdrs', { from: 'yesterday' }],
    ['claimRoom', { roomId: 'alpha', moderatorPin: 12 }],
  ];
  for (const [event, payload] of bad) {
    const res = await ask(c, event, payload);
    expect({ event, payload, res }).toEqual({
      event,
      payload,
      res: { ok: false, error: expect.objectContaining({ code: 'API_BAD_REQUEST' }) },
    });
  }
  // an ack alone, no payload
  expect(await ask(c, 'kick')).toMatchObject({ ok: false, error: { code: 'API_BAD_REQUEST' } });
  // no ack at all, and an unknown event: nothing breaks
  (c.emit as (e: string, ...a: unknown[]) => void)('mute', { roomId: 'alpha' });
  (c.emit as (e: string, ...a: unknown[]) => void)('selfDestruct', { now: true }, () => undefined);
  // unknown room / participant: catalogue codes
  expect(await ask(c, 'mute', { roomId: 'nowhere', participantId: 'x', muted: true })).toMatchObject({
    ok: false,
    error: { code: 'CONF_ROOM_NOT_FOUND' },
  });
  expect(await ask(c, 'ladder', { roomId: 'alpha', participantId: 'x' })).toMatchObject({
    ok: false,
    error: { code: 'LADDER_NOT_FOUND' },
  });
  expect(c.connected).toBe(true);
  expect((await ask(c, 'snapshot')).ok).toBe(true);
});

test('createRoom declares and persists the room; a second create is ROOM_EXISTS; deleteRoom forgets it', async () => {
  const { c, events } = await dashboardClient(await adminCookie());
  const res = await ask(c, 'createRoom', { roomId: 'delta', displayName: 'Delta', moderatorPin: '4444' });
  expect(res).toMatchObject({ ok: true, data: { id: 'delta', displayName: 'Delta', declared: true } });
  expect(store.rooms.get('delta')).toMatchObject({ name: 'delta', moderatorPin: '4444', createdBy: 'admin' });
  expect(app.conference.isModeratorPin('delta', '4444')).toBe(true);
  await until('room pushed', () =>
    events.find((e) => e.event === 'room' && (e.payload as { id: string }).id === 'delta'),
  );
  expect(await ask(c, 'createRoom', { roomId: 'delta' })).toMatchObject({
    ok: false,
    error: { code: 'ROOM_EXISTS' },
  });
  expect(await ask(c, 'endRoom', { roomId: 'delta' })).toEqual({ ok: true, data: null });
  await until('roomClosed pushed', () =>
    events.find((e) => e.event === 'roomClosed' && (e.payload as { roomId: string }).roomId === 'delta'),
  );
  // Ended, it stays declared (and stored); deleted, it is forgotten and its name free again.
  expect(store.rooms.get('delta')).toBeDefined();
  expect(await ask(c, 'deleteRoom', { roomId: 'delta' })).toEqual({ ok: true, data: { forgotten: true } });
  expect(store.rooms.get('delta')).toBeUndefined();
  expect(app.conference.isDeclared('delta')).toBe(false);
  expect(await ask(c, 'deleteRoom', { roomId: 'delta' })).toMatchObject({
    ok: false,
    error: { code: 'CONF_ROOM_NOT_FOUND' },
  });
});

test('speaking: the mixer VAD of a real caller is pushed; 200 flips in one turn come out as one batch with the latest flags', async () => {
  const ivan = await call('alpha', 'Ivan', null);
  const ivanId = await joinedId('alpha', 'Ivan');
  const judy = await call('alpha', 'Judy', null);
  const judyId = await joinedId('alpha', 'Judy');
  const { events } = await dashboardClient(await adminCookie());
  const batches = (pid: string): Array<{ participantId: string; speaking: boolean }[]> =>
    events
      .filter((e) => e.event === 'speaking')
      .map((e) => (e.payload as { changes: { participantId: string; speaking: boolean }[] }).changes)
      .filter((ch) => ch.some((x) => x.participantId === pid));

  // the real mixer: Ivan starts talking (a loud tone), the VAD says so
  ivan.setTone(440);
  await until('Ivan speaking pushed', () =>
    batches(ivanId).some((b) => b.some((x) => x.participantId === ivanId && x.speaking)),
  );
  ivan.setTone(null);

  // Judy is silent (the VAD leaves her alone): 100 flips each of Judy's flag on the real Participant, in one turn
  const judyP = app.conference.participantIn('alpha', judyId);
  for (let i = 0; i < 100; i++) judyP.setSpeaking(i % 2 === 0); // ends false
  judyP.setSpeaking(true);
  const first = await until('Judy batch', () => batches(judyId)[0]);
  expect(first.filter((x) => x.participantId === judyId)).toEqual([
    { participantId: judyId, speaking: true },
  ]);
  await new Promise((r) => setTimeout(r, 400)); // anything later would be a second batch
  expect(batches(judyId)).toHaveLength(1);
  judyP.setSpeaking(false);
  await ivan.close();
  await judy.close();
});

test('a session that ends (logout) signs its dashboards out; too many commands are AUTH_RATE_LIMITED', async () => {
  const cookie = await adminCookie();
  const { c, events } = await dashboardClient(cookie);
  const replies = await Promise.all(Array.from({ length: 60 }, () => ask(c, 'snapshot')));
  const limited = replies.filter((r) => !r.ok && r.error.code === 'AUTH_RATE_LIMITED');
  expect(limited.length).toBeGreaterThan(0);
  expect(replies.filter((r) => r.ok).length).toBeGreaterThanOrEqual(20);

  const gone = new Promise<string>((r) => c.once('disconnect', (why) => r(why)));
  auth.logout({ cookie }, '127.0.0.1');
  expect(await gone).toBe('io server disconnect');
  expect(events.find((e) => e.event === 'signedOut')?.payload).toEqual({ reason: 'session ended' });
  // the cookie is dead now
  await expect(dashboardClient(cookie)).rejects.toMatchObject({ message: 'AUTH_REQUIRED' });
});
