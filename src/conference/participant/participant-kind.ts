/** How a participant reaches the conference: the transport-neutral core serves every kind the same way. */
export enum ParticipantKind {
  /** A SIP phone, PBX trunk or softphone over UDP/TCP/TLS (RFC 3261). */
  Sip = 'sip',
  /** A browser over WebRTC (later wave). */
  WebRtc = 'webrtc',
  /** A SIP endpoint over WebSocket (RFC 7118, later wave). */
  SipWs = 'sip-ws',
}
