import type { Logger } from 'pino';
import type { ConferenceObserverEvents } from '../../conference/conference';
import type { Participant } from '../../conference/participant/participant';
import { ParticipantKind } from '../../conference/participant/participant-kind';
import type { Room } from '../../conference/room/room';
import type { CallLadder, LadderMessage } from '../../protocol/dashboard-protocol';
import type { MessageTrace } from '../../sip/ua/message-trace';
import type { TypedEmitter } from '../../util/typed-emitter';

/**
 * Where the ladders' messages come from: the SIP stack's trace hook (`SipStack.onTrace`). `onTrace` returns the
 * unsubscribe function.
 */
export interface TraceSource {
  onTrace(listener: (trace: MessageTrace) => void): () => void;
}

/** What the ladders need of the conference: its observer (participants admitted, moved and gone). */
export interface LadderConference {
  readonly observer: Pick<TypedEmitter<ConferenceObserverEvents>, 'on' | 'off'>;
}

export interface CallLaddersOptions {
  sip: TraceSource;
  conference: LadderConference;
  /** Calls kept: the live ones and the most recent ended ones (config `ladder.maxCalls`; 0 keeps nothing). */
  maxCalls: number;
  /** Messages kept per call: the first half and the latest half (config `ladder.maxMessagesPerCall`). */
  maxMessagesPerCall: number;
  log: Logger;
}

/** One call's messages. */
interface CallRecord {
  callId: string;
  local: string;
  remote: string;
  /** The first messages, up to half the cap. */
  head: LadderMessage[];
  /** The latest messages after `head` filled up, up to the other half. */
  tail: LadderMessage[];
  /** The participant the call carries, once admitted. */
  participantId?: string;
  /** Rooms the participant was in (a moved participant's ladder is visible from both). */
  rooms: Set<string>;
}

/**
 * The SIP call ladders the dashboard draws: every SIP message of every call, kept in memory per Call-ID, so a
 * moderator sees why a call failed without a packet capture. Bounded: `maxCalls` calls, of which the live ones
 * (bound to a participant still in a room) are never evicted while ended ones and calls no participant ever
 * had (OPTIONS pings, refused INVITEs) go oldest first; and `maxMessagesPerCall` messages per call (the start
 * and the end of a long call are what explain it). A participant is bound to its call by the Call-ID its
 * session reports (SIP and SIP-over-WebSocket calls); browsers have no ladder.
 *
 * On the hot path (every SIP message) it costs a Map lookup and an array push; the stack pays nothing when
 * `maxCalls` is 0 (no subscription).
 */
export class CallLadders {
  /** Calls bound to a participant that has not left: never evicted. */
  private readonly live = new Map<string, CallRecord>();
  /** Every other call kept, in eviction order (oldest first: insertion, or the end of the call). */
  private readonly recent = new Map<string, CallRecord>();
  private readonly byParticipant = new Map<string, string>();
  private readonly headCap: number;
  private readonly tailCap: number;
  private unsubscribe?: () => void;
  private readonly onAdmitted: (p: Participant, room: Room) => void;
  private readonly onMoved: (p: Participant, from: Room, to: Room) => void;
  private readonly onLeft: (p: Participant, reason: unknown, room: Room) => void;

  constructor(private readonly opts: CallLaddersOptions) {
    this.headCap = Math.ceil(opts.maxMessagesPerCall / 2);
    this.tailCap = Math.max(0, opts.maxMessagesPerCall - this.headCap);
    this.onAdmitted = (p, room) => this.bind(p, room.id);
    this.onMoved = (p, _from, to) => {
      this.recordOf(p.id)?.rooms.add(to.id);
    };
    this.onLeft = (p) => this.ended(p.id);
    if (opts.maxCalls <= 0) return;
    this.unsubscribe = opts.sip.onTrace((t) => this.add(t));
    const o = opts.conference.observer;
    o.on('participantAdmitted', this.onAdmitted);
    o.on('participantMoved', this.onMoved);
    o.on('participantLeft', this.onLeft);
  }

  /** The ladder of participant `pid`'s call (live or recently ended); undefined when none is kept. */
  ladderOf(participantId: string): CallLadder | undefined {
    const rec = this.recordOf(participantId);
    if (!rec) return undefined;
    return {
      callId: rec.callId,
      participantId,
      local: rec.local,
      remote: rec.remote,
      messages: rec.head.concat(rec.tail),
    };
  }

  /** The rooms participant `pid` was in while its ladder was kept (empty when none is kept). */
  roomsOf(participantId: string): string[] {
    return [...(this.recordOf(participantId)?.rooms ?? [])];
  }

  /** How many calls are kept (live + recent). */
  get size(): number {
    return this.live.size + this.recent.size;
  }

  /** Stops listening to the stack and the conference; keeps what it has. Idempotent. */
  close(): void {
    if (!this.unsubscribe) return;
    this.unsubscribe();
    this.unsubscribe = undefined;
    const o = this.opts.conference.observer;
    o.off('participantAdmitted', this.onAdmitted);
    o.off('participantMoved', this.onMoved);
    o.off('participantLeft', this.onLeft);
  }

  // ------------------------------------------------------------------ internals

  private recordOf(participantId: string): CallRecord | undefined {
    const callId = this.byParticipant.get(participantId);
    if (callId === undefined) return undefined;
    return this.live.get(callId) ?? this.recent.get(callId);
  }

  /** The hot path: one message of the SIP stack. */
  private add(t: MessageTrace): void {
    const callId = t.callId;
    if (callId === null) return;
    let rec = this.live.get(callId) ?? this.recent.get(callId);
    if (!rec) {
      rec = { callId, local: t.local, remote: t.remote, head: [], tail: [], rooms: new Set() };
      this.recent.set(callId, rec);
      this.evict();
    } else if (rec.local === '') {
      // Bound before its first message (a dial-out: the Call-ID is chosen before the INVITE goes).
      rec.local = t.local;
      rec.remote = t.remote;
    }
    const m: LadderMessage = {
      at: t.at,
      direction: t.direction,
      label: t.status === null ? t.method : String(t.status),
      method: t.method,
      status: t.status,
      transport: t.transport,
      remote: t.remote,
      raw: t.raw,
    };
    if (rec.head.length < this.headCap) rec.head.push(m);
    else if (this.tailCap > 0) {
      if (rec.tail.length >= this.tailCap) rec.tail.shift();
      rec.tail.push(m);
    }
  }

  private bind(p: Participant, roomId: string): void {
    if (p.kind === ParticipantKind.WebRtc) return;
    const callId = p.session?.callId;
    if (!callId) return;
    let rec = this.recent.get(callId);
    if (rec) this.recent.delete(callId);
    else
      rec = this.live.get(callId) ?? {
        callId,
        local: '',
        remote: '',
        head: [],
        tail: [],
        rooms: new Set<string>(),
      };
    rec.participantId = p.id;
    rec.rooms.add(roomId);
    this.live.set(callId, rec);
    this.byParticipant.set(p.id, callId);
    this.evict();
  }

  /** The participant left: its call becomes the most recent ended one (its BYE and 200 still arrive there). */
  private ended(participantId: string): void {
    const callId = this.byParticipant.get(participantId);
    if (callId === undefined) return;
    const rec = this.live.get(callId);
    if (!rec) return;
    this.live.delete(callId);
    this.recent.set(callId, rec);
    this.evict();
  }

  private evict(): void {
    const max = this.opts.maxCalls;
    while (this.live.size + this.recent.size > max) {
      const oldest = this.recent.keys().next();
      if (oldest.done) {
        // More live calls than the bound: keep them all (they are what the dashboard shows), drop nothing.
        return;
      }
      const rec = this.recent.get(oldest.value)!;
      this.recent.delete(oldest.value);
      if (rec.participantId !== undefined && this.byParticipant.get(rec.participantId) === rec.callId)
        this.byParticipant.delete(rec.participantId);
    }
  }
}
