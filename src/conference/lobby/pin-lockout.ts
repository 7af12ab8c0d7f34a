import { WindowCounter } from '../../sip/security/window-counter';

export interface PinLockoutOptions {
  /** Wrong PINs from one source address (any room) within the window before it is locked out. */
  failuresPerSource: number;
  /** Wrong PINs for one room (any source) within the window before its PIN entry is locked. */
  failuresPerRoom: number;
  windowSeconds: number;
  lockoutSeconds: number;
  /** Sources never locked out (the allow list: trunks carry many callers). */
  isExempt?: (address: string) => boolean;
  now?: () => number;
}

/**
 * PIN brute-force lockout across calls: the PIN lobby gives each call three tries, so a guesser simply calls again;
 * this counts wrong PINs per source and per room over a window and, past a limit, locks the source (or the room's
 * PIN entry) for a while: the focus answers 403 at the INVITE and the lobby takes no more tries. Pure and
 * clock-injected. The dashboard's PIN claims have their own limiter (`src/moderation/auth/login-limiter.ts`).
 */
export class PinLockout {
  private readonly bySource: WindowCounter;
  private readonly byRoom: WindowCounter;
  private readonly sourceLocked = new Map<string, number>();
  private readonly roomLocked = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: PinLockoutOptions) {
    const windowMs = opts.windowSeconds * 1000;
    this.bySource = new WindowCounter(windowMs, opts.failuresPerSource);
    this.byRoom = new WindowCounter(windowMs, opts.failuresPerRoom);
    this.now = opts.now ?? Date.now;
  }

  /** Whether `source` may not try PINs for `room` now (its own lockout or the room's). */
  isLocked(source: string, room: string): boolean {
    if (this.opts.isExempt?.(source)) return false;
    const now = this.now();
    return until(this.sourceLocked, source, now) || until(this.roomLocked, room, now);
  }

  /** Counts one wrong PIN; true when it locked the source or the room. */
  recordFailure(source: string, room: string): boolean {
    if (this.opts.isExempt?.(source)) return false;
    const now = this.now();
    const lockUntil = now + this.opts.lockoutSeconds * 1000;
    let locked = false;
    if (this.bySource.add(source, now) >= this.opts.failuresPerSource) {
      this.sourceLocked.set(source, lockUntil);
      this.bySource.clear(source);
      locked = true;
    }
    if (this.byRoom.add(room, now) >= this.opts.failuresPerRoom) {
      this.roomLocked.set(room, lockUntil);
      this.byRoom.clear(room);
      locked = true;
    }
    return locked;
  }
}

function until(map: Map<string, number>, key: string, now: number): boolean {
  const t = map.get(key);
  if (t === undefined) return false;
  if (t > now) return true;
  map.delete(key);
  return false;
}
