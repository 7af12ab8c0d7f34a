import { parseOffer, parseSdp, SdpDirection, SdpNegotiationError } from '../../../../src/media/sdp';
import { vendorSdp } from './sdp-test-helpers';

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof SdpNegotiationError) return e.status;
    throw e;
  }
  return undefined;
}

describe('parseSdp', () => {
  it('normalizes a Polycom offer: session-level direction and c=, static and dynamic PTs, fmtp', () => {
    const s = parseOffer(vendorSdp('polycom-vvx450'));
    expect(s.origin).toEqual({
      username: '-',
      sessionId: '1700000012',
      sessionVersion: '1700000012',
      address: '192.168.1.50',
    });
    expect(s.direction).toBe(SdpDirection.SendRecv);
    const m = s.media[0];
    expect(m).toMatchObject({
      index: 0,
      kind: 'audio',
      port: 2222,
      proto: 'RTP/AVP',
      connection: { address: '192.168.1.50', ipVersion: 4 },
      rtcpPort: 2223,
      rtcpMux: false,
      direction: SdpDirection.SendRecv,
      oldStyleHold: false,
    });
    expect(m.formats).toEqual(['9', '102', '0', '8', '18', '127']);
    expect(m.payloads.map((p) => `${p.payloadType}:${p.encodingName}/${p.clockRate}`)).toEqual([
      '9:G722/8000',
      '102:G7221/16000',
      '0:PCMU/8000',
      '8:PCMA/8000',
      '18:G729/8000',
      '127:telephone-event/8000',
    ]);
    expect(m.payloads[1].fmtp).toEqual({ bitrate: '32000' });
  });

  it('takes static PTs without a=rtpmap from RFC 3551 (G.722 at clock 8000)', () => {
    const m = parseSdp(vendorSdp('static-pt-no-rtpmap')).media[0];
    expect(m.payloads).toEqual([
      expect.objectContaining({ payloadType: 18, encodingName: 'G729', clockRate: 8000, hasRtpmap: false }),
      expect.objectContaining({ payloadType: 9, encodingName: 'G722', clockRate: 8000, hasRtpmap: false }),
      expect.objectContaining({ payloadType: 0, encodingName: 'PCMU', clockRate: 8000, hasRtpmap: false }),
    ]);
  });

  it('reads SDES crypto lines with lifetime, MKI and session parameters (RFC 4568 §9.1)', () => {
    const m = parseSdp(vendorSdp('snom-d785-srtp')).media[0];
    expect(m.crypto[0]).toEqual({
      tag: 1,
      suite: 'AES_CM_128_HMAC_SHA1_80',
      keyParams: [
        {
          keySaltBase64: 'vYkFELF2wGSc5b9bzF8Fskw6zRRcmkZFeWR3tZL3',
          lifetime: '2^31',
          mki: { value: 1, length: 1 },
        },
      ],
      sessionParams: [],
    });
    const withSession = parseSdp(
      vendorSdp('sipp-uac').replace(
        'm=audio 6000 RTP/AVP 0',
        'm=audio 6000 RTP/SAVP 0\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:6uNFRcl8jSWLBHnCkAeg2rK+6m0Fq0190E/OO8mO UNENCRYPTED_SRTCP KDR=0',
      ),
    ).media[0];
    expect(withSession.crypto[0].sessionParams).toEqual(['UNENCRYPTED_SRTCP', 'KDR=0']);
  });

  it('reads a=rtcp with address, IPv6 connection and a=recvonly', () => {
    const m = parseSdp(vendorSdp('ipv6-softphone')).media[0];
    expect(m.connection).toEqual({ address: '2001:db8::10', ipVersion: 6 });
    expect(m.rtcpPort).toBe(40001);
    expect(m.rtcpAddress).toEqual({ address: '2001:db8::10', ipVersion: 6 });
    expect(m.direction).toBe(SdpDirection.RecvOnly);
  });

  it('prefers the media-level c= and reads a=ssrc, a=rtcp-mux, ICE and DTLS markers', () => {
    const cisco = parseSdp(vendorSdp('cisco-cp8865-video'));
    expect(cisco.connection).toBeUndefined();
    expect(cisco.media[1].connection?.address).toBe('192.168.10.21');
    expect(cisco.media[2]).toMatchObject({
      kind: 'application',
      proto: 'UDP/BFCP',
      formats: ['*'],
      payloads: [],
    });
    const gs = parseSdp(vendorSdp('grandstream-gxv3380-video')).media[1];
    expect(gs.ssrcs).toEqual([3847011402]);
    expect(gs.cname).toBe('gxv3380-video');
    expect(gs.payloads[1].rtcpFeedback).toEqual([
      { type: 'nack' },
      { type: 'nack', parameter: 'pli' },
      { type: 'ccm', parameter: 'fir' },
    ]);
    expect(parseSdp(vendorSdp('baresip-rtcp-mux')).media[0].rtcpMux).toBe(true);
    expect(parseSdp(vendorSdp('linphone-ice-video')).media[0].hasIce).toBe(true);
    expect(parseSdp(vendorSdp('webrtc-dtls')).media[0].hasFingerprint).toBe(true);
  });

  it('folds old-style hold (c=0.0.0.0) into the direction (RFC 3264 §8.4)', () => {
    const held = parseSdp(vendorSdp('cisco-oldstyle-hold')).media[0];
    expect(held.oldStyleHold).toBe(true);
    expect(held.direction).toBe(SdpDirection.SendOnly);
    const recvonlyHeld = parseSdp(
      vendorSdp('cisco-oldstyle-hold').replace('a=ptime:20', 'a=ptime:20\r\na=recvonly'),
    );
    expect(recvonlyHeld.media[0].direction).toBe(SdpDirection.Inactive);
  });

  it('applies a session-level direction to m-lines without one', () => {
    expect(parseSdp(vendorSdp('session-level-inactive')).media[0].direction).toBe(SdpDirection.Inactive);
  });

  it('accepts LF-only bodies', () => {
    expect(parseSdp(vendorSdp('sipp-uac').replace(/\r\n/g, '\n')).media[0].port).toBe(6000);
  });

  it.each([
    ['empty body', ''],
    ['not SDP', 'hello world'],
    ['no v= first', 'o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n'],
    ['no o= line', 'v=0\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n'],
    ['bad o= line', 'v=0\r\no=- 1 IN IP4\r\ns=-\r\nt=0 0\r\n'],
    [
      'bad m= line',
      'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio port RTP/AVP 0\r\n',
    ],
    ['bad c= line', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IPX foo\r\nt=0 0\r\n'],
    ['no connection address', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n'],
    [
      'PT above 127',
      'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 200\r\n',
    ],
  ])('rejects %s with 400', (_name, body) => {
    expect(statusOf(() => parseSdp(body))).toBe(400);
  });
});
