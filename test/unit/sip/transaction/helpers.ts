import { silentLogger } from '../../../../src/logging/logger';
import type { Transaction, TransactionContext } from '../../../../src/sip/transaction/transaction';
import { FakeClock } from '../../../support/fake-clock';
import { FakeTransport } from '../../../support/fake-transport';

export function makeContext(): {
  ctx: TransactionContext;
  clock: FakeClock;
  transport: FakeTransport;
  terminated: Transaction[];
} {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const terminated: Transaction[] = [];
  const ctx: TransactionContext = {
    clock,
    timers: { T1: 500, T2: 4000, T4: 5000 },
    logger: silentLogger(),
    send: (data, target, cb) => transport.send(data, target, cb),
    onTerminated: (tx) => terminated.push(tx),
  };
  return { ctx, clock, transport, terminated };
}
