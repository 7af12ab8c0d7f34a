import { randomBytes } from 'node:crypto';
import { SipUri } from '../../sip/message/uri';
import { systemClock, type Clock, type TimerHandle } from '../../sip/transaction/clock';
import type { IncomingInvite } from '../../sip/ua/incoming-invite';
import type { ReferMoveDesk } from './sip-call';

/** The Request-URI parameter that carries a move's one-time token (`sip:<room>@<us>;parley-move=<token>`). */
export const MOVE_TOKEN_PARAM = 'parley-move';

const DEFAULT_TIMEOUT_MS = 10_000;

/** What the focus does with an INVITE, as far as moves by REFER go. */
export enum MoveClaim {
  /** Not a move: join as usual. */
  None = 'none',
  /** The INVITE of a pending move: handed to the call that waits for it. */
  Claimed = 'claimed',
  /** Carries a token no move waits for (it gave up, or a forged one): refuse it. */
  Expired = 'expired',
}

interface Pending {
  resolve: (invite: IncomingInvite | undefined) => void;
  timer: TimerHandle;
}

/**
 * The moves by REFER in progress: a moved call (SipCall.renegotiate) refers its phone to the new room with a
 * one-time token in the Request-URI (a URI parameter: a phone calls the Refer-To URI as it is, RFC 3515 §2.4.2),
 * and the focus hands the INVITE carrying that token to the waiting call instead of joining it as a new caller.
 * The token is 128 random bits: knowing it is the right to take over that participant. Entries last `timeoutMs`
 * (their timers do not hold the process: a shutdown ends the calls, and their moves with them).
 */
export class ReferMoves implements ReferMoveDesk {
  private readonly pending = new Map<string, Pending>();
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(opts: { timeoutMs?: number; clock?: Clock } = {}) {
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Moves waiting for their phone's INVITE. */
  get size(): number {
    return this.pending.size;
  }

  expect(
    room: string,
    base: string,
  ): { uri: string; arrival: Promise<IncomingInvite | undefined>; cancel(): void } {
    const token = randomBytes(16).toString('hex');
    const uri = SipUri.parse(base).clone();
    uri.user = room;
    // The phone calls back the way it reached us (its transport); nothing else of its To URI is ours to repeat.
    const transport = uri.params.get('transport');
    uri.params.clear();
    if (transport) uri.params.set('transport', transport);
    uri.headers.clear();
    uri.params.set(MOVE_TOKEN_PARAM, token);
    let settle!: (invite: IncomingInvite | undefined) => void;
    const arrival = new Promise<IncomingInvite | undefined>((resolve) => (settle = resolve));
    const done = (invite: IncomingInvite | undefined): void => {
      const p = this.pending.get(token);
      if (!p) return;
      this.pending.delete(token);
      this.clock.clearTimeout(p.timer);
      settle(invite);
    };
    this.pending.set(token, {
      resolve: done,
      timer: this.clock.setTimeout(() => done(undefined), this.timeoutMs),
    });
    return { uri: uri.toString(), arrival, cancel: () => done(undefined) };
  }

  /** Hands `invite` to the move that waits for its token, if it names one. */
  claim(invite: IncomingInvite): MoveClaim {
    const token = invite.request.uri.params.get(MOVE_TOKEN_PARAM);
    if (token === undefined) return MoveClaim.None;
    const p = token === null ? undefined : this.pending.get(token);
    if (!p) return MoveClaim.Expired;
    p.resolve(invite);
    return MoveClaim.Claimed;
  }
}
