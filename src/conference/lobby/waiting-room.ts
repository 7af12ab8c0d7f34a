import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { Clock, TimerHandle } from '../../sip/transaction/clock';
import type { ParticipantRole } from '../participant/participant';
import { WaitReason, type WebinarPolicy } from '../webinar/webinar-policy';

/** Where one person stands in a webinar's waiting room. */
export enum WaiterState {
  /** Early: the webinar starts when a host (or moderator) joins. */
  WaitingForHost = 'waiting-for-host',
  /** A host or moderator admits or denies each person. */
  WaitingForAdmission = 'waiting-for-admission',
  Admitted = 'admitted',
  Denied = 'denied',
  /** Hung up, cancelled, or the room closed while waiting. */
  Left = 'left',
}

export type WaitOutcome = WaiterState.Admitted | WaiterState.Denied | WaiterState.Left;

export interface WaitOptions {
  role: ParticipantRole;
  /** Aborts when the person leaves (hangs up, CANCEL, kicked): the wait ends with `left`. */
  signal: AbortSignal;
  /** Each change of state (for the participant's view: the dashboard's "Waiting" list, the browser's page). */
  onState(state: WaiterState): void;
  /** Says why it waits: at once on entering a waiting state, then every `reminderSeconds` (a phone's prompt). */
  remind(reason: WaitReason): void;
}

/** A waiting person as the moderators see it. */
export interface WaiterView {
  id: string;
  state: WaiterState.WaitingForHost | WaiterState.WaitingForAdmission;
  since: number;
}

interface Waiter {
  id: string;
  opts: WaitOptions;
  state: WaiterState;
  since: number;
  timer?: TimerHandle;
  resolve(outcome: WaitOutcome): void;
  onAbort(): void;
}

/**
 * One webinar's waiting room: who waits, for what, and the moderators' admit/deny. Pure and clock-injected (the
 * reminders): the conference feeds it joiners (`wait`), the first host's arrival (`start`) and the moderators'
 * decisions, and plays the prompts it asks for. Waiting for the host comes first, then (when the room has a lobby)
 * waiting for admission; a moderator may admit or deny a person in either.
 */
export class WaitingRoom {
  private readonly waiters = new Map<string, Waiter>();
  private started = false;
  private closed = false;

  constructor(
    private readonly policy: WebinarPolicy,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Whether a host (or moderator) has joined: the webinar started (it stays started when they leave). */
  get hasStarted(): boolean {
    return this.started;
  }

  /**
   * Resolves once person `id` may come in (`admitted`: at once when nothing holds it), was denied, or left.
   * A second wait for the same id is refused (it is already waiting).
   */
  wait(id: string, opts: WaitOptions): Promise<WaitOutcome> {
    if (this.waiters.has(id)) return Promise.reject(new Error(`${id} is already waiting`));
    if (this.closed || opts.signal.aborted) return Promise.resolve(WaiterState.Left);
    const reason = this.policy.waitFor(opts.role, this.started);
    if (reason === undefined) return Promise.resolve(WaiterState.Admitted);
    return new Promise<WaitOutcome>((resolve) => {
      const w: Waiter = {
        id,
        opts,
        state: WaiterState.Left,
        since: this.clock.now(),
        resolve,
        onAbort: () => this.finish(w, WaiterState.Left),
      };
      this.waiters.set(id, w);
      opts.signal.addEventListener('abort', w.onAbort, { once: true });
      this.enter(w, reason);
    });
  }

  /** A host or moderator joined: those waiting for the host now wait for admission (lobby) or come in. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.log.info({ waiting: this.waiters.size }, 'webinar started: a host joined');
    for (const w of [...this.waiters.values()]) {
      if (w.state !== WaiterState.WaitingForHost) continue;
      const next = this.policy.waitFor(w.opts.role, true);
      if (next === undefined) this.finish(w, WaiterState.Admitted);
      else this.enter(w, next);
    }
  }

  /** A moderator lets person `id` in. CONF_NOT_WAITING when it is not waiting. */
  admit(id: string): void {
    this.finish(this.waiting(id), WaiterState.Admitted);
  }

  /** A moderator turns person `id` away. CONF_NOT_WAITING when it is not waiting. */
  deny(id: string): void {
    this.finish(this.waiting(id), WaiterState.Denied);
  }

  state(id: string): WaiterState | undefined {
    return this.waiters.get(id)?.state;
  }

  /** Who waits, longest first. */
  list(): WaiterView[] {
    return [...this.waiters.values()]
      .map((w) => ({ id: w.id, state: w.state as WaiterView['state'], since: w.since }))
      .sort((a, b) => a.since - b.since);
  }

  /** The room closed: every wait ends with `left`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.waiters.values()]) this.finish(w, WaiterState.Left);
  }

  private waiting(id: string): Waiter {
    const w = this.waiters.get(id);
    if (!w) throw new AppError('CONF_NOT_WAITING', `participant ${id} is not waiting in the lobby`);
    return w;
  }

  private enter(w: Waiter, reason: WaitReason): void {
    w.state = reason === WaitReason.Host ? WaiterState.WaitingForHost : WaiterState.WaitingForAdmission;
    w.opts.onState(w.state);
    this.remind(w, reason);
  }

  /** The reminder now, then again every `reminderSeconds` while the state lasts. */
  private remind(w: Waiter, reason: WaitReason): void {
    if (w.timer !== undefined) this.clock.clearTimeout(w.timer);
    w.timer = undefined;
    w.opts.remind(reason);
    const ms = this.policy.settings.reminderSeconds * 1000;
    if (ms > 0 && this.waiters.get(w.id) === w)
      w.timer = this.clock.setTimeout(() => this.remind(w, reason), ms);
  }

  private finish(w: Waiter, outcome: WaitOutcome): void {
    if (this.waiters.get(w.id) !== w) return;
    this.waiters.delete(w.id);
    if (w.timer !== undefined) this.clock.clearTimeout(w.timer);
    w.opts.signal.removeEventListener('abort', w.onAbort);
    w.state = outcome;
    this.log.info({ participantId: w.id, outcome }, 'lobby wait ended');
    w.opts.onState(outcome);
    w.resolve(outcome);
  }
}
