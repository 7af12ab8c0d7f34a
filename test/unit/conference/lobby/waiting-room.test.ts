/**
 * A webinar's waiting room on its own with a fake clock: waiting for the host, then for admission; admit and
 * deny; reminders every `reminderSeconds` and none after the wait ends; a caller who hangs up; the room closing.
 */
import pino from 'pino';
import { WaiterState, WaitingRoom, type WaitOutcome } from '../../../../src/conference/lobby/waiting-room';
import {
  WaitReason,
  WebinarPolicy,
  type WebinarSettings,
} from '../../../../src/conference/webinar/webinar-policy';
import type { ParticipantRole } from '../../../../src/conference/participant/participant';
import { FakeClock } from '../../../support/fake-clock';

const log = pino({ level: 'silent' });
const settings: WebinarSettings = {
  hostPin: '1111',
  attendeePin: '2222',
  lobby: true,
  joinMuted: true,
  listenOnly: true,
  waitForHost: true,
  reminderSeconds: 30,
};

function setup(o: Partial<WebinarSettings> = {}) {
  const clock = new FakeClock();
  const room = new WaitingRoom(new WebinarPolicy({ ...settings, ...o }), clock, log);
  const waiter = (id: string, role: ParticipantRole = 'attendee') => {
    const leave = new AbortController();
    const states: WaiterState[] = [];
    const reminders: WaitReason[] = [];
    let outcome: WaitOutcome | undefined;
    const done = room
      .wait(id, {
        role,
        signal: leave.signal,
        onState: (s) => states.push(s),
        remind: (r) => reminders.push(r),
      })
      .then((x) => (outcome = x));
    return { leave, states, reminders, done, outcome: () => outcome };
  };
  return { clock, room, waiter };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await Promise.resolve();
};

describe('WaitingRoom', () => {
  it('an attendee before the host waits for the host, then for admission once a host joins, then is admitted', async () => {
    const { room, waiter } = setup();
    const a = waiter('a');
    expect(room.state('a')).toBe(WaiterState.WaitingForHost);
    expect(a.reminders).toEqual([WaitReason.Host]);
    room.start();
    expect(room.state('a')).toBe(WaiterState.WaitingForAdmission);
    expect(a.reminders).toEqual([WaitReason.Host, WaitReason.Admission]);
    room.admit('a');
    await flush();
    expect(a.outcome()).toBe(WaiterState.Admitted);
    expect(a.states).toEqual([
      WaiterState.WaitingForHost,
      WaiterState.WaitingForAdmission,
      WaiterState.Admitted,
    ]);
    expect(room.list()).toEqual([]);
  });

  it('hosts and moderators never wait', async () => {
    const { room, waiter } = setup();
    const h = waiter('h', 'host');
    const m = waiter('m', 'moderator');
    await flush();
    expect(h.outcome()).toBe(WaiterState.Admitted);
    expect(m.outcome()).toBe(WaiterState.Admitted);
    expect(h.reminders).toEqual([]);
    expect(room.list()).toEqual([]);
  });

  it('without a lobby, those waiting for the host come in when it joins', async () => {
    const { room, waiter } = setup({ lobby: false });
    const a = waiter('a');
    const b = waiter('b', 'panelist');
    expect(room.list().map((w) => w.state)).toEqual([WaiterState.WaitingForHost, WaiterState.WaitingForHost]);
    room.start();
    await flush();
    expect(a.outcome()).toBe(WaiterState.Admitted);
    expect(b.outcome()).toBe(WaiterState.Admitted);
    // Started stays started: the next attendee goes straight in.
    const c = waiter('c');
    await flush();
    expect(c.outcome()).toBe(WaiterState.Admitted);
  });

  it('a denied person ends with denied; deny and admit of someone not waiting is CONF_NOT_WAITING', async () => {
    const { room, waiter } = setup({ waitForHost: false });
    const a = waiter('a');
    expect(room.state('a')).toBe(WaiterState.WaitingForAdmission);
    room.deny('a');
    await flush();
    expect(a.outcome()).toBe(WaiterState.Denied);
    expect(() => room.deny('a')).toThrow(expect.objectContaining({ code: 'CONF_NOT_WAITING' }));
    expect(() => room.admit('nobody')).toThrow(expect.objectContaining({ code: 'CONF_NOT_WAITING' }));
  });

  it('a moderator may admit someone still waiting for the host', async () => {
    const { room, waiter } = setup();
    const a = waiter('a');
    room.admit('a');
    await flush();
    expect(a.outcome()).toBe(WaiterState.Admitted);
  });

  it('reminds every reminderSeconds while waiting, and stops when the wait ends', async () => {
    const { clock, room, waiter } = setup({ waitForHost: false });
    const a = waiter('a');
    expect(a.reminders).toHaveLength(1);
    clock.advance(29_999);
    expect(a.reminders).toHaveLength(1);
    clock.advance(1);
    expect(a.reminders).toHaveLength(2);
    clock.advance(60_000);
    expect(a.reminders).toEqual([
      WaitReason.Admission,
      WaitReason.Admission,
      WaitReason.Admission,
      WaitReason.Admission,
    ]);
    room.admit('a');
    expect(clock.pending).toBe(0);
    clock.advance(120_000);
    expect(a.reminders).toHaveLength(4);
  });

  it('a person who hangs up leaves the list with left; the room closing ends every wait with left', async () => {
    const { clock, room, waiter } = setup({ waitForHost: false });
    const a = waiter('a');
    clock.advance(1000);
    const b = waiter('b');
    expect(room.list().map((w) => w.id)).toEqual(['a', 'b']);
    a.leave.abort();
    await flush();
    expect(a.outcome()).toBe(WaiterState.Left);
    expect(room.list().map((w) => w.id)).toEqual(['b']);
    room.close();
    room.close();
    await flush();
    expect(b.outcome()).toBe(WaiterState.Left);
    expect(clock.pending).toBe(0);
    const c = waiter('c');
    await flush();
    expect(c.outcome()).toBe(WaiterState.Left);
  });

  it('one person cannot wait twice', async () => {
    const { room, waiter } = setup({ waitForHost: false });
    waiter('a');
    await expect(
      room.wait('a', {
        role: 'attendee',
        signal: new AbortController().signal,
        onState: () => undefined,
        remind: () => undefined,
      }),
    ).rejects.toThrow(/already waiting/);
  });
});
