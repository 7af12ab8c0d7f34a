/**
 * The browser ⇄ server protocol (socket.io, namespace `/rtc`): one module shared by the server (`src/signaling`)
 * and the page (`web/`). Event maps are typed both ways; every client payload has a zod schema the server parses
 * before anything else touches it (nothing from a browser is trusted). mediasoup objects (capabilities, RTP and
 * DTLS parameters) travel as opaque JSON objects here: mediasoup validates them itself and its TypeError becomes a
 * 400-class error from the catalogue.
 *
 * Requests carry an acknowledgement callback answering `{ ok: true, data }` or `{ ok: false, error }` where
 * `error.code` is a code of the server's error catalogue.
 */
import { z } from 'zod';
import type { ParticipantRoleName } from './webinar-protocol';

/** The socket.io namespace of browser participants. */
export const RTC_NAMESPACE = '/rtc';

/** Room names as the SIP side knows them (the user part of `sip:<room>@host`). */
export const roomName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._~-]+$/, 'room names are A-Z a-z 0-9 . _ ~ -');

const json = z.record(z.string(), z.unknown());
const id = z.string().min(1).max(128);

// ------------------------------------------------------------------ client → server payloads

export const JoinSchema = z
  .object({
    room: roomName,
    displayName: z.string().trim().min(1).max(64),
    pin: z
      .string()
      .regex(/^[0-9]{1,16}$/)
      .optional(),
    /** The page's mediasoup Device capabilities: what it can receive. */
    rtpCapabilities: json,
    /** A token from an earlier join: resume that participant (same id) instead of joining anew. */
    resume: z.string().min(16).max(128).optional(),
  })
  .strict();

export const ConnectTransportSchema = z.object({ transportId: id, dtlsParameters: json }).strict();

export const ProduceSchema = z
  .object({
    transportId: id,
    kind: z.enum(['audio', 'video']),
    rtpParameters: json,
    source: z.enum(['mic', 'camera']),
  })
  .strict();

export const ProducerRefSchema = z.object({ producerId: id }).strict();
export const ConsumerRefSchema = z.object({ consumerId: id }).strict();
export const TransportRefSchema = z.object({ transportId: id }).strict();

export const PreferredLayersSchema = z
  .object({
    consumerId: id,
    spatialLayer: z.number().int().min(0).max(3),
    temporalLayer: z.number().int().min(0).max(3).optional(),
  })
  .strict();

export const MuteSchema = z.object({ muted: z.boolean() }).strict();
export const HandSchema = z.object({ raised: z.boolean() }).strict();

export const ChatSendSchema = z
  .object({
    text: z.string().max(4000).default(''),
    /** An attachment uploaded before (POST /api/rooms/:room/attachments) to attach to this message. */
    attachmentId: id.optional(),
  })
  .strict()
  .refine((m) => m.text.trim().length > 0 || m.attachmentId !== undefined, {
    message: 'a message needs text or an attachment',
  });

export const ChatSeenSchema = z.object({ messageId: id }).strict();

// ------------------------------------------------------------------ shared shapes

export interface ErrorPayload {
  code: string;
  message: string;
}

export type AckResult<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };
export type Ack<T> = (result: AckResult<T>) => void;

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface TransportInfo {
  id: string;
  iceParameters: Record<string, unknown>;
  iceCandidates: Record<string, unknown>[];
  dtlsParameters: Record<string, unknown>;
}

export type PeerKind = 'sip' | 'webrtc' | 'sip-ws';

/** A participant as the page shows it (a tile). */
export interface PeerView {
  id: string;
  kind: PeerKind;
  displayName: string;
  muted: boolean;
  speaking: boolean;
  handRaised: boolean;
  role: ParticipantRoleName;
  video: boolean;
  codec: string | null;
  onHold: boolean;
}

export interface JoinResult {
  participantId: string;
  /**
   * The participant's secret: present it in `join.resume` after a lost connection to come back as the same
   * participant, and as `Authorization: Bearer <token>` to upload and download the room's chat attachments.
   */
  sessionToken: string;
  /** True when this join resumed an existing participant. */
  resumed: boolean;
  roomDisplayName: string;
  role: ParticipantRoleName;
  routerRtpCapabilities: Record<string, unknown>;
  iceServers: IceServer[];
  sendTransport: TransportInfo;
  recvTransport: TransportInfo;
  peers: PeerView[];
  /** A webinar's audience: how many attendees listen (not in `peers`); 0 elsewhere. Updates: `audience`. */
  audience: number;
  /** Chat history (newest last). */
  chat: ChatMessage[];
  /** Upper bound of an attachment's size. */
  attachmentMaxBytes: number;
}

export interface NewConsumer {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: 'mic' | 'camera';
  rtpParameters: Record<string, unknown>;
  /** Simulcast or SVC: the page may pick a layer by tile size. */
  layered: boolean;
}

export interface ChatAttachment {
  id: string;
  name: string;
  size: number;
  contentType: string;
  /** Where the room's participants download it (with their session token). */
  url: string;
}

export interface ChatMessage {
  id: string;
  /** Participant id of the sender (null: the server). */
  from: string | null;
  fromName: string;
  text: string;
  at: string;
  attachment?: ChatAttachment;
  /** Participant ids that have seen it. */
  seenBy: string[];
}

// ------------------------------------------------------------------ event maps

export interface RtcClientToServer {
  /**
   * The routers' RTP capabilities (the same for every room): load the mediasoup Device with them before `join`,
   * whose `rtpCapabilities` are then the Device's.
   */
  capabilities: (ack: Ack<{ routerRtpCapabilities: Record<string, unknown> }>) => void;
  join: (req: z.input<typeof JoinSchema>, ack: Ack<JoinResult>) => void;
  connectTransport: (req: z.input<typeof ConnectTransportSchema>, ack: Ack<null>) => void;
  produce: (req: z.input<typeof ProduceSchema>, ack: Ack<{ producerId: string }>) => void;
  closeProducer: (req: z.input<typeof ProducerRefSchema>, ack: Ack<null>) => void;
  /** Camera off / mic muted by the user: the producer stops (a moderator-muted mic cannot be resumed). */
  pauseProducer: (req: z.input<typeof ProducerRefSchema>, ack: Ack<null>) => void;
  resumeProducer: (req: z.input<typeof ProducerRefSchema>, ack: Ack<null>) => void;
  /** The tile is visible (consumers start paused). */
  resumeConsumer: (req: z.input<typeof ConsumerRefSchema>, ack: Ack<null>) => void;
  /** The tile is hidden: stop the stream. */
  pauseConsumer: (req: z.input<typeof ConsumerRefSchema>, ack: Ack<null>) => void;
  setPreferredLayers: (req: z.input<typeof PreferredLayersSchema>, ack: Ack<null>) => void;
  /** New ICE credentials after a network change (`transport.restartIce` in the page). */
  restartIce: (
    req: z.input<typeof TransportRefSchema>,
    ack: Ack<{ iceParameters: Record<string, unknown> }>,
  ) => void;
  /** Self mute (the mic's producer is paused on the server too). */
  setMuted: (req: z.input<typeof MuteSchema>, ack: Ack<null>) => void;
  setHand: (req: z.input<typeof HandSchema>, ack: Ack<null>) => void;
  chatSend: (req: z.input<typeof ChatSendSchema>, ack: Ack<ChatMessage>) => void;
  chatSeen: (req: z.input<typeof ChatSeenSchema>, ack: Ack<null>) => void;
  leave: (ack: Ack<null>) => void;
}

export interface RtcServerToClient {
  peerJoined: (peer: PeerView) => void;
  peerUpdated: (peer: PeerView) => void;
  peerLeft: (peer: { id: string }) => void;
  /** The mixer's voice activity (active speaker). */
  speaking: (e: { id: string; speaking: boolean }) => void;
  /**
   * A stream to receive, paused: create the consumer, then `resumeConsumer` (audio at once, video when its tile
   * is visible). A muted participant's audio stays paused until it is unmuted.
   */
  newConsumer: (c: NewConsumer) => void;
  consumerClosed: (c: { consumerId: string }) => void;
  /** The room's audience changed (a webinar's attendees; changes gathered for half a second). */
  audience: (e: { attendees: number }) => void;
  /**
   * The codec the camera should be sent in: H.264 while a SIP video phone in the room receives the speaker video
   * (phones are sent the cameras as they are, never transcoded), VP8 otherwise. Sent on join and on change.
   */
  videoCodec: (e: { codec: 'VP8' | 'H264' }) => void;
  /** A moderator muted or unmuted this participant (its mic producer is paused server-side meanwhile). */
  mutedBy: (e: { muted: boolean; by: 'self' | 'moderator' }) => void;
  chatMessage: (m: ChatMessage) => void;
  chatSeen: (e: { messageId: string; participantId: string }) => void;
  /** The participant was removed (kicked, room ended, server shutdown): the page shows why and stops. */
  ended: (e: { reason: string; message: string }) => void;
  /**
   * While `join` waits in a webinar's lobby: `host` (the webinar starts when a host joins), `admission` ("waiting
   * for the host to admit you"), then `admitted` (the join answer follows) or `denied` (the join fails with
   * CONF_LOBBY_DENIED and the server disconnects).
   */
  lobby: (e: { state: 'host' | 'admission' | 'admitted' | 'denied' }) => void;
}

/** Parses a client payload; throws the zod error (the server answers it as API_BAD_REQUEST). */
export function parsePayload<S extends z.ZodTypeAny>(schema: S, payload: unknown): z.output<S> {
  return schema.parse(payload) as z.output<S>;
}
