import { parseMessage } from '../../src/sip/parser/message-parser';
import type { SipRequest, SipResponse } from '../../src/sip/message/sip-message';
import type { Via } from '../../src/sip/message/via';
import type { TransactionTransport } from '../../src/sip/transaction/transaction-layer';
import type { Flow, SendCallback, Target, TransportProtocol } from '../../src/sip/transport/transport';

export interface Sent {
  data: Buffer;
  target: Target;
  msg: SipRequest | SipResponse;
}

/** Records what the transaction layer sends; `failNext` makes the next send report a transport error. */
export class FakeTransport implements TransactionTransport {
  readonly sent: Sent[] = [];
  failNext = false;

  send(data: Buffer, target: Target, cb?: SendCallback): void {
    this.sent.push({ data, target, msg: parseMessage(data) });
    if (this.failNext) {
      this.failNext = false;
      cb?.(new Error('boom'));
    } else cb?.();
  }

  responseTarget(via: Via, flow: Flow): Target {
    return {
      protocol: flow.protocol,
      address: via.received ?? flow.address,
      port: flow.port,
      connectionId: flow.connectionId,
    };
  }

  sentBy(protocol: TransportProtocol): string {
    return protocol === 'UDP' ? '127.0.0.1:5060' : '127.0.0.1:5061';
  }

  /** the messages sent, as start lines ('INVITE', '100', '200' ...) */
  lines(): string[] {
    return this.sent.map((s) =>
      'method' in s.msg ? (s.msg as SipRequest).method : String((s.msg as SipResponse).status),
    );
  }

  clear(): void {
    this.sent.length = 0;
  }
}

export const udpFlow = (port = 5070): Flow => ({
  protocol: 'UDP',
  address: '127.0.0.1',
  port,
  localAddress: '127.0.0.1',
  localPort: 5060,
});

export const tcpFlow = (port = 5070, connectionId = 1): Flow => ({
  protocol: 'TCP',
  address: '127.0.0.1',
  port,
  connectionId,
  localAddress: '127.0.0.1',
  localPort: 5060,
});
