import pino from 'pino';
import type { ConferenceObserverEvents } from '../../../../src/conference/conference';
import { LeaveReason } from '../../../../src/conference/participant/leave-reason';
import { Participant } from '../../../../src/conference/participant/participant';
import { ParticipantKind } from '../../../../src/conference/participant/participant-kind';
import type { ParticipantSession } from '../../../../src/conference/participant/participant-session';
import type { Room } from '../../../../src/conference/room/room';
import { CallLadders, type TraceSource } from '../../../../src/moderation/ladder/call-ladders';
import type { MessageTrace } from '../../../../src/sip/ua/message-trace';
import { TypedEmitter } from '../../../../src/util/typed-emitter';

const log = pino({ level: 'silent' });

/** A trace source like SipStack.onTrace: counts its subscribers. */
class FakeTrace implements TraceSource {
  readonly listeners = new Set<(t: MessageTrace) => void>();
  onTrace(l: (t: MessageTrace) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(callId: string | null, label: string, direction: 'in' | 'out' = 'in', at = Date.now()): void {
    const status = /^\d+$/.test(label) ? Number(label) : null;
    const t: MessageTrace = {
      direction,
      at,
      callId,
      method: status === null ? label : 'INVITE',
      status,
      transport: 'UDP',
      local: '127.0.0.1:5060',
      remote: '127.0.0.1:5070',
      raw: `${label} ...`,
    };
    for (const l of this.listeners) l(t);
  }
}

function setup(maxCalls: number, maxMessagesPerCall = 50) {
  const sip = new FakeTrace();
  const observer = new TypedEmitter<ConferenceObserverEvents>(log);
  const ladders = new CallLadders({ sip, conference: { observer }, maxCalls, maxMessagesPerCall, log });
  const room = (id: string) => ({ id }) as unknown as Room;
  const admit = (callId: string | undefined, kind = ParticipantKind.Sip, roomId = 'r1'): Participant => {
    const p = new Participant(kind, { displayName: 'A', uri: 'sip:a@h', transport: 'UDP' }, log);
    p.bindSession({ kind, callId } as unknown as ParticipantSession);
    observer.emit('participantAdmitted', p, room(roomId));
    return p;
  };
  const leave = (p: Participant, roomId = 'r1') => {
    observer.emit('participantLeft', p, LeaveReason.RemoteBye, room(roomId));
  };
  return { sip, observer, ladders, admit, leave, room };
}

describe('CallLadders', () => {
  it('keeps a call’s messages in order with directions and binds them to the participant', () => {
    const { sip, ladders, admit } = setup(10);
    sip.emit('c1', 'INVITE', 'in', 1000);
    sip.emit('c1', '100', 'out', 1001);
    const p = admit('c1');
    sip.emit('c1', '200', 'out', 1050);
    sip.emit('c1', 'ACK', 'in', 1060);
    sip.emit('other', 'OPTIONS');
    const ladder = ladders.ladderOf(p.id)!;
    expect(ladder.callId).toBe('c1');
    expect(ladder.participantId).toBe(p.id);
    expect(ladder.local).toBe('127.0.0.1:5060');
    expect(ladder.remote).toBe('127.0.0.1:5070');
    expect(ladder.messages.map((m) => `${m.direction} ${m.label}`)).toEqual([
      'in INVITE',
      'out 100',
      'out 200',
      'in ACK',
    ]);
    expect(ladder.messages.map((m) => m.at)).toEqual([1000, 1001, 1050, 1060]);
    expect(ladder.messages[1]).toMatchObject({ method: 'INVITE', status: 100 });
    expect(ladders.roomsOf(p.id)).toEqual(['r1']);
  });

  it('has no ladder for a browser, an unknown participant, or a message without Call-ID', () => {
    const { sip, ladders, admit } = setup(10);
    const b = admit(undefined, ParticipantKind.WebRtc);
    sip.emit(null, 'INVITE');
    expect(ladders.ladderOf(b.id)).toBeUndefined();
    expect(ladders.ladderOf('nobody')).toBeUndefined();
    expect(ladders.size).toBe(0);
  });

  it('binds a dial-out before its first message (Call-ID chosen before the INVITE)', () => {
    const { sip, ladders, admit } = setup(10);
    const p = admit('out-1');
    sip.emit('out-1', 'INVITE', 'out');
    sip.emit('out-1', '486', 'in');
    expect(ladders.ladderOf(p.id)!.messages.map((m) => m.label)).toEqual(['INVITE', '486']);
    expect(ladders.ladderOf(p.id)!.remote).toBe('127.0.0.1:5070');
  });

  it('keeps ended calls (their BYE/200 still land there) and evicts the oldest ended first, never a live one', () => {
    const { sip, ladders, admit, leave } = setup(3);
    sip.emit('a', 'INVITE');
    const a = admit('a');
    sip.emit('b', 'INVITE');
    const b = admit('b');
    sip.emit('c', 'INVITE');
    const c = admit('c');
    leave(b);
    sip.emit('b', 'BYE');
    sip.emit('b', '200', 'out');
    leave(a);
    expect(ladders.ladderOf(b.id)!.messages.map((m) => m.label)).toEqual(['INVITE', 'BYE', '200']);
    // A fourth call: b ended before a, so b goes first; the live c stays.
    sip.emit('d', 'INVITE');
    expect(ladders.ladderOf(b.id)).toBeUndefined();
    expect(ladders.ladderOf(a.id)).toBeDefined();
    expect(ladders.ladderOf(c.id)).toBeDefined();
    expect(ladders.size).toBe(3);
    // OPTIONS pings (no participant) are evicted like ended calls: the live call survives a flood of them.
    for (let i = 0; i < 20; i++) sip.emit(`ping-${i}`, 'OPTIONS');
    expect(ladders.ladderOf(c.id)!.messages).toHaveLength(1);
    expect(ladders.ladderOf(a.id)).toBeUndefined();
    expect(ladders.size).toBe(3);
  });

  it('keeps the first and the latest messages of a long call, up to maxMessagesPerCall', () => {
    const { sip, ladders, admit } = setup(5, 4);
    const p = admit('long');
    for (let i = 0; i < 10; i++) sip.emit('long', `M${i}`);
    expect(ladders.ladderOf(p.id)!.messages.map((m) => m.label)).toEqual(['M0', 'M1', 'M8', 'M9']);
  });

  it('follows a moved participant into its new room', () => {
    const { sip, observer, ladders, admit, room } = setup(5);
    sip.emit('m', 'INVITE');
    const p = admit('m');
    observer.emit('participantMoved', p, room('r1'), room('r2'));
    expect(ladders.roomsOf(p.id).sort()).toEqual(['r1', 'r2']);
  });

  it('does not subscribe at all with maxCalls 0, and close() unsubscribes (idempotent)', () => {
    const none = setup(0);
    expect(none.sip.listeners.size).toBe(0);
    const { sip, ladders, observer } = setup(5);
    expect(sip.listeners.size).toBe(1);
    expect(observer.listenerCount('participantAdmitted')).toBe(1);
    ladders.close();
    ladders.close();
    expect(sip.listeners.size).toBe(0);
    expect(observer.listenerCount('participantAdmitted')).toBe(0);
    expect(observer.listenerCount('participantLeft')).toBe(0);
  });
});
