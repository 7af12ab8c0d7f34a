/**
 * Issue 14 abuse limits on the conference side, with fakes for media and sessions and a fake clock: per-source
 * call caps (the focus's SourceAdmission), rooms created on demand per source and in total (RoomManager), and the
 * PIN brute-force lockout across calls (PinLockout through the lobby and at the join).
 */
import { Conference } from '../../../src/conference/conference';
import { SourceAdmission } from '../../../src/conference/focus/source-admission';
import { PinLockout } from '../../../src/conference/lobby/pin-lockout';
import { RoomManager } from '../../../src/conference/room/room-manager';
import { AppError } from '../../../src/errors/app-error';
import { conferenceConfig, FakeConnector, FakeMediaProvider, fakePrompts, log, settle } from './fakes';

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('resolved');
}

describe('SourceAdmission (calls per source)', () => {
  it('caps calls in setup (503) and calls in total (486) per source; other sources are unaffected', () => {
    const a = new SourceAdmission({ maxCallsPerSource: 3, maxSetupsPerSource: 2 });
    const t1 = a.enter('192.0.2.1');
    const t2 = a.enter('192.0.2.1');
    let err: unknown;
    try {
      a.enter('192.0.2.1');
    } catch (e) {
      err = e;
    }
    expect((err as AppError).code).toBe('SEC_TOO_MANY_SETUPS');
    expect((err as AppError).sipStatus).toBe(503);
    expect(() => a.enter('192.0.2.2')).not.toThrow();
    t1.established();
    t2.established();
    a.enter('192.0.2.1');
    try {
      a.enter('192.0.2.1');
    } catch (e) {
      err = e;
    }
    expect((err as AppError).code).toBe('SEC_TOO_MANY_CALLS');
    expect((err as AppError).sipStatus).toBe(486);
    t1.release();
    t1.release(); // idempotent
    expect(a.load('192.0.2.1')).toEqual({ calls: 2, setups: 1 });
    expect(() => a.enter('192.0.2.1')).not.toThrow();
    expect(a.load('192.0.2.1')).toEqual({ calls: 3, setups: 2 });
  });

  it('does not cap exempt (allow-listed) sources', () => {
    const a = new SourceAdmission({ maxCallsPerSource: 1, maxSetupsPerSource: 1 }, (s) => s === '10.0.0.1');
    for (let i = 0; i < 10; i++) a.enter('10.0.0.1');
    expect(a.load('10.0.0.1').calls).toBe(0);
  });
});

describe('rooms created on demand', () => {
  function manager(perSourcePerMinute: number, total: number) {
    const clock = { t: 0 };
    const rooms = new RoomManager(
      conferenceConfig({ rooms: [{ name: 'declared', maxParticipants: 5 }] }),
      new FakeMediaProvider(),
      log,
      200,
      { perSourcePerMinute, total, now: () => clock.t, isExempt: (s) => s === '10.0.0.1' },
    );
    return { rooms, clock };
  }

  it('a source creates at most perSourcePerMinute rooms a minute; joining existing and declared rooms is free', async () => {
    const { rooms, clock } = manager(2, 100);
    await rooms.getOrCreate('a', '192.0.2.1');
    await rooms.getOrCreate('b', '192.0.2.1');
    await rooms.getOrCreate('a', '192.0.2.1');
    await rooms.getOrCreate('declared', '192.0.2.1');
    const err = await rejection(rooms.getOrCreate('c', '192.0.2.1'));
    expect(err.code).toBe('SEC_ROOM_CREATION_LIMIT');
    expect(err.sipStatus).toBe(503);
    expect(rooms.get('c')).toBeUndefined();
    await rooms.getOrCreate('c', '192.0.2.2');
    await rooms.getOrCreate('d', '10.0.0.1');
    await rooms.getOrCreate('e', '10.0.0.1');
    await rooms.getOrCreate('f', '10.0.0.1');
    clock.t += 60_000;
    await rooms.getOrCreate('g', '192.0.2.1');
  });

  it('at most `total` on-demand rooms open at once, whoever asks', async () => {
    const { rooms } = manager(100, 2);
    await rooms.getOrCreate('a', '192.0.2.1');
    await rooms.getOrCreate('b', '192.0.2.2');
    expect((await rejection(rooms.getOrCreate('c', '192.0.2.3'))).code).toBe('SEC_ROOM_CREATION_LIMIT');
    expect((await rejection(rooms.getOrCreate('c', '10.0.0.1'))).code).toBe('SEC_ROOM_CREATION_LIMIT');
    await rooms.getOrCreate('declared', '192.0.2.3');
    rooms.get('a')!.close(undefined as never);
    await settle();
    await rooms.getOrCreate('c', '192.0.2.3');
  });
});

describe('PIN lockout across calls', () => {
  function lockout(over: Partial<ConstructorParameters<typeof PinLockout>[0]> = {}) {
    const clock = { t: 0 };
    const l = new PinLockout({
      failuresPerSource: 4,
      failuresPerRoom: 6,
      windowSeconds: 60,
      lockoutSeconds: 300,
      now: () => clock.t,
      ...over,
    });
    return { l, clock };
  }

  it('locks a source after failuresPerSource wrong PINs within the window, for lockoutSeconds', () => {
    const { l, clock } = lockout();
    for (let i = 0; i < 3; i++) expect(l.recordFailure('192.0.2.1', `room${i}`)).toBe(false);
    expect(l.isLocked('192.0.2.1', 'room0')).toBe(false);
    expect(l.recordFailure('192.0.2.1', 'room9')).toBe(true);
    expect(l.isLocked('192.0.2.1', 'anything')).toBe(true);
    expect(l.isLocked('192.0.2.2', 'room0')).toBe(false);
    clock.t += 299_999;
    expect(l.isLocked('192.0.2.1', 'room0')).toBe(true);
    clock.t += 1;
    expect(l.isLocked('192.0.2.1', 'room0')).toBe(false);
  });

  it('forgets failures older than the window', () => {
    const { l, clock } = lockout();
    for (let i = 0; i < 3; i++) l.recordFailure('192.0.2.1', 'r');
    clock.t += 60_000;
    expect(l.recordFailure('192.0.2.1', 'r')).toBe(false);
  });

  it("locks a room's PIN entry after failuresPerRoom wrong PINs from many sources", () => {
    const { l } = lockout();
    for (let i = 0; i < 6; i++) l.recordFailure(`192.0.2.${i}`, 'secure');
    expect(l.isLocked('198.51.100.1', 'secure')).toBe(true);
    expect(l.isLocked('198.51.100.1', 'other')).toBe(false);
  });

  it('never locks an exempt source', () => {
    const { l } = lockout({ isExempt: (s) => s === '10.0.0.1' });
    for (let i = 0; i < 10; i++) l.recordFailure('10.0.0.1', 'r');
    expect(l.isLocked('10.0.0.1', 'x')).toBe(false);
  });

  it('through the conference: wrong PINs over calls lock the source out of the lobby, then out at the join (403)', async () => {
    const { l } = lockout({ failuresPerSource: 4 });
    const rooms = new RoomManager(
      conferenceConfig({ rooms: [{ name: 'secure', pin: '1234', maxParticipants: 10 }] }),
      new FakeMediaProvider(),
      log,
    );
    const conference = new Conference({ rooms, prompts: fakePrompts, log, pinLockout: l });
    // first call: three wrong PINs
    const c1 = new FakeConnector({ name: 'guesser1' });
    const j1 = conference.join({ room: 'secure', connector: c1, source: '192.0.2.66' });
    await settle();
    c1.session!.press('1111#2222#3333#');
    expect((await rejection(j1)).code).toBe('CONF_JOIN_ABANDONED');
    // second call: the fourth wrong PIN locks the source; the lobby takes no fifth try, even the right PIN
    const c2 = new FakeConnector({ name: 'guesser2' });
    const j2 = conference.join({ room: 'secure', connector: c2, source: '192.0.2.66' });
    await settle();
    c2.session!.press('4444#1234#');
    expect((await rejection(j2)).code).toBe('CONF_JOIN_ABANDONED');
    expect(c2.session!.hangups).toHaveLength(1);
    // third call: refused at the join, before any media
    const c3 = new FakeConnector({ name: 'guesser3' });
    const err = await rejection(conference.join({ room: 'secure', connector: c3, source: '192.0.2.66' }));
    expect(err.code).toBe('SEC_PIN_LOCKED');
    expect(err.sipStatus).toBe(403);
    expect(c3.participant).toBeUndefined();
    // another source still gets in with the right PIN
    const ok = new FakeConnector({ name: 'alice' });
    const j4 = conference.join({ room: 'secure', connector: ok, source: '192.0.2.7' });
    await settle();
    ok.session!.press('1234#');
    await j4;
  });
});
