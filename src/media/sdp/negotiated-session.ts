import type { types } from 'mediasoup';

import type { SelectedCrypto } from './sdes-crypto';
import type { IpVersion, SdpDirection } from './sdp-types';

/** What Parley can serve; build it from the room router: `{ codecs: router.rtpCapabilities.codecs }`. */
export interface LocalCapabilities {
  /** Router codecs with their payload types (what mediasoup consumers send). RTX entries are ignored. */
  codecs: readonly types.RtpCodecCapability[];
  /**
   * SDES-SRTP policy. `optional` (default): RTP/AVP and RTP/SAVP both accepted; `required`: RTP/AVP m-lines
   * rejected; `disabled`: RTP/SAVP m-lines rejected.
   */
  srtp?: 'optional' | 'required' | 'disabled';
  /** Acceptable suites (default: all four mediasoup suites). */
  cryptoSuites?: readonly types.SrtpCryptoSuite[];
  /** Serve video m-lines (default true). */
  video?: boolean;
  /**
   * ICE + DTLS-SRTP m-lines (`UDP/TLS/RTP/SAVPF`, WebRTC offers: JSEP, RFC 8829) can be served (the room has a
   * WebRtcServer): the RTP header extensions the router knows (`router.rtpCapabilities.headerExtensions`). Absent:
   * such m-lines are rejected.
   */
  webRtc?: {
    headerExtensions: readonly types.RtpHeaderExtension[];
    /**
     * The router's consumers forward RFC 4733 telephone-event (a mediasoup worker whose Consumer keeps that codec;
     * stock mediasoup 3.19 forwards media codecs only). Then telephone-event is answered on ICE/DTLS m-lines at the
     * router's PT and the room's mixer reads the digits from its consumer of the endpoint's Producer. Absent or
     * false: not answered (such callers send DTMF by SIP INFO, RFC 6086), so no digit is ever sent into nothing.
     */
    telephoneEvent?: boolean;
  };
}

export interface NegotiateOptions {
  /** Source IP of the SIP request carrying the SDP; differing from the SDP address means NAT → comedia. */
  signallingSourceIp?: string;
  /** `auto` (default) decides from the addresses, `always`/`never` force the PlainTransport's comedia flag. */
  comedia?: 'auto' | 'always' | 'never';
  /**
   * `offerer` (default, RFC 3264 §6.1): first supported codec in the offerer's order.
   * `prefer-router-pt`: first supported codec whose offered PT equals the router's PT for it (so consumers need no
   * PT rewrite, see `NegotiatedCodec.routerPayloadType`), falling back to `offerer` order.
   */
  codecPreference?: 'offerer' | 'prefer-router-pt';
  /** What Parley wants to do on this leg (default sendrecv); intersected with the offer (RFC 3264 §6.1). */
  localDirection?: SdpDirection;
}

export interface NegotiatedCodec {
  kind: types.MediaKind;
  /** mediasoup mimeType, e.g. `audio/PCMU`, `audio/opus`, `audio/telephone-event`, `video/H264`. */
  mimeType: string;
  /** Encoding name as written in our SDP (`PCMU`, `opus`, `telephone-event`, `H264`). */
  encodingName: string;
  clockRate: number;
  channels?: number;
  /** PT the phone uses for this codec in the negotiated SDP: it sends and expects to receive this PT. */
  payloadType: number;
  /** PT of the same codec in the room router: the PT mediasoup consumers put on the wire. */
  routerPayloadType: number;
  /** mediasoup codec parameters (from the phone's fmtp; integers as numbers). */
  parameters: Record<string, string | number>;
  rtcpFeedback: types.RtcpFeedback[];
  /** fmtp value for our SDP (undefined: no a=fmtp line). */
  fmtp?: string;
}

export interface RejectedMedia {
  index: number;
  accepted: false;
  kind: string;
  proto: string;
  /** The offer's a=mid, kept on the rejected m-line (RFC 8843 §7.3.3; JSEP §5.3.1 asks it of every m-section). */
  mid?: string;
  /** Formats to write in the port-0 m-line (RFC 3264 §6: at least one). */
  formats: string[];
  reason: string;
}

/** What an ICE + DTLS-SRTP m-line (a WebRTC offer) needs beyond plain RTP. */
export interface WebRtcMedia {
  /** The offerer's ICE credentials (RFC 8839 §5.4); an ICE-lite answerer only checks its own. */
  remoteIce: { ufrag: string; pwd: string };
  /**
   * `transport.connect({ dtlsParameters })`: the REMOTE side's DTLS role and fingerprints (mediasoup takes the far
   * end's parameters: `client` when the offerer is active).
   */
  dtlsParameters: types.DtlsParameters;
  /** Our a=setup in the answer (RFC 5763 §5: an answerer to `actpass` SHOULD be `active`; we take `passive`, which
   * RFC 4145 §4.1 allows, so that the browser starts DTLS once ICE is up and mediasoup never waits on it). */
  localSetup: 'active' | 'passive';
  /** Negotiated RTP header extensions with the offerer's ids (RFC 8285 §6: the answer keeps them). */
  headerExtensions: { id: number; uri: string }[];
  /** The mid is in the offer's BUNDLE group (RFC 8843): our answer groups it. */
  bundled: boolean;
}

export interface AcceptedMedia {
  index: number;
  accepted: true;
  kind: types.MediaKind;
  proto: string;
  mid?: string;
  /** Our direction (what goes into our SDP). */
  direction: SdpDirection;
  /** The phone's direction (from its SDP, old-style hold folded in). */
  remoteDirection: SdpDirection;
  /** The phone sends media to us → create/resume the Producer. */
  phoneSends: boolean;
  /** We send media to the phone → create/resume the Consumer. */
  phoneReceives: boolean;
  codec: NegotiatedCodec;
  telephoneEvent?: NegotiatedCodec;
  /** ptime to echo (the phone's a=ptime), maxptime likewise. */
  ptime?: number;
  maxptime?: number;
  remote: {
    /** Address from c=; `0.0.0.0` when the phone put us on hold the RFC 2543 way. */
    address: string;
    ipVersion: IpVersion;
    port: number;
    /** RTCP port (a=rtcp or port+1); undefined when RTCP is multiplexed. */
    rtcpPort?: number;
    /** SSRC from a=ssrc (RFC 5576), when announced. */
    ssrc?: number;
    cname?: string;
  };
  /** Options for `router.createPlainTransport()` (add listenInfo yourself). */
  transportOptions: {
    rtcpMux: boolean;
    comedia: boolean;
    enableSrtp: boolean;
    srtpCryptoSuite?: types.SrtpCryptoSuite;
  };
  /** Why comedia was chosen (for logs). */
  comediaReason?: string;
  /**
   * Argument of `transport.connect()`; undefined = do not call connect() (comedia without SRTP: mediasoup learns
   * ip/port from the first packet). With comedia and SRTP only `srtpParameters`; without comedia `ip`, `port` and
   * `rtcpPort` (when not muxed). mediasoup allows ONE connect() per transport: a changed address or key needs a
   * new transport (see `diffNegotiations`).
   */
  connectParams?: { ip?: string; port?: number; rtcpPort?: number; srtpParameters?: types.SrtpParameters };
  /** The SDES crypto chosen; our answer carries our key under the same tag (RFC 4568 §7.1.2). */
  srtp?: SelectedCrypto;
  /** Set for ICE + DTLS-SRTP m-lines (WebRTC offers): served on a WebRtcTransport, not a PlainTransport. */
  webRtc?: WebRtcMedia;
  /** `transport.produce()` parameters; see `needsSsrcLatch`. */
  producer: { kind: types.MediaKind; rtpParameters: types.RtpParameters };
  /**
   * True when the SDP announced no SSRC: mediasoup drops RTP whose SSRC matches no Producer encoding (there is no
   * MID/RID on plain RTP), so the caller must learn the SSRC from the first packet before `produce()` and pass it
   * to `buildProducerRtpParameters()` (see README in this folder / `readRtpHeader`).
   */
  needsSsrcLatch: boolean;
  consumer: {
    /** `transport.consume({ rtpCapabilities })`: the negotiated codec (+ telephone-event when PTs agree). */
    rtpCapabilities: types.RtpCapabilities;
    /**
     * Codecs whose PT in the phone's SDP differs from the router's. mediasoup consumers always send the router's
     * PT (ortc.getConsumerRtpParameters ignores `preferredPayloadType`), so for these the phone would get RTP with
     * a PT it did not negotiate. Empty for static PTs (0/8/9) and for offers we made.
     */
    payloadTypeMismatches: { mimeType: string; phonePayloadType: number; routerPayloadType: number }[];
  };
}

export type NegotiatedMedia = AcceptedMedia | RejectedMedia;

export interface NegotiatedSession {
  /** Our role in this offer/answer exchange. */
  role: 'answerer' | 'offerer';
  remoteOrigin: { username: string; sessionId: string; sessionVersion: string; address: string };
  /** One entry per m-line, same order as the offer (RFC 3264 §6). */
  media: NegotiatedMedia[];
}

export function acceptedMedia(session: NegotiatedSession): AcceptedMedia[] {
  return session.media.filter((m): m is AcceptedMedia => m.accepted);
}
