import pino from 'pino';
import type { ConferenceObserverEvents } from '../../../../src/conference/conference';
import { LeaveReason } from '../../../../src/conference/participant/leave-reason';
import { Participant } from '../../../../src/conference/participant/participant';
import { ParticipantKind } from '../../../../src/conference/participant/participant-kind';
import type { ParticipantSession } from '../../../../src/conference/participant/participant-session';
import type { Room } from '../../../../src/conference/room/room';
import { CdrRecorder } from '../../../../src/moderation/cdr/cdr-recorder';
import { SqliteStore } from '../../../../src/storage/sqlite/sqlite-store';
import type { CdrRecord, CdrRepository, QualitySummary } from '../../../../src/storage/store';
import { TypedEmitter } from '../../../../src/util/typed-emitter';

const log = pino({ level: 'silent' });
const room = (id: string) => ({ id }) as unknown as Room;

function setup(cdrs: CdrRepository) {
  const observer = new TypedEmitter<ConferenceObserverEvents>(log);
  const released: string[] = [];
  const summary: QualitySummary = { loss: 0.02, jitterMs: 4, rttMs: 30, mos: 4.1 };
  const quality = { summary: () => summary, release: (id: string) => released.push(id) };
  const recorder = new CdrRecorder({ conference: { observer }, cdrs, quality, log });
  const admit = (kind = ParticipantKind.Sip, session?: Partial<ParticipantSession>): Participant => {
    const p = new Participant(kind, { displayName: 'Alice', uri: 'sip:alice@h', transport: 'UDP' }, log);
    if (session) p.bindSession(session as ParticipantSession);
    observer.emit('participantAdmitted', p, room('r1'));
    return p;
  };
  const leave = (p: Participant, reason: LeaveReason, roomId = 'r1') => {
    p.close(reason);
    observer.emit('participantLeft', p, reason, room(roomId));
  };
  return { observer, recorder, admit, leave, released, summary };
}

describe('CdrRecorder', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = SqliteStore.open({ file: ':memory:' });
  });
  afterEach(() => store.close());

  it('writes an answered call with Call-ID, direction, room after a move, reason and quality; then releases it', () => {
    const { observer, admit, leave, released, summary } = setup(store.cdrs);
    const p = admit(ParticipantKind.Sip, { callId: 'c-1', direction: 'outbound' });
    p.setMedia({ codec: 'PCMA' });
    observer.emit('participantJoined', p, room('r1'));
    observer.emit('participantMoved', p, room('r1'), room('r2'));
    leave(p, LeaveReason.Kicked, 'r2');
    const c = store.cdrs.get(p.id)!;
    expect(c).toMatchObject({
      roomId: 'r2',
      kind: 'sip',
      direction: 'outbound',
      callId: 'c-1',
      codec: 'PCMA',
      transport: 'UDP',
      leaveReason: 'kicked',
      quality: summary,
      startedAt: p.joinedAt.toISOString(),
    });
    expect(c.answeredAt).not.toBeNull();
    expect(c.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(released).toEqual([p.id]);
  });

  it('writes calls that never joined (cancelled, wrong PIN, not answered) as unanswered, and browsers', () => {
    const { admit, leave } = setup(store.cdrs);
    const cancelled = admit(ParticipantKind.Sip, { callId: 'x' });
    const pin = admit(ParticipantKind.SipWs, { callId: 'y' });
    const browser = admit(ParticipantKind.WebRtc, { direction: 'inbound' });
    leave(cancelled, LeaveReason.Cancelled);
    leave(pin, LeaveReason.PinFailed);
    leave(browser, LeaveReason.ConnectionLost);
    for (const [p, reason] of [
      [cancelled, 'cancelled'],
      [pin, 'pin-failed'],
      [browser, 'connection-lost'],
    ] as const) {
      expect(store.cdrs.get(p.id)).toMatchObject({
        leaveReason: reason,
        answeredAt: null,
        durationSeconds: 0,
      });
    }
    expect(store.cdrs.get(browser.id)).toMatchObject({ kind: 'webrtc', callId: null });
  });

  it('never throws into the observer when the store fails', () => {
    const failing: CdrRepository = {
      put: (_c: CdrRecord) => {
        throw new Error('disk full');
      },
      get: () => undefined,
      query: () => ({ items: [], total: 0 }),
      prune: () => 0,
    };
    const { admit, leave, recorder } = setup(failing);
    const p = admit();
    expect(() => leave(p, LeaveReason.RemoteBye)).not.toThrow();
    expect(recorder.openCalls).toBe(0);
  });

  it('close() writes the calls still open as server-shutdown, stops listening, and is idempotent', () => {
    const { observer, admit, recorder } = setup(store.cdrs);
    const p = admit();
    recorder.close();
    recorder.close();
    expect(store.cdrs.get(p.id)).toMatchObject({ leaveReason: 'server-shutdown' });
    expect(observer.listenerCount('participantLeft')).toBe(0);
    expect(observer.listenerCount('participantAdmitted')).toBe(0);
  });
});
