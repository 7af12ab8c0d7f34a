/**
 * The webinar's REST face over the conference core (fake sessions and audio), through a real HTTP server, real
 * AuthService and ModerationService on an in-memory SQLite store: creating a webinar room (validated across keys,
 * stored with its policy, deletable), promote/demote/admit/deny with their catalogue errors,
 * and every command in the audit log.
 */
import type { HttpServer } from '../../../../src/http/http-server';
import { webinarRouter } from '../../../../src/http/routes/webinar';
import { SqliteStore } from '../../../../src/storage/sqlite/sqlite-store';
import { FakeConnector, makeConference, settle, type TestConference } from '../fakes';
import { startRestServer } from '../rest-server';

const TOKEN = 'webinar-rest-token-0123456789abcdef';
let server: HttpServer;
let store: SqliteStore;
let t: TestConference;

beforeEach(async () => {
  t = makeConference({ joinTones: false });
  store = SqliteStore.open({ file: ':memory:' });
  server = await startRestServer(t, store, TOKEN, (moderation) => [webinarRouter({ moderation })]);
});

afterEach(async () => {
  await server.close();
  store.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${server.port}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A phone that calls `room` and types `pin#`. */
async function phone(room: string, name: string, pin: string) {
  const c = new FakeConnector({ name });
  const joining = t.conference.join({ room, connector: c });
  joining.catch(() => undefined);
  await settle();
  c.session!.press(`${pin}#`);
  await settle();
  return { c, joining };
}

describe('REST webinar', () => {
  it('creates a webinar room (defaults filled in), refuses cross-key mistakes, and deletes it', async () => {
    const bad = await call('POST', '/rooms', { roomId: 'w1', pin: '5555', webinar: { hostPin: '1111' } });
    expect(bad).toEqual({
      status: 400,
      body: { error: 'API_BAD_REQUEST', message: expect.stringMatching(/^pin: /) },
    });
    const dup = await call('POST', '/rooms', {
      roomId: 'w1',
      webinar: { hostPin: '1111', attendeePin: '1111' },
    });
    expect(dup.body).toMatchObject({
      error: 'API_BAD_REQUEST',
      message: expect.stringMatching(/webinar\.attendeePin/),
    });
    expect(await call('POST', '/rooms', { roomId: 'w1', webinar: { hostPin: 'abc' } })).toMatchObject({
      status: 400,
    });
    const ok = await call('POST', '/rooms', { roomId: 'w1', webinar: { hostPin: '1111', lobby: true } });
    expect(ok.status).toBe(201);
    expect(t.conference.isWebinar('w1')).toBe(true);
    // Stored with its policy (the rooms table's webinar column): it comes back after a restart as this webinar.
    expect(JSON.parse(store.rooms.get('w1')!.webinar!)).toMatchObject({ hostPin: '1111', lobby: true });
    expect(await call('DELETE', '/rooms/w1')).toEqual({
      status: 200,
      body: { roomId: 'w1', ended: true, forgotten: true },
    });
    expect(t.conference.isDeclared('w1')).toBe(false);
  });

  it('admit, deny, promote, demote: answers, catalogue errors and audit rows', async () => {
    await call('POST', '/rooms', {
      roomId: 'w2',
      webinar: { hostPin: '1111', attendeePin: '2222', lobby: true },
    });
    const a = await phone('w2', 'att', '2222');
    const b = await phone('w2', 'bob', '2222');
    const pa = a.c.participant!.id;
    const pb = b.c.participant!.id;
    const ps = (await call('GET', '/rooms/w2/participants')).body.participants as Array<
      Record<string, unknown>
    >;
    expect(ps.map((p) => [p.displayName, p.waiting, p.role])).toEqual([
      ['att', 'admission', 'attendee'],
      ['bob', 'admission', 'attendee'],
    ]);
    expect(await call('POST', `/rooms/w2/participants/${pa}/admit`)).toEqual({
      status: 200,
      body: { roomId: 'w2', participantId: pa, admitted: true },
    });
    await a.joining;
    expect(await call('POST', `/rooms/w2/participants/${pb}/deny`)).toEqual({
      status: 200,
      body: { roomId: 'w2', participantId: pb, admitted: false },
    });
    expect(await call('POST', `/rooms/w2/participants/${pa}/deny`)).toMatchObject({
      status: 409,
      body: { error: 'CONF_NOT_WAITING' },
    });
    expect(await call('POST', `/rooms/w2/participants/${pa}/promote`)).toEqual({
      status: 200,
      body: { roomId: 'w2', participantId: pa, role: 'panelist', muted: false },
    });
    expect(await call('POST', `/rooms/w2/participants/${pa}/promote`)).toMatchObject({
      status: 409,
      body: { error: 'CONF_NOT_ATTENDEE' },
    });
    expect(await call('POST', `/rooms/w2/participants/${pa}/demote`)).toEqual({
      status: 200,
      body: { roomId: 'w2', participantId: pa, role: 'attendee', muted: true },
    });
    expect(await call('POST', `/rooms/w2/participants/${pa}/mute`, { muted: false })).toMatchObject({
      status: 403,
      body: { error: 'CONF_ATTENDEE_CANNOT_UNMUTE' },
    });
    expect(await call('POST', '/rooms/w2/participants/nobody/admit')).toMatchObject({
      status: 404,
      body: { error: 'CONF_PARTICIPANT_NOT_FOUND' },
    });
    const audit = store.audit
      .query({ roomId: 'w2', limit: 100, offset: 0 })
      .items.map((r) => [r.action, r.outcome]);
    expect(audit).toEqual(
      expect.arrayContaining([
        ['admit', 'ok'],
        ['deny', 'ok'],
        ['deny', 'error'],
        ['promote', 'ok'],
        ['promote', 'error'],
        ['demote', 'ok'],
      ]),
    );
  });
});
