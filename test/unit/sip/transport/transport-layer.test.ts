import { silentLogger } from '../../../../src/logging/logger';
import { SipUri } from '../../../../src/sip/message/uri';
import { Via } from '../../../../src/sip/message/via';
import { stampReceived, TransportLayer } from '../../../../src/sip/transport/transport-layer';
import type { Flow } from '../../../../src/sip/transport/transport';
import { invite } from '../../../support/sip-messages';

const udp: Flow = {
  protocol: 'UDP',
  address: '10.0.0.9',
  port: 40000,
  localAddress: '127.0.0.1',
  localPort: 5060,
};
const tcp: Flow = { ...udp, protocol: 'TCP', connectionId: 7 };
const via = (s: string): Via => Via.parse(s)[0]!;

describe('transport layer routing (RFC 3261 §18.2.2, RFC 3581)', () => {
  let layer: TransportLayer;
  beforeAll(async () => {
    // UDP and TCP on ephemeral loopback ports; TLS and WS stay disabled
    layer = await TransportLayer.create({ ip: '127.0.0.1', udp: 0, tcp: 0, logger: silentLogger() });
  });
  afterAll(() => layer.close());

  it('reliable: the response MUST go over the connection the request came on', () => {
    expect(
      layer.responseTarget(via('SIP/2.0/TCP client.invalid:5070;branch=z9hG4bK1;received=10.0.0.9'), tcp),
    ).toEqual({
      protocol: 'TCP',
      address: '10.0.0.9',
      port: 40000,
      connectionId: 7,
    });
  });

  it('unreliable with rport: to received:rport (RFC 3581 §4)', () => {
    expect(
      layer.responseTarget(
        via('SIP/2.0/UDP 192.168.1.2:5070;branch=z9hG4bK1;received=10.0.0.9;rport=40000'),
        udp,
      ),
    ).toEqual({
      protocol: 'UDP',
      address: '10.0.0.9',
      port: 40000,
    });
  });

  it('unreliable with received (no rport): to received and the sent-by port', () => {
    expect(
      layer.responseTarget(via('SIP/2.0/UDP 192.168.1.2:5070;branch=z9hG4bK1;received=10.0.0.9'), udp),
    ).toEqual({
      protocol: 'UDP',
      address: '10.0.0.9',
      port: 5070,
    });
  });

  it('unreliable, no received: to the sent-by (default port 5060)', () => {
    expect(layer.responseTarget(via('SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK1'), udp)).toEqual({
      protocol: 'UDP',
      address: '10.0.0.9',
      port: 5060,
    });
  });

  it('§18.2.1: received is added when sent-by differs from the source; rport is filled in when requested', () => {
    const r1 = invite();
    stampReceived(r1, udp);
    expect(r1.topVia.received).toBe('10.0.0.9');
    expect(r1.headers.get('Via')).toContain('received=10.0.0.9');
    const r2 = invite();
    r2.topVia.rport = null;
    stampReceived(r2, { ...udp, address: '127.0.0.1' });
    expect(r2.topVia.rport).toBe(40000);
    expect(r2.topVia.received).toBe('127.0.0.1');
    const r3 = invite();
    stampReceived(r3, { ...udp, address: '127.0.0.1' });
    expect(r3.topVia.received).toBeUndefined();
  });

  it('chooses the transport from the URI: transport param, sips → TLS (unavailable → error), default UDP', () => {
    expect(layer.protocolFor(SipUri.parse('sip:a@127.0.0.1'))).toBe('UDP');
    expect(layer.protocolFor(SipUri.parse('sip:a@127.0.0.1;transport=tcp'))).toBe('TCP');
    expect(() => layer.protocolFor(SipUri.parse('sips:a@127.0.0.1'))).toThrow();
    expect(() => layer.protocolFor(SipUri.parse('sip:a@127.0.0.1;transport=ws'))).toThrow();
  });

  it('resolves IP URIs without DNS and exposes the ephemeral ports', async () => {
    await expect(layer.resolve(SipUri.parse('sip:a@[::1]:5099;transport=tcp'))).resolves.toEqual({
      protocol: 'TCP',
      address: '::1',
      port: 5099,
    });
    expect(layer.ports.udp).toBeGreaterThan(0);
    expect(layer.ports.tcp).toBeGreaterThan(0);
    expect(layer.sentBy('UDP')).toBe(`127.0.0.1:${layer.ports.udp}`);
  });
});
