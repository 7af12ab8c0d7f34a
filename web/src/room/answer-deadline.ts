/**
 * How long the page waits for the server to answer a request. Pure (the clock is injected) so the rule is
 * unit-tested with a fake clock: `test/unit/web/answer-deadline.test.ts`.
 *
 * A `join` into a webinar is answered only once the person is in: a host admits them from the lobby, or a host
 * joins a webinar that waits for one, minutes later. The server says so with `lobby` events while the join waits,
 * so the deadline is held from `host`/`admission` on and starts afresh on `admitted` (the answer then follows within
 * the usual time: the media is set up after the admission). `denied` changes nothing: the answer (CONF_LOBBY_DENIED)
 * is on its way.
 */

/** The timers the deadline runs on: the page's own (`window`), or a fake clock in tests. */
export interface DeadlineClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export enum DeadlineState {
  /** Counting: no answer within the time rejects the request. */
  Running = 'running',
  /** The server said the request waits on a person (the lobby): no time limit. */
  Held = 'held',
  /** Answered or expired: nothing more happens. */
  Done = 'done',
}

/** The lobby states of `RtcServerToClient.lobby`. */
export type LobbyState = 'host' | 'admission' | 'admitted' | 'denied';

export class AnswerDeadline {
  private timer: unknown;
  private current = DeadlineState.Running;
  private started = false;

  constructor(
    private readonly ms: number,
    private readonly clock: DeadlineClock,
    private readonly onExpire: () => void,
  ) {}

  get state(): DeadlineState {
    return this.current;
  }

  /** Starts counting, once (the request is sent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.arm();
  }

  /** The server said the request waits (the lobby): no time limit until `release`. */
  hold(): void {
    if (this.current !== DeadlineState.Running || !this.started) return;
    this.disarm();
    this.current = DeadlineState.Held;
  }

  /** The wait is over: the whole time again from now. */
  release(): void {
    if (this.current !== DeadlineState.Held) return;
    this.arm();
  }

  /** What a `lobby` event does to the join's deadline. */
  lobby(state: LobbyState): void {
    if (state === 'host' || state === 'admission') this.hold();
    else if (state === 'admitted') this.release();
  }

  /** The answer came: stop counting for good. */
  settle(): void {
    this.disarm();
    this.current = DeadlineState.Done;
  }

  private arm(): void {
    this.disarm();
    this.current = DeadlineState.Running;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.current !== DeadlineState.Running) return;
      this.current = DeadlineState.Done;
      this.onExpire();
    }, this.ms);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
