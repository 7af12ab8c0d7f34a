import type { Headers } from '../message/headers';
import type { SipUri } from '../message/uri';
import type { Clock } from '../transaction/clock';
import type { TimerConfig } from '../transaction/timers';
import type { TransactionLayer } from '../transaction/transaction-layer';
import type { SipLogger, Target, TransportProtocol } from '../transport/transport';
import type { SessionTimerOptions } from './session-timer';

/** What a dialog needs from the user-agent core that owns it. */
export interface DialogHost {
  readonly transactions: TransactionLayer;
  readonly routing: {
    resolve(uri: SipUri): Promise<Target>;
    isOpen(target: Target): boolean;
  };
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly logger: SipLogger;
  readonly sessionTimers?: SessionTimerOptions;
  /**
   * our Contact header value on a transport, with extra header params (e.g. ';isfocus') and, when given, a user
   * part of its own (a focus's Contact is the conference URI, RFC 4579 §4.5; default the stack's contactUser)
   */
  contact(protocol: TransportProtocol, uriParams?: string, user?: string): string;
  /** adds User-Agent / Allow / Supported where appropriate */
  decorate(h: Headers, kind: 'request' | 'response', method: string): void;
  /** the dialog ended: forget it */
  forgetDialog(key: string): void;
}
