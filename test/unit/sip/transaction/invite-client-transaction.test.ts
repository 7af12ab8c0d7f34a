import type { Target } from '../../../../src/sip/transport/transport';
import { InviteClientTransaction } from '../../../../src/sip/transaction/invite-client-transaction';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state';
import type { ClientTransactionUser } from '../../../../src/sip/transaction/transaction';
import type { SipRequest } from '../../../../src/sip/message/sip-message';
import { invite, responseTo } from '../../../support/sip-messages';
import { makeContext } from './helpers';

const UDP: Target = { protocol: 'UDP', address: '127.0.0.1', port: 5070 };
const TCP: Target = { protocol: 'TCP', address: '127.0.0.1', port: 5070 };

function setup(target = UDP) {
  const env = makeContext();
  const user = {
    receiveResponse: jest.fn(),
    onRequestTimeout: jest.fn(),
    onTransportError: jest.fn(),
  } satisfies ClientTransactionUser;
  const req = invite();
  const tx = new InviteClientTransaction(env.ctx, req, target, 'k', user);
  tx.start();
  return { ...env, user, req, tx };
}

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  describe('in the Calling state', () => {
    it('it MUST send the INVITE at once', () => {
      const { transport } = setup();
      expect(transport.lines()).toEqual(['INVITE']);
    });

    it('it MUST retransmit over UDP with Timer A starting at T1 and doubling each time', () => {
      const { transport, clock } = setup();
      const times: number[] = [];
      for (let t = 0; t < 16000; t += 50) {
        const before = transport.sent.length;
        clock.advance(50);
        if (transport.sent.length > before) times.push(clock.now());
      }
      // retransmissions at 500, 1500, 3500, 7500, 15500 ms (intervals 500, 1000, 2000, 4000, 8000)
      expect(times).toEqual([500, 1500, 3500, 7500, 15500]);
    });

    it('it MUST NOT retransmit over a reliable transport', () => {
      const { transport, clock } = setup(TCP);
      clock.advance(20000);
      expect(transport.lines()).toEqual(['INVITE']);
    });

    it('Timer B (64*T1) MUST report a timeout to the TU and terminate', () => {
      const { clock, user, tx } = setup();
      clock.advance(64 * 500 - 1);
      expect(user.onRequestTimeout).not.toHaveBeenCalled();
      clock.advance(1);
      expect(user.onRequestTimeout).toHaveBeenCalledTimes(1);
      expect(tx.state).toBe(TransactionState.Terminated);
    });

    it('a transport error MUST be reported to the TU and terminate the transaction', () => {
      const env = makeContext();
      const user = { receiveResponse: jest.fn(), onTransportError: jest.fn() };
      env.transport.failNext = true;
      const tx = new InviteClientTransaction(env.ctx, invite(), UDP, 'k', user);
      tx.start();
      expect(user.onTransportError).toHaveBeenCalledTimes(1);
      expect(tx.state).toBe(TransactionState.Terminated);
    });
  });

  describe('upon a 1xx response', () => {
    it('it MUST move to Proceeding, pass it to the TU and stop retransmitting', () => {
      const { tx, req, user, transport, clock } = setup();
      tx.receiveResponse(responseTo(req, 180, 'b1'));
      expect(tx.state).toBe(TransactionState.Proceeding);
      expect(user.receiveResponse).toHaveBeenCalledTimes(1);
      clock.advance(60000);
      expect(transport.lines()).toEqual(['INVITE']);
      expect(user.onRequestTimeout).not.toHaveBeenCalled();
    });
  });

  describe('upon a 300-699 response', () => {
    it('it MUST generate an ACK (same branch, To from the response) and move to Completed', () => {
      const { tx, req, transport, user } = setup();
      tx.receiveResponse(responseTo(req, 486, 'b1'));
      expect(tx.state).toBe(TransactionState.Completed);
      expect(user.receiveResponse).toHaveBeenCalledTimes(1);
      const ack = transport.sent[1]!.msg as SipRequest;
      expect(ack.method).toBe('ACK');
      expect(ack.topVia.branch).toBe(req.topVia.branch);
      expect(ack.cseq).toEqual({ seq: 1, method: 'ACK' });
      expect(ack.to.tag).toBe('b1');
      expect(ack.uri.toString()).toBe(req.uri.toString());
    });

    it('a retransmitted final response MUST cause the ACK to be resent but NOT be passed to the TU', () => {
      const { tx, req, transport, user } = setup();
      const r = responseTo(req, 486, 'b1');
      tx.receiveResponse(r);
      tx.receiveResponse(r);
      expect(transport.lines()).toEqual(['INVITE', 'ACK', 'ACK']);
      expect(user.receiveResponse).toHaveBeenCalledTimes(1);
    });

    it('Timer D MUST be at least 32 s for UDP, then Terminated', () => {
      const { tx, req, clock } = setup();
      tx.receiveResponse(responseTo(req, 486, 'b1'));
      clock.advance(31999);
      expect(tx.state).toBe(TransactionState.Completed);
      clock.advance(1);
      expect(tx.state).toBe(TransactionState.Terminated);
    });

    it('Timer D MUST be zero for reliable transports', () => {
      const { tx, req, clock } = setup(TCP);
      tx.receiveResponse(responseTo(req, 486, 'b1'));
      clock.advance(0);
      expect(tx.state).toBe(TransactionState.Terminated);
    });
  });

  describe('upon a 2xx response (RFC 6026)', () => {
    it('it MUST move to Accepted and pass it to the TU without generating an ACK', () => {
      const { tx, req, transport, user } = setup();
      tx.receiveResponse(responseTo(req, 200, 'b1'));
      expect(tx.state).toBe(TransactionState.Accepted);
      expect(transport.lines()).toEqual(['INVITE']);
      expect(user.receiveResponse).toHaveBeenCalledTimes(1);
    });

    it('retransmitted 2xx in Accepted MUST be passed to the TU; Timer M (64*T1) terminates', () => {
      const { tx, req, user, clock } = setup();
      const ok = responseTo(req, 200, 'b1');
      tx.receiveResponse(ok);
      tx.receiveResponse(ok);
      expect(user.receiveResponse).toHaveBeenCalledTimes(2);
      clock.advance(64 * 500 - 1);
      expect(tx.state).toBe(TransactionState.Accepted);
      clock.advance(1);
      expect(tx.state).toBe(TransactionState.Terminated);
    });
  });
});
