import pino from 'pino';
import type { ConferenceObserverEvents } from '../../../../src/conference/conference';
import { LeaveReason } from '../../../../src/conference/participant/leave-reason';
import { Participant } from '../../../../src/conference/participant/participant';
import { ParticipantKind } from '../../../../src/conference/participant/participant-kind';
import type { ParticipantSession } from '../../../../src/conference/participant/participant-session';
import type { Room } from '../../../../src/conference/room/room';
import type { RoomAudioStats } from '../../../../src/media/room-audio/room-audio';
import { QualityMonitor, type QualityFigures } from '../../../../src/moderation/quality/quality-monitor';
import { TypedEmitter } from '../../../../src/util/typed-emitter';

const log = pino({ level: 'silent' });

/** Mixer figures the test sets per poll (received/concealed are cumulative, as the mixer reports them). */
function setup() {
  const observer = new TypedEmitter<ConferenceObserverEvents>(log);
  const p = new Participant(ParticipantKind.Sip, { displayName: 'A', uri: 'sip:a@h', transport: 'UDP' }, log);
  p.setMedia({ codec: 'PCMU' });
  let session = {
    loss: null as number | null,
    jitterMs: null as number | null,
    rttMs: null as number | null,
  };
  p.bindSession({ mediaStats: async () => session } as unknown as ParticipantSession);
  let receive = { received: 0, concealed: 0, jitterMs: 0 };
  let sent: { fractionLost: number; jitterMs: number; rttMs: number | null } | undefined;
  const conference = {
    observer,
    listRooms: () => [{ id: 'r1', participants: () => (p.hasLeft() ? [] : [p]) }],
    stats: async (): Promise<RoomAudioStats> =>
      ({ participants: [{ participantId: p.id, receive, sent }] }) as unknown as RoomAudioStats,
  };
  const monitor = new QualityMonitor({ conference, intervalMs: 3_600_000, log });
  const events: QualityFigures[][] = [];
  monitor.on('figures', (l) => events.push(l));
  return {
    p,
    monitor,
    events,
    observer,
    mixer: (r: typeof receive) => (receive = r),
    /** The phone's RTCP report on the mix we send it, as the media thread reads it. */
    remote: (r: typeof sent) => (sent = r),
    media: (s: typeof session) => (session = s),
  };
}

describe('QualityMonitor', () => {
  it('computes loss over each interval from the mixer, takes the worse of mixer and session, estimates a MOS', async () => {
    const { p, monitor, events, mixer, media } = setup();
    mixer({ received: 100, concealed: 0, jitterMs: 2 });
    await monitor.poll();
    expect(monitor.get(p.id)).toMatchObject({ loss: null, jitterMs: 2, rttMs: null });
    mixer({ received: 190, concealed: 10, jitterMs: 2 });
    media({ loss: 0.02, jitterMs: 5, rttMs: 40 });
    await monitor.poll();
    const q = monitor.get(p.id);
    expect(q).toMatchObject({ loss: 0.1, jitterMs: 5, rttMs: 40 });
    expect(q.mos).toBeGreaterThan(1);
    expect(q.mos).toBeLessThan(4.4);
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual([{ participantId: p.id, roomId: 'r1', quality: q }]);
    monitor.close();
  });

  it('emits only when figures changed, averages them over the call, and keeps the summary until released', async () => {
    const { p, monitor, events, observer, mixer } = setup();
    mixer({ received: 100, concealed: 0, jitterMs: 4 });
    await monitor.poll();
    mixer({ received: 200, concealed: 0, jitterMs: 4 });
    await monitor.poll();
    mixer({ received: 300, concealed: 0, jitterMs: 4 });
    await monitor.poll();
    expect(events).toHaveLength(2); // first figures, then loss known (0): the third poll changed nothing
    mixer({ received: 300, concealed: 0, jitterMs: 8 });
    await monitor.poll();
    expect(events).toHaveLength(3);
    expect(monitor.summary(p.id)).toMatchObject({ loss: 0, jitterMs: 5, rttMs: null });
    p.close(LeaveReason.RemoteBye);
    observer.emit('participantLeft', p, LeaveReason.RemoteBye, { id: 'r1' } as unknown as Room);
    expect(monitor.summary(p.id).jitterMs).toBe(5);
    monitor.release(p.id);
    expect(monitor.summary(p.id)).toEqual({ loss: null, jitterMs: null, rttMs: null, mos: null });
    monitor.close();
    monitor.close();
    expect(observer.listenerCount('participantLeft')).toBe(0);
  });

  it('a caller that sends no RTP has no figures (no MOS) until packets arrive', async () => {
    const { p, monitor, events, mixer } = setup();
    mixer({ received: 0, concealed: 0, jitterMs: 0 });
    await monitor.poll();
    expect(monitor.get(p.id)).toEqual({ loss: null, jitterMs: null, rttMs: null, mos: null });
    expect(events).toHaveLength(0);
    mixer({ received: 50, concealed: 0, jitterMs: 1 });
    await monitor.poll();
    expect(monitor.get(p.id).mos).toBeGreaterThan(4);
    monitor.close();
  });

  it("takes the phone's own RTCP report on our mix: the worse loss and jitter, and its round trip", async () => {
    const { p, monitor, mixer, remote } = setup();
    mixer({ received: 100, concealed: 0, jitterMs: 2 });
    await monitor.poll();
    mixer({ received: 200, concealed: 0, jitterMs: 2 });
    remote({ fractionLost: 0.05, jitterMs: 9, rttMs: 120 });
    await monitor.poll();
    expect(monitor.get(p.id)).toMatchObject({ loss: 0.05, jitterMs: 9, rttMs: 120 });
    monitor.close();
  });
});
