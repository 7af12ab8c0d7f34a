import type { Logger } from 'pino';
import type { RequestOptions } from '../../sip/dialog/session-dialog';
import type { SipResponse } from '../../sip/message/sip-message';
import { systemClock, type Clock, type TimerHandle } from '../../sip/transaction/clock';
import { sipfrag } from './refer-headers';

/** Sends a NOTIFY in the REFER's dialog (`SessionDialog.notify`). */
export type ReferNotifier = (
  opts: RequestOptions & { event: string; subscriptionState: string },
) => Promise<SipResponse>;

export enum ReferSubscriptionState {
  /** 202 sent, the first NOTIFY not yet. */
  Pending = 'pending',
  Active = 'active',
  Terminated = 'terminated',
}

export interface ReferSubscriptionOptions {
  notify: ReferNotifier;
  /** The REFER's CSeq number: the `id` of `Event: refer` (RFC 3515 §2.4.6). */
  referSeq: number;
  /** false: the REFER carried `Refer-Sub: false` (RFC 4488 §4): no NOTIFY is ever sent. */
  wanted: boolean;
  /** How long the implicit subscription lasts (the `expires` we announce). */
  expiresSeconds: number;
  log: Logger;
  clock?: Clock;
}

export const SIPFRAG_TYPE = 'message/sipfrag;version=2.0';

/**
 * The implicit subscription a REFER creates (RFC 3515 §2.4.4–§2.4.7), in the REFER's own dialog: every NOTIFY
 * carries `Event: refer;id=<CSeq>` and a message/sipfrag status line; the first says `100 Trying` with
 * `Subscription-State: active;expires=N`, the last the outcome with `terminated;reason=noresource` (§2.4.7: the
 * final NOTIFY of a REFER the notifier has finished). If the outcome takes longer than the subscription lasts, it
 * ends with `terminated;reason=timeout` and the last known status, and the outcome is no longer reported. A
 * subscriber that answers a NOTIFY with 481 (or a failure) has gone: nothing more is sent. `Refer-Sub: false`
 * (RFC 4488): nothing at all.
 */
export class ReferSubscription {
  private current = ReferSubscriptionState.Pending;
  private timer?: TimerHandle;
  private lastFrag = sipfrag(100, 'Trying');
  private readonly clock: Clock;
  private readonly expiresAt: number;
  /** Sends in order: a final NOTIFY never overtakes the 100 Trying on the wire. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The subscriber refused a NOTIFY or could not be reached: NOTIFYs still queued are dropped. */
  private gone = false;

  constructor(private readonly opts: ReferSubscriptionOptions) {
    this.clock = opts.clock ?? systemClock;
    this.expiresAt = this.clock.now() + opts.expiresSeconds * 1000;
    if (!opts.wanted) this.current = ReferSubscriptionState.Terminated;
  }

  get state(): ReferSubscriptionState {
    return this.current;
  }

  /** The first NOTIFY: `SIP/2.0 100 Trying` (RFC 3515 §2.4.5: the notifier SHOULD send one at once). */
  start(): Promise<void> {
    if (this.current !== ReferSubscriptionState.Pending) return this.queue.then(() => undefined);
    this.current = ReferSubscriptionState.Active;
    this.timer = this.clock.setTimeout(() => this.expire(), this.opts.expiresSeconds * 1000);
    return this.send(this.lastFrag, this.activeState());
  }

  /** A provisional status of the referred request (e.g. `180 Ringing`) while the subscription is active. */
  progress(status: number, reason: string): Promise<void> {
    if (this.current !== ReferSubscriptionState.Active) return this.queue.then(() => undefined);
    this.lastFrag = sipfrag(status, reason);
    return this.send(this.lastFrag, this.activeState());
  }

  /** The final status of the referred request; ends the subscription (RFC 3515 §2.4.7). Idempotent. */
  finish(status: number, reason: string): Promise<void> {
    if (this.current === ReferSubscriptionState.Terminated) return this.queue.then(() => undefined);
    this.stop();
    this.lastFrag = sipfrag(status, reason);
    return this.send(this.lastFrag, 'terminated;reason=noresource');
  }

  /** Ends without a NOTIFY (the dialog is gone). */
  close(): void {
    this.stop();
  }

  private activeState(): string {
    const left = Math.max(0, Math.ceil((this.expiresAt - this.clock.now()) / 1000));
    return `active;expires=${left}`;
  }

  /** RFC 6665 §4.2.2: a subscription that ran out ends with reason=timeout. */
  private expire(): void {
    this.timer = undefined;
    if (this.current !== ReferSubscriptionState.Active) return;
    this.stop();
    void this.send(this.lastFrag, 'terminated;reason=timeout');
  }

  private stop(): void {
    this.current = ReferSubscriptionState.Terminated;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private send(frag: string, subscriptionState: string): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.gone) return;
      try {
        const res = await this.opts.notify({
          event: `refer;id=${this.opts.referSeq}`,
          subscriptionState,
          body: frag,
          contentType: SIPFRAG_TYPE,
        });
        // RFC 6665 §4.1.3: a NOTIFY answered 481 (or any failure) ends the subscription.
        if (res.status >= 300) {
          this.opts.log.info({ status: res.status }, 'REFER subscriber refused a NOTIFY: subscription ended');
          this.gone = true;
          this.stop();
        }
      } catch (err) {
        this.opts.log.info({ err: (err as Error).message }, 'REFER NOTIFY not delivered: subscription ended');
        this.gone = true;
        this.stop();
      }
    };
    const next = this.queue.then(run);
    this.queue = next;
    return next;
  }
}
