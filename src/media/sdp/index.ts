/**
 * SDP offer/answer core for SIP legs: phones on mediasoup PlainTransports, WebRTC offers (ICE + DTLS-SRTP, e.g. SIP
 * over WebSocket from a browser) on WebRtcTransports. Pure: no sockets, no mediasoup calls.
 */
export { SdpNegotiationError } from './sdp-negotiation-error';
export { SdpDirection } from './sdp-types';
export type {
  DtlsSetup,
  IpVersion,
  SdesCrypto,
  SdpDtls,
  SdpExtmap,
  SdpGroup,
  SdpIce,
  SdesKeyParam,
  SdpAddress,
  SdpMediaDescription,
  SdpPayloadFormat,
  SdpSessionDescription,
} from './sdp-types';
export { parseSdp, parseOffer, isRtpProto, isPlainRtpProto, isSrtpProto, isDtlsSrtpProto } from './parse-sdp';
export {
  negotiate,
  applyAnswer,
  answerDirection,
  buildProducerRtpParameters,
  isPrivateAddress,
} from './negotiate';
export type {
  AcceptedMedia,
  LocalCapabilities,
  NegotiateOptions,
  NegotiatedCodec,
  NegotiatedMedia,
  NegotiatedSession,
  RejectedMedia,
  WebRtcMedia,
} from './negotiated-session';
export { acceptedMedia } from './negotiated-session';
export { buildAnswer, buildOffer } from './build-sdp';
export type {
  BuildOfferOptions,
  LocalEndpoints,
  LocalMediaEndpoint,
  LocalWebRtcEndpoint,
  OfferMediaEndpoint,
} from './build-sdp';
export { SdpSession } from './sdp-session';
export type { SdpSessionOptions } from './sdp-session';
export { diffNegotiations, isNoChange, webRtcKey } from './session-diff';
export { checkWebRtcReanswer } from './webrtc-reoffer';
export type { MediaChange } from './session-diff';
export { SUPPORTED_CRYPTO_SUITES, SRTP_MASTER_LENGTH, selectCrypto, generateSdesKey } from './sdes-crypto';
export type { SelectedCrypto } from './sdes-crypto';
export { H264Profile, parseH264ProfileLevelId } from './codec-matching';
export { readRtpHeader } from './rtp-header';
export type { RtpHeader } from './rtp-header';
