/** Normalized model of a session description as sent by SIP phones and WebRTC browsers (RFC 4566 / RFC 3264). */

export enum SdpDirection {
  SendRecv = 'sendrecv',
  SendOnly = 'sendonly',
  RecvOnly = 'recvonly',
  Inactive = 'inactive',
}

export type IpVersion = 4 | 6;

export interface SdpAddress {
  address: string;
  ipVersion: IpVersion;
}

/** One SDES key parameter (RFC 4568 §6.1): `inline:<key||salt>[|lifetime][|MKI:length]`. */
export interface SdesKeyParam {
  keySaltBase64: string;
  /** As written (`2^31`, `1048576`); undefined when absent. */
  lifetime?: string;
  mki?: { value: number; length: number };
}

/** One `a=crypto` line (RFC 4568 §9.1). */
export interface SdesCrypto {
  tag: number;
  suite: string;
  keyParams: SdesKeyParam[];
  /** Session parameters (`UNENCRYPTED_SRTCP`, `KDR=1`...), as written. */
  sessionParams: string[];
}

/** One payload format of an RTP m-line, static or from `a=rtpmap`. */
export interface SdpPayloadFormat {
  payloadType: number;
  /** As written (`PCMU`, `opus`, `telephone-event`), or from RFC 3551 for static PTs without rtpmap. */
  encodingName: string;
  clockRate: number;
  /** Audio channels; undefined when not written (means 1). */
  channels?: number;
  /** `a=fmtp` parameters; values kept as strings. */
  fmtp: Record<string, string>;
  fmtpRaw?: string;
  rtcpFeedback: { type: string; parameter?: string }[];
  /** False for a static PT listed without `a=rtpmap` (valid per RFC 4566 §6). */
  hasRtpmap: boolean;
}

export interface SdpMediaDescription {
  /** Position of the m-line, which is its identity in offer/answer (RFC 3264 §6). */
  index: number;
  /** `audio`, `video`, `image`, `application`, ... lower-cased. */
  kind: string;
  /** 0 = stream disabled / rejected. */
  port: number;
  proto: string;
  /** The format list of the m-line, as written (`0 8 101`, `t38`, `webrtc-datachannel`). */
  formats: string[];
  /** For RTP profiles: one entry per payload type of the format list, in the offerer's order. */
  payloads: SdpPayloadFormat[];
  /** Effective connection address (media level, else session level). */
  connection?: SdpAddress;
  /** Remote RTCP port: `a=rtcp` (RFC 3605), default port+1; equal to port when rtcp-mux is used. */
  rtcpPort: number;
  rtcpAddress?: SdpAddress;
  rtcpMux: boolean;
  /** Effective direction: media level, else session level, else sendrecv; old-style hold folded in. */
  direction: SdpDirection;
  /** `c=` is 0.0.0.0 (RFC 2543 hold, RFC 3264 §8.4). */
  oldStyleHold: boolean;
  ptime?: number;
  maxptime?: number;
  crypto: SdesCrypto[];
  mid?: string;
  /** Distinct SSRCs announced with `a=ssrc` (RFC 5576). */
  ssrcs: number[];
  cname?: string;
  /** DTLS-SRTP (`a=fingerprint`) or ICE present (at media or session level). */
  hasFingerprint: boolean;
  hasIce: boolean;
  /** ICE credentials and options (RFC 8839 §5.4, §5.6), media level else session level. */
  ice?: SdpIce;
  /** DTLS-SRTP (RFC 8842): certificate fingerprints (RFC 8122 §5) and the setup role (RFC 4145 §4). */
  dtls?: SdpDtls;
  /** RTP header extensions (`a=extmap`, RFC 8285 §5), with the offerer's identifiers. */
  extmaps: SdpExtmap[];
  /** Number of `a=candidate` lines (RFC 8839 §5.1). */
  candidates: number;
  /** `a=bundle-only` (RFC 8843 §6). */
  bundleOnly: boolean;
  /** `a=msid` (RFC 8830): stream and track id, as written. */
  msid?: string;
}

export interface SdpIce {
  ufrag: string;
  pwd: string;
  /** `a=ice-options` tokens (`trickle`, `renomination`...). */
  options: string[];
  /** The peer is an ICE-lite agent (`a=ice-lite`, session level). */
  lite: boolean;
}

/** RFC 4145 §4 `a=setup` roles. */
export type DtlsSetup = 'actpass' | 'active' | 'passive' | 'holdconn';

export interface SdpDtls {
  /** Every `a=fingerprint` (RFC 8122 §5 allows several); hash function lower-cased, value as written. */
  fingerprints: { algorithm: string; value: string }[];
  setup?: DtlsSetup;
}

export interface SdpExtmap {
  id: number;
  uri: string;
  /** `sendonly`, `recvonly`... when written (RFC 8285 §5). */
  direction?: string;
}

/** `a=group` (RFC 5888 §5): `BUNDLE` (RFC 8843) and the mids it groups. */
export interface SdpGroup {
  semantics: string;
  mids: string[];
}

export interface SdpSessionDescription {
  origin: { username: string; sessionId: string; sessionVersion: string; address: string };
  sessionName: string;
  connection?: SdpAddress;
  /** Session-level direction attribute, if any. */
  direction?: SdpDirection;
  /** `a=group` lines (RFC 5888). */
  groups: SdpGroup[];
  media: SdpMediaDescription[];
}
