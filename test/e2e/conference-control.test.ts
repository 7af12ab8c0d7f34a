/**
 * Conference control through the REST API against the built server, with real SIP phones and real audio:
 * - lock: a locked room answers a new caller 403 with the catalogue's reason phrase, the participants inside keep
 *   hearing each other; unlocked, a caller gets in;
 * - kick: the kicked phone gets a BYE with an RFC 3326 Reason header, the others keep hearing each other;
 * - mute-all: everyone but the moderator leaves everyone's mix (Goertzel on what the phones heard) and comes back on
 *   unmute-all;
 * - DELETE a room: every phone gets a BYE with a Reason header, the room is gone;
 * - every bad request (unknown room or participant, bad body, bad JSON, no route) gets a 4xx JSON answer whose
 *   `error` is a catalogue code with that code's HTTP status, and changes nothing.
 * Phones: Node phones on Parley's own SIP stack (test/support/sip-phone.ts), PCMU, each "saying" its own sine tone
 * (not a whole number of cycles per 20 ms frame). Needs `npx tsc -p tsconfig.build.json` (dist/).
 */
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors/catalogue';
import { SipError } from '../../src/sip/errors';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { expectCatalogue, expectHearing, stopAndReport, dialTonePhone } from './conference-helpers';

jest.setTimeout(180_000);

type Party = ApiParticipant & { muted: boolean; role: string };

/** Tones (Hz): 8.14, 12.26 and 17.74 cycles per 20 ms; no low-order product of two lands on the third. */
const TONE = { a: 407, b: 613, c: 887 } as const;
const FREQS = [TONE.a, TONE.b, TONE.c];

let parley: E2eParley;
const phones: SipPhone[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    conference: {
      // No chimes or "you are the only participant": the tone windows hold the phones' audio only.
      joinTones: false,
      rooms: [{ name: 'moderated', pin: '1111', moderatorPin: '2222' }],
    },
  });
});

afterAll(async () => {
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
});

function dial(room: string, user: string, tone: number | null): Promise<SipPhone> {
  return dialTonePhone(parley, phones, room, user, tone);
}

async function joined(room: string, n: number): Promise<Party[]> {
  return (await parley.waitParticipants(
    room,
    (l) => l.length === n && l.every((p) => p.state === 'joined'),
    15000,
  )) as Party[];
}

async function request(method: string, p: string, body?: string): Promise<{ status: number; body: unknown }> {
  const auth = { authorization: `Bearer ${parley.token}` };
  const res = await fetch(`${parley.http}${p}`, {
    method,
    ...(body !== undefined
      ? { headers: { ...auth, 'content-type': 'application/json' }, body }
      : { headers: auth }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { notJson: text };
  }
  return { status: res.status, body: parsed };
}

test('lock: a new caller gets 403 with the catalogue reason, those inside are unaffected; unlocked, a caller gets in', async () => {
  const room = 'lockable';
  const a = await dial(room, 'a', TONE.a);
  const b = await dial(room, 'b', TONE.b);
  await joined(room, 2);

  const lock = await parley.post(`/api/rooms/${room}/lock`, { locked: true });
  expect(lock).toEqual({ status: 200, body: { roomId: room, locked: true } });
  const detail = await parley.api<{ locked: boolean; participantCount: number }>(`/api/rooms/${room}`);
  expect(detail.body).toMatchObject({ locked: true, participantCount: 2 });
  const listed = await parley.api<{ rooms: Array<{ id: string; locked: boolean }> }>('/api/rooms');
  expect(listed.body.rooms.find((r) => r.id === room)?.locked).toBe(true);

  // A caller into the locked room: 403 and the catalogue's reason phrase, never listed.
  const refused = await dial(room, 'late', TONE.c).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(SipError);
  const lockedSip = ERROR_CATALOGUE.CONF_ROOM_LOCKED.sip;
  expect({ status: (refused as SipError).status, reason: (refused as SipError).reason }).toEqual({
    status: lockedSip.status,
    reason: lockedSip.reason,
  });
  const inside = await parley.participants(room);
  expect(inside.map((p) => p.displayName).sort()).toEqual(['a', 'b']);
  expect(inside.every((p) => p.state === 'joined')).toBe(true);

  // Those inside still hear each other (and not themselves) while the room is locked.
  await expectHearing(FREQS, [
    [a, [TONE.b], [TONE.a, TONE.c], 'a, locked'],
    [b, [TONE.a], [TONE.b, TONE.c], 'b, locked'],
  ]);
  expect(a.terminated || b.terminated).toBe(false);

  // Locking twice is harmless; unlock lets the next caller in.
  expect((await parley.post(`/api/rooms/${room}/lock`, { locked: true })).status).toBe(200);
  expect(await parley.post(`/api/rooms/${room}/lock`, { locked: false })).toEqual({
    status: 200,
    body: { roomId: room, locked: false },
  });
  expect((await parley.api<{ locked: boolean }>(`/api/rooms/${room}`)).body.locked).toBe(false);
  const c = await dial(room, 'c', TONE.c);
  await joined(room, 3);
  await expectHearing(FREQS, [
    [c, [TONE.a, TONE.b], [TONE.c], 'c, after unlock'],
    [a, [TONE.b, TONE.c], [TONE.a], 'a, after unlock'],
  ]);
  for (const p of [a, b, c]) await p.close();
  await parley.waitParticipants(room, (l) => l.length === 0, 10000);
});

test('kick: the phone gets a BYE with a Reason header and leaves; the others keep hearing each other', async () => {
  const room = 'kicks';
  const a = await dial(room, 'a', TONE.a);
  const b = await dial(room, 'b', TONE.b);
  const c = await dial(room, 'c', TONE.c);
  const list = await joined(room, 3);
  const cId = list.find((p) => p.displayName === 'c')!.id;

  await expectHearing(FREQS, [[a, [TONE.b, TONE.c], [TONE.a], 'a, before the kick']]);

  const kick = await parley.post(`/api/rooms/${room}/participants/${cId}/kick`, {});
  expect(kick).toEqual({ status: 200, body: { roomId: room, participantId: cId, kicked: true } });
  await c.waitTerminated(10000);
  expect(c.byeFromServer?.method).toBe('BYE');
  const reason = c.byeFromServer?.headers.get('Reason');
  expect(reason).toMatch(/^SIP;cause=\d{3};text="[^"]+"$/);
  const left = await parley.waitParticipants(room, (l) => l.length === 2, 10000);
  expect(left.map((p) => p.displayName).sort()).toEqual(['a', 'b']);
  await parley.run.waitForLog(
    (l) => l.msg === 'participant left' && l.reason === 'kicked' && l.participantId === cId,
    5000,
  );

  // The others still hear each other, and no longer the kicked phone.
  await expectHearing(FREQS, [
    [a, [TONE.b], [TONE.a, TONE.c], 'a, after the kick'],
    [b, [TONE.a], [TONE.b, TONE.c], 'b, after the kick'],
  ]);
  expect(a.terminated || b.terminated).toBe(false);

  // Kicking it again: it is not there any more.
  expectCatalogue(
    await parley.post(`/api/rooms/${room}/participants/${cId}/kick`, {}),
    'CONF_PARTICIPANT_NOT_FOUND',
    'kick twice',
  );
  for (const p of [a, b]) await p.close();
  await parley.waitParticipants(room, (l) => l.length === 0, 10000);
});

test('mute-all: everyone but the moderator leaves the mix, and comes back on unmute-all', async () => {
  const room = 'moderated';
  // The moderator (moderator PIN) says 407 Hz, a participant 613 Hz, a silent participant listens.
  const mod = await dial(room, 'mod', TONE.a);
  const talker = await dial(room, 'talker', TONE.b);
  const listener = await dial(room, 'listener', null);
  await parley.waitParticipants(room, (l) => l.length === 3, 10000);
  await sleep(500);
  await Promise.all([mod.rfc4733('2222#'), talker.rfc4733('1111#'), listener.rfc4733('1111#')]);
  const list = await joined(room, 3);
  const id = (name: string): string => list.find((p) => p.displayName === name)!.id;
  expect(Object.fromEntries(list.map((p) => [p.displayName, p.role]))).toEqual({
    mod: 'moderator',
    talker: 'participant',
    listener: 'participant',
  });

  await expectHearing(FREQS, [[listener, [TONE.a, TONE.b], [], 'listener, before mute-all']]);

  const muted = await parley.post<{ roomId: string; muted: boolean; participants: string[] }>(
    `/api/rooms/${room}/mute-all`,
    {},
  );
  expect(muted.status).toBe(200);
  expect([muted.body.roomId, muted.body.muted]).toEqual([room, true]);
  expect([...muted.body.participants].sort()).toEqual([id('talker'), id('listener')].sort());
  const afterMute = (await parley.participants(room)) as Party[];
  expect(Object.fromEntries(afterMute.map((p) => [p.displayName, p.muted]))).toEqual({
    mod: false,
    talker: true,
    listener: true,
  });
  // "You are muted" goes to the muted phones only: the moderator hears no talker, the listener only the
  // moderator.
  await expectHearing(
    FREQS,
    [
      [listener, [TONE.a], [TONE.b], 'listener, after mute-all'],
      [mod, [], [TONE.a, TONE.b], 'moderator, after mute-all'],
    ],
    1500,
  );
  // A second mute-all changes nobody.
  expect(
    (await parley.post<{ participants: string[] }>(`/api/rooms/${room}/mute-all`, { muted: true })).body
      .participants,
  ).toEqual([]);

  const unmuted = await parley.post<{ participants: string[] }>(`/api/rooms/${room}/mute-all`, {
    muted: false,
  });
  expect(unmuted.status).toBe(200);
  expect([...unmuted.body.participants].sort()).toEqual([id('talker'), id('listener')].sort());
  expect(((await parley.participants(room)) as Party[]).every((p) => !p.muted)).toBe(true);
  // Past "you are no longer muted" (1.8 s, to the unmuted phones only).
  await expectHearing(
    FREQS,
    [
      [listener, [TONE.a, TONE.b], [], 'listener, after unmute-all'],
      [mod, [TONE.b], [TONE.a], 'moderator, after unmute-all'],
    ],
    2200,
  );
  expect([mod, talker, listener].some((p) => p.terminated)).toBe(false);
  for (const p of [mod, talker, listener]) await p.close();
  await parley.waitParticipants(room, (l) => l.length === 0, 10000);
});

test('DELETE a room: every phone gets a BYE with a Reason header, the room is gone', async () => {
  const room = 'ending';
  const a = await dial(room, 'a', TONE.a);
  const b = await dial(room, 'b', TONE.b);
  await joined(room, 2);
  expect(await request('DELETE', `/api/rooms/${room}`)).toEqual({
    status: 200,
    body: { roomId: room, ended: true, forgotten: false },
  });
  await Promise.all([a.waitTerminated(10000), b.waitTerminated(10000)]);
  expect([a.byeFromServer?.method, b.byeFromServer?.method]).toEqual(['BYE', 'BYE']);
  // RFC 3326: the status a new caller of the closing room would get.
  for (const p of [a, b])
    expect(p.byeFromServer?.headers.get('Reason')).toMatch(
      new RegExp(`^SIP;cause=${ERROR_CATALOGUE.CONF_ROOM_CLOSED.sip.status};text="[^"]+"$`),
    );
  expectCatalogue(await parley.api(`/api/rooms/${room}`), 'CONF_ROOM_NOT_FOUND', 'GET an ended room');
  const rooms = await parley.api<{ rooms: Array<{ id: string }> }>('/api/rooms');
  expect(rooms.body.rooms.some((r) => r.id === room)).toBe(false);
});

test('bad requests: 4xx JSON with a catalogue code, nothing changes', async () => {
  const room = 'strict';
  const a = await dial(room, 'a', TONE.a);
  const b = await dial(room, 'b', TONE.b);
  const list = await joined(room, 2);
  const aId = list.find((p) => p.displayName === 'a')!.id;
  const base = `/api/rooms/${room}`;
  const pa = `${base}/participants/${aId}`;
  const json = JSON.stringify;

  const cases: Array<[string, string, string | undefined, ErrorCode]> = [
    // unknown room
    ['GET', '/api/rooms/nowhere', undefined, 'CONF_ROOM_NOT_FOUND'],
    ['GET', '/api/rooms/nowhere/media', undefined, 'CONF_ROOM_NOT_FOUND'],
    ['DELETE', '/api/rooms/nowhere', undefined, 'CONF_ROOM_NOT_FOUND'],
    ['POST', '/api/rooms/nowhere/lock', json({ locked: true }), 'CONF_ROOM_NOT_FOUND'],
    ['POST', '/api/rooms/nowhere/mute-all', json({}), 'CONF_ROOM_NOT_FOUND'],
    ['POST', '/api/rooms/nowhere/dial', json({ target: 'sip:x@127.0.0.1:9' }), 'CONF_ROOM_NOT_FOUND'],
    ['POST', `/api/rooms/nowhere/participants/${aId}/mute`, json({ muted: true }), 'CONF_ROOM_NOT_FOUND'],
    ['POST', `/api/rooms/nowhere/participants/${aId}/kick`, json({}), 'CONF_ROOM_NOT_FOUND'],
    ['POST', `/api/rooms/nowhere/participants/${aId}/move`, json({ room: 'x' }), 'CONF_ROOM_NOT_FOUND'],
    // unknown participant
    ['POST', `${base}/participants/nobody/mute`, json({ muted: true }), 'CONF_PARTICIPANT_NOT_FOUND'],
    ['POST', `${base}/participants/nobody/kick`, json({}), 'CONF_PARTICIPANT_NOT_FOUND'],
    ['POST', `${base}/participants/nobody/move`, json({ room: 'x' }), 'CONF_PARTICIPANT_NOT_FOUND'],
    // bad bodies
    ['POST', `${base}/lock`, json({}), 'API_BAD_REQUEST'],
    ['POST', `${base}/lock`, json({ locked: 'yes' }), 'API_BAD_REQUEST'],
    ['POST', `${base}/lock`, json({ locked: true, extra: 1 }), 'API_BAD_REQUEST'],
    ['POST', `${base}/lock`, undefined, 'API_BAD_REQUEST'],
    ['POST', `${base}/lock`, '{"locked": tru', 'API_BAD_REQUEST'],
    ['POST', `${base}/lock`, json([true]), 'API_BAD_REQUEST'],
    ['POST', `${base}/mute-all`, json({ muted: 'no' }), 'API_BAD_REQUEST'],
    ['POST', `${pa}/mute`, json({ muted: 1 }), 'API_BAD_REQUEST'],
    ['POST', `${pa}/mute`, json({}), 'API_BAD_REQUEST'],
    ['POST', `${pa}/move`, json({}), 'API_BAD_REQUEST'],
    ['POST', `${pa}/move`, json({ room: '' }), 'API_BAD_REQUEST'],
    ['POST', `${pa}/move`, json({ room: 7 }), 'API_BAD_REQUEST'],
    ['POST', `${pa}/move`, json({ room: 'x'.repeat(300) }), 'API_BAD_REQUEST'],
    ['POST', `${base}/dial`, json({}), 'API_BAD_REQUEST'],
    ['POST', `${base}/dial`, json({ target: '' }), 'API_BAD_REQUEST'],
    ['POST', `${base}/dial`, json({ target: 'not a uri' }), 'CONF_DIAL_BAD_TARGET'],
    ['POST', `${base}/dial`, json({ target: 'tel:+15551234567' }), 'CONF_DIAL_BAD_TARGET'],
    ['POST', `${base}/dial`, json({ target: 'https://example.com/' }), 'CONF_DIAL_BAD_TARGET'],
    // a conflict: already there
    ['POST', `${pa}/move`, json({ room }), 'CONF_SAME_ROOM'],
    // no such route
    ['GET', '/api/nothing-here', undefined, 'API_NO_ROUTE'],
    ['PUT', `${base}/lock`, json({ locked: true }), 'API_NO_ROUTE'],
  ];
  for (const [method, p, body, code] of cases) {
    const what = `${method} ${p} ${body ?? '(no body)'}`;
    const r = await request(method, p, body);
    expectCatalogue(r, code, what);
    expect({ what, clientError: r.status >= 400 && r.status < 500 }).toEqual({ what, clientError: true });
  }

  // Nothing changed: both still joined, unmuted, the room unlocked, both still hearing each other.
  const after = (await parley.participants(room)) as Party[];
  expect(after.map((p) => [p.displayName, p.state, p.muted]).sort()).toEqual([
    ['a', 'joined', false],
    ['b', 'joined', false],
  ]);
  expect((await parley.api<{ locked: boolean }>(base)).body.locked).toBe(false);
  await expectHearing(FREQS, [
    [a, [TONE.b], [TONE.a], 'a, after the bad requests'],
    [b, [TONE.a], [TONE.b], 'b, after the bad requests'],
  ]);
  for (const p of [a, b]) await p.close();
});
