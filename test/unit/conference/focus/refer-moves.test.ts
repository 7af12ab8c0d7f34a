/**
 * Moves by REFER: the one-time token in the Refer-To URI, the hand-over of the phone's INVITE, expiry (fake clock);
 * and which participant a REFER's method=BYE names (RFC 4579 §5.6).
 */
import { sameParty } from '../../../../src/conference/focus/refer-control';
import { MOVE_TOKEN_PARAM, MoveClaim, ReferMoves } from '../../../../src/conference/focus/refer-moves';
import { SipUri } from '../../../../src/sip/message/uri';
import type { IncomingInvite } from '../../../../src/sip/ua/incoming-invite';
import { FakeClock } from '../../../support/fake-clock';
import { invite as inviteRequest } from '../../../support/sip-messages';

function inviteTo(uri: string): IncomingInvite {
  const r = inviteRequest();
  r.uri = SipUri.parse(uri);
  return { request: r } as unknown as IncomingInvite;
}

describe('ReferMoves', () => {
  it('refers to the new room on our host (same transport), with a fresh 128-bit token; the INVITE carrying it is handed over', async () => {
    const moves = new ReferMoves({ clock: new FakeClock() });
    const a = moves.expect('two', 'sip:one@127.0.0.1:5060;transport=tcp');
    const b = moves.expect('two', 'sip:one@127.0.0.1:5060');
    const ua = SipUri.parse(a.uri);
    expect([ua.user, ua.host, ua.port, ua.params.get('transport')]).toEqual([
      'two',
      '127.0.0.1',
      5060,
      'tcp',
    ]);
    expect(SipUri.parse(b.uri).params.has('transport')).toBe(false);
    expect(ua.params.get(MOVE_TOKEN_PARAM)).toMatch(/^[0-9a-f]{32}$/);
    expect(SipUri.parse(b.uri).params.get(MOVE_TOKEN_PARAM)).not.toBe(ua.params.get(MOVE_TOKEN_PARAM));
    const inv = inviteTo(a.uri);
    expect(moves.claim(inv)).toBe(MoveClaim.Claimed);
    await expect(a.arrival).resolves.toBe(inv);
    // Single use: the same token again is refused, as is one never issued.
    expect(moves.claim(inviteTo(a.uri))).toBe(MoveClaim.Expired);
    expect(moves.claim(inviteTo(`sip:two@127.0.0.1;${MOVE_TOKEN_PARAM}=deadbeef`))).toBe(MoveClaim.Expired);
    expect(moves.claim(inviteTo('sip:two@127.0.0.1'))).toBe(MoveClaim.None);
    expect(moves.size).toBe(1);
  });

  it('gives up after the timeout (the move then re-INVITEs) and on cancel; a late INVITE is refused', async () => {
    const clock = new FakeClock();
    const moves = new ReferMoves({ clock, timeoutMs: 5000 });
    const a = moves.expect('two', 'sip:one@h');
    const b = moves.expect('two', 'sip:one@h');
    clock.advance(4999);
    expect(moves.size).toBe(2);
    b.cancel();
    await expect(b.arrival).resolves.toBeUndefined();
    clock.advance(1);
    await expect(a.arrival).resolves.toBeUndefined();
    expect(moves.size).toBe(0);
    expect(clock.pending).toBe(0);
    expect(moves.claim(inviteTo(a.uri))).toBe(MoveClaim.Expired);
  });
});

describe('sameParty (REFER method=BYE, RFC 4579 §5.6)', () => {
  const target = (uri: string) => SipUri.parse(uri);
  it('matches user and host (case-insensitive), and the port only when both name one', () => {
    expect(sameParty('sip:bob@Example.COM', target('sip:bob@example.com'))).toBe(true);
    expect(sameParty('sip:bob@127.0.0.1:5070', target('sip:bob@127.0.0.1'))).toBe(true);
    expect(sameParty('sip:bob@127.0.0.1:5070', target('sip:bob@127.0.0.1:5070'))).toBe(true);
    expect(sameParty('sip:bob@127.0.0.1:5070', target('sip:bob@127.0.0.1:5071'))).toBe(false);
    expect(sameParty('sip:Bob@127.0.0.1', target('sip:bob@127.0.0.1'))).toBe(false);
    expect(sameParty('sip:bob@127.0.0.2', target('sip:bob@127.0.0.1'))).toBe(false);
    expect(sameParty('not a uri', target('sip:bob@127.0.0.1'))).toBe(false);
  });
});
