import { AppError } from '../../errors/app-error';

export interface SourceAdmissionLimits {
  /** Calls per source address at once, in setup or established (SEC_TOO_MANY_CALLS: 486). */
  maxCallsPerSource: number;
  /** Of those, calls still being set up: media, 2xx/ACK, PIN lobby (SEC_TOO_MANY_SETUPS: 503). */
  maxSetupsPerSource: number;
}

/** One call counted against its source: `established()` once it is in the room, `release()` when it ends. */
export interface AdmissionTicket {
  established(): void;
  /** Idempotent. */
  release(): void;
}

interface Counts {
  calls: number;
  setups: number;
}

/**
 * Per-source caps on calls, checked by the focus before anything is built for an INVITE (ports, sockets, a media
 * thread's room): one address can never take all the phone-facing RTP ports, however fast it sends, so a caller
 * from elsewhere still gets in. A delayed-offer INVITE (no SDP) counts like any other call. Allow-listed sources
 * (trunks) are not capped.
 */
export class SourceAdmission {
  private readonly counts = new Map<string, Counts>();

  constructor(
    private readonly limits: SourceAdmissionLimits,
    private readonly isExempt: (address: string) => boolean = () => false,
  ) {}

  /** Counts a new call from `address`, or throws the catalogue's SEC_TOO_MANY_CALLS / SEC_TOO_MANY_SETUPS. */
  enter(address: string): AdmissionTicket {
    if (this.isExempt(address)) return { established: () => undefined, release: () => undefined };
    const c = this.counts.get(address) ?? { calls: 0, setups: 0 };
    if (c.calls >= this.limits.maxCallsPerSource)
      throw new AppError('SEC_TOO_MANY_CALLS', `${c.calls} calls from ${address}`);
    if (c.setups >= this.limits.maxSetupsPerSource)
      throw new AppError('SEC_TOO_MANY_SETUPS', `${c.setups} calls in setup from ${address}`);
    c.calls++;
    c.setups++;
    this.counts.set(address, c);
    let setup = true;
    let released = false;
    const endSetup = (): void => {
      if (!setup) return;
      setup = false;
      c.setups--;
    };
    return {
      established: endSetup,
      release: () => {
        if (released) return;
        released = true;
        endSetup();
        c.calls--;
        if (c.calls === 0 && this.counts.get(address) === c) this.counts.delete(address);
      },
    };
  }

  /** Calls and setups counted for `address` now. */
  load(address: string): Counts {
    const c = this.counts.get(address);
    return { calls: c?.calls ?? 0, setups: c?.setups ?? 0 };
  }
}
