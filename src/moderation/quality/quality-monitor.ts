import type { Logger } from 'pino';
import type { ConferenceObserverEvents } from '../../conference/conference';
import type { Participant } from '../../conference/participant/participant';
import type { SessionMediaStats } from '../../conference/participant/participant-session';
import type { RoomAudioStats } from '../../media/room-audio/room-audio';
import type { CallQuality } from '../../protocol/dashboard-protocol';
import type { QualitySummary } from '../../storage/store';
import { TypedEmitter } from '../../util/typed-emitter';
import { estimateMos } from './mos';

/** What the monitor reads of the conference: its rooms, their participants, the mixer's figures, leaves. */
export interface QualityConference {
  readonly observer: Pick<TypedEmitter<ConferenceObserverEvents>, 'on' | 'off'>;
  listRooms(): ReadonlyArray<{ readonly id: string; participants(): Participant[] }>;
  stats(roomId: string): Promise<RoomAudioStats | null>;
}

export interface QualityMonitorOptions {
  conference: QualityConference;
  /** How often the figures are gathered (default 2000 ms). */
  intervalMs?: number;
  /** How long the figures of a participant that left are kept when nobody takes them (default 60 s). */
  keepLeftMs?: number;
  log: Logger;
}

export interface QualityFigures {
  participantId: string;
  roomId: string;
  quality: CallQuality;
}

export interface QualityMonitorEvents {
  /** The participants whose figures changed since the last poll (one event per poll, none when nothing changed). */
  figures: [list: QualityFigures[]];
}

const UNKNOWN: CallQuality = Object.freeze({ loss: null, jitterMs: null, rttMs: null, mos: null });

interface Average {
  sum: number;
  n: number;
}

/** What the monitor keeps of one participant. */
interface Track {
  current: CallQuality;
  /** The mixer's cumulative receive counters at the last poll (loss is computed over each interval). */
  received?: number;
  concealed?: number;
  loss: Average;
  jitterMs: Average;
  rttMs: Average;
  mos: Average;
  /** When the participant left (then only the summary is wanted, until the CDR takes it). */
  leftAt?: number;
}

const DEFAULT_INTERVAL_MS = 2000;
const DEFAULT_KEEP_LEFT_MS = 60_000;

/**
 * Call quality of every participant, for the dashboard and the CDRs: every `intervalMs` it gathers, per room in
 * one batch, the room mixer's receive figures (jitter, frames concealed against frames received: the loss the
 * mixer heard) and each session's own media figures (`ParticipantSession.mediaStats()`: mediasoup's fractionLost,
 * jitter and RTCP round-trip time) and, for phones on the media threads, the phone's RTCP report on the mix we
 * send it (loss and jitter the other way, and the round trip from our SR's LSR/DLSR echo); keeps the worse of each,
 * and estimates a MOS from them (`estimateMos`).
 *
 * Emits `figures` with the participants whose figures changed; `get(pid)` answers the latest; `summary(pid)` the
 * averages over the call, kept after the participant left until `release(pid)` (the CDR recorder takes them) or
 * `keepLeftMs` passed. Every room is polled, watched or not (the CDRs need the figures), but at one mixer request
 * per room. The timer is unref'd: it never keeps the process alive.
 */
export class QualityMonitor extends TypedEmitter<QualityMonitorEvents> {
  private readonly tracks = new Map<string, Track>();
  private readonly timer: NodeJS.Timeout;
  private readonly keepLeftMs: number;
  private polling = false;
  private closed = false;
  private readonly onLeft: (p: Participant) => void;

  constructor(private readonly opts: QualityMonitorOptions) {
    super(opts.log);
    this.keepLeftMs = opts.keepLeftMs ?? DEFAULT_KEEP_LEFT_MS;
    this.onLeft = (p) => {
      const t = this.tracks.get(p.id);
      if (t) t.leftAt = Date.now();
    };
    opts.conference.observer.on('participantLeft', this.onLeft);
    this.timer = setInterval(() => void this.poll(), opts.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** The latest figures of participant `pid` (all null when not known). */
  get(participantId: string): CallQuality {
    return this.tracks.get(participantId)?.current ?? UNKNOWN;
  }

  /** The averages of every figure over the call so far (nulls where nothing was measured). */
  summary(participantId: string): QualitySummary {
    const t = this.tracks.get(participantId);
    if (!t) return { ...UNKNOWN };
    return { loss: avg(t.loss, 4), jitterMs: avg(t.jitterMs, 1), rttMs: avg(t.rttMs, 1), mos: avg(t.mos, 2) };
  }

  /** Drops what is kept of a participant that left (the CDR was written). */
  release(participantId: string): void {
    const t = this.tracks.get(participantId);
    if (t?.leftAt !== undefined) this.tracks.delete(participantId);
  }

  /**
   * One round of figures for every participant of every room (the timer calls it; tests may too). A round still
   * running when the next is due makes that one a no-op.
   */
  async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const changed: QualityFigures[] = [];
      await Promise.all(this.opts.conference.listRooms().map((room) => this.pollRoom(room, changed)));
      this.sweep();
      if (changed.length > 0 && !this.closed) this.safeEmit('figures', changed);
    } catch (err) {
      this.opts.log.warn({ err }, 'quality poll failed');
    } finally {
      this.polling = false;
    }
  }

  /** Stops the timer and the observer listener; keeps nothing. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.opts.conference.observer.off('participantLeft', this.onLeft);
    this.tracks.clear();
  }

  // ------------------------------------------------------------------ internals

  private async pollRoom(
    room: { readonly id: string; participants(): Participant[] },
    changed: QualityFigures[],
  ): Promise<void> {
    const participants = room.participants().filter((p) => !p.hasLeft());
    if (participants.length === 0) return;
    const [mix, sessions] = await Promise.all([
      this.opts.conference.stats(room.id).catch(() => null),
      Promise.all(participants.map((p) => this.sessionStats(p))),
    ]);
    const byId = new Map(mix?.participants.map((s) => [s.participantId, s]));
    participants.forEach((p, i) => {
      if (p.hasLeft()) return;
      let t = this.tracks.get(p.id);
      if (!t) {
        t = { current: UNKNOWN, loss: zero(), jitterMs: zero(), rttMs: zero(), mos: zero() };
        this.tracks.set(p.id, t);
      }
      const fromMixer = byId.get(p.id);
      // Nothing received yet (a caller that sends no RTP): the mixer knows nothing of its quality.
      const mixer = fromMixer?.receive && fromMixer.receive.received > 0 ? fromMixer.receive : undefined;
      // The phone's own RTCP report on the mix it gets from us (phones on the media threads' legs).
      const sent = fromMixer?.sent;
      let mixerLoss: number | null = null;
      if (mixer) {
        // Over the interval: frames concealed (lost or late) against all frames played out.
        const dr = t.received === undefined ? 0 : mixer.received - t.received;
        const dc = t.concealed === undefined ? 0 : mixer.concealed - t.concealed;
        if (dr >= 0 && dc >= 0 && dr + dc > 0) mixerLoss = dc / (dr + dc);
        t.received = mixer.received;
        t.concealed = mixer.concealed;
      }
      const s = sessions[i] ?? null;
      const loss = worst(worst(mixerLoss, s?.loss ?? null), sent?.fractionLost ?? null);
      const jitterMs = worst(
        worst(mixer ? mixer.jitterMs : null, s?.jitterMs ?? null),
        sent?.jitterMs ?? null,
      );
      const rttMs = s?.rttMs ?? sent?.rttMs ?? null;
      const q: CallQuality = {
        loss: round(loss, 4),
        jitterMs: round(jitterMs, 1),
        rttMs: round(rttMs, 1),
        mos: estimateMos({ loss, jitterMs, rttMs, codec: p.codec }),
      };
      add(t.loss, q.loss);
      add(t.jitterMs, q.jitterMs);
      add(t.rttMs, q.rttMs);
      add(t.mos, q.mos);
      if (!sameQuality(q, t.current)) {
        t.current = q;
        changed.push({ participantId: p.id, roomId: room.id, quality: q });
      }
    });
  }

  private async sessionStats(p: Participant): Promise<SessionMediaStats | null> {
    const session = p.session;
    if (!session?.mediaStats) return null;
    try {
      return await session.mediaStats();
    } catch (err) {
      p.log.debug({ err }, 'media stats unavailable');
      return null;
    }
  }

  /** Forgets participants that left long ago and were never released (no CDR recorder). */
  private sweep(): void {
    const before = Date.now() - this.keepLeftMs;
    for (const [id, t] of this.tracks)
      if (t.leftAt !== undefined && t.leftAt < before) this.tracks.delete(id);
  }
}

const zero = (): Average => ({ sum: 0, n: 0 });

function add(a: Average, v: number | null): void {
  if (v === null) return;
  a.sum += v;
  a.n++;
}

function avg(a: Average, digits: number): number | null {
  return a.n === 0 ? null : round(a.sum / a.n, digits);
}

function round(v: number | null, digits: number): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function worst(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

function sameQuality(a: CallQuality, b: CallQuality): boolean {
  return a.loss === b.loss && a.jitterMs === b.jitterMs && a.rttMs === b.rttMs && a.mos === b.mos;
}
