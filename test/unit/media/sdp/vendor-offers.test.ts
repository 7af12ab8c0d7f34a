import * as sdpTransform from 'sdp-transform';

import {
  buildAnswer,
  generateSdesKey,
  negotiate,
  SdpDirection,
  SdpNegotiationError,
  SdpSession,
} from '../../../../src/media/sdp';
import type { AcceptedMedia, LocalEndpoints, NegotiatedSession } from '../../../../src/media/sdp';
import {
  accepted,
  localCaps,
  routerPt,
  runThroughMediasoup,
  vendorNames,
  vendorSdp,
} from './sdp-test-helpers';

interface ExpectedMedia {
  codec: string;
  pt: number;
  te?: number;
  teClock?: number;
  suite?: string;
  tag?: number;
  rtcpMux?: boolean;
  comedia?: boolean;
  direction?: SdpDirection;
  ssrc?: number;
}

type Expectation = { rejectAll: RegExp } | { media: (ExpectedMedia | { rejected: RegExp })[] };

/** What Parley must do with each vendor's offer (m-line by m-line). */
const EXPECTED: Record<string, Expectation> = {
  'asterisk-trunk': { media: [{ codec: 'PCMA', pt: 8, te: 101, comedia: false, rtcpMux: false }] },
  'audio-plus-t38': {
    media: [
      { codec: 'PCMA', pt: 8, te: 101 },
      { rejected: /image media not served/ },
      { rejected: /only one audio stream/ },
    ],
  },
  // Captured from the Debian baresip (1.0.0) dialling a SIPp UAS on loopback: it announces its SSRC.
  'baresip-1.0-captured': { media: [{ codec: 'PCMU', pt: 0, te: 101, comedia: false, ssrc: 2967905189 }] },
  'baresip-rtcp-mux': {
    media: [{ codec: 'opus', pt: 111, te: 101, teClock: 8000, rtcpMux: true, comedia: true }],
  },
  'baresip-srtp-gcm': {
    media: [{ codec: 'PCMU', pt: 0, te: 101, suite: 'AEAD_AES_256_GCM', tag: 2, ssrc: 2835271025 }],
  },
  'cisco-cp8865-video': {
    media: [
      { codec: 'opus', pt: 114, te: 101 },
      { codec: 'H264', pt: 126, ssrc: undefined },
      { rejected: /application media not served/ },
    ],
  },
  'cisco-oldstyle-hold': {
    media: [{ codec: 'PCMU', pt: 0, te: 101, direction: SdpDirection.RecvOnly, comedia: true }],
  },
  'freeswitch-trunk-srtp': {
    media: [{ codec: 'G722', pt: 9, te: 101, suite: 'AES_CM_128_HMAC_SHA1_80', tag: 4 }],
  },
  'g729-only': { rejectAll: /no common audio codec \(offered: G729, G723\)/ },
  'grandstream-gxp2170': { media: [{ codec: 'PCMU', pt: 0, te: 101 }] },
  'grandstream-gxv3380-video': {
    media: [
      { codec: 'G722', pt: 9, te: 101 },
      { codec: 'H264', pt: 100, ssrc: 3847011402 },
    ],
  },
  'ipv6-softphone': { media: [{ codec: 'G722', pt: 9, te: 101, direction: SdpDirection.SendOnly }] },
  'linphone-ice-video': {
    media: [{ codec: 'opus', pt: 96, te: 101, teClock: 48000 }, { rejected: /no common video codec/ }],
  },
  'polycom-vvx450': { media: [{ codec: 'G722', pt: 9, te: 127 }] },
  'polycom-vvx450-srtp': {
    media: [{ codec: 'G722', pt: 9, te: 127, suite: 'AES_CM_128_HMAC_SHA1_80', tag: 1 }],
  },
  'session-level-inactive': { media: [{ codec: 'PCMA', pt: 8, direction: SdpDirection.Inactive }] },
  'sipp-uac': { media: [{ codec: 'PCMU', pt: 0, comedia: false, rtcpMux: false }] },
  'sipp-uac-pcap': { media: [{ codec: 'PCMA', pt: 8, te: 101 }] },
  'snom-d785-srtp': { media: [{ codec: 'g722', pt: 9, te: 101, suite: 'AES_CM_128_HMAC_SHA1_32', tag: 2 }] },
  'static-pt-no-rtpmap': { media: [{ codec: 'G722', pt: 9 }] },
  't38-reinvite': { rejectAll: /image media not served/ },
  'webrtc-dtls': { rejectAll: /DTLS-SRTP \(UDP\/TLS\/RTP\/SAVPF\) not served/ },
  'yealink-t46u': { media: [{ codec: 'PCMU', pt: 0, te: 101, comedia: true }] },
  'yealink-t46u-hold': { media: [{ codec: 'PCMU', pt: 0, te: 101, direction: SdpDirection.RecvOnly }] },
  'yealink-t58-opus-srtp-optional': { media: [{ codec: 'opus', pt: 107, te: 101 }] },
};

const LOCAL_IP = '203.0.113.200';

/** Local endpoints as the leg code would fill them from its PlainTransports. */
function endpointsFor(session: NegotiatedSession, ip = LOCAL_IP): LocalEndpoints {
  const media: LocalEndpoints['media'][number][] = [];
  for (const m of session.media) {
    if (!m.accepted) continue;
    media[m.index] = {
      port: 40000 + m.index * 10,
      ...(m.transportOptions.rtcpMux ? {} : { rtcpPort: 40001 + m.index * 10 + 4 }),
      ...(m.srtp ? { srtpKeyBase64: generateSdesKey(m.srtp.suite) } : {}),
    };
  }
  return { ip, media };
}

describe('vendor offers', () => {
  it('has an expectation for every fixture', () => {
    expect(vendorNames()).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(Object.keys(EXPECTED))('%s', (name) => {
    const expectation = EXPECTED[name];

    if ('rejectAll' in expectation) {
      it('is refused with 488 and a reason', () => {
        let error: unknown;
        try {
          negotiate(vendorSdp(name), localCaps());
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(SdpNegotiationError);
        expect((error as SdpNegotiationError).status).toBe(488);
        expect((error as SdpNegotiationError).reason).toMatch(expectation.rejectAll);
      });
      return;
    }

    const session = negotiate(vendorSdp(name), localCaps());

    it('decides every m-line as expected', () => {
      expect(session.media).toHaveLength(expectation.media.length);
      expectation.media.forEach((exp, i) => {
        const m = session.media[i];
        if ('rejected' in exp) {
          expect(m.accepted).toBe(false);
          if (!m.accepted) expect(m.reason).toMatch(exp.rejected);
          return;
        }
        const a = accepted(m);
        expect(a.codec.encodingName).toBe(exp.codec);
        expect(a.codec.payloadType).toBe(exp.pt);
        expect(a.telephoneEvent?.payloadType).toBe(exp.te);
        if (exp.teClock !== undefined) expect(a.telephoneEvent?.clockRate).toBe(exp.teClock);
        expect(a.srtp?.suite).toBe(exp.suite);
        expect(a.srtp?.tag).toBe(exp.tag);
        expect(a.transportOptions.enableSrtp).toBe(exp.suite !== undefined);
        expect(a.transportOptions.srtpCryptoSuite).toBe(exp.suite);
        if (exp.rtcpMux !== undefined) expect(a.transportOptions.rtcpMux).toBe(exp.rtcpMux);
        if (exp.comedia !== undefined) expect(a.transportOptions.comedia).toBe(exp.comedia);
        expect(a.direction).toBe(exp.direction ?? SdpDirection.SendRecv);
        if ('ssrc' in exp) expect(a.remote.ssrc).toBe(exp.ssrc);
        expect(a.needsSsrcLatch).toBe(a.remote.ssrc === undefined);
      });
    });

    it('gives parameters mediasoup accepts, mapping the phone PTs to the router PTs', () => {
      for (const m of session.media) {
        if (!m.accepted) continue;
        const { mapping, canConsume, consumer } = runThroughMediasoup(m);
        expect(mapping.codecs).toContainEqual({
          payloadType: m.codec.payloadType,
          mappedPayloadType: routerPt(m.codec.mimeType, m.codec.clockRate),
        });
        expect(canConsume).toBe(true);
        // mediasoup consumers send the router's PT, whatever preferredPayloadType says.
        expect(consumer?.codecs[0].payloadType).toBe(m.codec.routerPayloadType);
        const mismatch = m.consumer.payloadTypeMismatches.find((x) => x.mimeType === m.codec.mimeType);
        expect(mismatch !== undefined).toBe(m.codec.payloadType !== m.codec.routerPayloadType);
        if (m.telephoneEvent) {
          expect(mapping.codecs).toContainEqual({
            payloadType: m.telephoneEvent.payloadType,
            mappedPayloadType: m.telephoneEvent.routerPayloadType,
          });
          const teInConsumer = consumer?.codecs.some((c) => c.mimeType === 'audio/telephone-event') ?? false;
          expect(teInConsumer).toBe(m.telephoneEvent.payloadType === m.telephoneEvent.routerPayloadType);
        }
      }
    });

    it('answers with an SDP that mirrors the offer (RFC 3264 §6)', () => {
      const endpoints = endpointsFor(session);
      const sdp = buildAnswer(session, endpoints, new SdpSession({ address: LOCAL_IP, sessionId: '42' }));
      expect(sdp).toContain('\r\n');
      const answer = sdpTransform.parse(sdp);
      const offer = sdpTransform.parse(vendorSdp(name));
      expect(answer.origin).toMatchObject({ sessionId: 42, sessionVersion: 1, address: LOCAL_IP });
      expect(answer.connection).toEqual({ version: 4, ip: LOCAL_IP });
      expect(answer.media.map((m) => m.type)).toEqual(offer.media.map((m) => m.type));
      answer.media.forEach((am, i) => {
        const n = session.media[i];
        expect(am.protocol).toBe(offer.media[i].protocol);
        if (!n.accepted) {
          expect(am.port).toBe(0);
          expect(String(am.payloads).split(' ')).toHaveLength(1);
          expect(String(offer.media[i].payloads).split(' ')).toContain(String(am.payloads));
          return;
        }
        const ep = endpoints.media[i]!;
        expect(am.port).toBe(ep.port);
        const pts = [n.codec.payloadType, ...(n.telephoneEvent ? [n.telephoneEvent.payloadType] : [])];
        expect(String(am.payloads)).toBe(pts.join(' '));
        expect(am.rtp.map((r) => r.payload)).toEqual(pts);
        expect(am.rtp[0].codec).toBe(n.codec.encodingName);
        expect(am.rtp[0].rate).toBe(n.codec.clockRate);
        expect(am.direction).toBe(n.direction);
        expect(am.ptime).toBe(offer.media[i].ptime);
        if (n.transportOptions.rtcpMux) {
          expect(am.rtcpMux).toBe('rtcp-mux');
          expect(am.rtcp).toBeUndefined();
        } else {
          expect(am.rtcpMux).toBeUndefined();
          expect(am.rtcp?.port).toBe(ep.rtcpPort);
        }
        if (n.srtp) {
          expect(am.crypto).toEqual([
            { id: n.srtp.tag, suite: n.srtp.suite, config: `inline:${ep.srtpKeyBase64}` },
          ]);
        } else {
          expect(am.crypto).toBeUndefined();
        }
      });
    });
  });
});

describe('vendor specifics', () => {
  const get = (name: string, i = 0, opts = {}): AcceptedMedia =>
    accepted(negotiate(vendorSdp(name), localCaps(), opts).media[i]);

  it('SIPp uac: connect() goes to the SDP address with RTCP on port+1', () => {
    const m = get('sipp-uac');
    expect(m.connectParams).toEqual({ ip: '127.0.0.1', port: 6000, rtcpPort: 6001 });
    expect(m.telephoneEvent).toBeUndefined();
    expect(m.producer.rtpParameters.codecs).toEqual([
      {
        mimeType: 'audio/PCMU',
        payloadType: 0,
        clockRate: 8000,
        channels: 1,
        parameters: {},
        rtcpFeedback: [],
      },
    ]);
  });

  it('FreeSWITCH: a=rtcp port is used and the remote SRTP key goes to connect()', () => {
    const m = get('freeswitch-trunk-srtp');
    expect(m.connectParams).toEqual({
      ip: '198.51.100.7',
      port: 21780,
      rtcpPort: 21781,
      srtpParameters: {
        cryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
        keyBase64: '6uNFRcl8jSWLBHnCkAeg2rK+6m0Fq0190E/OO8mO',
      },
    });
  });

  it('comedia: connect() carries only the SRTP parameters', () => {
    const m = get('polycom-vvx450-srtp');
    expect(m.transportOptions.comedia).toBe(true);
    expect(m.comediaReason).toMatch(/private SDP address 192\.168\.1\.50/);
    expect(m.connectParams).toEqual({
      srtpParameters: {
        cryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
        keyBase64: '+QPFp96CZjxtNT4ZWXk6mlDSWt0v/ZOHrdZpP/qg',
      },
    });
  });

  it('comedia without SRTP: no connect() at all', () => {
    const m = get('yealink-t46u');
    expect(m.transportOptions.comedia).toBe(true);
    expect(m.connectParams).toBeUndefined();
  });

  it('signalling source decides comedia when known', () => {
    expect(get('yealink-t46u', 0, { signallingSourceIp: '10.0.0.23' }).transportOptions.comedia).toBe(false);
    const natted = get('asterisk-trunk', 0, { signallingSourceIp: '198.51.100.99' });
    expect(natted.transportOptions.comedia).toBe(true);
    expect(natted.comediaReason).toMatch(/differs from signalling source/);
    expect(get('asterisk-trunk', 0, { comedia: 'always' }).transportOptions.comedia).toBe(true);
    expect(get('yealink-t46u', 0, { comedia: 'never' }).transportOptions.comedia).toBe(false);
  });

  it('Snom: the crypto line with an MKI is skipped for the next one', () => {
    const m = get('snom-d785-srtp');
    expect(m.srtp).toEqual({
      tag: 2,
      suite: 'AES_CM_128_HMAC_SHA1_32',
      remoteKeyBase64: '+ufa6gu8jsq00QIDi1iF1NZrwWgv0CjIgAL0REKZ',
    });
    expect(m.codec.mimeType).toBe('audio/G722');
  });

  it('Yealink SRTP-optional: a=crypto under RTP/AVP is ignored (RFC 4568)', () => {
    const m = get('yealink-t58-opus-srtp-optional');
    expect(m.transportOptions.enableSrtp).toBe(false);
    expect(m.connectParams).toBeUndefined(); // private address → comedia, and no SRTP to set
  });

  it('Cisco: opus at PT 114 is flagged as a PT the router would not send', () => {
    const m = get('cisco-cp8865-video');
    expect(m.consumer.payloadTypeMismatches).toEqual([
      { mimeType: 'audio/opus', phonePayloadType: 114, routerPayloadType: routerPt('audio/opus', 48000) },
    ]);
    expect(m.codec.channels).toBe(2);
    expect(m.codec.parameters).toMatchObject({ maxplaybackrate: 16000, stereo: 0 });
  });

  it('Cisco video: Baseline 42801e with packetization-mode 1 is served, answered with its own profile', () => {
    const v = get('cisco-cp8865-video', 1);
    expect(v.codec.fmtp).toBe('profile-level-id=42801e;packetization-mode=1;level-asymmetry-allowed=1');
    expect(v.codec.parameters['profile-level-id']).toBe('42e01e');
    expect(v.codec.parameters['packetization-mode']).toBe(1);
    expect(v.codec.rtcpFeedback).toEqual(
      expect.arrayContaining([
        { type: 'nack', parameter: 'pli' },
        { type: 'ccm', parameter: 'fir' },
      ]),
    );
  });

  it('Grandstream video: PT with packetization-mode 1 wins, level capped at ours, SSRC known', () => {
    const v = get('grandstream-gxv3380-video', 1);
    expect(v.codec.fmtp).toBe('profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1');
    expect(v.producer.rtpParameters.encodings).toEqual([{ ssrc: 3847011402 }]);
    expect(v.producer.rtpParameters.rtcp).toEqual({ cname: 'gxv3380-video', reducedSize: false });
    expect(v.needsSsrcLatch).toBe(false);
  });

  it('linphone: telephone-event/48000 is chosen with opus, a=rtcp gives the RTCP port', () => {
    const m = get('linphone-ice-video');
    expect(m.telephoneEvent).toMatchObject({
      payloadType: 101,
      clockRate: 48000,
      routerPayloadType: routerPt('audio/telephone-event', 48000),
    });
    expect(m.remote.rtcpPort).toBe(7079);
  });

  it('Polycom: telephone-event PT 127 stays out of the consumer (router uses another PT)', () => {
    const m = get('polycom-vvx450');
    expect(m.consumer.rtpCapabilities.codecs?.map((c) => c.mimeType)).toEqual(['audio/G722']);
    expect(m.producer.rtpParameters.codecs.map((c) => c.payloadType)).toEqual([9, 127]);
  });

  it('IPv6 phone: address family and recvonly are carried, answer uses IN IP6', () => {
    const s = negotiate(vendorSdp('ipv6-softphone'), localCaps());
    const m = accepted(s.media[0]);
    expect(m.remote).toMatchObject({ address: '2001:db8::10', ipVersion: 6, port: 40000, rtcpPort: 40001 });
    expect(m.phoneSends).toBe(false);
    expect(m.phoneReceives).toBe(true);
    const sdp = buildAnswer(
      s,
      { ip: '2001:db8::1', media: [{ port: 50000, rtcpPort: 50001 }] },
      new SdpSession({ address: '2001:db8::1' }),
    );
    expect(sdp).toContain('c=IN IP6 2001:db8::1\r\n');
    expect(sdp).toMatch(/^o=parley \d+ 1 IN IP6 2001:db8::1\r$/m);
    expect(sdp).toContain('a=rtcp:50001 IN IP6 2001:db8::1\r\n');
    expect(sdp).toContain('a=sendonly\r\n');
  });

  it('old-style hold: c=0.0.0.0 folds into sendonly and forces comedia', () => {
    const m = get('cisco-oldstyle-hold');
    expect(m.remoteDirection).toBe(SdpDirection.SendOnly);
    expect(m.phoneReceives).toBe(false);
    expect(m.phoneSends).toBe(true);
    expect(m.comediaReason).toMatch(/unusable SDP address 0\.0\.0\.0/);
  });
});
