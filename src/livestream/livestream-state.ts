import { AppError } from '../errors/app-error';

/** Where a room's livestream is in its life. */
export enum LivestreamState {
  /** ffmpeg is being started (first run): the taps are built, nothing has been encoded yet. */
  Starting = 'starting',
  /** ffmpeg encodes: its progress reports show output. */
  Live = 'live',
  /** ffmpeg exited on its own and is started again after a back-off. */
  Restarting = 'restarting',
  /** Stopped by a moderator, or with its room. Final. */
  Stopped = 'stopped',
  /** Given up after too many failed runs, or the taps could not be built. Final. */
  Failed = 'failed',
}

/**
 * The allowed transitions. Written out (not derived) so a new state is a compile error in the `satisfies` until
 * its exits are decided; `Stopped` and `Failed` are final: a new stream is a new `Livestream`.
 */
const NEXT = {
  [LivestreamState.Starting]: [
    LivestreamState.Live,
    LivestreamState.Restarting,
    LivestreamState.Stopped,
    LivestreamState.Failed,
  ],
  [LivestreamState.Live]: [LivestreamState.Restarting, LivestreamState.Stopped, LivestreamState.Failed],
  [LivestreamState.Restarting]: [
    LivestreamState.Live,
    LivestreamState.Restarting,
    LivestreamState.Stopped,
    LivestreamState.Failed,
  ],
  [LivestreamState.Stopped]: [],
  [LivestreamState.Failed]: [],
} as const satisfies Record<LivestreamState, readonly LivestreamState[]>;

export function canMove(from: LivestreamState, to: LivestreamState): boolean {
  return (NEXT[from] as readonly LivestreamState[]).includes(to);
}

export function isFinal(state: LivestreamState): boolean {
  return NEXT[state].length === 0;
}

/** One stream's state and when it was entered; refuses transitions the table does not allow. */
export class LivestreamStateMachine {
  private current = LivestreamState.Starting;
  private sinceMs: number;

  constructor(private readonly now: () => number = Date.now) {
    this.sinceMs = now();
  }

  get state(): LivestreamState {
    return this.current;
  }

  /** When the current state was entered (ms since the epoch). */
  get since(): number {
    return this.sinceMs;
  }

  get isFinal(): boolean {
    return isFinal(this.current);
  }

  /** Moves to `to`; false (and no change) when already there is not a loop the table allows, or not allowed. */
  move(to: LivestreamState): boolean {
    if (!canMove(this.current, to)) return false;
    this.current = to;
    this.sinceMs = this.now();
    return true;
  }

  /** Like move(), but an impossible transition is a programming error. */
  mustMove(to: LivestreamState): void {
    if (!this.move(to)) throw new AppError('INTERNAL', `livestream cannot go from ${this.current} to ${to}`);
  }
}
