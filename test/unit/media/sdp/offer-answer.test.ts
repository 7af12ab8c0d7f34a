import * as sdpTransform from 'sdp-transform';

import {
  answerDirection,
  applyAnswer,
  buildAnswer,
  buildOffer,
  buildProducerRtpParameters,
  generateSdesKey,
  negotiate,
  SdpDirection,
  SdpNegotiationError,
  SdpSession,
} from '../../../../src/media/sdp';
import { accepted, localCaps, routerPt, runThroughMediasoup, vendorSdp } from './sdp-test-helpers';

const IP = '203.0.113.200';

function error(fn: () => unknown): SdpNegotiationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SdpNegotiationError) return e;
    throw e;
  }
  throw new Error('expected SdpNegotiationError');
}

describe('answerDirection (RFC 3264 §6.1)', () => {
  it.each([
    [SdpDirection.SendRecv, SdpDirection.SendRecv, SdpDirection.SendRecv],
    [SdpDirection.SendOnly, SdpDirection.SendRecv, SdpDirection.RecvOnly],
    [SdpDirection.RecvOnly, SdpDirection.SendRecv, SdpDirection.SendOnly],
    [SdpDirection.Inactive, SdpDirection.SendRecv, SdpDirection.Inactive],
    [SdpDirection.SendRecv, SdpDirection.RecvOnly, SdpDirection.RecvOnly],
    [SdpDirection.RecvOnly, SdpDirection.RecvOnly, SdpDirection.Inactive],
  ])('offer %s, local %s → %s', (offered, local, expected) => {
    expect(answerDirection(offered, local)).toBe(expected);
  });

  it('a listen-only leg answers a sendrecv offer with recvonly', () => {
    const m = accepted(
      negotiate(vendorSdp('yealink-t46u'), localCaps(), { localDirection: SdpDirection.RecvOnly }).media[0],
    );
    expect(m.direction).toBe(SdpDirection.RecvOnly);
    expect(m.phoneSends).toBe(true);
    expect(m.phoneReceives).toBe(false);
  });
});

describe('negotiate policies', () => {
  it('prefer-router-pt picks the first codec the router sends with the phone PT', () => {
    const offerer = accepted(negotiate(vendorSdp('cisco-cp8865-video'), localCaps()).media[0]);
    expect(offerer.codec.encodingName).toBe('opus');
    const noRewrite = accepted(
      negotiate(vendorSdp('cisco-cp8865-video'), localCaps(), { codecPreference: 'prefer-router-pt' })
        .media[0],
    );
    expect(noRewrite.codec.encodingName).toBe('G722');
    expect(noRewrite.consumer.payloadTypeMismatches).toEqual([]);
  });

  it('srtp "required" rejects RTP/AVP, "disabled" rejects RTP/SAVP, with 488 reasons', () => {
    expect(error(() => negotiate(vendorSdp('yealink-t46u'), localCaps({ srtp: 'required' }))).reason).toMatch(
      /SRTP required by policy/,
    );
    const e = error(() => negotiate(vendorSdp('polycom-vvx450-srtp'), localCaps({ srtp: 'disabled' })));
    expect(e.status).toBe(488);
    expect(e.reason).toMatch(/SRTP disabled by policy/);
  });

  it('restricting crypto suites moves to the next offered line or refuses', () => {
    const m = accepted(
      negotiate(vendorSdp('polycom-vvx450-srtp'), localCaps({ cryptoSuites: ['AES_CM_128_HMAC_SHA1_32'] }))
        .media[0],
    );
    expect(m.srtp?.tag).toBe(2);
    const e = error(() =>
      negotiate(vendorSdp('polycom-vvx450-srtp'), localCaps({ cryptoSuites: ['AEAD_AES_128_GCM'] })),
    );
    expect(e.reason).toMatch(/no acceptable a=crypto \(tag 1: suite AES_CM_128_HMAC_SHA1_80 not supported/);
  });

  it('a SAVP offer whose only key has the wrong length is refused', () => {
    const sdp = vendorSdp('polycom-vvx450-srtp')
      .replace(/a=crypto:2.*\r\n/, '')
      .replace(/inline:[^|]+/, 'inline:c2hvcnQ=');
    expect(error(() => negotiate(sdp, localCaps())).reason).toMatch(/key length 5 is not 30/);
  });

  it('video can be switched off', () => {
    const s = negotiate(vendorSdp('grandstream-gxv3380-video'), localCaps({ video: false }));
    expect(s.media[1]).toMatchObject({ accepted: false, reason: 'video disabled' });
  });

  it('H.264 offered with packetization-mode 0 only is declined (our senders packetize FU-A/STAP-A: RFC 6184 §8.2.2)', () => {
    const sdp = vendorSdp('grandstream-gxv3380-video')
      .replace('m=video 5006 RTP/AVPF 99 100', 'm=video 5006 RTP/AVPF 99')
      .replace(/a=rtpmap:100 H264\/90000\r?\na=fmtp:100 [^\r\n]*\r?\n/, '');
    expect(sdp).not.toContain('packetization-mode=1');
    const s = negotiate(sdp, localCaps());
    expect(s.media[0]!.accepted).toBe(true); // the audio is served
    expect(s.media[1]).toMatchObject({ accepted: false });
  });

  it('an offered port 0 stream is answered with port 0', () => {
    const sdp = vendorSdp('grandstream-gxv3380-video').replace('m=video 5006', 'm=video 0');
    expect(negotiate(sdp, localCaps()).media[1]).toMatchObject({ accepted: false, reason: /port 0/ });
  });

  it('an SDP without m-lines is refused with 488', () => {
    const e = error(() =>
      negotiate('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n', localCaps()),
    );
    expect(e.status).toBe(488);
    expect(e.reason).toBe('SDP has no media');
    expect(e.sipStatus).toBe(488);
    expect(e.reasonPhrase).toBe('Not Acceptable Here');
  });

  it('garbage is refused with 400', () => {
    expect(error(() => negotiate('INVITE sip:x SIP/2.0', localCaps())).status).toBe(400);
  });
});

describe('RTCP feedback (RFC 4585)', () => {
  it('AVPF: the answer echoes the feedback the phone listed, nothing more', () => {
    const s = negotiate(vendorSdp('grandstream-gxv3380-video'), localCaps());
    const sdp = buildAnswer(
      s,
      {
        ip: IP,
        media: [
          { port: 40000, rtcpPort: 40001 },
          { port: 40002, rtcpPort: 40003 },
        ],
      },
      new SdpSession({ address: IP }),
    );
    expect(sdpTransform.parse(sdp).media[1].rtcpFb).toEqual([
      { payload: 100, type: 'nack' },
      { payload: 100, type: 'nack', subtype: 'pli' },
      { payload: 100, type: 'ccm', subtype: 'fir' },
    ]);
    const nackOnly = negotiate(
      vendorSdp('grandstream-gxv3380-video').replace(/a=rtcp-fb:100 (nack pli|ccm fir)\r\n/g, ''),
      localCaps(),
    );
    expect(accepted(nackOnly.media[1]).codec.rtcpFeedback).toEqual([{ type: 'nack' }]);
  });

  it('AVP video: PLI/FIR are added so mediasoup can ask the phone for keyframes', () => {
    const v = accepted(negotiate(vendorSdp('cisco-cp8865-video'), localCaps()).media[1]);
    expect(v.producer.rtpParameters.codecs[0].rtcpFeedback).toEqual(
      expect.arrayContaining([
        { type: 'nack', parameter: 'pli' },
        { type: 'ccm', parameter: 'fir' },
      ]),
    );
  });
});

describe('buildProducerRtpParameters', () => {
  it('adds the SSRC learnt from the first packet when the SDP had none', () => {
    const m = accepted(negotiate(vendorSdp('yealink-t46u'), localCaps()).media[0]);
    expect(m.needsSsrcLatch).toBe(true);
    expect(m.producer.rtpParameters.encodings).toEqual([]);
    const p = buildProducerRtpParameters(m, 0xdeadbeef);
    expect(p.encodings).toEqual([{ ssrc: 0xdeadbeef }]);
    expect(p.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([
      ['audio/PCMU', 0],
      ['audio/telephone-event', 101],
    ]);
  });
});

describe('delayed offer: buildOffer + applyAnswer', () => {
  const caps = localCaps();

  it('offers PCMU, PCMA, G722, opus and both telephone-events with the router PTs', () => {
    const sdp = buildOffer(
      { ip: IP, media: [{ kind: 'audio', port: 30000, rtcpPort: 30001 }] },
      caps,
      new SdpSession({ address: IP }),
    );
    const o = sdpTransform.parse(sdp);
    const m = o.media[0];
    expect(m.protocol).toBe('RTP/AVP');
    expect(
      m.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}${r.encoding ? '/' + r.encoding : ''}`),
    ).toEqual([
      '0 PCMU/8000',
      '8 PCMA/8000',
      '9 G722/8000',
      `${routerPt('audio/opus', 48000)} opus/48000/2`,
      `${routerPt('audio/telephone-event', 8000)} telephone-event/8000`,
      `${routerPt('audio/telephone-event', 48000)} telephone-event/48000`,
    ]);
    expect(m.rtcp).toMatchObject({ port: 30001 });
    expect(m.rtcpMux).toBeUndefined();
    expect(m.direction).toBe('sendrecv');
  });

  it('applies a Yealink-style answer: codec from the answer, phone sends with our PTs', () => {
    const offer = buildOffer(
      { ip: IP, media: [{ kind: 'audio', port: 30000, rtcpPort: 30001 }] },
      caps,
      new SdpSession({ address: IP }),
    );
    const te = routerPt('audio/telephone-event', 8000);
    const answer = [
      'v=0',
      'o=- 20018 20018 IN IP4 10.0.0.23',
      's=SDP data',
      'c=IN IP4 10.0.0.23',
      't=0 0',
      `m=audio 11796 RTP/AVP 9 ${te}`,
      'a=rtpmap:9 G722/8000',
      `a=rtpmap:${te} telephone-event/8000`,
      `a=fmtp:${te} 0-15`,
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
    const s = applyAnswer(offer, answer, caps, { signallingSourceIp: '10.0.0.23' });
    expect(s.role).toBe('offerer');
    const m = accepted(s.media[0]);
    expect(m.codec).toMatchObject({ mimeType: 'audio/G722', payloadType: 9, routerPayloadType: 9 });
    expect(m.telephoneEvent).toMatchObject({ payloadType: te, clockRate: 8000 });
    expect(m.transportOptions).toEqual({ rtcpMux: false, comedia: false, enableSrtp: false });
    expect(m.connectParams).toEqual({ ip: '10.0.0.23', port: 11796, rtcpPort: 11797 });
    expect(m.consumer.payloadTypeMismatches).toEqual([]);
    expect(runThroughMediasoup(m).canConsume).toBe(true);
  });

  it('a phone answering with other PT numbers: producer keeps our offered PT, consumer flags the phone PT', () => {
    const offer = buildOffer(
      { ip: IP, media: [{ kind: 'audio', port: 30000 }] },
      caps,
      new SdpSession({ address: IP }),
    );
    const answer = [
      'v=0',
      'o=- 1 1 IN IP4 198.51.100.3',
      's=-',
      'c=IN IP4 198.51.100.3',
      't=0 0',
      'm=audio 7078 RTP/AVP 96',
      'a=rtpmap:96 opus/48000/2',
      '',
    ].join('\r\n');
    const m = accepted(applyAnswer(offer, answer, caps).media[0]);
    const opusPt = routerPt('audio/opus', 48000);
    expect(m.producer.rtpParameters.codecs[0].payloadType).toBe(opusPt);
    expect(m.codec.payloadType).toBe(96);
    expect(m.consumer.payloadTypeMismatches).toEqual([
      { mimeType: 'audio/opus', phonePayloadType: 96, routerPayloadType: opusPt },
    ]);
    // We offered only muxed RTCP (no rtcpPort): the transport is muxed even though the answer did not say so.
    expect(m.transportOptions.rtcpMux).toBe(true);
    expect(m.connectParams).toEqual({ ip: '198.51.100.3', port: 7078 });
  });

  it('SDES: the answer must accept our tag and suite; its key goes to connect()', () => {
    const ourKey = generateSdesKey('AES_CM_128_HMAC_SHA1_80');
    const offer = buildOffer(
      {
        ip: IP,
        media: [
          {
            kind: 'audio',
            port: 30000,
            rtcpPort: 30001,
            srtp: { suite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: ourKey },
          },
        ],
      },
      caps,
      new SdpSession({ address: IP }),
    );
    expect(sdpTransform.parse(offer).media[0]).toMatchObject({
      protocol: 'RTP/SAVP',
      crypto: [{ id: 1, suite: 'AES_CM_128_HMAC_SHA1_80', config: `inline:${ourKey}` }],
    });
    const theirKey = generateSdesKey('AES_CM_128_HMAC_SHA1_80');
    const answer = (tag: number): string =>
      [
        'v=0',
        'o=- 1 1 IN IP4 198.51.100.3',
        's=-',
        'c=IN IP4 198.51.100.3',
        't=0 0',
        'm=audio 7078 RTP/SAVP 0',
        `a=crypto:${tag} AES_CM_128_HMAC_SHA1_80 inline:${theirKey}`,
        '',
      ].join('\r\n');
    const m = accepted(applyAnswer(offer, answer(1), caps).media[0]);
    expect(m.connectParams?.srtpParameters).toEqual({
      cryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
      keyBase64: theirKey,
    });
    expect(error(() => applyAnswer(offer, answer(3), caps)).reason).toMatch(/tag 3 was not offered/);
  });

  it('an answer with another number of m-lines is a 400', () => {
    const offer = buildOffer(
      { ip: IP, media: [{ kind: 'audio', port: 30000 }] },
      caps,
      new SdpSession({ address: IP }),
    );
    const answer = vendorSdp('grandstream-gxv3380-video');
    expect(error(() => applyAnswer(offer, answer, caps)).status).toBe(400);
  });

  it('an answer refusing the stream (port 0) is a 488', () => {
    const offer = buildOffer(
      { ip: IP, media: [{ kind: 'audio', port: 30000 }] },
      caps,
      new SdpSession({ address: IP }),
    );
    const answer =
      'v=0\r\no=- 1 1 IN IP4 198.51.100.3\r\ns=-\r\nc=IN IP4 198.51.100.3\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n';
    expect(error(() => applyAnswer(offer, answer, caps)).status).toBe(488);
  });

  it('offers video H264 with packetization-mode 1 when asked', () => {
    const sdp = buildOffer(
      {
        ip: IP,
        media: [
          { kind: 'audio', port: 30000 },
          { kind: 'video', port: 30002 },
        ],
      },
      caps,
      new SdpSession({ address: IP }),
    );
    const v = sdpTransform.parse(sdp).media[1];
    expect(v.rtp).toEqual([{ payload: routerPt('video/H264', 90000), codec: 'H264', rate: 90000 }]);
    expect(v.fmtp[0].config).toBe('profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1');
    expect(v.rtcpMux).toBe('rtcp-mux');
  });
});

describe('buildAnswer errors are bugs, not SIP errors', () => {
  it('throws a plain Error when a served m-line has no endpoint or no key', () => {
    const s = negotiate(vendorSdp('polycom-vvx450-srtp'), localCaps());
    expect(() => buildAnswer(s, { ip: IP, media: [] }, new SdpSession({ address: IP }))).toThrow(
      /no local endpoint/,
    );
    expect(() =>
      buildAnswer(s, { ip: IP, media: [{ port: 1, rtcpPort: 2 }] }, new SdpSession({ address: IP })),
    ).toThrow(/no local key/);
    expect(() =>
      buildAnswer(
        s,
        { ip: IP, media: [{ port: 1, rtcpPort: 2, srtpKeyBase64: generateSdesKey('AEAD_AES_256_GCM') }] },
        new SdpSession({ address: IP }),
      ),
    ).toThrow(/does not fit/);
  });
});
