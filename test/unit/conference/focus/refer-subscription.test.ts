/**
 * The implicit subscription of a REFER (RFC 3515 §2.4.4–§2.4.7, RFC 4488, RFC 6665), driven by a fake clock: what
 * each NOTIFY says, in order.
 */
import { silentLogger } from '../../../../src/logging/logger';
import {
  ReferSubscription,
  ReferSubscriptionState,
  SIPFRAG_TYPE,
  type ReferNotifier,
} from '../../../../src/conference/focus/refer-subscription';
import type { SipResponse } from '../../../../src/sip/message/sip-message';
import { FakeClock } from '../../../support/fake-clock';

interface Sent {
  event: string;
  state: string;
  body: string;
  type: string | undefined;
}

function notifier(status = 200): { sent: Sent[]; notify: ReferNotifier } {
  const sent: Sent[] = [];
  const notify: ReferNotifier = (o) => {
    sent.push({ event: o.event, state: o.subscriptionState, body: String(o.body), type: o.contentType });
    return Promise.resolve({ status } as SipResponse);
  };
  return { sent, notify };
}

function make(o: { status?: number; wanted?: boolean; expires?: number } = {}) {
  const clock = new FakeClock();
  const n = notifier(o.status);
  const sub = new ReferSubscription({
    notify: n.notify,
    referSeq: 7,
    wanted: o.wanted ?? true,
    expiresSeconds: o.expires ?? 60,
    log: silentLogger(),
    clock,
  });
  return { clock, sub, sent: n.sent };
}

it('MUST send 100 Trying active;expires, then the final status terminated;reason=noresource, as message/sipfrag', async () => {
  const { clock, sub, sent } = make();
  await sub.start();
  clock.advance(10_000);
  await sub.progress(180, 'Ringing');
  await sub.finish(200, 'OK');
  expect(sent).toEqual([
    { event: 'refer;id=7', state: 'active;expires=60', body: 'SIP/2.0 100 Trying\r\n', type: SIPFRAG_TYPE },
    { event: 'refer;id=7', state: 'active;expires=50', body: 'SIP/2.0 180 Ringing\r\n', type: SIPFRAG_TYPE },
    {
      event: 'refer;id=7',
      state: 'terminated;reason=noresource',
      body: 'SIP/2.0 200 OK\r\n',
      type: SIPFRAG_TYPE,
    },
  ]);
  expect(sub.state).toBe(ReferSubscriptionState.Terminated);
  expect(clock.pending).toBe(0);
  await sub.finish(486, 'Busy Here');
  expect(sent).toHaveLength(3);
});

it('keeps the order on the wire when the final status comes before the first NOTIFY was answered', async () => {
  const { sub, sent } = make();
  const a = sub.start();
  const b = sub.finish(403, 'Forbidden');
  await Promise.all([a, b]);
  expect(sent.map((s) => [s.state, s.body])).toEqual([
    ['active;expires=60', 'SIP/2.0 100 Trying\r\n'],
    ['terminated;reason=noresource', 'SIP/2.0 403 Forbidden\r\n'],
  ]);
});

it('ends with terminated;reason=timeout and the last status when the outcome outlasts the subscription', async () => {
  const { clock, sub, sent } = make({ expires: 30 });
  await sub.start();
  await sub.progress(180, 'Ringing');
  clock.advance(30_000);
  await sub.finish(200, 'OK');
  expect(sent.map((s) => [s.state, s.body])).toEqual([
    ['active;expires=30', 'SIP/2.0 100 Trying\r\n'],
    ['active;expires=30', 'SIP/2.0 180 Ringing\r\n'],
    ['terminated;reason=timeout', 'SIP/2.0 180 Ringing\r\n'],
  ]);
});

it('Refer-Sub: false (RFC 4488): no NOTIFY at all', async () => {
  const { clock, sub, sent } = make({ wanted: false });
  await sub.start();
  await sub.finish(200, 'OK');
  expect(sent).toEqual([]);
  expect(clock.pending).toBe(0);
});

it('a NOTIFY answered 481 ends the subscription: nothing more is sent (RFC 6665 §4.1.3)', async () => {
  const { clock, sub, sent } = make({ status: 481 });
  await sub.start();
  await sub.finish(200, 'OK');
  expect(sent).toHaveLength(1);
  expect(sub.state).toBe(ReferSubscriptionState.Terminated);
  expect(clock.pending).toBe(0);
});
