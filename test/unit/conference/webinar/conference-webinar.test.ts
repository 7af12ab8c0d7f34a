/**
 * Webinar rooms in the conference core, with fake media (the room audio records its calls): role PINs, attendees
 * muted before the mix ever has them, listen-only refusals (`*6`, API, mute-all), `*1`, promote/demote, the
 * waiting room (wait for host, admit, deny with its 403 hang-up), browsers' up-front PINs and dial-outs.
 */
import { WebinarSchema } from '../../../../src/protocol/webinar-protocol';
import { LeaveReason } from '../../../../src/conference/participant/leave-reason';
import { ParticipantState } from '../../../../src/conference/participant/participant';
import type { AppError } from '../../../../src/errors/app-error';
import { FakeConnector, makeConference, settle, type TestConference } from '../fakes';

const ROOM = 'hall';
const webinar = (o: Record<string, unknown> = {}) =>
  WebinarSchema.parse({ hostPin: '1111', attendeePin: '2222', panelistPin: '3333', ...o });
const conf = (o: Record<string, unknown> = {}): TestConference =>
  makeConference({ joinTones: false, rooms: [{ name: ROOM, webinar: webinar(o) }] });

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

/** Calls the room like a phone and types `pin#`; resolves with the connector and the join (not awaited). */
async function phone(t: TestConference, name: string, pin: string) {
  const c = new FakeConnector({ name });
  const joining = t.conference.join({ room: ROOM, connector: c });
  joining.catch(() => undefined);
  await settle();
  c.session!.press(`${pin}#`);
  await settle();
  return { c, joining, p: () => c.participant! };
}

const instance = (t: TestConference) => t.media.host(ROOM).current()!;

describe('webinar roles', () => {
  it('role PINs: host, panelist, attendee; the attendee is muted before it is in the mix', async () => {
    const t = conf();
    const h = await phone(t, 'host', '1111');
    await h.joining;
    const pa = await phone(t, 'pan', '3333');
    await pa.joining;
    const a = await phone(t, 'att', '2222');
    await a.joining;
    expect([h.p().role, pa.p().role, a.p().role]).toEqual(['host', 'panelist', 'attendee']);
    expect([h.p().muted, pa.p().muted, a.p().muted]).toEqual([false, true, true]);
    const calls = instance(t)
      .mix()!
      .calls.filter((c) => c[1] === a.p().id);
    // Added to the mix muted (not added, then muted a frame later), never unmuted.
    expect(calls).toEqual([['add', a.p().id, 'muted']]);
    expect(a.p().state).toBe(ParticipantState.Joined);
  });

  it('a wrong PIN is no role (three tries, then 403); an open webinar takes a lone # as an attendee', async () => {
    const t = conf();
    const x = await phone(t, 'x', '9999');
    x.c.session!.press('8888#7777#');
    expect((await rejection(x.joining)).code).toBe('CONF_JOIN_ABANDONED');
    const open = conf({ attendeePin: undefined });
    const a = await phone(open, 'a', '');
    await a.joining;
    expect(a.p().role).toBe('attendee');
  });

  it('listen-only: *6, the API and unmute-all leave the attendee muted; *1 raises and lowers its hand', async () => {
    const t = conf();
    const h = await phone(t, 'host', '1111');
    await h.joining;
    const a = await phone(t, 'att', '2222');
    await a.joining;
    const pid = a.p().id;
    a.c.session!.press('*6');
    await settle();
    expect(a.p().muted).toBe(true);
    expect(instance(t).mix()!.playedTo(pid)).toContain('listen-only');
    expect((await rejection(t.conference.mute(pid, false))).code).toBe('CONF_ATTENDEE_CANNOT_UNMUTE');
    expect((await t.conference.muteAll(ROOM, false)).map((p) => p.id)).not.toContain(pid);
    expect(a.p().muted).toBe(true);
    expect(() => t.conference.assertMayUnmute(pid)).toThrow(
      expect.objectContaining({ code: 'CONF_ATTENDEE_CANNOT_UNMUTE' }),
    );
    a.c.session!.press('*1');
    await settle();
    expect(a.p().handRaised).toBe(true);
    a.c.session!.press('*1');
    await settle();
    expect(a.p().handRaised).toBe(false);
    expect(
      instance(t)
        .mix()!
        .playedTo(pid)
        .filter((n) => n.startsWith('hand')),
    ).toEqual(['hand-raised', 'hand-lowered']);
    expect(
      instance(t)
        .mix()!
        .calls.filter((c) => c[1] === pid && (c[0] === 'setMuted' || c[0] === 'add')),
    ).toEqual([['add', pid, 'muted']]);
  });

  it('promote unmutes and lowers the hand; demote mutes; only attendees are promoted, panelists demoted', async () => {
    const t = conf();
    const a = await phone(t, 'att', '2222');
    const h = await phone(t, 'host', '1111');
    await Promise.all([a.joining, h.joining]);
    const pid = a.p().id;
    a.p().setHand(true);
    await t.conference.promote(pid);
    expect(a.p()).toMatchObject({ role: 'panelist', muted: false, handRaised: false });
    expect((await rejection(t.conference.promote(pid))).code).toBe('CONF_NOT_ATTENDEE');
    await t.conference.demote(pid);
    expect(a.p()).toMatchObject({ role: 'attendee', muted: true });
    expect((await rejection(t.conference.demote(pid))).code).toBe('CONF_NOT_PANELIST');
    expect((await rejection(t.conference.demote(h.p().id))).code).toBe('CONF_NOT_PANELIST');
    const mix = instance(t).mix()!;
    expect(mix.calls.filter((c) => (c[0] === 'setMuted' || c[0] === 'add') && c[1] === pid)).toEqual([
      ['add', pid, 'muted'],
      ['setMuted', pid, false],
      ['setMuted', pid, true],
    ]);
  });

  it('promote in a plain room is CONF_NOT_WEBINAR', async () => {
    const t = makeConference({ joinTones: false });
    const c = await t.join('plain', 'alice');
    expect((await rejection(t.conference.promote(c.participant!.id))).code).toBe('CONF_NOT_WEBINAR');
    expect(() => t.conference.admit(c.participant!.id)).toThrow(
      expect.objectContaining({ code: 'CONF_NOT_WEBINAR' }),
    );
  });

  it('a dial-out into a webinar is a panelist, never asked a PIN', async () => {
    const t = conf();
    const c = new FakeConnector({ name: 'guest' });
    await t.conference.join({ room: ROOM, connector: c, bypassPin: true });
    expect(c.participant!).toMatchObject({ role: 'panelist', muted: true, state: ParticipantState.Joined });
  });
});

describe('the waiting room', () => {
  it('waits for the host, then for admission; admitted: the prompt, then the mix', async () => {
    const t = conf({ lobby: true, waitForHost: true });
    const a = await phone(t, 'att', '2222');
    const pid = a.p().id;
    expect(a.p()).toMatchObject({ waiting: 'host', state: ParticipantState.Joining });
    expect(instance(t).lobby()!.playedTo(pid)).toContain('webinar-wait-host');
    expect(instance(t).mix()?.members.has(pid) ?? false).toBe(false);
    const h = await phone(t, 'host', '1111');
    await h.joining;
    expect(a.p().waiting).toBe('admission');
    expect(instance(t).lobby()!.playedTo(pid)).toContain('lobby-wait');
    expect(t.conference.waiting(ROOM).map((p) => p.id)).toEqual([pid]);
    t.conference.admit(pid);
    await a.joining;
    expect(a.p()).toMatchObject({ waiting: null, state: ParticipantState.Joined, muted: true });
    expect(instance(t).lobby()!.playedTo(pid).slice(-1)).toEqual(['lobby-admitted']);
    expect(instance(t).mix()!.members.has(pid)).toBe(true);
    expect(t.conference.waiting(ROOM)).toEqual([]);
    expect(() => t.conference.admit(pid)).toThrow(expect.objectContaining({ code: 'CONF_NOT_WAITING' }));
  });

  it('denied: "the host declined", hang-up with 403, CONF_LOBBY_DENIED, never in the mix', async () => {
    const t = conf({ lobby: true });
    const a = await phone(t, 'att', '2222');
    const pid = a.p().id;
    expect(a.p().waiting).toBe('admission');
    // The room's media goes with its last participant: keep hold of what it played.
    const { lobby, mix } = { lobby: instance(t).lobby()!, mix: instance(t).mix() };
    t.conference.deny(pid);
    expect((await rejection(a.joining)).code).toBe('CONF_LOBBY_DENIED');
    expect(lobby.playedTo(pid).slice(-1)).toEqual(['lobby-denied']);
    expect(a.c.session!.hangups).toEqual([
      { reason: LeaveReason.LobbyDenied, why: { cause: 403, text: 'Forbidden (declined by the host)' } },
    ]);
    expect(mix?.calls.some((c) => c[1] === pid) ?? false).toBe(false);
  });

  it('a browser (PIN up front) waits too and is told; a hang-up while waiting ends the wait', async () => {
    const t = conf({ lobby: true });
    const told: unknown[] = [];
    const c = new FakeConnector({ name: 'web' });
    const joining = t.conference.join({
      room: ROOM,
      connector: c,
      upFront: true,
      pin: '2222',
      onWaiting: (w) => told.push(w),
    });
    joining.catch(() => undefined);
    await settle();
    expect(told).toEqual(['admission']);
    expect(c.participant!.role).toBe('attendee');
    c.session!.remoteBye();
    expect((await rejection(joining)).code).toBe('CONF_JOIN_ABANDONED');
    expect(t.conference.waiting(ROOM)).toEqual([]);
    // Wrong and missing up-front PINs are refused as in any PIN room.
    const bad = (pin?: string) =>
      rejection(
        t.conference.join({
          room: ROOM,
          connector: new FakeConnector({ name: 'x' }),
          upFront: true,
          ...(pin !== undefined ? { pin } : {}),
        }),
      );
    expect((await bad('0000')).code).toBe('RTC_WRONG_PIN');
    expect((await bad()).code).toBe('RTC_PIN_REQUIRED');
  });

  it('hosts never wait and start the webinar', async () => {
    const t = conf({ lobby: true, waitForHost: true });
    const h = await phone(t, 'host', '1111');
    await h.joining;
    expect(h.p()).toMatchObject({ waiting: null, state: ParticipantState.Joined, muted: false });
  });
});

describe('the room owns its webinar', () => {
  it('a webinar room carries its policy and waiting room from its declaration; a plain room has none', async () => {
    const t = makeConference({
      joinTones: false,
      rooms: [{ name: ROOM, webinar: webinar({ lobby: true }) }, { name: 'plain' }],
    });
    const h = await phone(t, 'host', '1111');
    await h.joining;
    const room = t.conference.getRoom(ROOM);
    expect(room.settings.webinar).toMatchObject({ hostPin: '1111', lobby: true });
    expect(room.webinar?.policy.roleForPin('2222')).toBe('attendee');
    expect(room.webinar?.waiting.hasStarted).toBe(true);
    const plain = await t.join('plain', 'alice');
    expect(plain.participant).toBeDefined();
    expect(t.conference.getRoom('plain').webinar).toBeUndefined();
    expect(t.conference.isWebinar('plain')).toBe(false);
  });

  it('closing the room closes its waiting room: the waiting joiner leaves, and nobody can wait there again', async () => {
    const t = conf({ lobby: true });
    const h = await phone(t, 'host', '1111');
    await h.joining;
    const a = await phone(t, 'att', '2222');
    const room = t.conference.getRoom(ROOM);
    expect(room.webinar!.waiting.list().map((w) => w.id)).toEqual([a.p().id]);
    t.conference.endRoom(ROOM);
    await rejection(a.joining);
    expect(a.p().hasLeft()).toBe(true);
    expect(room.webinar!.waiting.list()).toEqual([]);
    const late = await room.webinar!.waiting.wait('late', {
      role: 'attendee',
      signal: new AbortController().signal,
      onState: () => undefined,
      remind: () => undefined,
    });
    expect(late).toBe('left');
  });
});
