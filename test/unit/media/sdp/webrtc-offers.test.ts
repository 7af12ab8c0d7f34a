import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';

import {
  buildAnswer,
  diffNegotiations,
  negotiate,
  parseSdp,
  SdpDirection,
  SdpNegotiationError,
  SdpSession,
} from '../../../../src/media/sdp';
import type { LocalWebRtcEndpoint, NegotiatedSession } from '../../../../src/media/sdp';
import { accepted, localCaps, runThroughMediasoup } from './sdp-test-helpers';

/** Offers as Chrome 120+ and Firefox 120+ write them (SIP.js sends them once ICE gathering is complete). */
function webrtcSdp(name: string): string {
  return readFileSync(join(__dirname, '../../../fixtures/sdp/webrtc', `${name}.sdp`), 'utf8').replace(
    /\r?\n/g,
    '\r\n',
  );
}

/** The room router's header extensions (a router's rtpCapabilities carry all mediasoup supports). */
const ROUTER_EXTENSIONS = mediasoup.getSupportedRtpCapabilities().headerExtensions ?? [];
const webRtcCaps = () => localCaps({ webRtc: { headerExtensions: ROUTER_EXTENSIONS } });

const MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** What a mediasoup WebRtcTransport on a WebRtcServer listening on 127.0.0.1 (UDP and TCP) reports. */
const LOCAL: LocalWebRtcEndpoint = {
  iceParameters: {
    usernameFragment: 'parleyufrag0001',
    password: 'parleypassword000000000000000001',
    iceLite: true,
  },
  iceCandidates: [
    {
      foundation: 'tcpcandidate',
      priority: 1076302079,
      address: '127.0.0.1',
      protocol: 'tcp',
      port: 44444,
      type: 'host',
      tcpType: 'passive',
    },
    {
      foundation: 'udpcandidate',
      priority: 1076558079,
      address: '127.0.0.1',
      protocol: 'udp',
      port: 44444,
      type: 'host',
    },
  ] as types.IceCandidate[],
  fingerprints: [
    { algorithm: 'sha-1', value: '0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D' },
    {
      algorithm: 'sha-256',
      value:
        'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99',
    },
  ],
  msid: 'parley parley-audio',
};

function answerFor(neg: NegotiatedSession): string {
  return buildAnswer(
    neg,
    { ip: '127.0.0.1', media: neg.media.map((m) => (m.accepted ? { port: 0, webRtc: LOCAL } : undefined)) },
    new SdpSession({ address: '127.0.0.1', sessionId: '42' }),
  );
}

const lines = (sdp: string): string[] => sdp.split('\r\n');
/** The lines of m-section `i` (0-based), from its m= line to the next. */
function section(sdp: string, i: number): string[] {
  const all = lines(sdp);
  const starts = all.map((l, n) => (l.startsWith('m=') ? n : -1)).filter((n) => n >= 0);
  return all.slice(starts[i], starts[i + 1] ?? all.length);
}

describe('WebRTC offers: parsing (RFC 8839 ICE, RFC 8842 DTLS-SRTP, RFC 8843 BUNDLE, RFC 8285 extmap)', () => {
  it('reads ICE credentials, options and candidates of a Chrome offer', () => {
    const m = parseSdp(webrtcSdp('chrome-120-audio')).media[0];
    expect(m.ice).toEqual({
      ufrag: 'xR3d',
      pwd: '6fXWt0pI2rYbcRVAP8l1ZsRL',
      options: ['trickle'],
      lite: false,
    });
    expect(m.candidates).toBe(2);
    expect(m.hasIce).toBe(true);
  });

  it('reads a=fingerprint and a=setup (RFC 8122 §5, RFC 4145 §4), hash names lower-cased', () => {
    const m = parseSdp(webrtcSdp('chrome-120-audio')).media[0];
    expect(m.dtls?.setup).toBe('actpass');
    expect(m.dtls?.fingerprints).toEqual([
      {
        algorithm: 'sha-256',
        value:
          '7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
      },
    ]);
  });

  it('takes a session-level fingerprint for m-sections without one (Firefox)', () => {
    const m = parseSdp(webrtcSdp('firefox-120-audio')).media[0];
    expect(m.dtls?.fingerprints[0]?.value).toMatch(/^29:4C:5B/);
    expect(m.dtls?.setup).toBe('actpass');
    expect(m.ice?.options).toEqual(['trickle']);
  });

  it('reads a=extmap with the offerer ids and direction, a=group:BUNDLE, a=mid, a=ssrc and a=msid', () => {
    const s = parseSdp(webrtcSdp('firefox-120-audio'));
    expect(s.groups).toEqual([{ semantics: 'BUNDLE', mids: ['0'] }]);
    const m = s.media[0];
    expect(m.extmaps).toEqual([
      { id: 1, uri: AUDIO_LEVEL },
      { id: 2, uri: 'urn:ietf:params:rtp-hdrext:csrc-audio-level', direction: 'recvonly' },
      { id: 3, uri: MID },
    ]);
    expect(m.mid).toBe('0');
    expect(m.ssrcs).toEqual([3470256823]);
    expect(m.msid).toMatch(/^\{5f1e2d3c/);
  });

  it('does not read c=IN IP4 0.0.0.0 of an ICE m-line as an RFC 2543 hold (JSEP §5.2.1 placeholder)', () => {
    const m = parseSdp(webrtcSdp('chrome-120-audio-video')).media[0];
    expect(m.connection?.address).toBe('0.0.0.0');
    expect(m.oldStyleHold).toBe(false);
    expect(m.direction).toBe(SdpDirection.SendRecv);
  });
});

describe('WebRTC offers: negotiation onto a WebRtcTransport', () => {
  it('serves Chrome audio with opus at the router PT and ICE/DTLS parameters; no extension Chrome numbers unlike the router', () => {
    const neg = negotiate(webrtcSdp('chrome-120-audio'), webRtcCaps(), {
      codecPreference: 'prefer-router-pt',
    });
    const m = accepted(neg.media[0]);
    expect(m.codec.mimeType).toBe('audio/opus');
    expect(m.codec.payloadType).toBe(111);
    expect(m.codec.routerPayloadType).toBe(111);
    expect(m.consumer.payloadTypeMismatches).toEqual([]);
    // RFC 4733 is not answered where the router's consumers drop telephone-event (stock mediasoup): SIP INFO then.
    expect(m.telephoneEvent).toBeUndefined();
    expect(m.webRtc).toEqual({
      remoteIce: { ufrag: 'xR3d', pwd: '6fXWt0pI2rYbcRVAP8l1ZsRL' },
      dtlsParameters: {
        role: 'client',
        fingerprints: [
          {
            algorithm: 'sha-256',
            value:
              '7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
          },
        ],
      },
      localSetup: 'passive',
      // An answered extmap holds both ways (RFC 8285 §6) and our consumers send the router's ids (MID = 1): Chrome
      // numbers MID 4, so answering it would make Chrome drop our packets, which carry none under id 4.
      headerExtensions: [],
      bundled: true,
    });
    expect(m.transportOptions.rtcpMux).toBe(true);
    expect(m.connectParams).toBeUndefined();
    expect(m.needsSsrcLatch).toBe(false);
    expect(m.direction).toBe(SdpDirection.SendRecv);
  });

  it('builds Producer parameters mediasoup accepts: the offer SSRC and MID, only agreed extensions', () => {
    const m = accepted(negotiate(webrtcSdp('chrome-120-audio'), webRtcCaps()).media[0]);
    const p = m.producer.rtpParameters;
    expect(p.mid).toBeUndefined(); // matched by SSRC: the MID extension is not agreed
    expect(p.encodings).toEqual([{ ssrc: 2371937616 }]);
    expect(p.headerExtensions ?? []).toEqual([]);
    expect(p.codecs.map((c) => c.payloadType)).toEqual([111]);
    // transport-cc only with its extension, which is not agreed here.
    expect(p.codecs[0]?.rtcpFeedback ?? []).toEqual([]);
    expect(p.rtcp?.cname).toBe('Gq8oqLkDdpNOfsP4');
    const r = runThroughMediasoup(m);
    expect(r.canConsume).toBe(true);
    // The consumer's wire: the router's opus PT (= the browser's), no header extension with a foreign id.
    expect(r.consumer?.codecs.map((c) => c.payloadType)).toEqual([111]);
    expect(r.consumer?.headerExtensions).toEqual([]);
  });

  it('matches by MID alone when the offer has no a=ssrc and numbers MID as the router does (1)', () => {
    const sdp = webrtcSdp('chrome-120-audio')
      .split('\r\n')
      .filter((l) => !l.startsWith('a=ssrc:') && !l.startsWith('a=extmap:1 '))
      .map((l) => (l.startsWith('a=extmap:4 ') ? `a=extmap:1 ${MID}` : l))
      .join('\r\n');
    const m = accepted(negotiate(sdp, webRtcCaps()).media[0]);
    expect(m.webRtc?.headerExtensions).toEqual([{ id: 1, uri: MID }]);
    expect(m.producer.rtpParameters.encodings).toEqual([{}]);
    expect(m.producer.rtpParameters.mid).toBe('0');
    expect(m.producer.rtpParameters.headerExtensions?.find((e) => e.uri === MID)?.id).toBe(1);
  });

  it('rejects an m-line without a=ssrc whose MID extension id differs from the router (it could not be answered)', () => {
    const sdp = webrtcSdp('chrome-120-audio')
      .split('\r\n')
      .filter((l) => !l.startsWith('a=ssrc:'))
      .join('\r\n');
    expect(() => negotiate(sdp, webRtcCaps())).toThrow(/neither a=ssrc nor the MID/);
  });

  it('rejects an m-line with neither a=ssrc nor the MID extension (nothing could match its RTP)', () => {
    const sdp = webrtcSdp('chrome-120-audio')
      .split('\r\n')
      .filter((l) => !l.startsWith('a=ssrc:') && !l.includes('sdes:mid'))
      .join('\r\n');
    expect(() => negotiate(sdp, webRtcCaps())).toThrow(/neither a=ssrc nor the MID/);
  });

  it('Firefox: opus is PT 109 (the router sends 111), so G.722 at its static PT is chosen', () => {
    const m = accepted(negotiate(webrtcSdp('firefox-120-audio'), webRtcCaps()).media[0]);
    expect(m.codec.mimeType).toBe('audio/G722');
    expect(m.codec.payloadType).toBe(9);
    expect(m.consumer.payloadTypeMismatches).toEqual([]);
    expect(m.webRtc?.headerExtensions).toEqual([]);
    expect(m.webRtc?.dtlsParameters.fingerprints[0]?.value).toMatch(/^29:4C:5B/);
    expect(runThroughMediasoup(m).canConsume).toBe(true);
  });

  describe('RFC 4733 telephone-event where the router forwards it (caps.webRtc.telephoneEvent)', () => {
    const teCaps = () => localCaps({ webRtc: { headerExtensions: ROUTER_EXTENSIONS, telephoneEvent: true } });

    it('Chrome: answers telephone-event/48000 at PT 110 (the router PT), not /8000 at 126 (the router sends 101)', () => {
      const m = accepted(negotiate(webrtcSdp('chrome-120-audio'), teCaps()).media[0]);
      expect(m.telephoneEvent).toMatchObject({
        mimeType: 'audio/telephone-event',
        clockRate: 48000,
        payloadType: 110,
        routerPayloadType: 110,
      });
      // The Producer takes the events (mediasoup maps 110 → 110), and the consumer never sends a PT Chrome lacks.
      expect(m.producer.rtpParameters.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([
        ['audio/opus', 111],
        ['audio/telephone-event', 110],
      ]);
      expect(m.consumer.payloadTypeMismatches).toEqual([]);
      const r = runThroughMediasoup(m);
      expect(r.canConsume).toBe(true);
      expect(r.consumer?.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([
        ['audio/opus', 111],
        ['audio/telephone-event', 110],
      ]);
    });

    it("Chrome's answer lists telephone-event/48000 at 110 with its events, and no /8000", () => {
      const neg = negotiate(webrtcSdp('chrome-120-audio'), teCaps());
      const m = section(answerFor(neg), 0);
      expect(m[0]).toBe('m=audio 44444 UDP/TLS/RTP/SAVPF 111 110');
      expect(m.filter((l) => l.startsWith('a=rtpmap'))).toEqual([
        'a=rtpmap:111 opus/48000/2',
        'a=rtpmap:110 telephone-event/48000',
      ]);
      expect(m).toContain('a=fmtp:110 0-16');
      expect(m.join('\n')).not.toMatch(/\b126\b|telephone-event\/8000/);
    });

    it('answers none when no offered telephone-event PT equals the router PT for its rate', () => {
      const sdp = webrtcSdp('chrome-120-audio')
        .replace('111 63 9 0 8 13 110 126', '111 63 9 0 8 13 100 101')
        .replace('a=rtpmap:110 telephone-event/48000', 'a=rtpmap:100 telephone-event/48000')
        .replace('a=rtpmap:126 telephone-event/8000', 'a=rtpmap:101 telephone-event/48000');
      const m = accepted(negotiate(sdp, teCaps()).media[0]);
      expect(m.codec.payloadType).toBe(111);
      expect(m.telephoneEvent).toBeUndefined();
      expect(m.producer.rtpParameters.codecs.map((c) => c.payloadType)).toEqual([111]);
      expect(answerFor(negotiate(sdp, teCaps()))).not.toMatch(/telephone-event/);
    });

    it('Firefox: G.722 at 8000 Hz takes telephone-event/8000 at 101 (the router PT)', () => {
      const m = accepted(negotiate(webrtcSdp('firefox-120-audio'), teCaps()).media[0]);
      expect(m.codec.payloadType).toBe(9);
      expect(m.telephoneEvent).toMatchObject({ clockRate: 8000, payloadType: 101, routerPayloadType: 101 });
      expect(runThroughMediasoup(m).canConsume).toBe(true);
    });

    it('is not answered without the capability (stock mediasoup drops it in every Consumer)', () => {
      for (const name of ['chrome-120-audio', 'firefox-120-audio']) {
        const m = accepted(negotiate(webrtcSdp(name), webRtcCaps()).media[0]);
        expect(m.telephoneEvent).toBeUndefined();
        expect(m.producer.rtpParameters.codecs).toHaveLength(1);
      }
    });
  });

  it('rejects a WebRTC offer whose only codec has a PT the router does not send', () => {
    const sdp = webrtcSdp('firefox-120-audio')
      .replace('UDP/TLS/RTP/SAVPF 109 9 0 8 101', 'UDP/TLS/RTP/SAVPF 109 101')
      .split('\r\n')
      .filter((l) => !/^a=rtpmap:(9|0|8) /.test(l))
      .join('\r\n');
    expect(() => negotiate(sdp, webRtcCaps())).toThrow(/no audio codec at the router's payload type/);
  });

  it('serves audio and rejects a bundled video m-line with port 0, keeping its mid (RFC 8843 §7.3.3)', () => {
    const neg = negotiate(webrtcSdp('chrome-120-audio-video'), webRtcCaps());
    expect(accepted(neg.media[0]).kind).toBe('audio');
    const v = neg.media[1];
    expect(v?.accepted).toBe(false);
    expect(v && !v.accepted && v.reason).toMatch(/video over ICE\/DTLS-SRTP not served/);
    const answer = answerFor(neg);
    expect(section(answer, 1)[0]).toMatch(/^m=video 0 UDP\/TLS\/RTP\/SAVPF 96$/);
    expect(section(answer, 1)).toContain('a=mid:1');
    expect(lines(answer)).toContain('a=group:BUNDLE 0');
  });

  it('answers DTLS passive to actpass and to active, active to passive (RFC 4145 §4.1, RFC 5763 §5)', () => {
    const role = (setup: string) => {
      const m = accepted(
        negotiate(webrtcSdp('chrome-120-audio').replace('a=setup:actpass', `a=setup:${setup}`), webRtcCaps())
          .media[0],
      );
      return [m.webRtc?.localSetup, m.webRtc?.dtlsParameters.role];
    };
    expect(role('actpass')).toEqual(['passive', 'client']);
    expect(role('active')).toEqual(['passive', 'client']);
    expect(role('passive')).toEqual(['active', 'server']);
    expect(() => role('holdconn')).toThrow(/holdconn/);
  });

  it('rejects DTLS without a fingerprint, ICE without credentials and an offer without rtcp-mux', () => {
    const without = (re: RegExp) =>
      webrtcSdp('chrome-120-audio')
        .split('\r\n')
        .filter((l) => !re.test(l))
        .join('\r\n');
    expect(() => negotiate(without(/^a=fingerprint/), webRtcCaps())).toThrow(/a=fingerprint/);
    expect(() => negotiate(without(/^a=ice-(ufrag|pwd)/), webRtcCaps())).toThrow(/a=ice-ufrag/);
    expect(() => negotiate(without(/^a=rtcp-mux/), webRtcCaps())).toThrow(/rtcp-mux/);
  });

  it('answers 488 when the room serves no ICE/DTLS (no WebRtcServer)', () => {
    try {
      negotiate(webrtcSdp('chrome-120-audio'), localCaps());
      throw new Error('negotiated');
    } catch (err) {
      expect(err).toBeInstanceOf(SdpNegotiationError);
      expect((err as SdpNegotiationError).status).toBe(488);
      expect((err as Error).message).toMatch(/DTLS-SRTP \(UDP\/TLS\/RTP\/SAVPF\) not served/);
    }
  });

  it('an ICE restart or a new certificate asks for a new transport; a direction change does not', () => {
    const caps = webRtcCaps();
    const a = negotiate(webrtcSdp('chrome-120-audio'), caps);
    const restart = negotiate(
      webrtcSdp('chrome-120-audio').replace('a=ice-ufrag:xR3d', 'a=ice-ufrag:Zz9q'),
      caps,
    );
    expect(diffNegotiations(a, restart)[0]?.actions.recreateTransport).toBe(true);
    const held = negotiate(webrtcSdp('chrome-120-audio').replace('a=sendrecv', 'a=sendonly'), caps);
    const d = diffNegotiations(a, held)[0];
    expect(d?.actions.recreateTransport).toBe(false);
    expect(d?.hold).toBe('held');
  });
});

describe('WebRTC offers: our answer (JSEP §5.3.1, ICE-lite)', () => {
  const neg = negotiate(webrtcSdp('chrome-120-audio'), webRtcCaps(), { codecPreference: 'prefer-router-pt' });
  const answer = answerFor(neg);
  const m = section(answer, 0);

  it('is ICE-lite with one BUNDLE group of the accepted mids', () => {
    expect(lines(answer)).toContain('a=ice-lite');
    expect(lines(answer)).toContain('a=group:BUNDLE 0');
  });

  it('puts the default UDP candidate in m= and c=, every candidate and a=end-of-candidates', () => {
    expect(m[0]).toBe('m=audio 44444 UDP/TLS/RTP/SAVPF 111');
    expect(m).toContain('c=IN IP4 127.0.0.1');
    expect(m).toContain('a=candidate:udpcandidate 1 udp 1076558079 127.0.0.1 44444 typ host');
    expect(m).toContain('a=candidate:tcpcandidate 1 tcp 1076302079 127.0.0.1 44444 typ host tcptype passive');
    expect(m).toContain('a=end-of-candidates');
  });

  it('carries our ICE credentials, the fingerprint in the offered hash, a=setup:passive, a=rtcp-mux and a=mid', () => {
    expect(m).toContain('a=ice-ufrag:parleyufrag0001');
    expect(m).toContain('a=ice-pwd:parleypassword000000000000000001');
    expect(m).toContain(`a=fingerprint:sha-256 ${LOCAL.fingerprints[1]!.value}`);
    expect(m.filter((l) => l.startsWith('a=fingerprint'))).toHaveLength(1);
    expect(m).toContain('a=setup:passive');
    expect(m).toContain('a=rtcp-mux');
    expect(m).toContain('a=mid:0');
    expect(m).toContain('a=sendrecv');
    expect(m).toContain('a=msid:parley parley-audio');
  });

  it('lists only negotiated payload types, and no header extension Chrome numbers unlike the router', () => {
    expect(m.filter((l) => l.startsWith('a=rtpmap'))).toEqual(['a=rtpmap:111 opus/48000/2']);
    expect(m).toContain('a=fmtp:111 useinbandfec=1');
    expect(m).not.toContain('a=rtcp-fb:111 transport-cc');
    expect(m.filter((l) => l.startsWith('a=extmap'))).toEqual([]);
    expect(answer).not.toMatch(/telephone-event|a=crypto|red\/48000/);
  });

  it('parses back as the offer mirrored (same m-lines, same mid, ICE and DTLS present)', () => {
    const back = parseSdp(answer);
    expect(back.media).toHaveLength(1);
    expect(back.media[0]?.ice?.lite).toBe(true);
    expect(back.media[0]?.dtls?.setup).toBe('passive');
    expect(back.media[0]?.mid).toBe('0');
    expect(back.media[0]?.payloads.map((p) => p.payloadType)).toEqual([111]);
  });

  it('needs the WebRTC endpoint of the leg', () => {
    expect(() =>
      buildAnswer(neg, { ip: '127.0.0.1', media: [{ port: 1 }] }, new SdpSession({ address: '127.0.0.1' })),
    ).toThrow(/no WebRTC endpoint/);
  });
});

describe('a live offer: Chromium 156 through SIP.js (recorded from test/e2e/sip-ws-browser.test.ts)', () => {
  const offer = webrtcSdp('chromium-156-sipjs-audio');

  it('is served with opus at the router PT, the SSRC of its a=ssrc, DTLS passive, and no extension answered', () => {
    const neg = negotiate(offer, webRtcCaps());
    const m = accepted(neg.media[0]);
    expect(m.codec.mimeType).toBe('audio/opus');
    expect(m.codec.payloadType).toBe(111);
    expect(m.producer.rtpParameters.encodings).toEqual([{ ssrc: 564613633 }]);
    expect(m.webRtc?.localSetup).toBe('passive');
    expect(m.webRtc?.headerExtensions).toEqual([]);
    const r = runThroughMediasoup(m);
    expect(r.canConsume).toBe(true);
    expect(r.consumer?.codecs.map((c) => c.payloadType)).toContain(111);
    const answer = lines(answerFor(neg));
    expect(answer).toContain('a=ice-lite');
    expect(answer).toContain('a=group:BUNDLE 0');
    expect(answer.filter((l) => l.startsWith('a=extmap'))).toEqual([]);
    // RED (63), CN and the 8 kHz telephone-event at a PT the router does not use are never answered.
    expect(answer.join('\n')).not.toMatch(/red\/48000|CN\/8000|rtpmap:126 /);
  });
});
