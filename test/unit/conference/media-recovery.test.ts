/**
 * A room outlives a media fault (issue 14; src/conference/room/media-recovery.ts), driven without SIP or mediasoup
 * (test/unit/conference/fakes.ts): when the router dies, the room gets a new router and media instance, phones
 * whose legs live in the media thread are re-attached where they are (no renegotiation), legs bound to the dead
 * router renegotiate onto new ones, and a session that cannot is ended with BYE + Reason 500 "media failure"
 * without touching the others. A join arriving during the recovery waits for it.
 */
import { LeaveReason } from '../../../src/conference/participant/leave-reason';
import { ParticipantState } from '../../../src/conference/participant/participant';
import { ERROR_CATALOGUE } from '../../../src/errors/catalogue';
import { makeConference, routerLeg, threadLeg, webRtcLeg, type TestConference } from './fakes';

const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function recovered(t: TestConference, room: string): Promise<void> {
  for (let i = 0; i < 100 && t.conference.getRoom(room).isRecovering; i++) await settle(5);
  expect(t.conference.getRoom(room).isRecovering).toBe(false);
}

describe('media fault recovery', () => {
  it('router death: a new router, thread-mixed phones re-attached where they are, nobody hung up', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice', { legs: [threadLeg(0)] });
    const b = await t.join('demo', 'bob', { legs: [threadLeg(0)] });
    const oldHost = t.media.host('demo');
    const oldMedia = oldHost.current()!;
    oldHost.die();
    expect(t.conference.getRoom('demo').isRecovering).toBe(true);
    await recovered(t, 'demo');

    const newHost = t.media.host('demo');
    expect(newHost).not.toBe(oldHost);
    const fresh = newHost.current()!;
    expect(fresh.id).toBe('demo#2');
    expect(oldMedia.closed).toBe(true);
    for (const c of [a, b]) {
      expect(c.session!.hangups).toEqual([]);
      expect(c.session!.renegotiated).toEqual([]);
      expect(c.session!.rehomed).toEqual([fresh.legs]);
      expect(c.participant!.state).toBe(ParticipantState.Joined);
    }
    expect(fresh.mix()!.members).toEqual(new Set([a.participant!.id, b.participant!.id]));
    expect(t.conference.getRoom('demo').participants()).toHaveLength(2);
  });

  it('router death: router-bound legs renegotiate; a session that cannot is ended with Reason 500, alone', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice', { legs: [routerLeg()], renegotiable: true });
    const b = await t.join('demo', 'bob', { legs: [routerLeg()] });
    const c = await t.join('demo', 'carol', { legs: [threadLeg(0)] });
    t.media.host('demo').die();
    await recovered(t, 'demo');
    const fresh = t.media.host('demo').current()!;

    expect(a.session!.renegotiated).toEqual([fresh.legs]);
    expect(a.session!.hangups).toEqual([]);
    expect(b.session!.hangups).toEqual([
      {
        reason: LeaveReason.MediaFailed,
        why: { cause: 500, text: ERROR_CATALOGUE.MEDIA_FAILURE.sip.reason },
      },
    ]);
    expect(c.session!.hangups).toEqual([]);
    expect(c.session!.rehomed).toEqual([fresh.legs]);
    expect(fresh.mix()!.members).toEqual(new Set([a.participant!.id, c.participant!.id]));
  });

  it('thread death: a new mixer; what lives on the router is re-attached where it is, thread-bound legs renegotiate', async () => {
    const t = makeConference();
    const phone = await t.join('demo', 'alice', { legs: [threadLeg(0)], renegotiable: true });
    const sipWs = await t.join('demo', 'bob', { legs: [webRtcLeg()], renegotiable: true });
    const browser = await t.join('demo', 'carol', { legs: [], mediaOnRouter: true });
    const host = t.media.host('demo');
    const old = host.current()!;
    old.lose();
    expect(t.conference.getRoom('demo').isRecovering).toBe(true);
    await recovered(t, 'demo');
    const fresh = host.current()!;
    expect(t.media.host('demo')).toBe(host); // the router stays
    expect(fresh).not.toBe(old);
    expect(old.closed).toBe(true);

    expect([phone.session!.renegotiated, phone.session!.rehomed]).toEqual([[fresh.legs], []]);
    for (const c of [sipWs, browser]) {
      expect([c.session!.renegotiated, c.session!.rehomed]).toEqual([[], [fresh.legs]]);
      expect(c.session!.hangups).toEqual([]);
    }
    expect(fresh.mix()!.members).toEqual(
      new Set([phone.participant!.id, sipWs.participant!.id, browser.participant!.id]),
    );
  });

  it('a refused renegotiation ends that call only', async () => {
    const t = makeConference();
    const a = await t.join('demo', 'alice', {
      legs: [routerLeg()],
      renegotiable: true,
      renegotiateFails: true,
    });
    const c = await t.join('demo', 'carol', { legs: [threadLeg(0)] });
    t.media.host('demo').die();
    await recovered(t, 'demo');
    expect(a.session!.hangups.map((h) => h.why?.cause)).toEqual([500]);
    expect(c.session!.hangups).toEqual([]);
    expect(
      t.conference
        .getRoom('demo')
        .participants()
        .map((p) => p.id),
    ).toEqual([c.participant!.id]);
  });

  it('a join arriving during the recovery waits for it and lands on the new media', async () => {
    const t = makeConference();
    await t.join('demo', 'alice', { legs: [threadLeg(0)] });
    t.media.host('demo').die();
    const late = await t.join('demo', 'bob', { legs: [threadLeg(0)] });
    const fresh = t.media.host('demo').current()!;
    expect(late.participant!.state).toBe(ParticipantState.Joined);
    expect(fresh.mix()!.members.has(late.participant!.id)).toBe(true);
  });

  it('an empty declared room gets a new router and stays open', async () => {
    const t = makeConference({ rooms: [{ name: 'board', maxParticipants: 5 }] });
    await t.conference.openDeclaredRooms();
    const oldHost = t.media.host('board');
    oldHost.die();
    await recovered(t, 'board');
    expect(t.media.host('board')).not.toBe(oldHost);
    const a = await t.join('board', 'alice');
    expect(a.participant!.state).toBe(ParticipantState.Joined);
  });
});
