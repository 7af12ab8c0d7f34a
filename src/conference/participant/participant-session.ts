import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaLeg, MediaLegFactory } from '../../media/media-leg';
import type { MediaSource } from '../../media/media-source';
import type { AudioEndpoint } from '../../media/room-audio/room-audio';
import type { SfuFeed } from '../room/room-sfu';
import type { LeaveReason } from './leave-reason';
import type { Participant } from './participant';
import type { ParticipantKind } from './participant-kind';

/** Why we hang up, for the far end (SIP: an RFC 3326 `Reason: SIP;cause=…;text="…"` header on our BYE). */
export interface HangupCause {
  cause: number;
  text: string;
}

export interface ParticipantSessionEvents {
  /**
   * The session's audio changed (a new Producer, SSRC or codec, hold/resume): whoever mixes it must re-read the
   * audio endpoint. The session never talks to the room's audio itself.
   */
  audioChanged: [];
  /** A keypad digit (SIP: RFC 4733 in the RTP or SIP INFO). */
  dtmf: [digit: string];
  /** The streams the session sends changed (a browser turned its camera on): the room re-reads `sources()`. */
  sourcesChanged: [];
}

/** Who placed the call: the far end (`inbound`: an INVITE to us, a browser joining) or we (`outbound`: dial-out). */
export type CallDirection = 'inbound' | 'outbound';

/**
 * What the media layer measured of a session's audio, for call quality: the receive figures of its mediasoup
 * Producer (what we receive from the endpoint, RTT where RTCP gave one). null where not known (no RTP yet, or a
 * leg whose RTP never reaches mediasoup: the room's mixer measures those).
 */
export interface SessionMediaStats {
  /** Fraction of packets lost, 0..1. */
  loss: number | null;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number | null;
  /** Round-trip time from RTCP, ms. */
  rttMs: number | null;
}

/**
 * Reads a mediasoup Producer's receive statistics as `SessionMediaStats` (fractionLost is RTCP's 0..255, jitter is
 * in RTP timestamp units); null when it has none (closed, no RTP yet). Shared by the SIP and WebRTC sessions.
 */
export async function producerMediaStats(
  producer: types.Producer | undefined,
): Promise<SessionMediaStats | null> {
  if (!producer || producer.closed) return null;
  let list: Awaited<ReturnType<types.Producer['getStats']>>;
  try {
    list = await producer.getStats();
  } catch {
    return null;
  }
  const s = list[0];
  if (!s) return null;
  const clockRate = producer.rtpParameters.codecs[0]?.clockRate ?? 8000;
  return {
    loss: Number.isFinite(s.fractionLost) ? Math.min(1, Math.max(0, s.fractionLost / 256)) : null,
    jitterMs: Number.isFinite(s.jitter) ? (s.jitter / clockRate) * 1000 : null,
    rttMs: typeof s.roundTripTime === 'number' && s.roundTripTime > 0 ? s.roundTripTime : null,
  };
}

/**
 * The signalling and media of one participant, whatever its kind (a SIP dialog today; a WebRTC peer connection
 * later). Owned by its Participant: the session registers its teardown with `participant.own()` and ends the
 * participant (`participant.close(reason)`) when the far end goes away.
 */
export interface ParticipantSession {
  readonly kind: ParticipantKind;
  /** Its audio as the room's audio (mixer or forwarder) sees it. */
  readonly audio: AudioEndpoint;
  /** Its media legs, one per served m-line. */
  readonly legs: readonly MediaLeg[];
  /**
   * All its media terminates on the room's router (a browser's WebRTC peer: mediasoup holds ICE, DTLS and SRTP),
   * none in a media thread: a media thread's death leaves it where it is.
   */
  readonly mediaOnRouter?: boolean;
  /** The streams it sends, for SFU consumers (browsers); absent: its legs are its sources. */
  sources?(): readonly MediaSource[];
  /**
   * Sessions that receive the room as separate streams (browsers) are handed the room's SFU feed while seated in
   * the conference, and `undefined` when they leave it (or move).
   */
  subscribe?(feed: SfuFeed | undefined): void;
  /** Ends the session from our side (SIP: BYE with a Reason header) and closes the participant with `reason`. */
  hangup(reason: LeaveReason, why?: HangupCause): void;
  /**
   * The session's media was re-attached to another room's audio where it is (same media thread): legs it builds
   * from now on (a re-INVITE adding a stream, a re-key) come from `legs`, the new room's.
   */
  rehome(legs: MediaLegFactory): void;
  /**
   * Moves the session's media onto the legs of another room (another router or media thread) by renegotiating
   * with the far end (SIP: a re-INVITE offering the new legs). Absent when the session cannot renegotiate. On
   * failure before the far end accepted, the session keeps its previous legs and the promise rejects. `to` names
   * the target room: a SIP phone is first referred there (RFC 3515 REFER) and re-INVITEd only if it refuses.
   */
  renegotiate?(legs: MediaLegFactory, to?: { room: string }): Promise<void>;
  /** The SIP Call-ID of the session (SIP and SIP-over-WebSocket calls), known before its dialog is up. */
  readonly callId?: string;
  /** Who placed the call (absent: inbound). */
  readonly direction?: CallDirection;
  /** The media layer's figures for call quality (absent or null: none; the mixer's figures are used alone). */
  mediaStats?(): Promise<SessionMediaStats | null>;
  on<K extends keyof ParticipantSessionEvents>(
    event: K,
    listener: (...args: ParticipantSessionEvents[K]) => void,
  ): unknown;
  off<K extends keyof ParticipantSessionEvents>(
    event: K,
    listener: (...args: ParticipantSessionEvents[K]) => void,
  ): unknown;
}

/** Who the participant is, as its transport names it. */
export interface ParticipantIdentity {
  displayName: string;
  uri: string;
  /** Signalling transport (UDP, TCP, TLS, WS...). */
  transport: string;
  /**
   * Who transferred this caller here (SIP: the INVITE's Referred-By, RFC 3892 §3): the referrer's URI. RFC 4575's
   * `joining-info/by`. Absent when the caller came by itself.
   */
  referredBy?: string;
}

/**
 * What a transport adapter hands the conference to join one participant (a SIP INVITE received, a SIP dial-out, a
 * browser later). The conference calls `connect` before admitting the participant (media is built in the room,
 * nothing is visible yet) and `establish` once admitted (the signalling completes: SIP sends its 2xx and waits for
 * the ACK, or sends its INVITE and waits for the 2xx).
 */
export interface SessionConnector {
  readonly kind: ParticipantKind;
  readonly identity: ParticipantIdentity;
  readonly log: Logger;
  /** Builds the session and its media in the room (legs from `legs`): e.g. answers the SIP offer. */
  connect(participant: Participant, legs: MediaLegFactory): Promise<ParticipantSession>;
  /**
   * Completes the signalling. `signal` aborts when the participant leaves meanwhile (e.g. kicked while ringing).
   * A failure ends the session (the connector says why: `hangup` or `participant.close`) and rejects.
   */
  establish(signal: AbortSignal): Promise<void>;
}

/**
 * Told every step of a dial-out as a SIP status and reason: 180/183 while it rings, 200 once answered, then the final
 * failure (486 busy, 603 declined, 408 for the ring timeout...). The shape a REFER's NOTIFY sipfrag needs (RFC 3515).
 */
export type DialProgressListener = (status: number, reason: string) => void;

/** Places outgoing calls (the SIP adapter implements it with the stack's UAC). */
export interface Dialer {
  /** A connector for a call to `target` (e.g. `sip:alice@example.com`); throws AppError CONF_DIAL_BAD_TARGET. */
  dial(
    target: string,
    opts: { roomName: string; log: Logger; onProgress?: DialProgressListener },
  ): SessionConnector;
}
