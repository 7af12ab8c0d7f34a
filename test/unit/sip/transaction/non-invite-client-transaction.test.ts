import type { Target } from '../../../../src/sip/transport/transport';
import { NonInviteClientTransaction } from '../../../../src/sip/transaction/non-invite-client-transaction';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state';
import { invite, responseTo } from '../../../support/sip-messages';
import { makeContext } from './helpers';

const UDP: Target = { protocol: 'UDP', address: '127.0.0.1', port: 5070 };
const TCP: Target = { protocol: 'TCP', address: '127.0.0.1', port: 5070 };

function setup(target = UDP) {
  const env = makeContext();
  const user = { receiveResponse: jest.fn(), onRequestTimeout: jest.fn(), onTransportError: jest.fn() };
  const req = invite({ method: 'OPTIONS' });
  const tx = new NonInviteClientTransaction(env.ctx, req, target, 'k', user);
  tx.start();
  return { ...env, user, req, tx };
}

function sendTimes(env: ReturnType<typeof setup>, until: number): number[] {
  const times: number[] = [];
  while (env.clock.now() < until) {
    const before = env.transport.sent.length;
    env.clock.advance(50);
    if (env.transport.sent.length > before) times.push(env.clock.now());
  }
  return times;
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('in Trying, Timer E MUST start at T1 and double up to T2', () => {
    const env = setup();
    // intervals 500, 1000, 2000, 4000, 4000, 4000 ...
    expect(sendTimes(env, 20000)).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500]);
  });

  it('in Proceeding, Timer E MUST be reset to T2', () => {
    const env = setup();
    env.tx.receiveResponse(responseTo(env.req, 100));
    expect(env.tx.state).toBe(TransactionState.Proceeding);
    // the pending Timer E (500 ms) fires once, then every T2
    expect(sendTimes(env, 9000)).toEqual([500, 4500, 8500]);
  });

  it('MUST NOT retransmit over TCP', () => {
    const env = setup(TCP);
    env.clock.advance(30000);
    expect(env.transport.lines()).toEqual(['OPTIONS']);
  });

  it('Timer F (64*T1) MUST inform the TU of the timeout and terminate', () => {
    const env = setup();
    env.clock.advance(31999);
    expect(env.user.onRequestTimeout).not.toHaveBeenCalled();
    env.clock.advance(1);
    expect(env.user.onRequestTimeout).toHaveBeenCalledTimes(1);
    expect(env.tx.state).toBe(TransactionState.Terminated);
  });

  it('a final response MUST move to Completed, reach the TU once, and Timer K = T4 absorbs retransmissions', () => {
    const env = setup();
    const ok = responseTo(env.req, 200, 'x');
    env.tx.receiveResponse(ok);
    env.tx.receiveResponse(ok);
    expect(env.user.receiveResponse).toHaveBeenCalledTimes(1);
    expect(env.tx.state).toBe(TransactionState.Completed);
    env.clock.advance(4999);
    expect(env.tx.state).toBe(TransactionState.Completed);
    env.clock.advance(1);
    expect(env.tx.state).toBe(TransactionState.Terminated);
    expect(env.transport.lines()).toEqual(['OPTIONS']);
  });

  it('Timer K MUST be zero for reliable transports', () => {
    const env = setup(TCP);
    env.tx.receiveResponse(responseTo(env.req, 200, 'x'));
    env.clock.advance(0);
    expect(env.tx.state).toBe(TransactionState.Terminated);
  });
});
