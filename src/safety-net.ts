import type { Logger } from 'pino';

/** What the safety net listens on: `process`, or an emitter standing in for it in tests. */
export interface ProcessEvents {
  on(event: 'uncaughtException', listener: (err: Error, origin: string) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException', listener: (err: Error, origin: string) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

export interface SafetyNetOptions {
  log: Pick<Logger, 'fatal' | 'error'>;
  /** Called once when the process should stop (graceful close, then exit with `code`). */
  giveUp: (code: number) => void;
  /** Uncaught exceptions tolerated within `windowMs`; one more gives up. Default 10. */
  maxExceptions?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Default Date.now. */
  now?: () => number;
}

/** EX_SOFTWARE (sysexits.h): an internal error; a supervisor (systemd `Restart=on-failure`) starts us again. */
export const SAFETY_NET_EXIT_CODE = 70;

/**
 * The process-wide last resort for errors nothing caught. Node's default is to exit on the first uncaught exception
 * (and, since Node 15, on an unhandled rejection): for a conference server that would hang up every call because
 * one call's handling threw in a socket or timer callback. Parley's own code already contains errors per call
 * (`TypedEmitter.safeEmit`, the transaction layer's handlers, `Participant.close`), so what reaches here is a bug in
 * one call's path; the policy is:
 *
 * - `unhandledRejection`: logged at `error` and ignored. A promise nobody awaited lost its result; nothing ran
 *   half-way, so no state is torn.
 * - `uncaughtException`: logged at `fatal` with its origin, and the process keeps running: the throw unwound only
 *   the callback it happened in (one call's handler), and the other calls' state is untouched.
 * - but more than `maxExceptions` uncaught exceptions within `windowMs` mean the state is corrupt for everybody
 *   (a broken shared structure that throws on every packet, a loop of failures): limping on would serve every
 *   call badly and flood the logs, so the net gives up: `giveUp(70)` stops the server as SIGINT does (BYE to every
 *   call) and exits with EX_SOFTWARE, for the supervisor to restart it on the same data directory (declared rooms
 *   come back). An exception while giving up is left to `giveUp`'s own forced exit.
 */
export class SafetyNet {
  private readonly times: number[] = [];
  private gaveUp = false;
  private installedOn?: ProcessEvents;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: SafetyNetOptions) {
    this.max = opts.maxExceptions ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Listens on `target` (default `process`). Idempotent. */
  install(target: ProcessEvents = process): this {
    if (this.installedOn) return this;
    this.installedOn = target;
    target.on('uncaughtException', this.onException);
    target.on('unhandledRejection', this.onRejection);
    return this;
  }

  /** Stops listening (Node's defaults apply again). Idempotent. */
  close(): void {
    const t = this.installedOn;
    if (!t) return;
    this.installedOn = undefined;
    t.off('uncaughtException', this.onException);
    t.off('unhandledRejection', this.onRejection);
  }

  /** Uncaught exceptions counted within the current window. */
  get recentExceptions(): number {
    this.forget();
    return this.times.length;
  }

  private forget(): void {
    const since = this.now() - this.windowMs;
    while (this.times.length > 0 && this.times[0]! <= since) this.times.shift();
  }

  private readonly onException = (err: Error, origin: string): void => {
    this.forget();
    this.times.push(this.now());
    const recent = this.times.length;
    if (recent <= this.max) {
      this.opts.log.fatal(
        { err, origin, recent, max: this.max },
        'uncaught exception: contained, the server keeps running',
      );
      return;
    }
    this.opts.log.fatal(
      { err, origin, recent, max: this.max, windowMs: this.windowMs },
      'uncaught exceptions keep coming: state presumed corrupt, stopping',
    );
    if (this.gaveUp) return;
    this.gaveUp = true;
    this.opts.giveUp(SAFETY_NET_EXIT_CODE);
  };

  private readonly onRejection = (reason: unknown): void => {
    this.opts.log.error({ err: reason }, 'unhandled promise rejection: ignored, the server keeps running');
  };
}
