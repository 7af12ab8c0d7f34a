import { createResponse } from '../../../../src/sip/message/response-factory';
import { NonInviteServerTransaction } from '../../../../src/sip/transaction/non-invite-server-transaction';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state';
import { invite } from '../../../support/sip-messages';
import { makeContext } from './helpers';

const UDP = { protocol: 'UDP' as const, address: '127.0.0.1', port: 5070 };
const TCP = { protocol: 'TCP' as const, address: '127.0.0.1', port: 5070, connectionId: 1 };

function setup(target: typeof UDP | typeof TCP = UDP) {
  const env = makeContext();
  const req = invite({ method: 'OPTIONS' });
  const tx = new NonInviteServerTransaction(env.ctx, req, target, 'k');
  return { ...env, req, tx };
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('in Trying, request retransmissions MUST be discarded', () => {
    const { tx, req, transport } = setup();
    tx.receiveRequest(req);
    expect(transport.lines()).toEqual([]);
    expect(tx.state).toBe(TransactionState.Trying);
  });

  it('a provisional response MUST move to Proceeding; retransmissions resend it', () => {
    const { tx, req, transport } = setup();
    tx.respond(createResponse(req, 100));
    expect(tx.state).toBe(TransactionState.Proceeding);
    tx.receiveRequest(req);
    expect(transport.lines()).toEqual(['100', '100']);
  });

  it('a final response MUST move to Completed; retransmissions resend it; Timer J = 64*T1 over UDP', () => {
    const { tx, req, transport, clock } = setup();
    tx.respond(createResponse(req, 200));
    expect(tx.state).toBe(TransactionState.Completed);
    tx.receiveRequest(req);
    expect(transport.lines()).toEqual(['200', '200']);
    tx.respond(createResponse(req, 500)); // a second final response is not sent
    expect(transport.lines()).toEqual(['200', '200']);
    clock.advance(64 * 500 - 1);
    expect(tx.state).toBe(TransactionState.Completed);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('Timer J MUST be zero for reliable transports', () => {
    const { tx, req, clock } = setup(TCP);
    tx.respond(createResponse(req, 200));
    clock.advance(0);
    expect(tx.state).toBe(TransactionState.Terminated);
  });
});
