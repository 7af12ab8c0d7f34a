import { silentLogger } from '../../src/logging/logger';
import type { SipRequest, SipResponse } from '../../src/sip/message/sip-message';
import type { SipUri } from '../../src/sip/message/uri';
import { TransactionLayer } from '../../src/sip/transaction/transaction-layer';
import type { Flow, Target } from '../../src/sip/transport/transport';
import { UserAgentCore, type CoreRouting, type UserAgentCoreOptions } from '../../src/sip/ua/user-agent-core';
import { FakeClock } from './fake-clock';
import { FakeTransport, udpFlow } from './fake-transport';

/** A user-agent core over a fake transport and a fake clock (unit tests of §8, §12–§15). */
export function makeUa(opts: UserAgentCoreOptions = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const layer = new TransactionLayer(transport, { clock, logger: silentLogger(), tryingDelayMs: 0 });
  const routing: CoreRouting = {
    resolve: async (uri: SipUri): Promise<Target> => ({
      protocol: 'UDP',
      address: uri.hostname,
      port: uri.port ?? 5060,
    }),
    isOpen: () => false,
    contactHostPort: () => ({ host: '127.0.0.1', port: 5060 }),
    protocolFor: () => 'UDP',
    ip: '127.0.0.1',
  };
  const core = new UserAgentCore(layer, routing, opts);
  const flow: Flow = udpFlow();
  return {
    clock,
    transport,
    layer,
    core,
    flow,
    receive: (m: SipRequest) => layer.receiveRequest(m, flow),
    receiveResponse: (m: SipResponse) => layer.receiveResponse(m, flow),
    /** the responses sent, as status numbers */
    statuses: () =>
      transport.sent.filter((s) => !('method' in s.msg)).map((s) => (s.msg as SipResponse).status),
    /** the last message sent */
    last: () => transport.sent[transport.sent.length - 1]!.msg,
    requests: (method?: string) =>
      transport.sent
        .map((s) => s.msg)
        .filter(
          (m): m is SipRequest =>
            'method' in m && (method === undefined || (m as SipRequest).method === method),
        ),
  };
}

/** lets pending promise callbacks run */
export const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
