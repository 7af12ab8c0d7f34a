import { systemClock, type Clock, type TimerHandle } from '../../sip/transaction/clock';
import { TypedEmitter } from '../../util/typed-emitter';

export interface ActiveSpeakerEvents {
  /** The participant whose video is shown now (null: no eligible participant is in the room). */
  changed: [participantId: string | null];
}

export interface ActiveSpeakerOptions {
  /**
   * How long someone must speak without a break before they take over from the current speaker. A cough, a
   * "mm-hm" or a door closing trips the mixer's VAD for a few hundred milliseconds: switching a video on that
   * costs every viewer a keyframe and shows a face for a blink.
   */
  holdMs?: number;
  clock?: Clock;
}

interface Candidate {
  eligible: boolean;
  /** Since when the participant speaks without a break (undefined: silent). */
  speakingSince?: number;
  /** When the participant last stopped or started speaking (0: never spoke): the fallback picks the most recent. */
  lastSpoke: number;
  /** Order of arrival, so the fallback among people who never spoke is stable. */
  seq: number;
}

/**
 * Who the room's video shows: the active speaker among the participants with a camera (eligible). Pure: fed the
 * mixer's speaking events and who has video, it decides with a hold time and an injectable clock.
 *
 * Rules: a speaker takes over once they have spoken for `holdMs` without a break; the current speaker stays
 * current through silences (the last one who spoke is shown until someone else speaks long enough); when the
 * current one leaves or turns the camera off, the choice falls at once to whoever of the others speaks, else
 * spoke last, else arrived first. Speakers without a camera never become current. `changed` is emitted only on a
 * real change.
 */
export class ActiveSpeaker extends TypedEmitter<ActiveSpeakerEvents> {
  private readonly people = new Map<string, Candidate>();
  /** Speech (ms, without a break) that takes the floor (`conference.activeSpeakerHoldMs`). */
  readonly holdMs: number;
  private readonly clock: Clock;
  private currentId: string | null = null;
  private timer?: TimerHandle;
  private seq = 0;
  private closed = false;

  constructor(options: ActiveSpeakerOptions = {}) {
    super();
    this.holdMs = options.holdMs ?? 1200;
    this.clock = options.clock ?? systemClock;
  }

  get current(): string | null {
    return this.currentId;
  }

  /** The mixer's VAD says `pid` started (`on`) or stopped speaking. */
  speaking(pid: string, on: boolean): void {
    if (this.closed) return;
    const c = this.entry(pid);
    const now = this.clock.now();
    if (on === (c.speakingSince !== undefined)) return;
    c.speakingSince = on ? now : undefined;
    c.lastSpoke = now;
    this.decide();
  }

  /** `pid` has (or no longer has) a video source the room can show. */
  setEligible(pid: string, has: boolean): void {
    if (this.closed) return;
    const c = this.entry(pid);
    if (c.eligible === has) return;
    c.eligible = has;
    this.decide();
  }

  /** `pid` left the room. */
  remove(pid: string): void {
    if (this.closed || !this.people.delete(pid)) return;
    this.decide();
  }

  /** Stops the timer and forgets everyone; no more events. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelTimer();
    this.people.clear();
    this.removeAllListeners();
  }

  private entry(pid: string): Candidate {
    let c = this.people.get(pid);
    if (!c) {
      c = { eligible: false, lastSpoke: 0, seq: ++this.seq };
      this.people.set(pid, c);
    }
    return c;
  }

  /** Re-evaluates who is current and (re)arms the timer for the next speaker whose hold time is still running. */
  private decide(): void {
    this.cancelTimer();
    const now = this.clock.now();
    const current = this.currentId !== null ? this.people.get(this.currentId) : undefined;
    let next = current?.eligible ? this.currentId : null;

    // A speaker who has held the floor long enough takes over (the longest speaker first: they started first).
    let longest: { pid: string; since: number } | undefined;
    let nextDue: number | undefined;
    for (const [pid, c] of this.people) {
      if (!c.eligible || c.speakingSince === undefined || pid === next) continue;
      const due = c.speakingSince + this.holdMs;
      if (due <= now) {
        if (!longest || c.speakingSince < longest.since) longest = { pid, since: c.speakingSince };
      } else if (nextDue === undefined || due < nextDue) nextDue = due;
    }
    // The current speaker keeps the floor while they still speak: the other one waits for them to stop.
    const currentSpeaks = next !== null && current?.speakingSince !== undefined;
    if (longest && !currentSpeaks) next = longest.pid;
    else if (longest && currentSpeaks) nextDue = undefined; // re-decided when the current one stops

    if (next === null) next = this.fallback();
    if (nextDue !== undefined) this.timer = this.clock.setTimeout(() => this.decide(), nextDue - now);
    if (next !== this.currentId) {
      this.currentId = next;
      this.safeEmit('changed', next);
    }
  }

  /** With nobody current: the eligible one speaking now, else who spoke last, else who came first. */
  private fallback(): string | null {
    let best: { pid: string; c: Candidate } | undefined;
    for (const [pid, c] of this.people) {
      if (!c.eligible) continue;
      if (!best || better(c, best.c)) best = { pid, c };
    }
    return best?.pid ?? null;
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function better(a: Candidate, b: Candidate): boolean {
  const aSpeaks = a.speakingSince !== undefined;
  const bSpeaks = b.speakingSince !== undefined;
  if (aSpeaks !== bSpeaks) return aSpeaks;
  if (a.lastSpoke !== b.lastSpoke) return a.lastSpoke > b.lastSpoke;
  return a.seq < b.seq;
}
