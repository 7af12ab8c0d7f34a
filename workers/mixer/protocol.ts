/**
 * Typed messages between the main thread (src/media/mixer/media-thread.ts) and a media worker thread
 * (workers/mixer/mixer.worker.ts). Requests carry an id and get exactly one response; notifications flow from the
 * thread to the main thread unasked. Only control traffic crosses: never a media packet.
 */

export interface RemoteAddress {
  ip: string;
  port: number;
  rtcpPort?: number;
}

/** SDES-SRTP terminated in the thread: the phone's key (inbound) and ours (outbound), RFC 4568 inline keys. */
export interface RelaySrtpParams {
  suite: 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32' | 'AEAD_AES_128_GCM' | 'AEAD_AES_256_GCM';
  localKeyBase64: string;
  remoteKeyBase64: string;
}

export interface CreateRelayParams {
  legId: string;
  ip: string;
  port: number;
  /** Bind a separate phone-facing RTCP socket on this port (phone does not mux). */
  rtcpPort?: number;
  remote?: RemoteAddress | null;
  latch: boolean;
  /** 0 / absent = off. */
  inactivityTimeoutMs?: number;
  /** Decode RFC 4733 digits from the phone's RTP (plain RTP legs, or SRTP terminated here). */
  dtmf?: { payloadType: number; clockRate?: number } | null;
  /** Terminate SDES-SRTP in the thread (absent: SRTP passes through to mediasoup, or there is none). */
  srtp?: RelaySrtpParams | null;
  /** Initial direction (as `relay.setDirection`; default both). */
  direction?: { sends: boolean; receives: boolean };
}

export interface CreateRelayResult {
  innerIp: string;
  innerPort: number;
  port: number;
  rtcpPort?: number;
}

export interface RelayStatsResult {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  lastPacketAt: number | null;
  ssrc: number | null;
  latched: { ip: string; port: number } | null;
  packetsDropped: number;
  srtpFailures: number;
}

export interface ThreadStatsResult {
  /** process.cpuUsage() is process-wide; this is the thread's own event loop utilisation since start. */
  eventLoopUtilization: number;
  /** Active (busy) ms of this thread's event loop since start. */
  activeMs: number;
  idleMs: number;
  relays: number;
  rooms: number;
}

// ---- mixer rooms (part 2) ----

export type MixerCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus';

export interface CreateMixerRoomParams {
  roomId: string;
  /** IP to bind the room's two sockets on (loopback normally: they only talk to mediasoup). */
  ip: string;
  /** Mix rate: 8000, 16000 (default), 48000, or `auto` (8000 while everyone is on G.711, else 16000). */
  rate?: 8000 | 16000 | 48000 | 'auto';
}

export interface CreateMixerRoomResult {
  /** The socket mediasoup's "mixer input" PlainTransport sends to (its connect() target). */
  inputIp: string;
  inputPort: number;
  /** The socket the thread sends mixed RTP from (the "mixer output" PlainTransport connects/comedia to it). */
  outputIp: string;
  outputPort: number;
}

export interface AddMixerParticipantParams {
  roomId: string;
  participantId: string;
  /**
   * What the thread receives for this participant: SSRC + payload type of its consumer on the mixer-input
   * PlainTransport. Absent: listen-only (nothing to mix, e.g. a WebRTC user heard through the SFU... or a
   * recorder).
   */
  input?: {
    /** The SSRC of its consumer on the mixer-input transport (router participants; ignored with `leg`). */
    ssrc?: number;
    payloadType: number;
    codec: MixerCodec;
    /** telephone-event payload type on the input (RFC 4733), if negotiated, and its clock rate (8000). */
    dtmfPayloadType?: number;
    dtmfClockRate?: number;
  };
  /**
   * What the thread sends this participant: its mix, with this SSRC + payload type (the encoding of the Producer
   * the main thread made on the mixer-output PlainTransport). Absent: input-only (hears nothing from the mixer).
   */
  output?: { ssrc: number; payloadType: number; codec: MixerCodec };
  /**
   * A relay leg of this thread (`relay.create`'s legId): the participant's RTP is read from that leg and its mix
   * sent through it, with no mediasoup hop (phones in mixed rooms). Absent: router participant (SSRC demux on
   * the room's input socket, output to the room's output socket).
   */
  leg?: string;
  /** Linear gain applied to this participant's voice in others' mixes (1 = unchanged). */
  gain?: number;
  muted?: boolean;
}

export interface MixerParticipantStats {
  participantId: string;
  packetsIn: number;
  packetsOut: number;
  dtmfPacketsIn: number;
  speaking: boolean;
  muted: boolean;
  /** How this participant's voice arrives (its jitter buffer since its input was last described). */
  receive?: MixerReceiveStats;
  /**
   * How the mix we send arrives, from the participant's last RTCP report block on it (RFC 3550 §6.4.1): phones
   * attached to the thread's legs only.
   */
  sent?: { fractionLost: number; jitterMs: number; rttMs: number | null };
}

export interface MixerReceiveStats {
  received: number;
  duplicates: number;
  /** Arrived after their playout time. */
  late: number;
  /** Frames concealed by PLC (loss or starvation). */
  concealed: number;
  /** Lost packets recovered from the next packet's in-band FEC (Opus). */
  fecRecovered: number;
  underruns: number;
  decodeErrors: number;
  /** RFC 3550 interarrival jitter estimate, ms. */
  jitterMs: number;
  /** Current playout delay target, ms. */
  targetDelayMs: number;
}

export interface MixerRoomStats {
  roomId: string;
  /** The mix rate now, and how often `auto` changed it. */
  mixRate: number;
  rateChanges: number;
  ticks: number;
  /** Mean / max time one 20 ms tick of this room took (decode + mix + encode + send), in µs. */
  tickMeanUs: number;
  tickMaxUs: number;
  /** Of the thread's mix clock: max lateness of a tick versus its schedule (ms), ticks skipped after stalls. */
  lateMaxMs: number;
  skippedTicks: number;
  packetsUnknownSsrc: number;
  participants: MixerParticipantStats[];
}

export interface RequestMap {
  'relay.create': { params: CreateRelayParams; result: CreateRelayResult };
  'relay.connectInner': { params: { legId: string; ip: string; port: number }; result: null };
  /** Stop forwarding to mediasoup (the last SFU consumer of a thread-mixed leg went away). */
  'relay.disconnectInner': { params: { legId: string }; result: null };
  'relay.updateRemote': {
    params: { legId: string; remote: RemoteAddress | null; latch: boolean };
    result: null;
  };
  'relay.setInactivityTimeout': { params: { legId: string; ms: number }; result: null };
  'relay.setDtmf': {
    params: { legId: string; dtmf: { payloadType: number; clockRate?: number } | null };
    result: null;
  };
  /** Payload types rewritten on the way to the phone (router PT → phone PT); plain RTP only. */
  'relay.setPayloadTypeMap': { params: { legId: string; map: Array<[number, number]> | null }; result: null };
  /** Re-key: new SDES contexts (null: no SRTP in the thread). */
  'relay.setSrtp': { params: { legId: string; srtp: RelaySrtpParams | null }; result: null };
  /** Hold / resume (RFC 3264 §8.4): whether the phone's media is passed on and whether it is sent media. */
  'relay.setDirection': { params: { legId: string; sends: boolean; receives: boolean }; result: null };
  'relay.stats': { params: { legId: string }; result: RelayStatsResult };
  'relay.close': { params: { legId: string }; result: null };
  'thread.stats': { params: Record<string, never>; result: ThreadStatsResult };
  /** Test hook: the thread throws an uncaught error (to prove `died` handling). */
  'thread.crash': { params: Record<string, never>; result: null };

  'mixer.createRoom': { params: CreateMixerRoomParams; result: CreateMixerRoomResult };
  'mixer.closeRoom': { params: { roomId: string }; result: null };
  /** Where mixed RTP goes: the mixer-output PlainTransport's tuple.localIp/localPort. */
  'mixer.connectOutput': { params: { roomId: string; ip: string; port: number }; result: null };
  'mixer.addParticipant': { params: AddMixerParticipantParams; result: null };
  /** Re-describe an existing participant in place: its queued prompts, gain and counters survive. */
  'mixer.updateParticipant': { params: AddMixerParticipantParams; result: null };
  'mixer.removeParticipant': { params: { roomId: string; participantId: string }; result: null };
  'mixer.setMuted': { params: { roomId: string; participantId: string; muted: boolean }; result: null };
  'mixer.setGain': { params: { roomId: string; participantId: string; gain: number }; result: null };
  /** Play mono PCM (s16 host order, at `rate`) to one participant only; resolves when queued. */
  'mixer.play': {
    params: { roomId: string; participantId: string; playId: string; pcm: Int16Array; rate: number };
    result: null;
  };
  'mixer.stopPlay': { params: { roomId: string; participantId: string }; result: null };
  /**
   * Play mono PCM to the whole room at once (join/leave chimes): mixed into the shared frame like a voice, so it
   * costs one decode-free input, not a private mix and encode per listener.
   */
  'mixer.announce': { params: { roomId: string; pcm: Int16Array; rate: number }; result: null };
  'mixer.stats': { params: { roomId: string }; result: MixerRoomStats };
}

export type Method = keyof RequestMap;

export interface RequestMessage<M extends Method = Method> {
  kind: 'request';
  id: number;
  method: M;
  params: RequestMap[M]['params'];
}

export interface SerializedError {
  message: string;
  name?: string;
  code?: string;
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: SerializedError };

export type Notification =
  | { kind: 'notification'; event: 'relay.ssrc'; legId: string; ssrc: number; payloadType: number }
  | { kind: 'notification'; event: 'relay.latched'; legId: string; ip: string; port: number }
  | { kind: 'notification'; event: 'relay.inactive'; legId: string }
  | { kind: 'notification'; event: 'relay.dtmf'; legId: string; digit: string; durationMs: number }
  | {
      kind: 'notification';
      event: 'mixer.speaking';
      roomId: string;
      participantId: string;
      speaking: boolean;
    }
  | {
      kind: 'notification';
      event: 'mixer.dtmf';
      roomId: string;
      participantId: string;
      digit: string;
      durationMs: number;
    }
  | {
      kind: 'notification';
      event: 'mixer.playDone';
      roomId: string;
      participantId: string;
      playId: string;
      stopped: boolean;
    }
  | {
      kind: 'notification';
      event: 'log';
      level: 'debug' | 'info' | 'warn' | 'error';
      msg: string;
      data?: Record<string, unknown>;
    };

/** Posted once by the thread when it is ready to take requests. */
export interface ReadyMessage {
  kind: 'ready';
}

export type ThreadToMain = ResponseMessage | Notification | ReadyMessage;
export type MainToThread = RequestMessage;
