import type { Logger } from 'pino';
import type { ParticipantRole } from '../participant/participant';
import type { PromptName } from '../room/prompts';

/** PIN entry: three tries, then goodbye (issue: "three tries, then BYE"). */
export const PIN_TRIES = 3;
/** How long a caller may take to enter a PIN. */
export const PIN_TIMEOUT_MS = 60_000;

export interface PinLobbyOptions {
  pin?: string;
  moderatorPin?: string;
  /**
   * A webinar's role PINs (host, panelist, attendee; an empty PIN in an open webinar), asked after the moderator
   * PIN (src/conference/webinar/webinar-policy.ts).
   */
  roles?: ((pin: string) => ParticipantRole | undefined) | undefined;
  /** Plays a prompt to the caller; resolves when it was played out or stopped. */
  play(name: PromptName): Promise<void>;
  /** Stops the prompt playing (barge-in). */
  stopPlay(): Promise<void>;
  /** Aborts when the caller leaves. */
  signal: AbortSignal;
  log: Logger;
  tries?: number;
  timeoutMs?: number;
  /**
   * Brute-force lockout across calls (`PinLockout` for this caller's source and room): each wrong PIN is counted,
   * and once the source or the room is locked out the lobby takes no more tries.
   */
  lockout?: { isLocked(): boolean; recordFailure(): void };
}

/**
 * One caller entering its PIN in the lobby: "enter the conference PIN", PINs until one matches, three tries. The
 * moderator PIN makes the caller a moderator, a webinar's role PINs a host, panelist or attendee. Transport-neutral: whoever reads the caller's keys feeds `submit()`
 * (a PIN typed, digits before '#') and `keyPressed()` (any key stops the prompt playing: barge-in). A PIN typed
 * while a prompt plays (type-ahead) is kept for the next try rather than lost.
 */
export class PinLobby {
  private readonly entered: string[] = [];
  private wake?: () => void;

  constructor(private readonly opts: PinLobbyOptions) {}

  submit(pin: string): void {
    this.entered.push(pin);
    this.wake?.();
  }

  keyPressed(): void {
    void this.opts.stopPlay().catch(() => undefined);
  }

  /** The role the PIN gives, or null after three wrong PINs, a timeout or when the caller left. */
  async run(): Promise<ParticipantRole | null> {
    const { signal } = this.opts;
    const onAbort = (): void => this.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      const tries = this.opts.tries ?? PIN_TRIES;
      const { lockout } = this.opts;
      for (let attempt = 1; attempt <= tries; attempt++) {
        if (lockout?.isLocked()) {
          this.opts.log.warn({ attempt }, 'PIN entry locked out');
          return null;
        }
        if (this.entered.length === 0) void this.play('enter-pin');
        const pin = await this.nextPin();
        if (signal.aborted) return null;
        const role = this.roleFor(pin);
        if (role) return role;
        this.opts.log.info({ attempt }, 'wrong PIN');
        if (pin === null) break;
        lockout?.recordFailure();
        if (attempt < tries && this.entered.length === 0) await this.play('wrong-pin');
      }
      return null;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.wake = undefined;
    }
  }

  private roleFor(pin: string | null): ParticipantRole | undefined {
    if (pin === null) return undefined;
    if (this.opts.moderatorPin !== undefined && pin === this.opts.moderatorPin) return 'moderator';
    const role = this.opts.roles?.(pin);
    if (role) return role;
    if (this.opts.pin !== undefined && pin === this.opts.pin) return 'participant';
    return undefined;
  }

  private async play(name: PromptName): Promise<void> {
    if (!this.opts.signal.aborted) await this.opts.play(name).catch(() => undefined);
  }

  /** The next PIN typed (or already typed ahead); null on timeout or when the caller left. */
  private nextPin(): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), this.opts.timeoutMs ?? PIN_TIMEOUT_MS);
      timer.unref();
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(this.entered.shift() ?? null);
      };
      this.wake = finish;
      if (this.entered.length > 0 || this.opts.signal.aborted) finish();
    });
  }
}
