import { SipError } from '../../../../src/sip/errors';
import type { SipResponse } from '../../../../src/sip/message/sip-message';
import type { IncomingInvite } from '../../../../src/sip/ua/incoming-invite';
import { invite } from '../../../support/sip-messages';
import { flush, makeUa } from '../../../support/ua-harness';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

describe('UAS core outside a dialog (RFC 3261 §8.2)', () => {
  it('OPTIONS MUST be answered 200 with Allow, Accept and Supported (§11.2)', () => {
    const ua = makeUa();
    ua.receive(invite({ method: 'OPTIONS' }));
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(200);
    expect(res.headers.get('Allow')).toContain('INVITE');
    expect(res.headers.get('Accept')).toBe('application/sdp');
    expect(res.headers.has('Supported')).toBe(true);
  });

  it('an unknown method MUST get 405 with Allow (§8.2.1)', () => {
    const ua = makeUa();
    ua.receive(invite({ method: 'PUBLISH' }));
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toContain('OPTIONS');
  });

  it('an unsupported Require option MUST get 420 with Unsupported (§8.2.2.3)', () => {
    const ua = makeUa();
    ua.receive(invite({ extra: ['Require: 100rel, foo'] }));
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(420);
    expect(res.headers.get('Unsupported')).toBe('100rel, foo');
  });

  it('an unsupported body type MUST get 415 with Accept (§8.2.3)', () => {
    const ua = makeUa();
    ua.core.on('invite', () => undefined);
    const r = invite({ body: 'hello' });
    r.headers.set('Content-Type', 'text/plain');
    ua.receive(r);
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(415);
    expect(res.headers.get('Accept')).toBe('application/sdp');
  });

  it('a request with a To tag matching no dialog MUST get 481 (§12.2.2)', () => {
    const ua = makeUa();
    ua.receive(invite({ method: 'BYE', toTag: 'nope' }));
    expect(ua.statuses()).toEqual([481]);
  });

  it('an INVITE nobody handles gets 480', () => {
    const ua = makeUa();
    ua.receive(invite({ body: SDP }));
    expect(ua.statuses()).toEqual([100, 480]);
  });

  it('the auth hook can challenge with 401 and let the retry through', async () => {
    let calls = 0;
    const ua = makeUa({
      authenticate: async (req) =>
        req.headers.has('Authorization')
          ? undefined
          : { status: 401, headers: { 'WWW-Authenticate': 'Digest realm="x", nonce="n"' } },
    });
    ua.core.on('invite', () => calls++);
    ua.receive(invite({ body: SDP }));
    await flush();
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain('Digest');
    ua.receive(
      invite({ body: SDP, branch: 'z9hG4bK-2', cseq: 2, extra: ['Authorization: Digest username="u"'] }),
    );
    await flush();
    expect(calls).toBe(1);
  });
});

describe('INVITE server core (§13.3)', () => {
  function incoming(extra: string[] = [], body = SDP) {
    const ua = makeUa();
    let inv!: IncomingInvite;
    ua.core.onInvite((i) => (inv = i));
    ua.receive(invite({ body, extra }));
    return { ua, inv };
  }

  it('accept() MUST retransmit the 2xx (T1 doubling up to T2) until the ACK arrives, then resolve', async () => {
    const { ua, inv } = incoming();
    const p = inv.accept({ sdp: SDP });
    expect(ua.statuses()).toEqual([100, 200]);
    ua.clock.advance(500);
    ua.clock.advance(1000);
    ua.clock.advance(2000);
    expect(ua.statuses()).toEqual([100, 200, 200, 200, 200]);
    ua.receive(invite({ method: 'ACK', toTag: inv.toTag, branch: 'z9hG4bK-ack' }));
    const dialog = await p;
    ua.clock.advance(60000);
    expect(ua.statuses()).toEqual([100, 200, 200, 200, 200]);
    expect(dialog.remoteTag).toBe('a1');
    expect(dialog.localTag).toBe(inv.toTag);
    expect(ua.core.dialogCount).toBe(1);
  });

  it('without ACK for 64*T1 the session MUST be ended with BYE (§13.3.1.4)', async () => {
    const { ua, inv } = incoming();
    const p = inv.accept({ sdp: SDP });
    const rejected = expect(p).rejects.toMatchObject({ status: 408 });
    ua.clock.advance(64 * 500);
    await rejected;
    await flush();
    expect(ua.requests('BYE')).toHaveLength(1);
    expect(ua.core.dialogCount).toBe(0);
  });

  it('delayed offer: accept() sends our offer in the 200 and resolves with the answer from the ACK', async () => {
    const { ua, inv } = incoming([], '');
    expect(inv.sdp).toBeUndefined();
    const p = inv.accept({ sdp: SDP });
    ua.receive(invite({ method: 'ACK', toTag: inv.toTag, branch: 'z9hG4bK-ack', body: 'v=0 answer' }));
    const d = await p;
    expect(d.ackBody?.toString()).toBe('v=0 answer');
  });

  it('CANCEL MUST get 200 and the INVITE 487, and the TU sees "cancel" (§9.2)', () => {
    const { ua, inv } = incoming();
    const onCancel = jest.fn();
    inv.on('cancel', onCancel);
    inv.progress(180);
    ua.receive(invite({ method: 'CANCEL' }));
    expect(ua.statuses()).toEqual([100, 180, 200, 487]);
    expect(onCancel).toHaveBeenCalledTimes(1);
    const cancelOk = ua.transport.sent[2]!.msg as SipResponse;
    expect(cancelOk.cseq.method).toBe('CANCEL');
    expect(cancelOk.to.tag).toBe(inv.toTag);
  });

  it('reject() sends the final response with our To tag', () => {
    const { ua, inv } = incoming();
    inv.reject(486, 'Busy Here');
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(486);
    expect(res.to.tag).toBe(inv.toTag);
  });
});

describe('2xx retransmission over reliable transports', () => {
  it('the 2xx is not retransmitted over TCP, but the 64*T1 ACK deadline still applies', async () => {
    const ua = makeUa();
    let inv!: IncomingInvite;
    ua.core.onInvite((i) => (inv = i));
    ua.layer.receiveRequest(invite({ body: SDP }), { ...ua.flow, protocol: 'TCP', connectionId: 3 });
    const p = inv.accept({ sdp: SDP });
    const rejected = expect(p).rejects.toMatchObject({ status: 408 });
    ua.clock.advance(10000);
    expect(ua.statuses()).toEqual([100, 200]);
    ua.clock.advance(64 * 500);
    await rejected;
  });
});

describe('INVITE handler errors', () => {
  it('a SipError thrown by an async handler becomes the final response', async () => {
    const ua = makeUa();
    ua.core.onInvite(async () => {
      await flush();
      throw new SipError(486, 'Room Full', { 'Retry-After': '30' });
    });
    ua.receive(invite({ body: SDP }));
    await flush();
    await flush();
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(486);
    expect(res.reason).toBe('Room Full');
    expect(res.headers.get('Retry-After')).toBe('30');
  });

  it('any other exception becomes 500, and the stack keeps serving', () => {
    const ua = makeUa();
    ua.core.on('invite', () => {
      throw new Error('bug');
    });
    ua.receive(invite({ body: SDP }));
    expect(ua.statuses()).toEqual([100, 500]);
    ua.receive(invite({ method: 'OPTIONS', branch: 'z9hG4bK-o', callId: 'o1' }));
    expect(ua.statuses()).toEqual([100, 500, 200]);
  });
});

describe('unanswered INVITE safety net', () => {
  it('an INVITE the application never answers gets 408 after inviteTimeoutMs', () => {
    const ua = makeUa({ inviteTimeoutMs: 60000 });
    ua.core.onInvite(() => undefined);
    ua.receive(invite({ body: SDP }));
    ua.clock.advance(59999);
    expect(ua.statuses()).toEqual([100]);
    ua.clock.advance(1);
    expect(ua.statuses()).toEqual([100, 408]);
  });
});
