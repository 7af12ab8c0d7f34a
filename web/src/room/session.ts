/**
 * A browser participant: the /rtc socket, the mediasoup-client Device and its two transports (send: mic + camera
 * with simulcast; recv: every other participant's streams, one consumer each), local devices, chat and reconnect.
 * It is the only writer of the page's store; the components call its methods.
 */
import { Device } from 'mediasoup-client';
import type {
  Consumer,
  Producer,
  RtpCapabilities,
  RtpEncodingParameters,
  RtpParameters,
  Transport,
  TransportOptions,
} from 'mediasoup-client/types';
import type {
  ChatAttachment,
  ChatMessage,
  JoinResult,
  NewConsumer,
  PeerView,
  TransportInfo,
} from '../../../src/protocol/rtc-protocol';
import type { ParticipantRoleName } from '../../../src/protocol/webinar-protocol';
import type { Store } from '../common/store';
import type { LobbyState } from './answer-deadline';
import { connectRtc, request, requestBare, requestJoin, RtcError, type RtcSocket } from './rtc-client';
import type { RemoteMedia, RoomState } from './state';

/** Simulcast: three VP8 encodings, a quarter, half and full resolution. */
const CAMERA_ENCODINGS: RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

const TOAST_MS = 4500;

interface ConsumerEntry {
  consumer: Consumer;
  participantId: string;
  kind: 'audio' | 'video';
  layered: boolean;
  /** Resumed on the server (consumers start paused there). */
  flowing: boolean;
  spatialLayer: number | null;
}

/** What the room-page tiles report: whether a participant's tile is on screen, and its width in CSS pixels. */
interface TileView {
  visible: boolean;
  width: number;
}

/** The spatial layer for a tile this wide (0: quarter, 1: half, 2: full resolution). */
export function layerForWidth(width: number): number {
  if (width < 360) return 0;
  if (width < 760) return 1;
  return 2;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class RoomSession {
  private socket: RtcSocket | null = null;
  private device: Device | null = null;
  private sendTransport: Transport | null = null;
  private recvTransport: Transport | null = null;
  private mic: Producer | null = null;
  private cam: Producer | null = null;
  /** The codec the server asks the camera to be sent in (H.264 while a SIP video phone watches the room). */
  private camCodec: 'VP8' | 'H264' = 'VP8';
  private micTrack: MediaStreamTrack | null = null;
  private camTrack: MediaStreamTrack | null = null;
  /** Muted by the user (as opposed to by a moderator). */
  private userMuted = false;
  private readonly consumers = new Map<string, ConsumerEntry>();
  private readonly pending: NewConsumer[] = [];
  private readonly tiles = new Map<string, TileView>();
  /** Per remote participant, one stream with all its tracks (the test hook's view). */
  private readonly streams = new Map<string, MediaStream>();
  private readonly seenSent = new Set<string>();
  private token: string | null = null;
  private joinArgs: { displayName: string; pin?: string } | null = null;
  /** When the page last joined again by itself after the server ended its session with `media-failed`. */
  private lastAutoRejoin = 0;
  private iceServers: RTCIceServer[] = [];
  private readonly relayOnly: boolean;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  private resuming = false;

  constructor(private readonly store: Store<RoomState>) {
    this.relayOnly = new URLSearchParams(location.search).get('relay') === '1';
    navigator.mediaDevices?.addEventListener?.('devicechange', () => void this.refreshDevices());
    this.installTestHook();
  }

  private get state(): RoomState {
    return this.store.get();
  }

  // ------------------------------------------------------------------ join, resume, leave

  async join(displayName: string, pin?: string): Promise<void> {
    if (this.state.phase === 'joining' || this.state.phase === 'waiting') return;
    this.store.set({ phase: 'joining', formError: null, waitingFor: null });
    this.joinArgs = { displayName, ...(pin ? { pin } : {}) };
    try {
      const socket = this.openSocket();
      await connected(socket);
      // The Device learns the routers' capabilities first; `join` then says what this browser can receive.
      const { routerRtpCapabilities } = await requestBare(socket, 'capabilities');
      const device = new Device();
      await device.load({ routerRtpCapabilities: routerRtpCapabilities as unknown as RtpCapabilities });
      this.device = device;
      const res = await requestJoin(
        socket,
        {
          room: this.state.room,
          displayName,
          ...(pin ? { pin } : {}),
          rtpCapabilities: this.deviceCapabilities(),
        },
        (state) => this.onLobby(state),
      );
      if (this.socket !== socket) return; // left while waiting
      await this.enterRoom(res);
    } catch (err) {
      // Left while waiting (Stop waiting): the form is shown already.
      const phase: string = this.store.get().phase;
      if (phase !== 'joining' && phase !== 'waiting') return;
      this.closeSocket();
      this.teardownMedia();
      const code = err instanceof RtcError ? err.code : '';
      this.store.set({
        phase: 'form',
        waitingFor: null,
        pinRequired: this.state.pinRequired || code === 'RTC_PIN_REQUIRED' || code === 'RTC_WRONG_PIN',
        formError:
          code === 'RTC_PIN_REQUIRED'
            ? 'This room needs a PIN.'
            : code === 'RTC_WRONG_PIN'
              ? 'That PIN is not right. Try again.'
              : code === 'CONF_LOBBY_DENIED'
                ? 'The host declined your request to join.'
                : `Could not join: ${errorText(err)}`,
      });
    }
  }

  /** The join waits in a webinar's lobby (no time limit meanwhile: see AnswerDeadline), or the wait is over. */
  private onLobby(state: LobbyState): void {
    if (state === 'host' || state === 'admission') this.store.set({ phase: 'waiting', waitingFor: state });
    else if (state === 'admitted') this.store.set({ phase: 'joining', waitingFor: null });
  }

  /** Stops waiting in the lobby: the connection goes (the server ends the wait), back to the form. */
  cancelWaiting(): void {
    if (this.state.phase !== 'waiting') return;
    this.closeSocket();
    this.teardownMedia();
    this.store.set({ phase: 'form', waitingFor: null, formError: null });
  }

  /** Joins again with the name (and PIN) used before, after leaving or being ended. */
  rejoin(): void {
    const args = this.joinArgs;
    if (args) void this.join(args.displayName, args.pin);
    else this.store.set({ phase: 'form' });
  }

  /** Leaves the room on purpose (the server is told; nothing is resumed afterwards). */
  async leave(): Promise<void> {
    const socket = this.socket;
    if (socket?.connected) await requestBare(socket, 'leave').catch(() => null);
    this.token = null;
    this.closeSocket();
    this.teardownMedia();
    this.store.set({ phase: 'left', devicesOpen: false });
  }

  private async enterRoom(res: JoinResult): Promise<void> {
    this.token = res.sessionToken;
    this.iceServers = res.iceServers.map((s) => ({
      urls: s.urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    }));
    if (!this.device) {
      const device = new Device();
      await device.load({ routerRtpCapabilities: res.routerRtpCapabilities as unknown as RtpCapabilities });
      this.device = device;
    }
    this.sendTransport = this.createTransport('send', res.sendTransport);
    this.recvTransport = this.createTransport('recv', res.recvTransport);
    // An attendee listens and watches only: neither its mic nor its camera is opened (no camera light, no upload
    // the server would refuse: RTC_ATTENDEE_CANNOT_PUBLISH) until a host promotes it (applyRole).
    const listenOnly = res.role === 'attendee';
    this.userMuted = false;
    this.store.set({
      phase: 'in-room',
      waitingFor: null,
      roomDisplayName: res.roomDisplayName || this.state.room,
      me: {
        id: res.participantId,
        displayName: this.joinArgs?.displayName ?? '',
        role: res.role,
        listenOnly,
        micMuted: listenOnly,
        mutedByModerator: false,
        camOff: listenOnly,
        micMissing: false,
        camMissing: false,
        speaking: false,
      },
      peers: res.peers.filter((p) => p.id !== res.participantId),
      audience: res.audience,
      chat: res.chat,
      unread: 0,
      attachmentMaxBytes: res.attachmentMaxBytes,
      ended: null,
    });
    document.title = `${res.roomDisplayName || this.state.room} · Parley`;
    for (const c of this.pending.splice(0)) void this.consume(c);
    if (!listenOnly) await this.startLocalMedia();
    await this.refreshDevices();
  }

  /** The socket came back after a drop: the same participant again (`join` with `resume`), then ICE restarts. */
  private async resume(): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.token || !this.joinArgs || this.resuming) return;
    this.resuming = true;
    try {
      const res = await request(socket, 'join', {
        room: this.state.room,
        ...this.joinArgs,
        rtpCapabilities: this.deviceCapabilities(),
        resume: this.token,
      });
      const same =
        res.resumed &&
        res.participantId === this.state.me?.id &&
        res.sendTransport.id === this.sendTransport?.id &&
        res.recvTransport.id === this.recvTransport?.id;
      if (!same) {
        // Another participant or other transports: start over with what the answer brought.
        this.teardownMedia(true);
        await this.enterRoom(res);
        this.toast('Reconnected');
        return;
      }
      this.token = res.sessionToken;
      this.store.set((s) => ({
        phase: 'in-room',
        peers: res.peers.filter((p) => p.id !== res.participantId),
        audience: res.audience,
        chat: mergeChat(s.chat, res.chat),
      }));
      this.applyRole(res.role);
      this.pruneRemote(res.peers);
      await Promise.all([this.sendTransport, this.recvTransport].map((t) => t && this.restartIce(t)));
      // Consumers arrive paused: one whose resume was lost with the connection is asked for again (audio at once,
      // video if its tile is in view), or it would stay silent.
      for (const e of this.consumers.values())
        if (!e.flowing) void (e.kind === 'audio' ? this.setFlowing(e, true) : this.applyTileView(e));
      this.toast('Reconnected');
    } catch (err) {
      if (err instanceof RtcError && err.code === 'RTC_RESUME_EXPIRED') {
        this.teardownMedia(true);
        this.token = null;
        this.store.set({ phase: 'joining' });
        try {
          const res = await requestJoin(
            socket,
            { room: this.state.room, ...this.joinArgs, rtpCapabilities: this.deviceCapabilities() },
            (state) => this.onLobby(state),
          );
          await this.enterRoom(res);
          this.toast('Rejoined the room');
        } catch (e) {
          this.end('rejoin-failed', `Could not rejoin: ${errorText(e)}`);
        }
      } else {
        this.toast(`Reconnecting failed: ${errorText(err)}`);
      }
    } finally {
      this.resuming = false;
    }
  }

  private async restartIce(t: Transport): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const { iceParameters } = await request(socket, 'restartIce', { transportId: t.id });
    await t.restartIce({ iceParameters: iceParameters as unknown as TransportOptions['iceParameters'] });
  }

  private end(reason: string, message: string): void {
    this.token = null;
    this.closeSocket();
    this.teardownMedia();
    this.store.set({ phase: 'ended', ended: { reason, message }, devicesOpen: false });
  }

  // ------------------------------------------------------------------ socket

  private openSocket(): RtcSocket {
    this.closeSocket();
    const socket = connectRtc();
    this.socket = socket;
    socket.on('disconnect', (reason) => {
      if (this.state.phase !== 'in-room') return;
      this.store.set({ phase: 'reconnecting' });
      // socket.io reconnects by itself, except after the server closed the connection on purpose.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect', () => {
      if (this.state.phase === 'reconnecting') void this.resume();
    });
    socket.on('peerJoined', (p) => this.upsertPeer(p));
    socket.on('peerUpdated', (p) => this.upsertPeer(p));
    socket.on('peerLeft', ({ id }) => this.removePeer(id));
    socket.on('speaking', ({ id, speaking }) => this.setSpeaking(id, speaking));
    socket.on('audience', ({ attendees }) => this.store.set({ audience: attendees }));
    socket.on('newConsumer', (c) => void this.consume(c));
    socket.on('consumerClosed', ({ consumerId }) => this.dropConsumer(consumerId));
    socket.on('videoCodec', ({ codec }) => void this.setCameraCodec(codec));
    socket.on('mutedBy', (e) => this.onMutedBy(e.muted, e.by));
    socket.on('chatMessage', (m) => this.addChat(m));
    socket.on('chatSeen', ({ messageId, participantId }) => this.addSeen(messageId, participantId));
    socket.on('ended', (e) => {
      this.end(e.reason, e.message);
      // The server lost the media under the call (a mediasoup worker died) and is rebuilding the room on a new
      // one: join again at once, which builds new transports there (the server holds the join until the room is
      // rebuilt). At most once per 10 s, so a room whose media keeps failing does not loop.
      if (e.reason === 'media-failed' && Date.now() - this.lastAutoRejoin > 10_000) {
        this.lastAutoRejoin = Date.now();
        this.rejoin();
      }
    });
    return socket;
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.removeAllListeners();
    socket.disconnect();
  }

  // ------------------------------------------------------------------ transports and producers

  private createTransport(direction: 'send' | 'recv', info: TransportInfo): Transport {
    const options = {
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates,
      dtlsParameters: info.dtlsParameters,
      iceServers: this.iceServers,
      iceTransportPolicy: this.relayOnly ? 'relay' : 'all',
    } as unknown as TransportOptions;
    const device = this.device!;
    const t =
      direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    t.on('connect', ({ dtlsParameters }, callback, errback) => {
      const socket = this.socket;
      if (!socket) return errback(new Error('not connected'));
      request(socket, 'connectTransport', {
        transportId: t.id,
        dtlsParameters: dtlsParameters as unknown as Record<string, unknown>,
      }).then(() => callback(), errback);
    });
    if (direction === 'send')
      t.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        const socket = this.socket;
        if (!socket) return errback(new Error('not connected'));
        request(socket, 'produce', {
          transportId: t.id,
          kind,
          rtpParameters: rtpParameters as unknown as Record<string, unknown>,
          source: appData['source'] === 'camera' ? 'camera' : 'mic',
        }).then(({ producerId }) => callback({ id: producerId }), errback);
      });
    t.on('connectionstatechange', (state) => {
      // A network change without a socket drop: new ICE credentials on the same transport.
      if (state === 'failed' && this.socket?.connected && this.state.phase === 'in-room')
        void this.restartIce(t).catch(() => undefined);
    });
    return t;
  }

  /**
   * Promoted to panelist (may speak now: the mic and camera open, the server unmutes it) or demoted back to the
   * audience (both closed: an attendee sends nothing).
   */
  private applyRole(role: ParticipantRoleName): void {
    const me = this.state.me;
    if (!me || role === me.role) return;
    const wasListening = me.listenOnly;
    const listenOnly = role === 'attendee';
    this.setMe({ role, listenOnly });
    if (wasListening && !listenOnly) void this.startLocalMedia().then(() => this.refreshDevices());
    else if (!wasListening && listenOnly) void this.stopLocalMedia();
  }

  /** Closes the mic and camera (producers here and on the server, tracks stopped: the camera's light goes off). */
  private async stopLocalMedia(): Promise<void> {
    const socket = this.socket;
    const producers = [this.mic, this.cam].filter((p): p is Producer => p !== null);
    this.mic = this.cam = null;
    this.micTrack?.stop();
    this.camTrack?.stop();
    this.micTrack = this.camTrack = null;
    this.setMe({ camOff: true, micMuted: true });
    this.store.set({ localVideo: null });
    for (const p of producers) {
      p.close();
      if (socket) await request(socket, 'closeProducer', { producerId: p.id }).catch(() => null);
    }
  }

  private async startLocalMedia(): Promise<void> {
    const { micId, camId } = this.state.devices;
    const audio = await getTrack('audio', micId);
    const video = await getTrack('video', camId);
    const me = this.state.me!;
    this.store.set({ me: { ...me, micMissing: !audio, camMissing: !video, camOff: !video } });
    const send = this.sendTransport;
    if (!send) return;
    if (audio) {
      this.micTrack = audio;
      try {
        this.mic = await send.produce({
          track: audio,
          codecOptions: { opusStereo: false, opusFec: true, opusDtx: false },
          stopTracks: false,
          appData: { source: 'mic' },
        });
        if (this.state.me?.micMuted) this.mic.pause();
      } catch (err) {
        this.setMe({ micMissing: true });
        this.toast(`Microphone could not be sent: ${errorText(err)}`);
      }
    }
    if (video) {
      this.camTrack = video;
      this.store.set({ localVideo: new MediaStream([video]) });
      try {
        this.cam = await send.produce({
          track: video,
          encodings: CAMERA_ENCODINGS,
          codecOptions: { videoGoogleStartBitrate: 1000 },
          stopTracks: false,
          appData: { source: 'camera' },
          ...(cameraCodec(this.device, this.camCodec)
            ? { codec: cameraCodec(this.device, this.camCodec) }
            : {}),
        });
      } catch (err) {
        this.setMe({ camMissing: true });
        this.store.set({ localVideo: null });
        this.toast(`Camera could not be sent: ${errorText(err)}`);
      }
    }
  }

  private deviceCapabilities(): Record<string, unknown> {
    return this.device!.rtpCapabilities as unknown as Record<string, unknown>;
  }

  /** Closes every producer, consumer and transport; `keepDevice`: the loaded Device stays for the next join. */
  private teardownMedia(keepDevice = false): void {
    for (const e of this.consumers.values()) e.consumer.close();
    this.consumers.clear();
    this.pending.length = 0;
    this.mic?.close();
    this.cam?.close();
    this.mic = this.cam = null;
    this.micTrack?.stop();
    this.camTrack?.stop();
    this.micTrack = this.camTrack = null;
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.sendTransport = this.recvTransport = null;
    if (!keepDevice) this.device = null;
    this.streams.clear();
    this.store.set({ remote: {}, localVideo: null });
  }

  // ------------------------------------------------------------------ mic, camera, devices

  async toggleMic(): Promise<void> {
    const me = this.state.me;
    const socket = this.socket;
    if (!me || !socket) return;
    if (!me.micMuted) {
      this.userMuted = true;
      this.mic?.pause();
      this.setMe({ micMuted: true });
      await request(socket, 'setMuted', { muted: true }).catch((e) => this.toast(errorText(e)));
      return;
    }
    if (me.listenOnly) {
      this.toast('You are listening only. A host can invite you to speak.');
      return;
    }
    if (me.mutedByModerator) {
      this.toast('A moderator muted you. You can unmute once they allow it.');
      return;
    }
    try {
      await request(socket, 'setMuted', { muted: false });
      this.userMuted = false;
      this.mic?.resume();
      this.setMe({ micMuted: false });
    } catch (err) {
      if (err instanceof RtcError && err.code === 'RTC_MUTED_BY_MODERATOR')
        this.setMe({ mutedByModerator: true });
      this.toast(errorText(err));
    }
  }

  async toggleCamera(): Promise<void> {
    const me = this.state.me;
    const socket = this.socket;
    if (!me || !socket) return;
    if (me.listenOnly) {
      this.toast('You are listening only. A host can invite you to speak.');
      return;
    }
    if (!me.camOff) {
      this.setMe({ camOff: true });
      const cam = this.cam;
      if (cam) {
        cam.pause();
        await request(socket, 'pauseProducer', { producerId: cam.id }).catch(() => null);
        await cam.replaceTrack({ track: null }).catch(() => undefined);
      }
      this.camTrack?.stop(); // the camera's light goes off
      this.camTrack = null;
      this.store.set({ localVideo: null });
      return;
    }
    const track = await getTrack('video', this.state.devices.camId);
    if (!track) {
      this.toast('No camera could be opened.');
      return;
    }
    this.camTrack = track;
    this.store.set({ localVideo: new MediaStream([track]) });
    this.setMe({ camOff: false, camMissing: false });
    try {
      if (this.cam) {
        await this.cam.replaceTrack({ track });
        this.cam.resume();
        await request(socket, 'resumeProducer', { producerId: this.cam.id });
      } else if (this.sendTransport) {
        this.cam = await this.sendTransport.produce({
          track,
          encodings: CAMERA_ENCODINGS,
          stopTracks: false,
          appData: { source: 'camera' },
          ...(cameraCodec(this.device, this.camCodec)
            ? { codec: cameraCodec(this.device, this.camCodec) }
            : {}),
        });
      }
    } catch (err) {
      this.toast(`Camera: ${errorText(err)}`);
    }
  }

  /**
   * The server asks for the camera in `codec` (a video phone joined or the last one left): the camera's producer is
   * replaced by one in that codec (the others' consumers follow the new producer). A camera that is off is
   * produced in the new codec when it is turned on.
   */
  private async setCameraCodec(codec: 'VP8' | 'H264'): Promise<void> {
    if (codec === this.camCodec) return;
    this.camCodec = codec;
    const cam = this.cam;
    const socket = this.socket;
    if (!cam || !socket || !this.sendTransport) return;
    const want = cameraCodec(this.device, codec)?.mimeType.toLowerCase();
    if (!want || cam.rtpParameters.codecs[0]?.mimeType.toLowerCase() === want) return;
    const track = this.camTrack;
    this.cam = null;
    cam.close();
    await request(socket, 'closeProducer', { producerId: cam.id }).catch(() => null);
    if (!track || this.state.me?.camOff) return;
    try {
      this.cam = await this.sendTransport.produce({
        track,
        encodings: CAMERA_ENCODINGS,
        stopTracks: false,
        appData: { source: 'camera' },
        codec: cameraCodec(this.device, codec),
      });
    } catch (err) {
      this.toast(`Camera: ${errorText(err)}`);
    }
  }

  async selectMic(deviceId: string): Promise<void> {
    this.store.set((s) => ({ devices: { ...s.devices, micId: deviceId } }));
    if (this.state.me?.listenOnly) return; // opened with it once promoted
    const track = await getTrack('audio', deviceId);
    if (!track) return this.toast('That microphone could not be opened.');
    const old = this.micTrack;
    this.micTrack = track;
    if (this.mic) await this.mic.replaceTrack({ track });
    old?.stop();
  }

  async selectCamera(deviceId: string): Promise<void> {
    this.store.set((s) => ({ devices: { ...s.devices, camId: deviceId } }));
    if (this.state.me?.camOff) return;
    const track = await getTrack('video', deviceId);
    if (!track) return this.toast('That camera could not be opened.');
    const old = this.camTrack;
    this.camTrack = track;
    if (this.cam) await this.cam.replaceTrack({ track });
    this.store.set({ localVideo: new MediaStream([track]) });
    old?.stop();
  }

  async refreshDevices(): Promise<void> {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const list = await navigator.mediaDevices.enumerateDevices().catch(() => [] as MediaDeviceInfo[]);
    const pick = (kind: MediaDeviceKind, fallback: string) =>
      list
        .filter((d) => d.kind === kind && d.deviceId !== '')
        .map((d, i) => ({ id: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
    const micId = this.micTrack?.getSettings().deviceId ?? this.state.devices.micId;
    const camId = this.camTrack?.getSettings().deviceId ?? this.state.devices.camId;
    this.store.set({
      devices: { mics: pick('audioinput', 'Microphone'), cams: pick('videoinput', 'Camera'), micId, camId },
    });
  }

  private onMutedBy(muted: boolean, by: 'self' | 'moderator'): void {
    if (muted) {
      this.mic?.pause();
      this.setMe({ micMuted: true, mutedByModerator: by === 'moderator' });
      if (by === 'moderator' && !this.state.me?.listenOnly) this.toast('A moderator muted your microphone.');
      return;
    }
    if (by === 'moderator') {
      this.setMe({ mutedByModerator: false });
      this.toast('A moderator allowed you to unmute.');
      if (this.userMuted) return;
    }
    this.mic?.resume();
    this.setMe({ micMuted: false, mutedByModerator: false });
  }

  private setMe(patch: Partial<NonNullable<RoomState['me']>>): void {
    this.store.set((s) => (s.me ? { me: { ...s.me, ...patch } } : {}));
  }

  // ------------------------------------------------------------------ peers and consumers

  private upsertPeer(p: PeerView): void {
    const me = this.state.me;
    if (p.id === me?.id) {
      this.applyRole(p.role);
      return;
    }
    this.store.set((s) => {
      const i = s.peers.findIndex((x) => x.id === p.id);
      return { peers: i < 0 ? [...s.peers, p] : s.peers.map((x, j) => (j === i ? p : x)) };
    });
  }

  private removePeer(id: string): void {
    for (const [cid, e] of this.consumers) if (e.participantId === id) this.dropConsumer(cid);
    this.tiles.delete(id);
    this.streams.delete(id);
    this.store.set((s) => {
      const remote = { ...s.remote };
      delete remote[id];
      return { peers: s.peers.filter((p) => p.id !== id), remote };
    });
  }

  /** After a resume: forget the media of participants who left meanwhile. */
  private pruneRemote(peers: PeerView[]): void {
    const ids = new Set(peers.map((p) => p.id));
    for (const [cid, e] of this.consumers) if (!ids.has(e.participantId)) this.dropConsumer(cid);
  }

  private setSpeaking(id: string, speaking: boolean): void {
    if (id === this.state.me?.id) return this.setMe({ speaking });
    this.store.set((s) => ({ peers: s.peers.map((p) => (p.id === id ? { ...p, speaking } : p)) }));
  }

  private async consume(c: NewConsumer): Promise<void> {
    const recv = this.recvTransport;
    if (!recv || !this.device) {
      this.pending.push(c);
      return;
    }
    if (this.consumers.has(c.consumerId)) return;
    let consumer: Consumer;
    try {
      consumer = await recv.consume({
        id: c.consumerId,
        producerId: c.producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters as unknown as RtpParameters,
        appData: { participantId: c.participantId, source: c.source },
      });
    } catch (err) {
      console.error('consume failed', c.consumerId, err);
      return;
    }
    if (recv !== this.recvTransport) return consumer.close();
    const entry: ConsumerEntry = {
      consumer,
      participantId: c.participantId,
      kind: c.kind,
      layered: c.layered,
      flowing: false,
      spatialLayer: null,
    };
    this.consumers.set(c.consumerId, entry);
    consumer.on('trackended', () => this.dropConsumer(c.consumerId));
    consumer.on('transportclose', () => this.consumers.delete(c.consumerId));
    let stream = this.streams.get(c.participantId);
    if (!stream) this.streams.set(c.participantId, (stream = new MediaStream()));
    for (const t of stream.getTracks()) if (t.kind === c.kind) stream.removeTrack(t);
    stream.addTrack(consumer.track);
    this.setRemote(c.participantId, (r) =>
      c.kind === 'audio'
        ? { ...r, audio: consumer.track }
        : { ...r, video: { consumerId: c.consumerId, track: consumer.track, layered: c.layered } },
    );
    // Audio is heard whether its tile is on screen or not; video flows while its tile is visible.
    if (c.kind === 'audio') await this.setFlowing(entry, true);
    else await this.applyTileView(entry);
  }

  private dropConsumer(consumerId: string): void {
    const e = this.consumers.get(consumerId);
    if (!e) return;
    this.consumers.delete(consumerId);
    e.consumer.close();
    this.streams.get(e.participantId)?.removeTrack(e.consumer.track);
    this.setRemote(e.participantId, (r) => {
      const next = { ...r };
      if (e.kind === 'audio' && r.audio === e.consumer.track) delete next.audio;
      if (e.kind === 'video' && r.video?.consumerId === consumerId) delete next.video;
      return next;
    });
  }

  private setRemote(id: string, f: (r: RemoteMedia) => RemoteMedia): void {
    this.store.set((s) => ({ remote: { ...s.remote, [id]: f(s.remote[id] ?? {}) } }));
  }

  /** A tile scrolled in or out of view, or was resized (from the tile's IntersectionObserver/ResizeObserver). */
  tileView(participantId: string, view: TileView): void {
    this.tiles.set(participantId, view);
    for (const e of this.consumers.values())
      if (e.participantId === participantId && e.kind === 'video') void this.applyTileView(e);
  }

  private async applyTileView(e: ConsumerEntry): Promise<void> {
    const view = this.tiles.get(e.participantId);
    const visible = view?.visible ?? false;
    await this.setFlowing(e, visible);
    if (!visible || !e.layered || !view) return;
    const layer = layerForWidth(view.width * (window.devicePixelRatio || 1));
    if (layer === e.spatialLayer || !this.socket) return;
    e.spatialLayer = layer;
    await request(this.socket, 'setPreferredLayers', {
      consumerId: e.consumer.id,
      spatialLayer: layer,
    }).catch(() => (e.spatialLayer = null));
  }

  private async setFlowing(e: ConsumerEntry, flowing: boolean): Promise<void> {
    if (e.flowing === flowing || !this.socket) return;
    e.flowing = flowing;
    try {
      await request(this.socket, flowing ? 'resumeConsumer' : 'pauseConsumer', { consumerId: e.consumer.id });
    } catch {
      e.flowing = !flowing;
    }
  }

  // ------------------------------------------------------------------ chat

  setChatOpen(open: boolean): void {
    this.store.set((s) => ({ chatOpen: open, unread: open ? 0 : s.unread }));
  }

  setDevicesOpen(open: boolean): void {
    this.store.set({ devicesOpen: open });
    if (open) void this.refreshDevices();
  }

  async sendChat(text: string, file: File | null): Promise<boolean> {
    const socket = this.socket;
    if (!socket || (!text.trim() && !file)) return false;
    let attachmentId: string | undefined;
    if (file) {
      const att = await this.upload(file);
      if (!att) return false;
      attachmentId = att.id;
    }
    try {
      const m = await request(socket, 'chatSend', { text, ...(attachmentId ? { attachmentId } : {}) });
      this.addChat(m);
      return true;
    } catch (err) {
      this.toast(`Message not sent: ${errorText(err)}`);
      return false;
    }
  }

  private async upload(file: File): Promise<ChatAttachment | null> {
    const max = this.state.attachmentMaxBytes;
    if (max > 0 && file.size > max) {
      this.toast(`${file.name} is too large (at most ${formatBytes(max)}).`);
      return null;
    }
    this.store.set({ uploading: true });
    try {
      const res = await fetch(`/api/rooms/${encodeURIComponent(this.state.room)}/attachments`, {
        method: 'POST',
        headers: {
          'Content-Type': file.type || 'application/octet-stream',
          'X-File-Name': encodeURIComponent(file.name),
          Authorization: `Bearer ${this.token ?? ''}`,
        },
        body: file,
      });
      const body = (await res.json().catch(() => ({}))) as Partial<ChatAttachment> & { message?: string };
      if (!res.ok || typeof body.id !== 'string') {
        this.toast(`Upload failed: ${body.message ?? `HTTP ${res.status}`}`);
        return null;
      }
      return body as ChatAttachment;
    } catch (err) {
      this.toast(`Upload failed: ${errorText(err)}`);
      return null;
    } finally {
      this.store.set({ uploading: false });
    }
  }

  /** Downloads an attachment with this participant's token, saved under its own name. */
  async download(att: ChatAttachment): Promise<void> {
    try {
      const res = await fetch(att.url, { headers: { Authorization: `Bearer ${this.token ?? ''}` } });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { message?: string };
        this.toast(`Download failed: ${body.message ?? `HTTP ${res.status}`}`);
        return;
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = att.name;
      a.rel = 'noopener';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      this.toast(`Download failed: ${errorText(err)}`);
    }
  }

  /** A message scrolled into view in the open chat panel: tell the room it was seen (once). */
  markSeen(messageId: string): void {
    const me = this.state.me;
    const socket = this.socket;
    const m = this.state.chat.find((x) => x.id === messageId);
    if (!me || !socket || !m || m.from === me.id || m.seenBy.includes(me.id) || this.seenSent.has(messageId))
      return;
    this.seenSent.add(messageId);
    this.addSeen(messageId, me.id);
    request(socket, 'chatSeen', { messageId }).catch(() => this.seenSent.delete(messageId));
  }

  private addChat(m: ChatMessage): void {
    this.store.set((s) => {
      if (s.chat.some((x) => x.id === m.id)) return {};
      const mine = m.from !== null && m.from === s.me?.id;
      return { chat: [...s.chat, m], unread: s.chatOpen || mine ? s.unread : s.unread + 1 };
    });
  }

  private addSeen(messageId: string, participantId: string): void {
    this.store.set((s) => ({
      chat: s.chat.map((m) =>
        m.id === messageId && !m.seenBy.includes(participantId)
          ? { ...m, seenBy: [...m.seenBy, participantId] }
          : m,
      ),
    }));
  }

  // ------------------------------------------------------------------ misc

  toast(text: string): void {
    clearTimeout(this.toastTimer);
    this.store.set({ toast: { id: Date.now(), text } });
    this.toastTimer = setTimeout(() => this.store.set({ toast: null }), TOAST_MS);
  }

  /**
   * For the browser tests only: the remote streams (WebAudio analysis in the page), the receive statistics per
   * consumer, and a way to drop the socket (reconnect). Nothing here changes what a person sees.
   */
  private installTestHook(): void {
    const hook = {
      participantId: (): string | null => this.state.me?.id ?? null,
      streams: (): Record<string, MediaStream> => Object.fromEntries(this.streams),
      stats: async () => {
        const out: {
          participantId: string;
          kind: string;
          bytesReceived: number;
          framesDecoded: number;
          codec: string;
        }[] = [];
        for (const e of this.consumers.values()) {
          let bytesReceived = 0;
          let framesDecoded = 0;
          let codec = '';
          const report = await e.consumer.getStats();
          report.forEach((s: Record<string, unknown>) => {
            if (s['type'] === 'inbound-rtp') {
              bytesReceived += Number(s['bytesReceived'] ?? 0);
              framesDecoded += Number(s['framesDecoded'] ?? 0);
            }
            if (s['type'] === 'codec') codec = String(s['mimeType'] ?? '');
          });
          out.push({ participantId: e.participantId, kind: e.kind, bytesReceived, framesDecoded, codec });
        }
        return out;
      },
      /** The kinds of the page's own live tracks (a camera's light is on while its track is live). */
      localTracks: (): string[] =>
        [this.micTrack, this.camTrack].flatMap((t) => (t && t.readyState === 'live' ? [t.kind] : [])),
      dropSocket: (): void => {
        this.socket?.io.engine?.close();
      },
    };
    (window as unknown as { __parley: typeof hook }).__parley = hook;
  }
}

function mergeChat(have: ChatMessage[], got: ChatMessage[]): ChatMessage[] {
  const byId = new Map(have.map((m) => [m.id, m]));
  for (const m of got) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.at.localeCompare(b.at));
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

/**
 * The camera's codec among the Device's (the router's): VP8, or H.264 with packetization-mode 1 (what the room's
 * video phones negotiated; the router's profile is constrained baseline 42e01f). Undefined: the browser has none.
 */
function cameraCodec(device: Device | null, codec: 'VP8' | 'H264') {
  const codecs = device?.rtpCapabilities.codecs ?? [];
  if (codec === 'H264') {
    const h264 = codecs.find(
      (c) =>
        c.mimeType.toLowerCase() === 'video/h264' && String(c.parameters?.['packetization-mode']) === '1',
    );
    if (h264) return h264;
  }
  return codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
}

function connected(socket: RtcSocket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ok = (): void => {
      socket.off('connect_error', bad);
      resolve();
    };
    const bad = (err: Error): void => {
      socket.off('connect', ok);
      reject(new Error(`the server cannot be reached (${err.message})`));
    };
    socket.once('connect', ok);
    socket.once('connect_error', bad);
  });
}

async function getTrack(kind: 'audio' | 'video', deviceId: string | null): Promise<MediaStreamTrack | null> {
  if (!navigator.mediaDevices?.getUserMedia) return null;
  // `?audio=raw` ("original sound": music, test tones): no echo cancellation, noise suppression or gain control,
  // which treat a steady tone as noise and fade it.
  const processing = new URLSearchParams(location.search).get('audio') !== 'raw';
  const audio: MediaTrackConstraints = {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    echoCancellation: processing,
    noiseSuppression: processing,
    autoGainControl: processing,
  };
  const video: MediaTrackConstraints = {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 30 },
  };
  try {
    const s = await navigator.mediaDevices.getUserMedia(kind === 'audio' ? { audio } : { video });
    return s.getTracks()[0] ?? null;
  } catch {
    return null;
  }
}
