import { SipParseError } from '../../../../src/sip/errors';
import { NameAddr } from '../../../../src/sip/message/name-addr';

describe('NameAddr (RFC 3261 §20.10, §25.1)', () => {
  it('parses a quoted display name with escapes', () => {
    const na = NameAddr.parse('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8');
    expect(na.displayName).toBe('J Rosenberg \\"');
    expect(na.uri.user).toBe('jdrosen');
    expect(na.tag).toBe('98asjd8');
    expect(na.toString()).toBe('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8');
  });

  it('parses token display names, also without space before < (RFC 4475 §3.1.1.6)', () => {
    expect(NameAddr.parse('Bob <sip:bob@biloxi.com>').displayName).toBe('Bob');
    const na = NameAddr.parse('caller<sip:caller@example.com>;tag=323');
    expect(na.displayName).toBe('caller');
    expect(na.tag).toBe('323');
    expect(NameAddr.parse('<sip:x@y>').displayName).toBeUndefined();
  });

  it('addr-spec: parameters after ; are header params, not URI params (§20.10)', () => {
    const na = NameAddr.parse('sip:alice@atlanta.com;tag=1928301774');
    expect(na.tag).toBe('1928301774');
    expect(na.uri.params.size).toBe(0);
    expect(na.toString()).toBe('<sip:alice@atlanta.com>;tag=1928301774');
  });

  it('name-addr: URI params stay inside <>', () => {
    const na = NameAddr.parse('<sip:proxy.example.com;lr;transport=tcp>;x=1');
    expect(na.uri.params.get('lr')).toBeNull();
    expect(na.uri.params.get('transport')).toBe('tcp');
    expect(na.params.get('x')).toBe('1');
  });

  it('parses params with LWS around = and keeps quoted values verbatim', () => {
    const na = NameAddr.parse(
      '<sip:a@b> ; newparam = newvalue ;  secondparam ; q = 0.33;+sip.instance="<urn:uuid:1>"',
    );
    expect(na.params.get('newparam')).toBe('newvalue');
    expect(na.params.get('secondparam')).toBeNull();
    expect(na.params.get('q')).toBe('0.33');
    expect(na.params.get('+sip.instance')).toBe('"<urn:uuid:1>"');
  });

  it('tag setter adds and removes', () => {
    const na = NameAddr.parse('<sip:a@b>');
    na.tag = 'abc';
    expect(na.toString()).toBe('<sip:a@b>;tag=abc');
    na.tag = undefined;
    expect(na.toString()).toBe('<sip:a@b>');
  });

  it('parseList splits on top-level commas only', () => {
    const l = NameAddr.parseList('"Watson, Thomas" <sip:t@example.org>, <sip:b,c@d>;q=0.5, sip:d@e');
    expect(l).toHaveLength(3);
    expect(l[0]!.displayName).toBe('Watson, Thomas');
    expect(l[1]!.params.get('q')).toBe('0.5');
    expect(l[1]!.uri.user).toBe('b,c');
    expect(l[2]!.uri.user).toBe('d');
  });

  it('clone is deep', () => {
    const a = NameAddr.parse('A <sip:a@b>;tag=1');
    const b = a.clone();
    b.tag = '2';
    b.uri.user = 'z';
    expect(a.toString()).toBe('A <sip:a@b>;tag=1');
  });

  it('quotes display names that are not tokens', () => {
    const na = NameAddr.parse('<sip:a@b>');
    na.displayName = 'Watson, Thomas';
    expect(na.toString()).toBe('"Watson, Thomas" <sip:a@b>');
  });

  it.each([
    '"unterminated <sip:a@b>',
    'Bell, Alexander <sip:a.g.bell@example.com>;tag=43',
    '<sip:a@b',
    '<sip:a@b> junk',
    'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
    '*',
    '',
  ])('rejects %j', (text) => {
    expect(() => NameAddr.parse(text)).toThrow(SipParseError);
  });
});
