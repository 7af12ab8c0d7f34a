import { silentLogger } from '../../../../src/logging/logger';
import { createResponse } from '../../../../src/sip/message/response-factory';
import type { SipRequest } from '../../../../src/sip/message/sip-message';
import { InviteServerTransaction } from '../../../../src/sip/transaction/invite-server-transaction';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction';
import {
  TransactionLayer,
  type TransactionLayerUser,
} from '../../../../src/sip/transaction/transaction-layer';
import { FakeClock } from '../../../support/fake-clock';
import { FakeTransport, udpFlow } from '../../../support/fake-transport';
import { invite, responseTo } from '../../../support/sip-messages';

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const layer = new TransactionLayer(transport, { clock, logger: silentLogger(), tryingDelayMs: 0 });
  const got: Array<{ req: SipRequest; tx: ServerTransaction }> = [];
  const user = {
    receiveRequest: jest.fn((req: SipRequest, tx: ServerTransaction) => got.push({ req, tx })),
    receiveAck: jest.fn(),
    receiveCancel: jest.fn(),
    receiveStrayResponse: jest.fn(),
  } satisfies TransactionLayerUser;
  layer.setUser(user);
  return { clock, transport, layer, user, got };
}

describe('transaction layer matching (RFC 3261 §17.1.3, §17.2.3)', () => {
  it('a retransmitted request (same branch, sent-by, method) MUST be absorbed by its transaction', () => {
    const { layer, user } = setup();
    layer.receiveRequest(invite(), udpFlow());
    layer.receiveRequest(invite(), udpFlow());
    expect(user.receiveRequest).toHaveBeenCalledTimes(1);
  });

  it('the same branch with a different sent-by is a different transaction', () => {
    const { layer, user } = setup();
    layer.receiveRequest(invite(), udpFlow());
    const other = invite({ callId: 'call-2' });
    other.topVia.port = 5099;
    layer.receiveRequest(other, udpFlow());
    expect(user.receiveRequest).toHaveBeenCalledTimes(2);
  });

  it('RFC 2543 fallback: without the magic cookie, Request-URI/From tag/Call-ID/CSeq/Via identify the transaction', () => {
    const { layer, user } = setup();
    layer.receiveRequest(invite({ branch: 'old-style-1' }), udpFlow());
    layer.receiveRequest(invite({ branch: 'old-style-1' }), udpFlow());
    layer.receiveRequest(invite({ branch: 'old-style-1', cseq: 2 }), udpFlow());
    expect(user.receiveRequest).toHaveBeenCalledTimes(2);
  });

  it('an ACK for a non-2xx final response MUST match the INVITE server transaction (not reach the TU)', () => {
    const { layer, user, got } = setup();
    const inv = invite();
    layer.receiveRequest(inv, udpFlow());
    got[0]!.tx.respond(createResponse(inv, 486, undefined, { toTag: 't' }));
    layer.receiveRequest(invite({ method: 'ACK', toTag: 't' }), udpFlow());
    expect(user.receiveAck).not.toHaveBeenCalled();
    expect(got[0]!.tx.state).toBe('confirmed');
  });

  it('an ACK for a 2xx (new branch) MUST go to the TU', () => {
    const { layer, user, got } = setup();
    const inv = invite();
    layer.receiveRequest(inv, udpFlow());
    got[0]!.tx.respond(createResponse(inv, 200, undefined, { toTag: 't' }));
    layer.receiveRequest(invite({ method: 'ACK', toTag: 't', branch: 'z9hG4bK-ack' }), udpFlow());
    expect(user.receiveAck).toHaveBeenCalledTimes(1);
  });

  it('a CANCEL MUST be handed over with the INVITE transaction it matches (§9.2)', () => {
    const { layer, user } = setup();
    layer.receiveRequest(invite(), udpFlow());
    layer.receiveRequest(invite({ method: 'CANCEL' }), udpFlow());
    expect(user.receiveCancel).toHaveBeenCalledTimes(1);
    expect(user.receiveCancel.mock.calls[0]![2]).toBeInstanceOf(InviteServerTransaction);
    layer.receiveRequest(invite({ method: 'CANCEL', branch: 'z9hG4bK-nomatch' }), udpFlow());
    expect(user.receiveCancel.mock.calls[1]![2]).toBeUndefined();
  });

  it('§8.2.2.2: a merged request (same From tag, Call-ID, CSeq, different branch, no To tag) MUST get 482', () => {
    const { layer, user, transport } = setup();
    layer.receiveRequest(invite(), udpFlow());
    layer.receiveRequest(invite({ branch: 'z9hG4bK-forked' }), udpFlow());
    expect(user.receiveRequest).toHaveBeenCalledTimes(1);
    expect(transport.lines()).toEqual(['100', '482']);
  });

  it('responses MUST match client transactions by branch and CSeq method', () => {
    const { layer, transport, user } = setup();
    const tu = { receiveResponse: jest.fn() };
    const req = invite({ method: 'OPTIONS' });
    req.headers.remove('Via');
    layer.sendRequest(req, { protocol: 'UDP', address: '127.0.0.1', port: 5070 }, tu);
    const sent = transport.sent[0]!.msg as SipRequest;
    expect(sent.topVia.branch).toMatch(/^z9hG4bK/);
    expect(sent.topVia.rport).toBeNull();
    layer.receiveResponse(responseTo(sent, 200, 'x'), udpFlow());
    expect(tu.receiveResponse).toHaveBeenCalledTimes(1);
    const wrong = responseTo(sent, 200, 'x');
    wrong.headers.set('CSeq', '1 INVITE');
    layer.receiveResponse(wrong, udpFlow());
    expect(tu.receiveResponse).toHaveBeenCalledTimes(1);
    expect(user.receiveStrayResponse).toHaveBeenCalledTimes(1);
  });

  it('terminated transactions are forgotten', () => {
    const { layer, clock, got } = setup();
    const inv = invite({ method: 'OPTIONS' });
    layer.receiveRequest(inv, udpFlow());
    got[0]!.tx.respond(createResponse(inv, 200));
    expect(layer.serverCount).toBe(1);
    clock.advance(64 * 500);
    expect(layer.serverCount).toBe(0);
  });
});
