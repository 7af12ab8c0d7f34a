import { createResponse } from '../../../../src/sip/message/response-factory';
import { InviteServerTransaction } from '../../../../src/sip/transaction/invite-server-transaction';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state';
import { invite } from '../../../support/sip-messages';
import { makeContext } from './helpers';

const UDP = { protocol: 'UDP' as const, address: '127.0.0.1', port: 5070 };
const TCP = { protocol: 'TCP' as const, address: '127.0.0.1', port: 5070, connectionId: 1 };

function setup(target: typeof UDP | typeof TCP = UDP, tryingDelay = 0) {
  const env = makeContext();
  const req = invite();
  const tx = new InviteServerTransaction(env.ctx, req, target, 'k');
  const user = { onAckTimeout: jest.fn(), onTransportError: jest.fn() };
  tx.user = user;
  tx.start(tryingDelay);
  return { ...env, req, tx, user };
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  it('it MUST send 100 Trying at once when configured so', () => {
    const { transport } = setup();
    expect(transport.lines()).toEqual(['100']);
  });

  it('with a delay, it MUST send 100 Trying when the TU stays silent (within 200 ms)', () => {
    const { transport, clock } = setup(UDP, 100);
    expect(transport.lines()).toEqual([]);
    clock.advance(100);
    expect(transport.lines()).toEqual(['100']);
  });

  it('with a delay, no 100 Trying is sent if the TU answered first', () => {
    const { transport, clock, tx, req } = setup(UDP, 100);
    tx.respond(createResponse(req, 180));
    clock.advance(1000);
    expect(transport.lines()).toEqual(['180']);
  });

  it('a request retransmission in Proceeding MUST resend the most recent provisional response', () => {
    const { transport, tx, req } = setup();
    tx.respond(createResponse(req, 180, undefined, { toTag: 't' }));
    tx.receiveRequest(req);
    expect(transport.lines()).toEqual(['100', '180', '180']);
  });

  describe('a 300-699 response from the TU', () => {
    it('MUST move to Completed and retransmit with Timer G from T1 doubling up to T2', () => {
      const { transport, tx, req, clock } = setup();
      tx.respond(createResponse(req, 486, undefined, { toTag: 't' }));
      expect(tx.state).toBe(TransactionState.Completed);
      transport.clear();
      const times: number[] = [];
      while (clock.now() < 20000) {
        const n = transport.sent.length;
        clock.advance(50);
        if (transport.sent.length > n) times.push(clock.now());
      }
      expect(times).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500]);
    });

    it('MUST NOT retransmit over reliable transports', () => {
      const { transport, tx, req, clock } = setup(TCP);
      tx.respond(createResponse(req, 486, undefined, { toTag: 't' }));
      clock.advance(20000);
      expect(transport.lines()).toEqual(['100', '486']);
    });

    it('a request retransmission in Completed MUST resend the final response', () => {
      const { transport, tx, req } = setup();
      tx.respond(createResponse(req, 486, undefined, { toTag: 't' }));
      tx.receiveRequest(req);
      expect(transport.lines()).toEqual(['100', '486', '486']);
    });

    it('an ACK MUST move to Confirmed, stop retransmissions; Timer I (T4) then terminates', () => {
      const { transport, tx, req, clock } = setup();
      tx.respond(createResponse(req, 486, undefined, { toTag: 't' }));
      expect(tx.receiveAck()).toBe(true);
      expect(tx.state).toBe(TransactionState.Confirmed);
      expect(tx.receiveAck()).toBe(false); // absorbed
      clock.advance(4999);
      expect(tx.state).toBe(TransactionState.Confirmed);
      clock.advance(1);
      expect(tx.state).toBe(TransactionState.Terminated);
      expect(transport.lines()).toEqual(['100', '486']);
    });

    it('Timer H (64*T1) without ACK MUST terminate and indicate a failure to the TU', () => {
      const { tx, req, clock, user } = setup();
      tx.respond(createResponse(req, 486, undefined, { toTag: 't' }));
      clock.advance(64 * 500);
      expect(tx.state).toBe(TransactionState.Terminated);
      expect(user.onAckTimeout).toHaveBeenCalledTimes(1);
    });
  });

  describe('a 2xx response from the TU (RFC 6026)', () => {
    it('MUST move to Accepted; retransmitted INVITEs are absorbed; Timer L (64*T1) terminates', () => {
      const { transport, tx, req, clock } = setup();
      tx.respond(createResponse(req, 200, undefined, { toTag: 't' }));
      expect(tx.state).toBe(TransactionState.Accepted);
      tx.receiveRequest(req);
      expect(transport.lines()).toEqual(['100', '200']);
      clock.advance(64 * 500 - 1);
      expect(tx.state).toBe(TransactionState.Accepted);
      clock.advance(1);
      expect(tx.state).toBe(TransactionState.Terminated);
    });

    it('MUST pass 2xx retransmissions from the TU to the transport in Accepted', () => {
      const { transport, tx, req } = setup();
      const ok = createResponse(req, 200, undefined, { toTag: 't' });
      tx.respond(ok);
      tx.respond(ok);
      expect(transport.lines()).toEqual(['100', '200', '200']);
    });
  });
});
