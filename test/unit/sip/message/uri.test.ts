import { SipParseError } from '../../../../src/sip/errors';
import { SipUri } from '../../../../src/sip/message/uri';

describe('SipUri (RFC 3261 §19.1)', () => {
  it('parses user, password, host, port, params and headers', () => {
    const u = SipUri.parse(
      'sip:alice:secretword@atlanta.com:5070;transport=TCP;lr?subject=project%20x&priority=urgent',
    );
    expect(u.scheme).toBe('sip');
    expect(u.user).toBe('alice');
    expect(u.password).toBe('secretword');
    expect(u.host).toBe('atlanta.com');
    expect(u.port).toBe(5070);
    expect(u.params.get('transport')).toBe('TCP');
    expect(u.params.get('lr')).toBeNull();
    expect(u.params.has('lr')).toBe(true);
    expect(u.headers.get('subject')).toBe('project x');
    expect(u.headers.get('priority')).toBe('urgent');
    expect(u.toString()).toBe(
      'sip:alice:secretword@atlanta.com:5070;transport=TCP;lr?subject=project%20x&priority=urgent',
    );
  });

  it('lower-cases scheme and parameter names', () => {
    const u = SipUri.parse('SIPS:Bob@Biloxi.com;Transport=tls;MAddr=239.255.255.1');
    expect(u.scheme).toBe('sips');
    expect(u.params.get('transport')).toBe('tls');
    expect(u.params.get('maddr')).toBe('239.255.255.1');
    expect(u.user).toBe('Bob');
  });

  it('keeps IPv6 references with brackets and fills the default port', () => {
    const u = SipUri.parse('sip:[2001:db8::1]:5070;transport=udp');
    expect(u.host).toBe('[2001:db8::1]');
    expect(u.hostname).toBe('2001:db8::1');
    expect(u.port).toBe(5070);
    expect(u.hostport).toBe('[2001:db8::1]:5070');
    expect(SipUri.parse('sip:[::1]').hostport).toBe('[::1]:5060');
    expect(SipUri.parse('sips:example.com').hostport).toBe('example.com:5061');
    expect(SipUri.parse('sip:u@[2001:db8::10:5070]').host).toBe('[2001:db8::10:5070]');
  });

  it('unescapes %-escapes and re-escapes on output (§19.1.2)', () => {
    const u = SipUri.parse('sip:sips%3Auser%40example.com@example.net');
    expect(u.user).toBe('sips:user@example.com');
    expect(u.host).toBe('example.net');
    expect(u.toString()).toBe('sip:sips%3Auser%40example.com@example.net');
    const s = SipUri.parse('sip:user;par=u%40example.net@example.com');
    expect(s.user).toBe('user;par=u@example.net');
    expect(s.toString()).toBe('sip:user;par=u%40example.net@example.com');
    // unnecessary escapes are normalized (equivalent per §19.1.4)
    expect(SipUri.parse('sip:%61lice@atlanta.com').toString()).toBe('sip:alice@atlanta.com');
    expect(SipUri.parse('sip:null-%00-null@example.com').user).toBe('null-\u0000-null');
  });

  it('escapes characters set programmatically', () => {
    const u = new SipUri('sip', 'example.com', 'a b@c');
    u.params.set('x', 'v w');
    u.headers.set('Subject', 'hi there&more');
    expect(u.toString()).toBe('sip:a%20b%40c@example.com;x=v%20w?Subject=hi%20there%26more');
    const back = SipUri.parse(u.toString());
    expect(back.user).toBe('a b@c');
    expect(back.headers.get('Subject')).toBe('hi there&more');
  });

  it('parses user parts with the full user-unreserved set (RFC 4475 §3.1.1.2)', () => {
    const text =
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
    const u = SipUri.parse(text);
    expect(u.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(u.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(u.host).toBe('example.com');
    expect(u.toString()).toBe(text);
  });

  it('parses tel URIs (number in user, host empty)', () => {
    const u = SipUri.parse('tel:+1-201-555-0123;phone-context=example.com');
    expect(u.scheme).toBe('tel');
    expect(u.host).toBe('');
    expect(u.user).toBe('+1-201-555-0123');
    expect(u.params.get('phone-context')).toBe('example.com');
    expect(u.toString()).toBe('tel:+1-201-555-0123;phone-context=example.com');
  });

  it('clone is deep', () => {
    const u = SipUri.parse('sip:a@b;lr');
    const c = u.clone();
    c.params.set('transport', 'tcp');
    c.user = 'z';
    expect(u.toString()).toBe('sip:a@b;lr');
    expect(c.toString()).toBe('sip:z@b;lr;transport=tcp');
  });

  it.each([
    ['sip:', 400],
    ['sip:user@', 400],
    ['sip:user@host:99999', 400],
    ['sip:user@host:abc', 400],
    ['sip:us er@host', 400],
    ['sip:user@ho st', 400],
    ['sip:user@[::1', 400],
    ['sip:user@[zz::1]', 400],
    ['sip:%zzuser@host', 400],
    ['sip:user@host;=x', 400],
    ['<sip:user@host>', 400],
    ['nobodyKnowsThisScheme:totallyopaquecontent', 416],
    ['http://example.com/', 416],
  ])('rejects %s with %d', (text, status) => {
    let err: unknown;
    try {
      SipUri.parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SipParseError);
    expect((err as SipParseError).status).toBe(status);
  });
});
