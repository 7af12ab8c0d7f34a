import { SipParseError } from '../../../../src/sip/errors';
import { Via } from '../../../../src/sip/message/via';

describe('Via (RFC 3261 §20.42, RFC 3581)', () => {
  it('parses protocol, transport, sent-by and params', () => {
    const [v] = Via.parse(
      'SIP/2.0/udp pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5067',
    );
    expect(v!.protocol).toBe('SIP/2.0');
    expect(v!.transport).toBe('UDP');
    expect(v!.host).toBe('pc33.atlanta.com');
    expect(v!.port).toBe(5066);
    expect(v!.branch).toBe('z9hG4bK776asdhds');
    expect(v!.received).toBe('192.0.2.1');
    expect(v!.rport).toBe(5067);
    expect(v!.toString()).toBe(
      'SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5067',
    );
  });

  it('rport: undefined when absent, null when empty (RFC 3581 §4)', () => {
    const [a] = Via.parse('SIP/2.0/UDP h;branch=z9hG4bK1;rport');
    expect(a!.rport).toBeNull();
    a!.rport = 5060;
    expect(a!.toString()).toBe('SIP/2.0/UDP h;branch=z9hG4bK1;rport=5060');
    const [b] = Via.parse('SIP/2.0/UDP h;branch=z9hG4bK1');
    expect(b!.rport).toBeUndefined();
    b!.rport = null;
    expect(b!.toString()).toBe('SIP/2.0/UDP h;branch=z9hG4bK1;rport');
    b!.rport = undefined;
    expect(b!.params.has('rport')).toBe(false);
  });

  it('handles IPv6 sent-by and received', () => {
    const [v] = Via.parse('SIP/2.0/TCP [2001:db8::9:1]:5070;branch=z9hG4bKas3;received=[2001:db8::9:255]');
    expect(v!.host).toBe('[2001:db8::9:1]');
    expect(v!.port).toBe(5070);
    expect(v!.received).toBe('[2001:db8::9:255]');
    const [w] = Via.parse('SIP/2.0/UDP [2001:db8::1];received=2001:db8::9:255;branch=z9hG4bKx');
    expect(w!.received).toBe('2001:db8::9:255');
    expect(w!.port).toBeUndefined();
  });

  it('parses several vias in one value with generous LWS (RFC 4475 §3.1.1.1)', () => {
    const vias = Via.parse(
      'SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8  ,  SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239',
    );
    expect(vias).toHaveLength(2);
    expect(vias[0]!.transport).toBe('TCP');
    expect(vias[0]!.host).toBe('spindle.example.com');
    expect(vias[0]!.branch).toBe('z9hG4bK9ikj8');
    expect(vias[1]!.host).toBe('192.168.255.111');
    expect(vias[1]!.branch).toBe('z9hG4bK30239');
  });

  it('accepts unknown transports (RFC 4475 §3.1.1.10) and spaces around the port colon', () => {
    const [v] = Via.parse('SIP/2.0/UNKNOWN t1.example.com : 5080;branch=z9hG4bKx');
    expect(v!.transport).toBe('UNKNOWN');
    expect(v!.port).toBe(5080);
  });

  it('setters and clone', () => {
    const [v] = Via.parse('SIP/2.0/UDP h;branch=z9hG4bK1');
    const c = v!.clone();
    c.branch = 'z9hG4bK2';
    c.received = '10.0.0.1';
    expect(v!.branch).toBe('z9hG4bK1');
    expect(c.toString()).toBe('SIP/2.0/UDP h;branch=z9hG4bK2;received=10.0.0.1');
    c.received = undefined;
    expect(c.received).toBeUndefined();
  });

  it.each([
    'SIP/2.0 host',
    'SIP/2.0/UDP',
    'SIP/2.0/UDP host:99999',
    'SIP/2.0/UDP host;rport=abc',
    'SIP/2.0/UDP host;ttl=300',
    'SIP/2.0/UDP [::1;branch=x',
    'SIP/2.0/UDP host junk',
    ';',
    '',
  ])('rejects %j', (text) => {
    expect(() => Via.parse(text)).toThrow(SipParseError);
  });
});
