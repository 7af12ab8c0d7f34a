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
   * failure before the far end accepted, the session keeps its previous legs and the promise rejects.
   */
  renegotiate?(legs: MediaLegFactory): Promise<void>;
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

/** Places outgoing calls (the SIP adapter implements it with the stack's UAC). */
export interface Dialer {
  /** A connector for a call to `target` (e.g. `sip:alice@example.com`); throws AppError CONF_DIAL_BAD_TARGET. */
  dial(target: string, opts: { roomName: string; log: Logger }): SessionConnector;
}
