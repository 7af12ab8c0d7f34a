import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MixerCodec } from '../../workers/mixer/protocol';
import type { AcceptedMedia, LocalWebRtcEndpoint } from './sdp';
import type { WebRtcPeer } from './webrtc/webrtc-peer';

export interface MediaLegEvents {
  /** A (new) mediasoup Producer carries the endpoint's media: re-wire whatever consumed the previous one. */
  producer: [producer: types.Producer];
  /** No RTP for the configured time (never while on hold). */
  inactive: [];
  /** RFC 4733 telephone-event digit. */
  dtmf: [digit: string, durationMs: number];
  closed: [];
}

/**
 * How a leg whose RTP terminates in a media thread joins that thread's mixer: the mixer reads the leg's RTP and
 * writes the leg's mix straight through the leg's own socket (no mediasoup hop). Codec and payload types are the
 * negotiated ones, so nothing unnegotiated ever reaches the endpoint.
 */
export interface MixerLegInfo {
  legId: string;
  /** The thread the leg lives in: a mixer room can attach it only there. */
  threadIndex: number;
  codec: MixerCodec;
  /** The payload type the endpoint sends and expects for `codec` (RFC 3264 §6.1). */
  payloadType: number;
  /** RFC 4733 telephone-event payload type and clock rate, if negotiated. */
  dtmf?: { payloadType: number; clockRate: number };
  /** The endpoint sends media we may mix (false on hold: its music-on-hold stays out of the room). */
  sends: boolean;
  /** The endpoint wants media (false on hold / sendonly from our side). */
  receives: boolean;
}

/**
 * One served m-line of an endpoint (a phone today, a browser tomorrow): its transport, its media and its events.
 * Implementations: `RouterRtpLeg` (relay ⇄ mediasoup PlainTransport: Producer + Consumer, for video, forwarding
 * and SFU consumers) and `ThreadAudioLeg` (RTP and SRTP terminated in a media thread, mixed there directly).
 */
export interface MediaLeg {
  readonly kind: types.MediaKind;
  /** The port in our SDP (RTP; RTCP is the next one unless muxed). */
  readonly localPort: number;
  readonly localRtcpPort?: number;
  /** Our SDES key for the SDP (RFC 4568), when the m-line is RTP/SAVP. */
  readonly srtpKeyBase64?: string;
  /** Our ICE-lite credentials, candidates and DTLS fingerprints, when the m-line is ICE + DTLS-SRTP (WebRTC). */
  readonly webRtc?: LocalWebRtcEndpoint;
  readonly negotiated?: AcceptedMedia;
  /** The endpoint's media as a mediasoup Producer, when it has one. */
  readonly producer?: types.Producer;
  /**
   * An SFU consumer (a browser, the livestream) needs this endpoint's media on the router: returns its Producer
   * (created on first use for legs mixed in their thread, whose media otherwise never reaches mediasoup) once the
   * endpoint's SSRC is known; each call must be paired with `releaseProducer()`. `producer` events announce
   * replacements (SSRC or codec change).
   */
  acquireProducer(): Promise<types.Producer | undefined>;
  releaseProducer(): void;
  /** Set when the leg can be mixed in its thread directly. */
  readonly mixerLeg?: MixerLegInfo;
  /** A new negotiation for this m-line (answer, re-INVITE, UPDATE): address, direction, codec. */
  update(media: AcceptedMedia): Promise<void>;
  /** What the endpoint hears through mediasoup: consume `producerId` (null: nothing). */
  setSource(producerId: string | null): Promise<void>;
  /** 0 disables. */
  setInactivityTimeout(ms: number): Promise<void>;
  close(): void;
  on<K extends keyof MediaLegEvents>(event: K, listener: (...args: MediaLegEvents[K]) => void): this;
  once<K extends keyof MediaLegEvents>(event: K, listener: (...args: MediaLegEvents[K]) => void): this;
  off<K extends keyof MediaLegEvents>(event: K, listener: (...args: MediaLegEvents[K]) => void): this;
}

export interface CreateLegOptions {
  /** The negotiated m-line; absent when we make the offer (delayed offer) until `update()`. */
  media?: AcceptedMedia;
  kind: types.MediaKind;
  log: Logger;
}

/** What decides where a browser's media is placed. */
export interface WebRtcPeerPlacement {
  /**
   * It only listens and watches (a webinar attendee): with many of them, it may receive on the room's router on
   * another worker (the sources piped there), so the audience spreads over every core.
   */
  audience?: boolean;
}

/**
 * Builds the legs of one room's endpoints (the room's router and media thread are inside): the conference layer
 * asks for a leg per m-line and never sees relays, threads or transports.
 */
export interface MediaLegFactory {
  /** Codecs the room can serve (SDP negotiation input). */
  readonly codecs: readonly types.RtpCodecCapability[];
  /** Set when ICE + DTLS-SRTP m-lines (WebRTC offers) can be served: the router's RTP header extensions. */
  readonly webRtc?: { headerExtensions: readonly types.RtpHeaderExtension[]; telephoneEvent?: boolean };
  create(opts: CreateLegOptions): Promise<MediaLeg>;
  /**
   * Takes a leg built by another factory on this factory's router, where the leg can stay as it is (an audio leg
   * living on this factory's media thread, holding nothing on its old router): its later SFU taps are built here.
   * False when it cannot (the caller renegotiates instead). Absent: legs are never adopted.
   */
  adopt?(leg: MediaLeg): boolean;
  /**
   * A browser's media on the room's router (send and receive WebRtcTransports on the worker's WebRtcServer).
   * Absent when the server runs without WebRTC.
   */
  createWebRtcPeer?(log: Logger, opts?: WebRtcPeerPlacement): Promise<WebRtcPeer>;
}
