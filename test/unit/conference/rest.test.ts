/**
 * The REST routes over the conference core (fake sessions and audio), through a real HTTP server on port 0, a real
 * AuthService and ModerationService on an in-memory SQLite store: status codes and JSON errors come from the
 * catalogue; every call carries the admin's API token.
 */
import type { HttpServer } from '../../../src/http/http-server';
import type { Dialer } from '../../../src/conference/participant/participant-session';
import { SqliteStore } from '../../../src/storage/sqlite/sqlite-store';
import { FakeConnector, makeConference, settle, type TestConference } from './fakes';
import { startRestServer } from './rest-server';

const TOKEN = 'rest-test-token-0123456789abcdef';
let server: HttpServer;
let store: SqliteStore;
let t: TestConference;
let dialled: FakeConnector | undefined;

beforeEach(async () => {
  const dialer: Dialer = {
    dial: () => {
      dialled = new FakeConnector({ name: 'callee' });
      return dialled;
    },
  };
  t = makeConference({ rooms: [{ name: 'secure', pin: '1234', maxParticipants: 10 }] }, { dialer });
  store = SqliteStore.open({ file: ':memory:' });
  server = await startRestServer(t, store, TOKEN);
});

afterEach(async () => {
  await server.close();
  store.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const res = await fetch(`http://127.0.0.1:${server.port}/api${path}`, {
    method,
    headers: body !== undefined ? { ...auth, 'content-type': 'application/json' } : auth,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('REST /api/rooms', () => {
  it('refuses a call without credentials or with an unknown token (401 AUTH_REQUIRED), and audits commands', async () => {
    const a = await t.join('demo', 'alice');
    for (const token of [null, 'not-a-token-of-ours-0123456789'])
      expect(await call('GET', '/rooms', undefined, token)).toEqual({
        status: 401,
        body: { error: 'AUTH_REQUIRED', message: expect.any(String) },
      });
    expect(
      (await call('POST', `/rooms/demo/participants/${a.participant!.id}/mute`, { muted: true }, null))
        .status,
    ).toBe(401);
    expect(a.participant!.muted).toBe(false);
    await call('POST', `/rooms/demo/participants/${a.participant!.id}/mute`, { muted: true });
    expect(store.audit.query({ action: 'mute', limit: 10, offset: 0 }).items).toEqual([
      expect.objectContaining({
        actor: 'token:env',
        roomId: 'demo',
        outcome: 'ok',
        target: `${a.participant!.id} (alice)`,
      }),
    ]);
  });

  it('creates a room (201, declared, kept in the store); 409 ROOM_EXISTS for a declared one', async () => {
    const r = await call('POST', '/rooms', { roomId: 'board', moderatorPin: '4242', displayName: 'Board' });
    expect(r).toMatchObject({ status: 201, body: { id: 'board', displayName: 'Board', declared: true } });
    expect(store.rooms.get('board')).toMatchObject({
      name: 'board',
      moderatorPin: '4242',
      createdBy: 'token:env',
    });
    expect(t.conference.isModeratorPin('board', '4242')).toBe(true);
    expect((await call('POST', '/rooms', { roomId: 'board' })).body.error).toBe('ROOM_EXISTS');
    expect((await call('POST', '/rooms', { roomId: 'secure' })).body.error).toBe('ROOM_EXISTS');
    expect((await call('POST', '/rooms', { roomId: 'bad name' })).status).toBe(400);
    // Deleting a room created here forgets it (store and declaration); a config file's room only ends.
    await call('POST', '/rooms', { roomId: 'temp' });
    expect(await call('DELETE', '/rooms/temp')).toEqual({
      status: 200,
      body: { roomId: 'temp', ended: true, forgotten: true },
    });
    expect(store.rooms.get('temp')).toBeUndefined();
    expect(t.conference.isDeclared('temp')).toBe(false);
    expect((await call('GET', '/rooms/temp')).status).toBe(404);
    expect((await call('POST', '/rooms', { roomId: 'temp' })).status).toBe(201);
    expect(
      store.audit
        .query({ action: 'delete-room', limit: 10, offset: 0 })
        .items.map((e) => [e.roomId, e.outcome]),
    ).toEqual([['temp', 'ok']]);
    expect((await call('GET', '/rooms')).body.rooms).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'board', declared: true, streaming: false })]),
    );
    expect((await call('GET', '/rooms/board/participants')).body).toEqual({
      roomId: 'board',
      participants: [],
    });
    // The livestream routes are the livestream router's (src/http/routes/livestream.ts), not the rooms router's.
    expect((await call('POST', '/rooms/board/livestream', {})).body).toMatchObject({ error: 'API_NO_ROUTE' });
  });

  it('lists rooms and shows participants with their kind', async () => {
    const a = await t.join('demo', 'alice');
    expect((await call('GET', '/rooms')).body).toMatchObject({ rooms: [{ id: 'demo', participants: 1 }] });
    const r = await call('GET', '/rooms/demo');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: 'demo',
      participantCount: 1,
      participants: [{ id: a.participant!.id, kind: 'sip', displayName: 'alice', state: 'joined' }],
    });
    expect(r.body).not.toHaveProperty('participantList');
    expect(await call('GET', '/rooms/nowhere')).toEqual({
      status: 404,
      body: { error: 'CONF_ROOM_NOT_FOUND', message: 'room nowhere not found' },
    });
  });

  it('mute: 200, 400 on a bad body, 404 unknown room or participant, 409 NOT_JOINED in the PIN lobby', async () => {
    const a = await t.join('demo', 'alice');
    const pid = a.participant!.id;
    expect(await call('POST', `/rooms/demo/participants/${pid}/mute`, { muted: true })).toEqual({
      status: 200,
      body: { roomId: 'demo', participantId: pid, muted: true },
    });
    expect(a.participant!.muted).toBe(true);
    expect((await call('POST', `/rooms/demo/participants/${pid}/mute`, { muted: 'yes' })).status).toBe(400);
    expect((await call('POST', `/rooms/demo/participants/${pid}/mute`, {})).status).toBe(400);
    expect((await call('POST', `/rooms/demo/participants/nobody/mute`, { muted: false })).body.error).toBe(
      'CONF_PARTICIPANT_NOT_FOUND',
    );
    expect((await call('POST', `/rooms/nowhere/participants/${pid}/mute`, { muted: false })).status).toBe(
      404,
    );
    const waiting = new FakeConnector({ name: 'waiting' });
    void t.conference.join({ room: 'secure', connector: waiting }).catch(() => undefined);
    await settle();
    const r = await call('POST', `/rooms/secure/participants/${waiting.participant!.id}/mute`, {
      muted: true,
    });
    expect(r).toEqual({
      status: 409,
      body: { error: 'NOT_JOINED', message: expect.stringMatching(/not joined/) },
    });
    t.conference.kick(waiting.participant!.id);
  });

  it('media: the mix figures, 404 for an unknown room', async () => {
    await t.join('demo', 'alice');
    expect(await call('GET', '/rooms/demo/media')).toMatchObject({
      status: 200,
      body: { roomId: 'demo', mixer: { roomId: 'demo#1' } },
    });
    expect((await call('GET', '/rooms/nowhere/media')).status).toBe(404);
  });

  it('lock: a locked room is shown locked; 400 without {locked}', async () => {
    await t.join('demo', 'alice');
    expect(await call('POST', '/rooms/demo/lock', { locked: true })).toEqual({
      status: 200,
      body: { roomId: 'demo', locked: true },
    });
    expect((await call('GET', '/rooms/demo')).body.locked).toBe(true);
    expect((await call('POST', '/rooms/demo/lock', { locked: 1 })).status).toBe(400);
    expect((await call('POST', '/rooms/nowhere/lock', { locked: true })).status).toBe(404);
  });

  it('mute-all (moderators excepted), kick, move and end', async () => {
    const a = await t.join('demo', 'alice');
    const b = await t.join('demo', 'bob');
    t.conference.setRole(b.participant!.id, 'moderator');
    expect(await call('POST', '/rooms/demo/mute-all', {})).toEqual({
      status: 200,
      body: { roomId: 'demo', muted: true, participants: [a.participant!.id] },
    });
    const moved = await call('POST', `/rooms/demo/participants/${a.participant!.id}/move`, { room: 'other' });
    expect(moved).toEqual({
      status: 200,
      body: { roomId: 'other', participantId: a.participant!.id, from: 'demo' },
    });
    expect(
      (await call('POST', `/rooms/other/participants/${a.participant!.id}/move`, { room: 'other' })).body
        .error,
    ).toBe('CONF_SAME_ROOM');
    expect((await call('POST', `/rooms/other/participants/${a.participant!.id}/move`, {})).status).toBe(400);
    expect(await call('POST', `/rooms/other/participants/${a.participant!.id}/kick`)).toEqual({
      status: 200,
      body: { roomId: 'other', participantId: a.participant!.id, kicked: true },
    });
    expect(a.session!.hangups.map((h) => h.reason)).toEqual(['kicked']);
    expect(await call('DELETE', '/rooms/demo')).toEqual({
      status: 200,
      body: { roomId: 'demo', ended: true, forgotten: false },
    });
    expect(b.session!.hangups.map((h) => h.reason)).toEqual(['room-closed']);
    expect((await call('DELETE', '/rooms/demo')).status).toBe(404);
  });

  it('dial: 201 with the participant once the call is up; 400 without a target', async () => {
    const r = await call('POST', '/rooms/demo/dial', { target: 'sip:callee@example.com' });
    expect(r.status).toBe(404); // no room yet: dial into an existing room
    await t.join('demo', 'alice');
    const ok = await call('POST', '/rooms/demo/dial', { target: 'sip:callee@example.com' });
    expect(ok).toMatchObject({
      status: 201,
      body: { roomId: 'demo', participant: { displayName: 'callee' } },
    });
    expect(dialled?.participant?.state).toBe('joined');
    expect((await call('POST', '/rooms/demo/dial', {})).status).toBe(400);
  });
});
