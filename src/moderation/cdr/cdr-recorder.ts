import type { Logger } from 'pino';
import type { ConferenceObserverEvents } from '../../conference/conference';
import { LeaveReason } from '../../conference/participant/leave-reason';
import type { Participant } from '../../conference/participant/participant';
import type { Room } from '../../conference/room/room';
import type { CdrRecord, CdrRepository, QualitySummary } from '../../storage/store';
import type { TypedEmitter } from '../../util/typed-emitter';

/** What the recorder needs of the quality monitor: a call's averages, then letting them go. */
export interface QualitySummaries {
  summary(participantId: string): QualitySummary;
  release(participantId: string): void;
}

export interface CdrRecorderOptions {
  conference: { readonly observer: Pick<TypedEmitter<ConferenceObserverEvents>, 'on' | 'off'> };
  cdrs: CdrRepository;
  /** Absent: the records carry no quality figures. */
  quality?: QualitySummaries;
  log: Logger;
}

/** A call being recorded: where it is, and when it was answered. */
interface OpenCall {
  participant: Participant;
  roomId: string;
  answeredAt: Date | null;
}

/**
 * Writes a call detail record for every call and browser session, from the conference observer: admitted →
 * the record starts (a participant's `joinedAt` is when its INVITE or join request arrived), joined → answered,
 * moved → its room changes, left → the record is written with the duration (from the answer; 0 when never
 * answered), codec, transport, kind, direction, Call-ID, leave reason and the quality averages. Calls that never
 * joined (cancelled, wrong PIN, dial-out not answered) get one too, unanswered.
 *
 * Writes are synchronous and happen inside the `participantLeft` event, so the shutdown's `server-shutdown`
 * leaves are on disk as soon as `conference.close()` returns. It never throws into the observer: a store failure
 * is logged. `close()` writes whatever is still open (as `server-shutdown`) and stops listening; close it after
 * the conference and before the store.
 */
export class CdrRecorder {
  private readonly open = new Map<string, OpenCall>();
  private closed = false;
  private readonly onAdmitted: (p: Participant, room: Room) => void;
  private readonly onJoined: (p: Participant, room: Room) => void;
  private readonly onMoved: (p: Participant, from: Room, to: Room) => void;
  private readonly onLeft: (p: Participant, reason: LeaveReason, room: Room) => void;

  constructor(private readonly opts: CdrRecorderOptions) {
    this.onAdmitted = (p, room) => {
      this.open.set(p.id, { participant: p, roomId: room.id, answeredAt: null });
    };
    this.onJoined = (p, room) => {
      const call = this.callOf(p, room);
      call.answeredAt ??= new Date();
    };
    this.onMoved = (p, _from, to) => {
      this.callOf(p, to).roomId = to.id;
    };
    this.onLeft = (p, reason, room) => this.write(this.callOf(p, room), reason);
    const o = opts.conference.observer;
    o.on('participantAdmitted', this.onAdmitted);
    o.on('participantJoined', this.onJoined);
    o.on('participantMoved', this.onMoved);
    o.on('participantLeft', this.onLeft);
  }

  /** Calls admitted and not written yet. */
  get openCalls(): number {
    return this.open.size;
  }

  /** Writes the calls still open (leave reason `server-shutdown`) and stops listening. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const o = this.opts.conference.observer;
    o.off('participantAdmitted', this.onAdmitted);
    o.off('participantJoined', this.onJoined);
    o.off('participantMoved', this.onMoved);
    o.off('participantLeft', this.onLeft);
    for (const call of [...this.open.values()]) this.write(call, LeaveReason.ServerShutdown);
  }

  /** The open call of `p` (one admitted before the recorder existed is picked up as it is seen). */
  private callOf(p: Participant, room: Room): OpenCall {
    let call = this.open.get(p.id);
    if (!call) {
      call = { participant: p, roomId: room.id, answeredAt: null };
      this.open.set(p.id, call);
    }
    return call;
  }

  private write(call: OpenCall, reason: LeaveReason): void {
    const p = call.participant;
    this.open.delete(p.id);
    try {
      const ended = new Date();
      const session = p.session;
      const record: CdrRecord = {
        id: p.id,
        roomId: call.roomId,
        kind: p.kind,
        direction: session?.direction ?? 'inbound',
        displayName: p.displayName,
        uri: p.uri,
        callId: session?.callId ?? null,
        startedAt: p.joinedAt.toISOString(),
        answeredAt: call.answeredAt?.toISOString() ?? null,
        endedAt: ended.toISOString(),
        durationSeconds: call.answeredAt
          ? Math.max(0, Math.round((ended.getTime() - call.answeredAt.getTime()) / 100) / 10)
          : 0,
        codec: p.codec,
        transport: p.transport,
        leaveReason: p.leaveReason ?? reason,
        quality: this.opts.quality?.summary(p.id) ?? { loss: null, jitterMs: null, rttMs: null, mos: null },
      };
      this.opts.cdrs.put(record);
      p.log.debug({ durationSeconds: record.durationSeconds }, 'call detail record written');
    } catch (err) {
      this.opts.log.error({ err, participantId: p.id }, 'writing the call detail record failed');
    } finally {
      try {
        this.opts.quality?.release(p.id);
      } catch {
        // nothing to do: the monitor forgets it by itself
      }
    }
  }
}
