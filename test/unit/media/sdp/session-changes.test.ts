import * as sdpTransform from 'sdp-transform';

import {
  buildAnswer,
  diffNegotiations,
  generateSdesKey,
  isNoChange,
  negotiate,
  SdpSession,
} from '../../../../src/media/sdp';
import type { LocalEndpoints } from '../../../../src/media/sdp';
import { localCaps, vendorSdp } from './sdp-test-helpers';

const IP = '203.0.113.200';
const caps = localCaps();
const endpoints: LocalEndpoints = { ip: IP, media: [{ port: 40000, rtcpPort: 40001 }] };

describe('SdpSession (RFC 3264 §8 o= handling)', () => {
  it('keeps session id and version for an unchanged SDP, bumps the version when it changes', () => {
    const session = new SdpSession({ address: IP, sessionId: '777', initialVersion: 5 });
    const first = negotiate(vendorSdp('yealink-t46u'), caps);
    const a1 = sdpTransform.parse(buildAnswer(first, endpoints, session));
    expect(a1.origin).toMatchObject({ username: 'parley', sessionId: 777, sessionVersion: 5 });

    // Session refresh re-INVITE with the same offer: same answer, same version.
    const a2 = sdpTransform.parse(
      buildAnswer(negotiate(vendorSdp('yealink-t46u'), caps), endpoints, session),
    );
    expect(a2.origin.sessionVersion).toBe(5);

    // Hold: our direction changes → version 6.
    const held = negotiate(vendorSdp('yealink-t46u-hold'), caps);
    const a3 = sdpTransform.parse(buildAnswer(held, endpoints, session));
    expect(a3.origin).toMatchObject({ sessionId: 777, sessionVersion: 6 });
    expect(a3.media[0].direction).toBe('recvonly');
    expect(session.version).toBe(6);

    // New local port (recreated transport) → version 7.
    const a4 = sdpTransform.parse(
      buildAnswer(held, { ip: IP, media: [{ port: 40100, rtcpPort: 40101 }] }, session),
    );
    expect(a4.origin.sessionVersion).toBe(7);
  });

  it('draws a random numeric session id when none is given', () => {
    const a = new SdpSession({ address: IP });
    const b = new SdpSession({ address: IP });
    expect(a.sessionId).toMatch(/^\d+$/);
    expect(a.sessionId).not.toBe(b.sessionId);
  });
});

describe('diffNegotiations', () => {
  const base = negotiate(vendorSdp('yealink-t46u'), caps);

  it('an identical re-offer changes nothing', () => {
    const changes = diffNegotiations(base, negotiate(vendorSdp('yealink-t46u'), caps));
    expect(isNoChange(changes)).toBe(true);
    expect(changes[0].hold).toBeUndefined();
    expect(changes[0]).toMatchObject({
      codecChanged: false,
      remoteAddressChanged: false,
      srtpChanged: false,
    });
  });

  it('hold (a=sendonly) and resume are direction updates, not transport work', () => {
    const held = negotiate(vendorSdp('yealink-t46u-hold'), caps);
    const [hold] = diffNegotiations(base, held);
    expect(hold.hold).toBe('held');
    expect(hold.directionChanged).toBe(true);
    expect(hold.actions).toEqual({
      recreateTransport: false,
      recreateProducer: false,
      recreateConsumer: false,
      updateDirection: true,
    });
    const [resume] = diffNegotiations(held, base);
    expect(resume.hold).toBe('resumed');
    expect(isNoChange([resume])).toBe(false);
  });

  it('old-style hold (c=0.0.0.0) is a hold, not an address change', () => {
    const before = negotiate(vendorSdp('cisco-oldstyle-hold').replace(/0\.0\.0\.0/g, '198.51.100.20'), caps);
    const held = negotiate(vendorSdp('cisco-oldstyle-hold'), caps);
    const [c] = diffNegotiations(before, held);
    expect(c.hold).toBe('held');
    expect(c.remoteAddressChanged).toBe(false);
    expect(c.actions.recreateTransport).toBe(false);
  });

  it('a codec change recreates producer and consumer, keeps the transport', () => {
    const pcma = negotiate(
      vendorSdp('yealink-t46u').replace('RTP/AVP 0 8 18 9 101', 'RTP/AVP 8 0 18 9 101'),
      caps,
    );
    const [c] = diffNegotiations(base, pcma);
    expect(c.codecChanged).toBe(true);
    expect(c.actions).toEqual({
      recreateTransport: false,
      recreateProducer: true,
      recreateConsumer: true,
      updateDirection: false,
    });
  });

  it('a new remote port recreates the transport (connect() is once per PlainTransport)', () => {
    const moved = negotiate(vendorSdp('yealink-t46u').replace('m=audio 11796', 'm=audio 11900'), caps);
    const [c] = diffNegotiations(base, moved);
    expect(c.remoteAddressChanged).toBe(true);
    expect(c.actions.recreateTransport).toBe(true);
    expect(c.actions.recreateProducer).toBe(true);
  });

  it('a new SDES key is a re-key that recreates the transport', () => {
    const srtp = negotiate(vendorSdp('polycom-vvx450-srtp'), caps);
    const rekeyed = negotiate(
      vendorSdp('polycom-vvx450-srtp').replace(
        '+QPFp96CZjxtNT4ZWXk6mlDSWt0v/ZOHrdZpP/qg',
        generateSdesKey('AES_CM_128_HMAC_SHA1_80'),
      ),
      caps,
    );
    const [c] = diffNegotiations(srtp, rekeyed);
    expect(c.srtpChanged).toBe(true);
    expect(c.codecChanged).toBe(false);
    expect(c.actions.recreateTransport).toBe(true);
    expect(diffNegotiations(srtp, negotiate(vendorSdp('polycom-vvx450-srtp'), caps))[0].srtpChanged).toBe(
      false,
    );
  });

  it('a new announced SSRC recreates only the producer', () => {
    const gs = negotiate(vendorSdp('grandstream-gxv3380-video'), caps);
    const newSsrc = negotiate(vendorSdp('grandstream-gxv3380-video').replace('3847011402', '12345'), caps);
    const [audio, video] = diffNegotiations(gs, newSsrc);
    expect(isNoChange([audio])).toBe(true);
    expect(video.ssrcChanged).toBe(true);
    expect(video.actions).toEqual({
      recreateTransport: false,
      recreateProducer: true,
      recreateConsumer: false,
      updateDirection: false,
    });
  });

  it('a stream added or removed by a re-offer is reported', () => {
    const audioOnly = negotiate(
      vendorSdp('grandstream-gxv3380-video').replace('m=video 5006', 'm=video 0'),
      caps,
    );
    const both = negotiate(vendorSdp('grandstream-gxv3380-video'), caps);
    expect(diffNegotiations(audioOnly, both)[1]).toMatchObject({ added: true, removed: false });
    expect(diffNegotiations(both, audioOnly)[1]).toMatchObject({ added: false, removed: true });
  });
});
