/**
 * The conference core without SIP: joins, admission, moderation (mute, kick, lock, end), moves, dial-out and the
 * observer, driven through fake sessions (FakeConnector/FakeSession) and fake room audio (FakeRoomAudio).
 */
import { AppError } from '../../../src/errors/app-error';
import type { ConferenceObserverEvents } from '../../../src/conference/conference';
import { LeaveReason } from '../../../src/conference/participant/leave-reason';
import { ParticipantState, type Participant } from '../../../src/conference/participant/participant';
import type { Dialer } from '../../../src/conference/participant/participant-session';
import type { Room } from '../../../src/conference/room/room';
import {
  Deferred,
  FakeConnector,
  FakeMediaProvider,
  FakeThread,
  makeConference,
  routerLeg,
  settle,
  threadLeg,
  type TestConference,
} from './fakes';

/** Records every observer event as [name, ...readable args]. */
function record(t: TestConference): string[][] {
  const seen: string[][] = [];
  const o = t.conference.observer;
  const name = (x: Participant | Room): string => ('displayName' in x ? x.displayName : x.id);
  const events: { [K in keyof ConferenceObserverEvents]: (...a: ConferenceObserverEvents[K]) => string[] } = {
    roomCreated: (r) => [r.id],
    roomClosed: (r) => [r.id],
    roomLocked: (r, locked) => [r.id, String(locked)],
    participantAdmitted: (p, r) => [name(p), r.id],
    participantJoined: (p, r) => [name(p), r.id],
    participantLeft: (p, reason, r) => [name(p), reason, r.id],
    participantMuted: (p, muted, by) => [name(p), String(muted), by],
    participantSpeaking: (p, s) => [name(p), String(s)],
    participantRole: (p, role) => [name(p), role],
    participantHand: (p, raised) => [name(p), String(raised)],
    participantWaiting: (p, waiting) => [name(p), String(waiting)],
    participantMoved: (p, from, to) => [name(p), from.id, to.id],
    participantMedia: (p) => [name(p)],
  };
  for (const [ev, fmt] of Object.entries(events) as [
    keyof ConferenceObserverEvents,
    (...a: unknown[]) => string[],
  ][])
    o.on(ev, (...args: unknown[]) => seen.push([ev, ...fmt(...args)]));
  return seen;
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe('joining a room', () => {
  it('creates the room, admits the participant, seats it in the mix and joins it; events in order', async () => {
    const t = makeConference();
    const seen = record(t);
    const c = await t.join('demo', 'alice');
    const p = c.participant!;
    expect(p.state).toBe(ParticipantState.Joined);
    expect(p.kind).toBe('sip');
    const mix = t.media.host('demo').current()!.mix()!;
    expect(mix.calls.slice(0, 1)).toEqual([['add', p.id]]);
    expect(seen).toEqual([
      ['roomCreated', 'demo'],
      ['participantAdmitted', 'alice', 'demo'],
      ['participantJoined', 'alice', 'demo'],
    ]);
    expect(t.conference.getRoom('demo').detail().participantList[0]).toMatchObject({
      kind: 'sip',
      displayName: 'alice',
      state: 'joined',
    });
  });

  it('a lone caller hears "you are the only participant"; the next one chimes in the shared mix, once', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    await settle();
    const mix = t.media.host('demo').current()!.mix()!;
    expect(mix.playedTo(a.participant!.id)).toEqual(['only-participant']);
    expect(mix.announced()).toEqual([]);
    const b = await t.join('demo', 'bob');
    await t.join('demo', 'carol');
    await settle();
    // one room-wide chime per newcomer, not one private clip per listener
    expect(mix.announced()).toEqual(['join', 'join']);
    expect(mix.playedTo(a.participant!.id)).toEqual(['only-participant']);
    expect(mix.playedTo(b.participant!.id)).toEqual([]);
  });

  it('joinTones: false plays nothing on join', async () => {
    const t = makeConference({}, { joinTones: false });
    const a = await t.join('demo', 'alice');
    await settle();
    const mix = t.media.host('demo').current()!.mix()!;
    await t.join('demo', 'bob');
    await settle();
    expect(mix.playedTo(a.participant!.id)).toEqual([]);
    expect(mix.announced()).toEqual([]);
  });

  it('a locked room refuses with CONF_ROOM_LOCKED (SIP 403) before any media is built', async () => {
    const t = makeConference();
    await t.join('demo', 'alice');
    t.conference.setLocked('demo', true);
    const c = new FakeConnector({ name: 'bob' });
    const err = await rejection(t.conference.join({ room: 'demo', connector: c }));
    expect(err.code).toBe('CONF_ROOM_LOCKED');
    expect(err.sipStatus).toBe(403);
    expect(c.participant).toBeUndefined();
    expect(t.conference.getRoom('demo').size).toBe(1);
  });

  it.each([
    [486, 'CONF_ROOM_FULL_BUSY'],
    [503, 'CONF_ROOM_FULL_UNAVAILABLE'],
  ] as const)('a full room refuses with %i (%s)', async (status, code) => {
    const t = makeConference({ maxParticipants: 1, fullRoomStatus: status });
    await t.join('demo', 'alice');
    const err = await rejection(t.join('demo', 'bob'));
    expect([err.code, err.sipStatus]).toEqual([code, status]);
  });

  it('an unknown room is refused with CONF_ROOM_NOT_FOUND (404) when unknown rooms are rejected', async () => {
    const t = makeConference({ unknownRooms: 'reject', rooms: [{ name: 'known', maxParticipants: 5 }] });
    const err = await rejection(t.join('other'));
    expect([err.code, err.sipStatus, err.httpStatus]).toEqual(['CONF_ROOM_NOT_FOUND', 404, 404]);
    await t.join('known');
  });

  it('a room closing while a caller sets up its media refuses it with CONF_ROOM_CLOSED; its session is closed', async () => {
    const t = makeConference();
    await t.join('demo', 'alice');
    const gate = new Deferred();
    const c = new FakeConnector({ name: 'bob', connectGate: gate.promise });
    const joining = t.conference.join({ room: 'demo', connector: c });
    await settle();
    t.conference.endRoom('demo');
    gate.resolve();
    const err = await rejection(joining);
    expect(err.code).toBe('CONF_ROOM_CLOSED');
    expect(c.session!.closed).toBe(true);
  });

  it('a join cancelled during media setup is never admitted, and the media it claimed is released', async () => {
    const t = makeConference();
    const seen = record(t);
    const gate = new Deferred();
    const cancel = new AbortController();
    const c = new FakeConnector({ connectGate: gate.promise });
    const joining = t.conference.join({ room: 'demo', connector: c, signal: cancel.signal });
    await settle();
    cancel.abort();
    gate.resolve();
    const err = await rejection(joining);
    expect(err.code).toBe('CONF_JOIN_ABANDONED');
    expect(c.participant!.leaveReason).toBe(LeaveReason.Cancelled);
    expect(seen.map((e) => e[0])).toEqual(['roomCreated']); // never admitted, never left
    expect(t.media.host('demo').instances.every((i) => i.closed)).toBe(true);
    expect(t.conference.getRoom('demo').size).toBe(0);
  });

  it('a join cancelled while its signalling completes leaves with "cancelled"', async () => {
    const t = makeConference();
    const seen = record(t);
    const gate = new Deferred();
    const cancel = new AbortController();
    const c = new FakeConnector({ establishGate: gate.promise });
    const joining = t.conference.join({ room: 'demo', connector: c, signal: cancel.signal });
    await settle();
    cancel.abort();
    expect(c.establishedWith?.aborted).toBe(true); // the connector learns it (SIP: CANCEL / give up)
    gate.reject(new Error('INVITE already canceled'));
    expect((await rejection(joining)).code).toBe('CONF_JOIN_ABANDONED');
    expect(seen).toEqual([
      ['roomCreated', 'demo'],
      ['participantAdmitted', 'alice', 'demo'],
      ['participantLeft', 'alice', 'cancelled', 'demo'],
    ]);
  });

  it('a failure to build the room audio refuses the join with that error and the next join retries', async () => {
    const media = new FakeMediaProvider();
    let fail = true;
    media.onCreateAudio = async () => {
      if (fail) throw new AppError('MEDIA_NO_PORT');
    };
    const t = makeConference({}, {}, media);
    expect((await rejection(t.join('demo'))).code).toBe('MEDIA_NO_PORT');
    fail = false;
    const c = await t.join('demo');
    expect(c.participant!.state).toBe(ParticipantState.Joined);
  });
});

describe('the room media lifetime', () => {
  it('concurrent joins create the room, its media and its mix once', async () => {
    const media = new FakeMediaProvider();
    let creations = 0;
    media.onCreateAudio = async () => {
      creations++;
      await settle(3);
    };
    const t = makeConference({}, {}, media);
    await Promise.all(Array.from({ length: 10 }, (_, i) => t.join('busy', `p${i}`)));
    expect(t.media.hosts.size).toBe(1);
    expect(t.media.host('busy').instances).toHaveLength(1);
    expect(creations).toBe(1);
    expect(t.conference.getRoom('busy').size).toBe(10);
    expect(t.media.host('busy').current()!.mix()!.members.size).toBe(10);
  });

  it('is released when the room empties (the room stays for its grace period) and recreated for the next caller', async () => {
    const t = makeConference();
    const a = await t.join('demo');
    const first = t.media.host('demo').current()!;
    a.session!.remoteBye();
    await settle();
    expect(first.closed).toBe(true);
    expect(first.mix()!.closed).toBe(true);
    expect(t.conference.getRoom('demo').isClosed).toBe(false);
    await t.join('demo', 'bob');
    const second = t.media.host('demo').current()!;
    expect(second).not.toBe(first);
    expect(second.id).toBe('demo#2');
  });

  it('a join arriving while the last participant leaves keeps the media it claimed', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    const media = t.media.host('demo').current()!;
    const gate = new Deferred();
    const joining = t.join('demo', 'bob', { connectGate: gate.promise });
    await settle();
    a.session!.remoteBye(); // the last participant leaves while bob is mid-setup
    gate.resolve();
    const b = await joining;
    expect(b.participant!.state).toBe(ParticipantState.Joined);
    expect(media.closed).toBe(false);
    expect(media.mix()!.members).toEqual(new Set([b.participant!.id]));
  });

  it('a join right after the last leave gets a fresh media under a new id, while the old mixer is still closing', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    const thread = t.media.threads[0]!;
    a.session!.remoteBye();
    const b = await t.join('demo', 'bob');
    expect(b.participant!.state).toBe(ParticipantState.Joined);
    // The thread still had the first mixer when the second was created: same id would have failed ("exists").
    expect(thread.created).toBe(2);
    expect(t.media.host('demo').instances.map((i) => i.id)).toEqual(['demo#1', 'demo#2']);
    await expect(thread.create('demo#1')).rejects.toThrow(/exists/);
  });

  it('300 short calls at a high rate into one room: every one joins, none sees an error', async () => {
    const t = makeConference();
    const errors: unknown[] = [];
    const calls: Promise<void>[] = [];
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 300; i++) {
      const hold = rand(4);
      calls.push(
        (async () => {
          const c = await t.join('load', `c${i}`);
          await settle(hold);
          c.session!.remoteBye();
        })().catch((e: unknown) => void errors.push(e)),
      );
      // Calls overlap now and then; often the last one leaves just as the next arrives.
      await settle(rand(6));
    }
    await Promise.all(calls);
    await settle();
    expect(errors).toEqual([]);
    const host = t.media.host('load');
    // The room emptied and filled again many times: each media lifetime under its own id.
    expect(host.instances.length).toBeGreaterThan(20);
    expect(new Set(host.instances.map((i) => i.id)).size).toBe(host.instances.length);
    expect(host.instances.every((i) => i.closed)).toBe(true);
    expect(host.instances.flatMap((i) => i.audios).every((a) => a.closed)).toBe(true);
  });

  it('a declared room stays open when empty; its media is released all the same', async () => {
    const t = makeConference({ emptyRoomGraceSeconds: 0, rooms: [{ name: 'board', maxParticipants: 5 }] });
    const a = await t.join('board');
    a.session!.remoteBye();
    await new Promise((r) => setTimeout(r, 10));
    expect(t.conference.getRoom('board').isClosed).toBe(false);
    expect(t.media.host('board').current()).toBeUndefined();
  });

  it('a room created on demand closes after its grace period empty', async () => {
    const t = makeConference({ emptyRoomGraceSeconds: 0 });
    const seen = record(t);
    const a = await t.join('adhoc');
    a.session!.remoteBye();
    await new Promise((r) => setTimeout(r, 10));
    expect(() => t.conference.getRoom('adhoc')).toThrow(AppError);
    expect(seen.at(-1)).toEqual(['roomClosed', 'adhoc']);
    expect(t.media.host('adhoc').closed).toBe(true);
  });

  it('the router dying under a room whose router cannot be rebuilt ends it (media-failed)', async () => {
    const t = makeConference();
    const a = await t.join('demo');
    // Recovery (test/unit/conference/media-recovery.test.ts) asks for a new router: none can be had.
    t.media.createRoom = () => Promise.reject(new Error('no live mediasoup worker'));
    t.media.host('demo').die();
    await new Promise((r) => setTimeout(r, 10));
    expect(a.session!.hangups).toEqual([{ reason: LeaveReason.MediaFailed }]);
    expect(t.conference.listRooms()).toEqual([]);
  });

  it('stats: null before the mix exists (PIN lobby only), the mix figures after', async () => {
    const t = makeConference({ rooms: [{ name: 'pin', pin: '1', maxParticipants: 5 }] });
    const gate = new Deferred();
    void t.join('pin', 'alice', { establishGate: gate.promise }).catch(() => undefined);
    await settle();
    expect(await t.conference.stats('pin')).toBeNull();
    await t.join('open');
    expect(await t.conference.stats('open')).toMatchObject({ roomId: 'open#1' });
  });
});

describe('moderation', () => {
  it('mute one: out of the mix, event with who did it, a prompt; muting again changes nothing', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    await settle();
    const seen = record(t);
    const p = a.participant!;
    const mix = t.media.host('demo').current()!.mix()!;
    await t.conference.mute(p.id, true);
    await t.conference.mute(p.id, true);
    await settle();
    expect(mix.calls.filter((c) => c[0] === 'setMuted')).toEqual([['setMuted', p.id, true]]);
    expect(seen).toEqual([['participantMuted', 'alice', 'true', 'moderator']]);
    expect(mix.playedTo(p.id).at(-1)).toBe('muted');
    await t.conference.mute(p.id, false);
    await settle();
    expect(p.muted).toBe(false);
    expect(mix.playedTo(p.id).at(-1)).toBe('unmuted');
  });

  it('*6 on the keypad toggles self-mute', async () => {
    const t = makeConference();
    const seen = record(t);
    const a = await t.join('demo', 'alice');
    a.session!.press('*6');
    await settle();
    expect(a.participant!.muted).toBe(true);
    a.session!.press('*6');
    await settle();
    expect(seen.filter((e) => e[0] === 'participantMuted')).toEqual([
      ['participantMuted', 'alice', 'true', 'self'],
      ['participantMuted', 'alice', 'false', 'self'],
    ]);
  });

  it('mute all mutes everyone joined except moderators', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    const b = await t.join('demo', 'bob');
    const m = await t.join('demo', 'mod');
    t.conference.setRole(m.participant!.id, 'moderator');
    const changed = await t.conference.muteAll('demo');
    expect(changed.map((p) => p.displayName).sort()).toEqual(['alice', 'bob']);
    expect([a, b, m].map((c) => c.participant!.muted)).toEqual([true, true, false]);
    expect(await t.conference.muteAll('demo')).toEqual([]);
  });

  it('kick ends the session with "kicked"; the room and its audio let the participant go', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    await t.join('demo', 'bob');
    const seen = record(t);
    t.conference.kick(a.participant!.id);
    await settle();
    expect(a.session!.hangups).toEqual([{ reason: LeaveReason.Kicked }]);
    expect(seen).toEqual([['participantLeft', 'alice', 'kicked', 'demo']]);
    expect(t.media.host('demo').current()!.mix()!.members.has(a.participant!.id)).toBe(false);
    expect(() => t.conference.kick(a.participant!.id)).toThrow(
      expect.objectContaining({ code: 'CONF_PARTICIPANT_NOT_FOUND' }),
    );
  });

  it('lock and unlock are events, once per change; an unlocked room admits again', async () => {
    const t = makeConference();
    await t.join('demo', 'alice');
    const seen = record(t);
    t.conference.setLocked('demo', true);
    t.conference.setLocked('demo', true);
    expect((await rejection(t.join('demo', 'bob'))).code).toBe('CONF_ROOM_LOCKED');
    t.conference.setLocked('demo', false);
    await t.join('demo', 'carol');
    expect(seen.filter((e) => e[0] === 'roomLocked')).toEqual([
      ['roomLocked', 'demo', 'true'],
      ['roomLocked', 'demo', 'false'],
    ]);
    expect(t.conference.getRoom('demo').view().locked).toBe(false);
  });

  it('ending a room ends every session and releases its media and router', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    const b = await t.join('demo', 'bob');
    const seen = record(t);
    const host = t.media.host('demo');
    const instance = host.current()!;
    t.conference.endRoom('demo');
    await settle();
    expect(a.session!.hangups).toEqual([{ reason: LeaveReason.RoomClosed }]);
    expect(b.session!.hangups).toEqual([{ reason: LeaveReason.RoomClosed }]);
    expect([instance.closed, instance.mix()!.closed, host.closed]).toEqual([true, true, true]);
    expect(seen).toEqual([
      ['participantLeft', 'alice', 'room-closed', 'demo'],
      ['participantLeft', 'bob', 'room-closed', 'demo'],
      ['roomClosed', 'demo'],
    ]);
    expect(() => t.conference.endRoom('demo')).toThrow(
      expect.objectContaining({ code: 'CONF_ROOM_NOT_FOUND' }),
    );
  });

  it('role and hand are events', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    const seen = record(t);
    t.conference.setRole(a.participant!.id, 'moderator');
    t.conference.setHand(a.participant!.id, true);
    t.conference.setHand(a.participant!.id, true);
    t.conference.setHand(a.participant!.id, false);
    expect(seen).toEqual([
      ['participantRole', 'alice', 'moderator'],
      ['participantHand', 'alice', 'true'],
      ['participantHand', 'alice', 'false'],
    ]);
  });

  it('speaking (from the mix) and media changes (from the session) are events', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    const seen = record(t);
    const p = a.participant!;
    t.media.host('demo').current()!.speaking!(p.id, true);
    t.media.host('demo').current()!.speaking!(p.id, true);
    p.setMedia({ codec: 'PCMU', onHold: true });
    p.setMedia({ codec: 'PCMU' });
    expect(seen).toEqual([
      ['participantSpeaking', 'alice', 'true'],
      ['participantMedia', 'alice'],
    ]);
    expect(p.view()).toMatchObject({ speaking: true, codec: 'PCMU', onHold: true });
  });

  it("the session's audio changes reach the audio it is seated in", async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    a.session!.emit('audioChanged');
    await settle();
    expect(t.media.host('demo').current()!.mix()!.calls).toContainEqual([
      'producerChanged',
      a.participant!.id,
    ]);
  });

  it('close() hangs up everyone once (shutdown) and refuses joins after', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice');
    t.conference.close();
    t.conference.close();
    expect(a.session!.hangups).toEqual([{ reason: LeaveReason.ServerShutdown }]);
    expect((await rejection(t.join('demo', 'bob'))).code).toBe('CONF_SHUTTING_DOWN');
    t.rooms.close();
    t.rooms.close();
    expect(t.media.host('demo').closed).toBe(true);
  });
});

describe('PIN rooms', () => {
  const pinRoom = { rooms: [{ name: 'secure', pin: '1234', moderatorPin: '9999', maxParticipants: 10 }] };

  it('callers wait in the lobby (listed, not joined, not mutable) until the PIN; then the mix', async () => {
    const t = makeConference(pinRoom);
    const seen = record(t);
    const c = new FakeConnector({ name: 'alice' });
    const joining = t.conference.join({ room: 'secure', connector: c });
    await settle();
    const p = c.participant!;
    const instance = t.media.host('secure').current()!;
    expect(instance.lobby()!.members.has(p.id)).toBe(true);
    expect(instance.mix()).toBeUndefined(); // the mix is not even created for a lobby caller
    expect(p.state).toBe(ParticipantState.Joining);
    expect(instance.lobby()!.playedTo(p.id)).toEqual(['enter-pin']);
    expect((await rejection(t.conference.mute(p.id, true))).code).toBe('NOT_JOINED');
    c.session!.press('1234#');
    await joining;
    expect(p.state).toBe(ParticipantState.Joined);
    expect(p.role).toBe('participant');
    expect(instance.lobby()!.members.size).toBe(0);
    expect(instance.mix()!.members).toEqual(new Set([p.id]));
    expect(seen.map((e) => e[0])).toEqual(['roomCreated', 'participantAdmitted', 'participantJoined']);
  });

  it('the moderator PIN makes a moderator (a role event before joined)', async () => {
    const t = makeConference(pinRoom);
    const seen = record(t);
    const c = new FakeConnector({ name: 'mod' });
    const joining = t.conference.join({ room: 'secure', connector: c });
    await settle();
    c.session!.press('9999#');
    await joining;
    expect(seen.slice(-2)).toEqual([
      ['participantRole', 'mod', 'moderator'],
      ['participantJoined', 'mod', 'secure'],
    ]);
  });

  it('three wrong PINs (typed ahead over the prompts): goodbye, hang-up with 403, never joined', async () => {
    const t = makeConference(pinRoom);
    const seen = record(t);
    const c = new FakeConnector({ name: 'intruder' });
    const joining = t.conference.join({ room: 'secure', connector: c });
    await settle();
    c.session!.press('1111#4321#12345#');
    const err = await rejection(joining);
    expect(err.code).toBe('CONF_JOIN_ABANDONED');
    const lobby = t.media.host('secure').current()?.lobby() ?? t.media.host('secure').instances[0]!.lobby()!;
    expect(lobby.playedTo(c.participant!.id)).toEqual(['enter-pin', 'goodbye']);
    expect(c.session!.hangups).toEqual([
      { reason: LeaveReason.PinFailed, why: { cause: 403, text: 'Wrong conference PIN' } },
    ]);
    expect(seen.map((e) => e[0])).toEqual(['roomCreated', 'participantAdmitted', 'participantLeft']);
  });

  it('a dial-out joins a PIN room without a PIN', async () => {
    const connector = new FakeConnector({ name: 'callee' });
    const dialer: Dialer = { dial: () => connector };
    const t = makeConference(pinRoom, { dialer });
    const p = await t.conference.dialOut('secure', 'sip:callee@example.com');
    expect(p.state).toBe(ParticipantState.Joined);
    expect(t.media.host('secure').current()!.mix()!.members.has(p.id)).toBe(true);
  });
});

describe('dial-out', () => {
  it('is unavailable without a dialer', async () => {
    const t = makeConference();
    expect((await rejection(t.conference.dialOut('demo', 'sip:bob@example.com'))).code).toBe(
      'CONF_DIAL_UNAVAILABLE',
    );
  });

  it('a call that is not answered leaves the room; the error is the connector’s', async () => {
    const gate = new Deferred();
    const connector = new FakeConnector({ name: 'bob', establishGate: gate.promise });
    const t = makeConference({}, { dialer: { dial: () => connector } });
    const seen = record(t);
    const dialling = t.conference.dialOut('demo', 'sip:bob@example.com');
    await settle();
    expect(t.conference.getRoom('demo').participants()[0]!.state).toBe(ParticipantState.Joining);
    connector.participant!.close(LeaveReason.NotAnswered);
    gate.reject(new AppError('CONF_DIAL_FAILED', '486 Busy Here'));
    expect((await rejection(dialling)).code).toBe('CONF_DIAL_FAILED');
    expect(seen.at(-1)).toEqual(['participantLeft', 'bob', 'not-answered', 'demo']);
  });

  it('kicking a ringing dial-out aborts its signalling', async () => {
    const gate = new Deferred();
    const connector = new FakeConnector({ name: 'bob', establishGate: gate.promise });
    const t = makeConference({}, { dialer: { dial: () => connector } });
    const dialling = t.conference.dialOut('demo', 'sip:bob@example.com');
    await settle();
    t.conference.kick(connector.participant!.id);
    expect(connector.establishedWith!.aborted).toBe(true);
    gate.reject(new Error('487 Request Terminated'));
    expect((await rejection(dialling)).code).toBe('CONF_JOIN_ABANDONED');
  });
});

describe('moving a participant', () => {
  it('on the same media thread: its audio is re-attached to the target room, participantMoved', async () => {
    const t = makeConference();
    const a = await t.join('red', 'alice', { legs: [threadLeg(0)] });
    await t.join('blue', 'bob');
    const seen = record(t);
    const p = a.participant!;
    await t.conference.move(p.id, 'blue');
    const red = t.media.host('red');
    const blue = t.media.host('blue').current()!;
    expect(red.instances[0]!.mix()!.calls).toContainEqual(['remove', p.id]);
    expect(blue.mix()!.members.has(p.id)).toBe(true);
    expect(a.session!.renegotiated).toEqual([]);
    expect(a.session!.rehomed).toEqual([blue.legs]); // later legs (a re-key, video) are built in blue
    expect(seen).toEqual([['participantMoved', 'alice', 'red', 'blue']]);
    expect(t.conference.locate(p.id).room.id).toBe('blue');
    expect(t.conference.getRoom('red').size).toBe(0);
    expect(red.instances[0]!.closed).toBe(true); // red emptied: its media is released
    // It is a participant of blue from now on: leaving is reported there.
    a.session!.remoteBye();
    expect(seen.at(-1)).toEqual(['participantLeft', 'alice', 'remote-bye', 'blue']);
  });

  it('into a room that requires SRTP: refused for clear media (SEC_SRTP_REQUIRED), allowed for encrypted', async () => {
    const t = makeConference({}, { srtpRequired: (room) => room === 'vault' });
    const a = await t.join('red', 'alice');
    const b = await t.join('red', 'bob');
    const err = await rejection(t.conference.move(a.participant!.id, 'vault'));
    expect(err.code).toBe('SEC_SRTP_REQUIRED');
    expect(t.conference.locate(a.participant!.id).room.id).toBe('red');
    expect(t.conference.listRooms().map((r) => r.id)).toEqual(['red']); // not even created
    b.participant!.setMedia({ srtp: true });
    await t.conference.move(b.participant!.id, 'vault');
    expect(t.conference.locate(b.participant!.id).room.id).toBe('vault');
  });

  it('dial-out from a room that requires SRTP is refused before anything is dialled', async () => {
    const dialled: string[] = [];
    const t = makeConference(
      {},
      {
        srtpRequired: (room) => room === 'vault',
        dialer: {
          dial: (target: string) => {
            dialled.push(target);
            throw new Error('not in this test');
          },
        } as unknown as Dialer,
      },
    );
    expect((await rejection(t.conference.dialOut('vault', 'sip:bob@127.0.0.1'))).code).toBe(
      'SEC_SRTP_REQUIRED',
    );
    expect(dialled).toEqual([]);
  });

  it('keeps its mute across the move', async () => {
    const t = makeConference();
    const a = await t.join('red', 'alice');
    await t.conference.mute(a.participant!.id, true);
    await t.conference.move(a.participant!.id, 'blue');
    // Added to blue's mix muted (RoomAudio.add's `muted`): no frame of it is mixed there in between.
    expect(t.media.host('blue').current()!.mix()!.calls).toContainEqual(['add', a.participant!.id, 'muted']);
  });

  it('to a room on another media thread: the session renegotiates onto legs built there', async () => {
    const media = new FakeMediaProvider([new FakeThread(0), new FakeThread(1)]);
    media.threadOf = (room) => media.threads[room === 'blue' ? 1 : 0]!;
    const t = makeConference({}, {}, media);
    const a = await t.join('red', 'alice', { legs: [threadLeg(0)], renegotiable: true });
    await t.conference.move(a.participant!.id, 'blue');
    const blue = t.media.host('blue').current()!;
    expect(a.session!.renegotiated).toEqual([blue.legs]);
    expect(blue.mix()!.members.has(a.participant!.id)).toBe(true);
  });

  it('with legs bound to the room router: renegotiation too', async () => {
    const t = makeConference();
    const a = await t.join('red', 'alice', { legs: [routerLeg()], renegotiable: true });
    await t.conference.move(a.participant!.id, 'blue');
    expect(a.session!.renegotiated).toHaveLength(1);
  });

  it('CONF_MOVE_UNSUPPORTED when the media must move and the session cannot renegotiate; nothing changes', async () => {
    const t = makeConference();
    const a = await t.join('red', 'alice', { legs: [routerLeg()] });
    const err = await rejection(t.conference.move(a.participant!.id, 'blue'));
    expect([err.code, err.httpStatus]).toEqual(['CONF_MOVE_UNSUPPORTED', 409]);
    expect(t.conference.locate(a.participant!.id).room.id).toBe('red');
    expect(t.media.host('red').current()!.mix()!.members.has(a.participant!.id)).toBe(true);
    expect(t.media.host('blue').current()).toBeUndefined(); // the target's media claim was given back
  });

  it('CONF_MOVE_FAILED when the far end refuses: back in its room and its mix', async () => {
    const t = makeConference();
    const a = await t.join('red', 'alice', {
      legs: [routerLeg()],
      renegotiable: true,
      renegotiateFails: true,
    });
    const err = await rejection(t.conference.move(a.participant!.id, 'blue'));
    expect(err.code).toBe('CONF_MOVE_FAILED');
    const mix = t.media.host('red').current()!.mix()!;
    expect(mix.members.has(a.participant!.id)).toBe(true);
    expect(mix.calls.filter((c) => c[1] === a.participant!.id).map((c) => c[0])).toEqual(
      expect.arrayContaining(['remove', 'add']),
    );
  });

  it('refuses the same room, a locked target, an unknown participant, a lobby caller', async () => {
    const t = makeConference({ rooms: [{ name: 'secure', pin: '1', maxParticipants: 5 }] });
    const a = await t.join('red', 'alice');
    await t.join('blue', 'bob');
    t.conference.setLocked('blue', true);
    const pid = a.participant!.id;
    expect((await rejection(t.conference.move(pid, 'red'))).code).toBe('CONF_SAME_ROOM');
    expect((await rejection(t.conference.move(pid, 'blue'))).code).toBe('CONF_ROOM_LOCKED');
    expect((await rejection(t.conference.move('nobody', 'blue'))).code).toBe('CONF_PARTICIPANT_NOT_FOUND');
    const c = new FakeConnector({ name: 'waiting' });
    void t.conference.join({ room: 'secure', connector: c }).catch(() => undefined);
    await settle();
    expect((await rejection(t.conference.move(c.participant!.id, 'red'))).code).toBe('NOT_JOINED');
  });
});

describe('a PIN given up front (browsers)', () => {
  const pinned = { rooms: [{ name: 'pinned', pin: '1234', moderatorPin: '9999' }] };

  async function upFront(t: TestConference, room: string, pin?: string): Promise<FakeConnector> {
    const connector = new FakeConnector({ name: 'web' });
    await t.conference.join({ room, connector, upFront: true, ...(pin !== undefined ? { pin } : {}) });
    return connector;
  }

  it('a missing PIN is RTC_PIN_REQUIRED and a wrong one RTC_WRONG_PIN; nothing is built or admitted', async () => {
    const t = makeConference(pinned);
    expect((await rejection(upFront(t, 'pinned'))).code).toBe('RTC_PIN_REQUIRED');
    expect((await rejection(upFront(t, 'pinned', '0000'))).code).toBe('RTC_WRONG_PIN');
    expect(t.conference.getRoom('pinned').size).toBe(0);
    expect(t.media.host('pinned').current()).toBeUndefined();
  });

  it('the room PIN joins straight into the mix (no PIN lobby, no prompts); the moderator PIN makes a moderator', async () => {
    const t = makeConference(pinned);
    const c = await upFront(t, 'pinned', '1234');
    expect(c.participant!.state).toBe(ParticipantState.Joined);
    expect(c.participant!.role).toBe('participant');
    const instance = t.media.host('pinned').current()!;
    expect(instance.lobby()).toBeUndefined();
    const m = await upFront(t, 'pinned', '9999');
    expect(m.participant!.role).toBe('moderator');
  });

  it('a room without a PIN needs none, and a PIN given there is ignored', async () => {
    const t = makeConference();
    expect((await upFront(t, 'open')).participant!.role).toBe('participant');
    expect((await upFront(t, 'open', '5555')).participant!.role).toBe('participant');
  });
});
