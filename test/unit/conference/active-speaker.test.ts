/**
 * The active speaker (whose video the room shows), driven step by step with a fake clock: the hold time keeps one
 * cough from switching, the last speaker stays through silences, people without a camera are never chosen, and a
 * leaving or camera-less current speaker hands over at once.
 */
import { ActiveSpeaker } from '../../../src/conference/room/active-speaker';
import { FakeClock } from '../../support/fake-clock';
import { makeConference, settle } from './fakes';

function make(holdMs = 1000): { clock: FakeClock; as: ActiveSpeaker; seen: (string | null)[] } {
  const clock = new FakeClock();
  const as = new ActiveSpeaker({ holdMs, clock });
  const seen: (string | null)[] = [];
  as.on('changed', (pid) => seen.push(pid));
  return { clock, as, seen };
}

describe('ActiveSpeaker', () => {
  it('starts with nobody and picks the first participant with a camera at once', () => {
    const { as, seen } = make();
    expect(as.current).toBeNull();
    as.setEligible('a', true);
    expect(as.current).toBe('a');
    as.setEligible('b', true);
    expect(as.current).toBe('a');
    expect(seen).toEqual(['a']);
  });

  it('switches to a speaker only after they spoke for the hold time without a break', () => {
    const { clock, as, seen } = make(1000);
    as.setEligible('a', true);
    as.setEligible('b', true);
    as.speaking('b', true);
    clock.advance(999);
    expect(as.current).toBe('a');
    clock.advance(1);
    expect(as.current).toBe('b');
    expect(seen).toEqual(['a', 'b']);
  });

  it('does not switch on a cough (speech shorter than the hold time), and a restart starts the hold again', () => {
    const { clock, as, seen } = make(1000);
    as.setEligible('a', true);
    as.setEligible('b', true);
    as.speaking('b', true);
    clock.advance(300);
    as.speaking('b', false);
    clock.advance(2000);
    expect(as.current).toBe('a');
    as.speaking('b', true);
    clock.advance(700);
    expect(as.current).toBe('a');
    clock.advance(300);
    expect(as.current).toBe('b');
    expect(seen).toEqual(['a', 'b']);
  });

  it('keeps the last speaker current through silence', () => {
    const { clock, as } = make(500);
    as.setEligible('a', true);
    as.setEligible('b', true);
    as.speaking('b', true);
    clock.advance(600);
    as.speaking('b', false);
    clock.advance(60_000);
    expect(as.current).toBe('b');
  });

  it('never chooses a speaker without a camera, and chooses them once they have one and still speak', () => {
    const { clock, as, seen } = make(500);
    as.setEligible('a', true);
    as.speaking('phone', true);
    clock.advance(5000);
    expect(as.current).toBe('a');
    as.setEligible('phone', true);
    // Already speaking for longer than the hold time: takes over on the spot.
    expect(as.current).toBe('phone');
    expect(seen).toEqual(['a', 'phone']);
  });

  it('lets the current speaker finish: a second speaker takes over when the first stops', () => {
    const { clock, as } = make(500);
    as.setEligible('a', true);
    as.setEligible('b', true);
    as.speaking('a', true);
    clock.advance(100);
    as.speaking('b', true);
    clock.advance(2000);
    expect(as.current).toBe('a');
    as.speaking('a', false);
    expect(as.current).toBe('b');
  });

  it('hands over at once when the current speaker leaves: to whoever speaks, else who spoke last', () => {
    const { clock, as, seen } = make(500);
    for (const p of ['a', 'b', 'c']) as.setEligible(p, true);
    as.speaking('c', true);
    clock.advance(100);
    as.speaking('c', false);
    as.speaking('b', true);
    clock.advance(100);
    as.remove('a');
    expect(as.current).toBe('b'); // speaking now (though not for the hold time yet)
    as.speaking('b', false);
    clock.advance(100);
    as.remove('b');
    expect(as.current).toBe('c'); // spoke last among those left
    as.remove('c');
    expect(as.current).toBeNull();
    expect(seen).toEqual(['a', 'b', 'c', null]);
  });

  it('hands over when the current speaker turns the camera off', () => {
    const { as } = make();
    as.setEligible('a', true);
    as.setEligible('b', true);
    as.setEligible('a', false);
    expect(as.current).toBe('b');
    as.setEligible('b', false);
    expect(as.current).toBeNull();
  });

  it('among two who spoke past the hold time, the one who started first wins', () => {
    const { clock, as } = make(500);
    for (const p of ['a', 'b', 'c']) as.setEligible(p, true);
    as.speaking('c', true);
    clock.advance(10);
    as.speaking('b', true);
    clock.advance(1000);
    expect(as.current).toBe('c');
  });

  it('emits nothing and keeps no timer after close (idempotent)', () => {
    const { clock, as, seen } = make(500);
    as.setEligible('a', true);
    as.setEligible('b', true);
    as.speaking('b', true);
    expect(clock.pending).toBe(1);
    as.close();
    as.close();
    expect(clock.pending).toBe(0);
    as.speaking('a', true);
    clock.advance(5000);
    expect(seen).toEqual(['a']);
  });
});

describe('the Room feeds its active speaker', () => {
  it('from who has video and who leaves', async () => {
    const t = makeConference();
    const alice = await t.join('demo', 'alice');
    const bob = await t.join('demo', 'bob');
    const room = t.conference.getRoom('demo');
    expect(room.activeSpeaker.current).toBeNull();
    bob.participant!.setMedia({ video: true });
    expect(room.activeSpeaker.current).toBe(bob.participant!.id);
    alice.participant!.setMedia({ video: true });
    expect(room.activeSpeaker.current).toBe(bob.participant!.id);
    bob.session!.remoteBye();
    await settle();
    expect(room.activeSpeaker.current).toBe(alice.participant!.id);
    alice.participant!.setMedia({ video: false });
    expect(room.activeSpeaker.current).toBeNull();
  });
});

describe('conference.activeSpeakerHoldMs', () => {
  it("is each room's hold time (default 1200 ms)", async () => {
    for (const [over, want] of [
      [{}, 1200],
      [{ activeSpeakerHoldMs: 300 }, 300],
    ] as const) {
      const t = makeConference(over);
      await t.join('demo', 'alice');
      expect(t.conference.getRoom('demo').activeSpeaker.holdMs).toBe(want);
    }
  });
});
