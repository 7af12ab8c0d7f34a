/**
 * The transfer headers: Replaces (RFC 3891), Refer-To (RFC 3515 §2.1, RFC 4579 §5.6 method=BYE), Referred-By
 * (RFC 3892), Refer-Sub (RFC 4488) and the message/sipfrag status line (RFC 3515 §2.4.5).
 */
import { parseReplaces, ReplacesError } from '../../../../src/conference/focus/replaces';
import {
  parseReferredBy,
  parseReferTo,
  sipfrag,
  sipfragStatus,
  wantsReferSubscription,
} from '../../../../src/conference/focus/refer-headers';
import type { SipParseError } from '../../../../src/sip/errors';
import { invite } from '../../../support/sip-messages';

const refer = (...extra: string[]) => invite({ method: 'REFER', toTag: 't1', extra });

describe('Replaces (RFC 3891)', () => {
  it('reads the Call-ID, both tags and early-only; generic parameters are ignored', () => {
    expect(parseReplaces(['abc@host.example;to-tag=T1;from-tag=F2'])).toEqual({
      callId: 'abc@host.example',
      toTag: 'T1',
      fromTag: 'F2',
      earlyOnly: false,
    });
    expect(parseReplaces(['abc ; from-tag=F ; x=y ; early-only ; to-tag=T'])).toEqual({
      callId: 'abc',
      toTag: 'T',
      fromTag: 'F',
      earlyOnly: true,
    });
    expect(parseReplaces([])).toBeUndefined();
  });

  it('MUST reject more than one Replaces with 400 (§3)', () => {
    expect(() => parseReplaces(['a;to-tag=1;from-tag=2', 'b;to-tag=1;from-tag=2'])).toThrow(ReplacesError);
  });

  it('MUST contain exactly one to-tag and one from-tag (§6.1)', () => {
    for (const bad of [
      'a;to-tag=1',
      'a;from-tag=2',
      'a;to-tag=1;to-tag=3;from-tag=2',
      ';to-tag=1;from-tag=2',
      'a;to-tag=;from-tag=2',
    ]) {
      expect(() => parseReplaces([bad])).toThrow(ReplacesError);
    }
    try {
      parseReplaces(['a;to-tag=1']);
    } catch (err) {
      expect((err as ReplacesError).status).toBe(400);
      expect((err as Error).message).toBe('Replaces needs a to-tag and a from-tag');
    }
  });
});

describe('Refer-To (RFC 3515 §2.1, RFC 4579 §5.6)', () => {
  it('reads the URI to dial (method INVITE by default), without method or embedded headers', () => {
    const t = parseReferTo(refer('Refer-To: <sip:carol@127.0.0.1:5090;transport=udp?Subject=x>'));
    expect(t.method).toBe('INVITE');
    expect(t.uri.toString()).toBe('sip:carol@127.0.0.1:5090;transport=udp');
    expect(t.text).toBe('<sip:carol@127.0.0.1:5090;transport=udp?Subject=x>');
  });

  it('reads method=BYE inside the brackets or, for an addr-spec, as a header parameter', () => {
    const a = parseReferTo(refer('Refer-To: <sip:bob@127.0.0.1;method=BYE>'));
    expect(a.method).toBe('BYE');
    expect(a.uri.toString()).toBe('sip:bob@127.0.0.1');
    expect(parseReferTo(refer('Refer-To: sip:bob@127.0.0.1;method=bye')).method).toBe('BYE');
  });

  it('MUST answer 400 to a REFER without one Refer-To, with two, or with a bad one (§2.4.1)', () => {
    const status = (r: () => unknown): [number, string] => {
      try {
        r();
      } catch (err) {
        return [(err as SipParseError).status, (err as SipParseError).reason ?? ''];
      }
      return [0, ''];
    };
    expect(status(() => parseReferTo(refer()))).toEqual([400, 'Missing Refer-To header']);
    expect(status(() => parseReferTo(refer('Refer-To: <sip:a@h>', 'Refer-To: <sip:b@h>')))).toEqual([
      400,
      'More than one Refer-To header',
    ]);
    expect(status(() => parseReferTo(refer('Refer-To: <sip:a@h>, <sip:b@h>')))[1]).toBe(
      'More than one Refer-To header',
    );
    expect(status(() => parseReferTo(refer('Refer-To: <::nonsense')))).toEqual([400, 'Bad Refer-To header']);
    expect(status(() => parseReferTo(refer('Refer-To: <tel:+15551234>')))[0]).toBe(400);
  });
});

describe('Referred-By (RFC 3892), Refer-Sub (RFC 4488), sipfrag', () => {
  it('reads the referrer URI, ignoring its parameters', () => {
    expect(parseReferredBy(invite({ extra: ['Referred-By: "Op" <sip:operator@pbx.example>;cid=x'] }))).toBe(
      'sip:operator@pbx.example',
    );
    expect(parseReferredBy(invite({ extra: ['b: <sip:op@h>'] }))).toBe('sip:op@h');
    expect(parseReferredBy(invite())).toBeUndefined();
    expect(() => parseReferredBy(invite({ extra: ['Referred-By: <::bad'] }))).toThrow(
      'Bad Referred-By header',
    );
  });

  it('Refer-Sub: false asks for no subscription; anything else keeps it', () => {
    expect(wantsReferSubscription(refer('Refer-Sub: false'))).toBe(false);
    expect(wantsReferSubscription(refer('Refer-Sub: true'))).toBe(true);
    expect(wantsReferSubscription(refer())).toBe(true);
  });

  it('a sipfrag body is one status line', () => {
    expect(sipfrag(100, 'Trying')).toBe('SIP/2.0 100 Trying\r\n');
    expect(sipfragStatus(sipfrag(486, 'Busy Here'))).toBe(486);
    expect(sipfragStatus('garbage')).toBeUndefined();
  });
});
