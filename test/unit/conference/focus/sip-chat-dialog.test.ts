import { TerminationReason } from '../../../../src/sip/dialog/dialog-state';
import type { SipRequest } from '../../../../src/sip/message/sip-message';
import type { IncomingInvite } from '../../../../src/sip/ua/incoming-invite';
import { invite, responseTo } from '../../../support/sip-messages';
import { flush, makeUa } from '../../../support/ua-harness';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

/** A call (alice called us) whose dialog the chat sends MESSAGEs in. */
async function call() {
  const ua = makeUa();
  let inv!: IncomingInvite;
  ua.core.onInvite((i) => (inv = i));
  ua.receive(invite({ body: SDP }));
  const p = inv.accept({ sdp: SDP });
  ua.receive(invite({ method: 'ACK', toTag: inv.toTag, branch: 'z9hG4bK-ack' }));
  const dialog = await p;
  await flush();
  ua.transport.clear();
  const terminated = jest.fn();
  dialog.on('terminated', terminated);
  const sent = async (method: string): Promise<SipRequest> => {
    await flush();
    const r = ua.requests(method);
    return r[r.length - 1]!;
  };
  return { ua, dialog, terminated, sent };
}

describe('a chat MESSAGE in a call’s dialog (RFC 3428, RFC 5057 §5.1)', () => {
  it('a phone that never answers a MESSAGE keeps its call: 408 for the MESSAGE, the dialog goes on', async () => {
    const { ua, dialog, terminated, sent } = await call();
    const p = dialog.request('MESSAGE', { body: 'Web: hi', contentType: 'text/plain;charset=UTF-8' });
    const msg = await sent('MESSAGE');
    expect(msg.headers.get('Content-Type')).toBe('text/plain;charset=UTF-8');
    ua.clock.advance(64 * 500); // Timer F (64·T1) of the non-INVITE client transaction
    await expect(p).rejects.toMatchObject({ status: 408 });
    expect(terminated).not.toHaveBeenCalled();
    expect(dialog.terminated).toBe(false);
    expect(ua.requests('BYE')).toHaveLength(0);
  });

  it('a 405 to a MESSAGE is only the MESSAGE’s answer', async () => {
    const { ua, dialog, terminated, sent } = await call();
    const p = dialog.request('MESSAGE', { body: 'Web: hi' });
    ua.receiveResponse(responseTo(await sent('MESSAGE'), 405));
    expect((await p).status).toBe(405);
    expect(terminated).not.toHaveBeenCalled();
  });

  it('a 481 to a MESSAGE still ends the dialog (§12.2.1.2: the peer does not know it)', async () => {
    const { ua, dialog, terminated, sent } = await call();
    const p = dialog.request('MESSAGE', { body: 'Web: hi' });
    ua.receiveResponse(responseTo(await sent('MESSAGE'), 481));
    await p;
    expect(terminated.mock.calls[0][0].reason).toBe(TerminationReason.RequestFailed);
  });

  it('other in-dialog requests that time out still end the dialog (§12.2.1.2)', async () => {
    const { ua, dialog, terminated, sent } = await call();
    const p = dialog.info({ body: 'x' });
    await sent('INFO');
    ua.clock.advance(64 * 500);
    await expect(p).rejects.toMatchObject({ status: 408 });
    expect(terminated.mock.calls[0][0].reason).toBe(TerminationReason.RequestFailed);
  });
});
