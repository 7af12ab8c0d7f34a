import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message';
import type { SessionDialog } from '../../../../src/sip/dialog/session-dialog';
import { TerminationReason } from '../../../../src/sip/dialog/dialog-state';
import type { UserAgentCoreOptions } from '../../../../src/sip/ua/user-agent-core';
import type { IncomingInvite } from '../../../../src/sip/ua/incoming-invite';
import { invite, responseTo } from '../../../support/sip-messages';
import { flush, makeUa } from '../../../support/ua-harness';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const SDP2 = SDP.replace('4000', '4002');

/** an established UAS dialog: alice (a1) called us */
async function established(opts: UserAgentCoreOptions = {}, extra: string[] = []) {
  const ua = makeUa(opts);
  let inv!: IncomingInvite;
  ua.core.onInvite((i) => (inv = i));
  ua.receive(invite({ body: SDP, extra: ['Record-Route: <sip:proxy.invalid;lr>', ...extra] }));
  const p = inv.accept({ sdp: SDP });
  ua.receive(invite({ method: 'ACK', toTag: inv.toTag, branch: 'z9hG4bK-ack' }));
  const dialog = await p;
  await flush(); // requests are held until the turn after the ACK (settle)
  ua.transport.clear();
  let n = 10;
  const inDialog = (method: string, o: { cseq?: number; body?: string; extra?: string[] } = {}) =>
    invite({
      method,
      toTag: inv.toTag,
      branch: `z9hG4bK-${method}-${n++}`,
      cseq: o.cseq ?? n,
      body: o.body,
      extra: o.extra,
    });
  return { ua, dialog, inDialog, tag: inv.toTag };
}

describe('SessionDialog as UAS (RFC 3261 §12–§15)', () => {
  it('§12.1.1: the route set is the Record-Route of the request, the remote target its Contact', async () => {
    const { dialog } = await established();
    expect(dialog.routeSet).toEqual(['<sip:proxy.invalid;lr>']);
    expect(dialog.remoteTarget.toString()).toBe('sip:alice@127.0.0.1:5070');
  });

  it('§12.2.2: a request with a lower CSeq than the remote sequence number MUST get 500', async () => {
    const { ua, inDialog } = await established();
    ua.receive(inDialog('INFO', { cseq: 5 }));
    ua.receive(inDialog('INFO', { cseq: 4 }));
    expect(ua.statuses()).toEqual([200, 500]);
  });

  it('BYE MUST be answered 200 and terminate the dialog with reason remote-bye', async () => {
    const { ua, dialog, inDialog } = await established();
    const onTerm = jest.fn();
    const onBye = jest.fn();
    dialog.on('terminated', onTerm);
    dialog.on('bye', onBye);
    ua.receive(inDialog('BYE'));
    expect(ua.statuses()).toEqual([200]);
    expect(onBye).toHaveBeenCalledTimes(1);
    expect(onTerm.mock.calls[0][0].reason).toBe(TerminationReason.RemoteBye);
    expect(ua.core.dialogCount).toBe(0);
    ua.receive(inDialog('INFO'));
    expect(ua.statuses()).toEqual([200, 481]);
  });

  it('a re-INVITE emits modify with the offer; accept() answers 200 with our SDP and waits for the ACK', async () => {
    const { ua, dialog, inDialog, tag } = await established();
    let offer: string | undefined;
    dialog.on('modify', (m) => {
      offer = m.sdp;
      void m.accept({ sdp: SDP2 });
    });
    const re = inDialog('INVITE', { body: SDP2, extra: ['Contact: <sip:alice@127.0.0.1:5080>'] });
    re.headers.set('Contact', '<sip:alice@127.0.0.1:5080>');
    ua.receive(re);
    expect(offer).toBe(SDP2);
    const ok = ua.last() as SipResponse;
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe(SDP2);
    expect(ok.headers.get('Contact')).toContain('sip:127.0.0.1:5060');
    expect(dialog.remoteTarget.port).toBe(5080); // §12.2.2 target refresh
    ua.clock.advance(500);
    expect(ua.statuses()).toEqual([100, 200, 200]);
    ua.receive(invite({ method: 'ACK', toTag: tag, cseq: re.cseq.seq, branch: 'z9hG4bK-ack2' }));
    ua.clock.advance(10000);
    expect(ua.statuses()).toEqual([100, 200, 200]);
  });

  it('a re-INVITE with no modify listener is answered with the current local SDP', async () => {
    const { ua, inDialog } = await established();
    ua.receive(inDialog('INVITE', { body: SDP2 }));
    const ok = ua.last() as SipResponse;
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe(SDP);
  });

  it('modify.reject(488) keeps the session', async () => {
    const { ua, dialog, inDialog } = await established();
    dialog.on('modify', (m) => m.reject(488));
    ua.receive(inDialog('INVITE', { body: SDP2 }));
    expect(ua.statuses()).toEqual([100, 488]);
    expect(dialog.terminated).toBe(false);
  });

  it('§14.2: a second re-INVITE before the final response to the first MUST get 500 with Retry-After', async () => {
    const { ua, dialog, inDialog } = await established();
    dialog.on('modify', () => undefined); // hold the first one
    ua.receive(inDialog('INVITE', { body: SDP2 }));
    ua.receive(inDialog('INVITE', { body: SDP2 }));
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(500);
    const ra = Number(res.headers.get('Retry-After'));
    expect(ra).toBeGreaterThanOrEqual(0);
    expect(ra).toBeLessThanOrEqual(10);
  });

  it('§14.2: a re-INVITE while our re-INVITE is in progress MUST get 491', async () => {
    const { ua, dialog, inDialog } = await established();
    const p = dialog.reinvite(SDP2);
    p.catch(() => undefined);
    await flush();
    expect(ua.requests('INVITE')).toHaveLength(1);
    ua.receive(inDialog('INVITE', { body: SDP2 }));
    expect((ua.last() as SipResponse).status).toBe(491);
  });

  it('RFC 3311 §5.2: an UPDATE with an offer while our offer is pending MUST get 491', async () => {
    const { ua, dialog, inDialog } = await established();
    dialog.update(SDP2).catch(() => undefined);
    await flush();
    ua.receive(inDialog('UPDATE', { body: SDP2 }));
    expect((ua.last() as SipResponse).status).toBe(491);
  });

  it('an UPDATE with an offer is answered 200 with SDP through modify', async () => {
    const { ua, dialog, inDialog } = await established();
    dialog.on('modify', (m) => {
      expect(m.method).toBe('UPDATE');
      void m.accept({ sdp: SDP2 });
    });
    ua.receive(inDialog('UPDATE', { body: SDP2 }));
    const ok = ua.last() as SipResponse;
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe(SDP2);
    expect(dialog.remoteSdp?.toString()).toBe(SDP2);
  });

  it('INFO and NOTIFY default to 200, REFER defaults to 603; listeners get them', async () => {
    const { ua, dialog, inDialog } = await established();
    ua.receive(inDialog('INFO'));
    ua.receive(inDialog('NOTIFY', { extra: ['Event: refer'] }));
    ua.receive(inDialog('REFER', { extra: ['Refer-To: <sip:bob@127.0.0.1>'] }));
    expect(ua.statuses()).toEqual([200, 200, 603]);
    dialog.on('refer', (r) => r.reply(202));
    ua.receive(inDialog('REFER', { extra: ['Refer-To: <sip:bob@127.0.0.1>'] }));
    expect(ua.statuses()).toEqual([200, 200, 603, 202]);
  });
});

describe('settling after the ACK', () => {
  it('a re-INVITE in the same turn as the ACK waits for listeners attached in accept().then()', async () => {
    const ua = makeUa();
    let inv!: IncomingInvite;
    ua.core.onInvite((i) => (inv = i));
    ua.receive(invite({ body: SDP }));
    const offers: Array<string | undefined> = [];
    const attached = inv.accept({ sdp: SDP }).then((d) => {
      d.on('modify', (m) => {
        offers.push(m.sdp);
        void m.accept({ sdp: SDP2 });
      });
    });
    // ACK and re-INVITE delivered back to back (one TCP segment)
    ua.receive(invite({ method: 'ACK', toTag: inv.toTag, branch: 'z9hG4bK-ack' }));
    ua.receive(invite({ toTag: inv.toTag, branch: 'z9hG4bK-re', cseq: 2, body: SDP2 }));
    await attached;
    await flush();
    expect(offers).toEqual([SDP2]);
    expect((ua.last() as SipResponse).body.toString()).toBe(SDP2);
  });
});

describe('SessionDialog as UAC of in-dialog requests', () => {
  async function sent(ua: ReturnType<typeof makeUa>, method: string): Promise<SipRequest> {
    await flush();
    const r = ua.requests(method);
    return r[r.length - 1]!;
  }

  it('§12.2.1.1: requests carry the route set, remote target, tags and increasing CSeq', async () => {
    const { ua, dialog } = await established();
    void dialog.info({ body: 'x', contentType: 'application/foo' });
    const info = await sent(ua, 'INFO');
    expect(info.uri.toString()).toBe('sip:alice@127.0.0.1:5070');
    expect(info.headers.get('Route')).toBe('<sip:proxy.invalid;lr>');
    expect(info.from.tag).toBe(dialog.localTag);
    expect(info.to.tag).toBe('a1');
    const seq = info.cseq.seq;
    void dialog.info({ body: 'y' });
    expect((await sent(ua, 'INFO')).cseq.seq).toBe(seq + 1);
  });

  it('reinvite() sends the ACK for the 2xx (same CSeq) and resends it for a retransmitted 2xx (§13.2.2.4)', async () => {
    const { ua, dialog } = await established();
    const p = dialog.reinvite(SDP2);
    const re = await sent(ua, 'INVITE');
    const ok = responseTo(re, 200, undefined, [
      'Contact: <sip:alice@127.0.0.1:5090>',
      'Content-Type: application/sdp',
    ]);
    ok.body = Buffer.from(SDP);
    ua.receiveResponse(ok);
    const res = await p;
    expect(res.status).toBe(200);
    const acks = ua.requests('ACK');
    expect(acks).toHaveLength(1);
    expect(acks[0]!.cseq).toEqual({ seq: re.cseq.seq, method: 'ACK' });
    expect(acks[0]!.uri.port).toBe(5090); // target refreshed by the 2xx Contact
    ua.receiveResponse(ok);
    expect(ua.requests('ACK')).toHaveLength(2);
  });

  it('a 491 to our re-INVITE rejects with SipError(491) and keeps the dialog', async () => {
    const { ua, dialog } = await established();
    const p = dialog.reinvite(SDP2);
    const re = await sent(ua, 'INVITE');
    ua.receiveResponse(responseTo(re, 491));
    await expect(p).rejects.toMatchObject({ status: 491 });
    expect(dialog.terminated).toBe(false);
  });

  it('§12.2.1.2: a 481 to an in-dialog request terminates the dialog', async () => {
    const { ua, dialog } = await established();
    const onTerm = jest.fn();
    dialog.on('terminated', onTerm);
    const p = dialog.info({ body: 'x' });
    const info = await sent(ua, 'INFO');
    ua.receiveResponse(responseTo(info, 481));
    await p;
    expect(onTerm.mock.calls[0][0].reason).toBe(TerminationReason.RequestFailed);
  });

  it('bye() terminates at once (local-bye) and sends BYE', async () => {
    const { ua, dialog } = await established();
    const onTerm = jest.fn();
    dialog.on('terminated', onTerm);
    const p = dialog.bye();
    expect(onTerm.mock.calls[0][0].reason).toBe(TerminationReason.LocalBye);
    const bye = await sent(ua, 'BYE');
    ua.receiveResponse(responseTo(bye, 200));
    expect((await p)?.status).toBe(200);
    expect(await dialog.bye()).toBeUndefined();
  });
});

describe('session timers (RFC 4028)', () => {
  const st = { sessionTimers: { sessionExpires: 1800, minSE: 90 } };

  it('a Session-Expires below our Min-SE MUST be rejected with 422 and Min-SE', async () => {
    const ua = makeUa(st);
    ua.core.onInvite((i) => void i.accept({ sdp: SDP }).catch(() => undefined));
    ua.receive(invite({ body: SDP, extra: ['Session-Expires: 30', 'Supported: timer'] }));
    await flush();
    const res = ua.last() as SipResponse;
    expect(res.status).toBe(422);
    expect(res.headers.get('Min-SE')).toBe('90');
  });

  it('refresher=uas: we MUST refresh at half the interval', async () => {
    const { ua, dialog } = await established(st, ['Session-Expires: 120;refresher=uas', 'Supported: timer']);
    expect(dialog.sessionTimerParams).toEqual({ interval: 120, weRefresh: true });
    ua.clock.advance(59999);
    await flush();
    expect(ua.requests('INVITE')).toHaveLength(0);
    ua.clock.advance(1);
    await flush();
    expect(ua.requests('INVITE')).toHaveLength(1); // peer did not Allow UPDATE → re-INVITE
  });

  it('refresher=uac: without a refresh we MUST send BYE before the session expires', async () => {
    const { ua, dialog } = await established(st, ['Session-Expires: 120;refresher=uac', 'Supported: timer']);
    const onTerm = jest.fn();
    dialog.on('terminated', onTerm);
    ua.clock.advance((120 - 32) * 1000);
    await flush();
    expect(ua.requests('BYE')).toHaveLength(1);
    expect(onTerm.mock.calls[0][0].reason).toBe(TerminationReason.SessionExpired);
  });

  it("the peer's refresh (UPDATE) restarts the timer", async () => {
    const { ua, dialog, inDialog } = await established(st, [
      'Session-Expires: 120;refresher=uac',
      'Supported: timer',
    ]);
    ua.clock.advance(80000);
    ua.receive(inDialog('UPDATE', { extra: ['Session-Expires: 120;refresher=uac'] }));
    expect((ua.last() as SipResponse).headers.get('Session-Expires')).toBe('120;refresher=uac');
    ua.clock.advance(80000);
    await flush();
    expect(ua.requests('BYE')).toHaveLength(0);
    expect(dialog.terminated).toBe(false);
  });
});

export type { SessionDialog };
