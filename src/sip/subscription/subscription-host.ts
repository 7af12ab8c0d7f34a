import type { Headers } from '../message/headers';
import type { SipUri } from '../message/uri';
import type { Clock } from '../transaction/clock';
import type { TransactionLayer } from '../transaction/transaction-layer';
import type { SipLogger, Target, TransportProtocol } from '../transport/transport';
import type { IncomingRequest } from '../ua/incoming-request';
import type { DialogUsage } from '../ua/user-agent-core';

/** What the notifier and its subscription dialogs need from the user-agent core (UserAgentCore implements it). */
export interface SubscriptionHost {
  readonly transactions: TransactionLayer;
  readonly routing: {
    resolve(uri: SipUri): Promise<Target>;
    isOpen(target: Target): boolean;
  };
  readonly clock: Clock;
  readonly logger: SipLogger;
  contact(protocol: TransportProtocol, headerParams?: string): string;
  decorate(h: Headers, kind: 'request' | 'response', method: string): void;
  /** in-dialog requests of the subscription's dialog come to `usage` */
  addUsage(key: string, usage: DialogUsage): void;
  forgetUsage(key: string): void;
  /** out-of-dialog requests of `method` come to `handler` */
  routeMethod(method: string, handler: (r: IncomingRequest) => void): void;
}
