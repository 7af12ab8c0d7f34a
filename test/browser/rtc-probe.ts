/**
 * A minimal browser client of Parley's /rtc protocol for tests and benchmarks (no UI): joins a room, sends its mic
 * (and optionally its camera), receives every stream, and exposes what it got on `window.probe`. Bundled with
 * esbuild by test/support/rtc-probe.ts and run in Debian's Chromium.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import type {
  AckResult,
  JoinResult,
  NewConsumer,
  RtcClientToServer,
  RtcServerToClient,
} from '../../src/protocol/rtc-protocol';

interface ProbeOptions {
  server: string;
  room: string;
  name: string;
  pin?: string;
  video?: boolean;
  relay?: boolean;
}

interface Received {
  consumer: types.Consumer;
  participantId: string;
  analyser?: AnalyserNode;
}

class Probe {
  socket!: Socket<RtcServerToClient, RtcClientToServer>;
  device = new Device();
  join?: JoinResult;
  send?: types.Transport;
  recv?: types.Transport;
  received = new Map<string, Received>();
  events: string[] = [];
  ended?: { reason: string; message: string };
  reconnects = 0;
  /** For tests that speak the protocol by hand. */
  lib = { io };
  private ctx = new AudioContext();
  private ready!: Promise<void>;
  private opts!: ProbeOptions;

  request<T>(event: keyof RtcClientToServer, payload?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const ack = (r: AckResult<T>): void =>
        r.ok ? resolve(r.data) : reject(new Error(`${r.error.code}: ${r.error.message}`));
      const emit = this.socket.emit as unknown as (e: string, ...a: unknown[]) => void;
      if (payload === undefined) emit.call(this.socket, event, ack);
      else emit.call(this.socket, event, payload, ack);
    });
  }

  async start(opts: ProbeOptions): Promise<string> {
    this.mark('page loaded, join starts');
    this.opts = opts;
    this.socket = io(`${opts.server}/rtc`, { transports: ['websocket'] });
    let readyResolve!: () => void;
    this.ready = new Promise((r) => (readyResolve = r));
    this.socket.on('newConsumer', (c) => void this.ready.then(() => this.consume(c)));
    this.socket.on('consumerClosed', ({ consumerId }) => {
      this.received.get(consumerId)?.consumer.close();
      this.received.delete(consumerId);
      this.events.push(`consumerClosed ${consumerId}`);
    });
    this.socket.on('peerJoined', (p) => this.events.push(`peerJoined ${p.displayName}`));
    this.socket.on('peerLeft', (p) => this.events.push(`peerLeft ${p.id}`));
    this.socket.on('ended', (e) => (this.ended = e));
    this.socket.on('disconnect', () => this.events.push('disconnect'));
    this.socket.io.on('reconnect', () => void this.resume());
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => {
        this.mark('connected');
        resolve();
      });
      this.socket.once('connect_error', reject);
    });
    const { routerRtpCapabilities } = await this.request<{ routerRtpCapabilities: types.RtpCapabilities }>(
      'capabilities',
    );
    await this.device.load({ routerRtpCapabilities });
    this.join = await this.request<JoinResult>('join', {
      room: opts.room,
      displayName: opts.name,
      ...(opts.pin ? { pin: opts.pin } : {}),
      rtpCapabilities: this.device.rtpCapabilities,
    });
    this.mark('joined');
    const iceServers = this.join.iceServers as RTCIceServer[];
    const policy: RTCIceTransportPolicy = opts.relay ? 'relay' : 'all';
    this.send = this.device.createSendTransport({
      ...(this.join.sendTransport as unknown as types.TransportOptions),
      iceServers,
      iceTransportPolicy: policy,
    });
    this.recv = this.device.createRecvTransport({
      ...(this.join.recvTransport as unknown as types.TransportOptions),
      iceServers,
      iceTransportPolicy: policy,
    });
    for (const t of [this.send, this.recv]) {
      t.on('connect', ({ dtlsParameters }, ok, fail) =>
        this.request('connectTransport', { transportId: t.id, dtlsParameters }).then(() => ok(), fail),
      );
      t.on('connectionstatechange', (s) => this.events.push(`${t.direction} ${s}`));
    }
    this.send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) =>
      this.request<{ producerId: string }>('produce', {
        transportId: this.send!.id,
        kind,
        rtpParameters,
        source: (appData as { source: string }).source,
      }).then(({ producerId }) => ok({ id: producerId }), fail),
    );
    readyResolve();
    // The tone as it is: no echo cancellation, noise suppression or gain control (they attenuate a steady tone).
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      video: Boolean(opts.video),
    });
    await this.send.produce({
      track: media.getAudioTracks()[0]!,
      appData: { source: 'mic' },
      codecOptions: { opusDtx: false },
    });
    if (opts.video)
      await this.send.produce({
        track: media.getVideoTracks()[0]!,
        appData: { source: 'camera' },
        encodings: [
          { scaleResolutionDownBy: 2, maxBitrate: 150_000 },
          { scaleResolutionDownBy: 1, maxBitrate: 500_000 },
        ],
      });
    return this.join.participantId;
  }

  private async consume(c: NewConsumer): Promise<void> {
    const consumer = await this.recv!.consume({
      id: c.consumerId,
      producerId: c.producerId,
      kind: c.kind,
      rtpParameters: c.rtpParameters as unknown as types.RtpParameters,
    });
    const r: Received = { consumer, participantId: c.participantId };
    if (c.kind === 'audio') {
      const stream = new MediaStream([consumer.track]);
      // Chromium needs the stream attached to a media element before WebAudio receives remote audio.
      const el = new Audio();
      el.srcObject = stream;
      el.muted = true;
      void el.play().catch(() => undefined);
      const src = this.ctx.createMediaStreamSource(stream);
      const analyser = this.ctx.createAnalyser();
      analyser.fftSize = 8192;
      src.connect(analyser);
      r.analyser = analyser;
    }
    this.received.set(c.consumerId, r);
    if (c.kind === 'audio') this.mark('first audio consumer');
    this.events.push(`newConsumer ${c.kind} from ${c.participantId}`);
    const mimes = ((c.rtpParameters as { codecs?: Array<{ mimeType: string }> }).codecs ?? []).map(
      (k) => k.mimeType,
    );
    this.events.push(`codecs ${mimes.join(',')}`);
    if (r.analyser) this.watchFirstAudio(r.analyser, c.participantId);
    await this.request('resumeConsumer', { consumerId: c.consumerId });
  }

  private async resume(): Promise<void> {
    this.reconnects++;
    const r = await this.request<JoinResult>('join', {
      room: this.opts.room,
      displayName: this.opts.name,
      rtpCapabilities: {},
      resume: this.join!.sessionToken,
    });
    this.events.push(`resumed ${r.participantId}`);
    for (const t of [this.send!, this.recv!]) {
      const { iceParameters } = await this.request<{ iceParameters: types.IceParameters }>('restartIce', {
        transportId: t.id,
      });
      await t.restartIce({ iceParameters });
    }
  }

  /** performance.now() (ms since the page started loading) when each sender's audio was first heard. */
  firstAudioAt: Record<string, number> = {};
  /** Milestones of the join, in ms since the page started loading (first occurrence of each). */
  marks: Record<string, number> = {};

  private mark(name: string): void {
    this.marks[name] ??= performance.now();
  }

  private watchFirstAudio(analyser: AnalyserNode, from: string): void {
    const data = new Float32Array(analyser.fftSize);
    const check = (): void => {
      analyser.getFloatTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v));
      if (peak > 0.02) this.firstAudioAt[from] ??= performance.now();
      else setTimeout(check, 10);
    };
    check();
  }

  /**
   * The browser's own floor: two RTCPeerConnections in this page, the fake microphone sent from one to the other,
   * ms from the page's navigation start until its audio is heard (the same detection as `firstAudioAt`); call it
   * right after loading the page.
   */
  async loopbackBaseline(): Promise<number> {
    const t0 = 0; // measured like firstAudioAt: from the page's navigation start
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
    const heard = new Promise<number>((resolve) => {
      b.ontrack = (e) => {
        const stream = new MediaStream([e.track]);
        const el = new Audio();
        el.srcObject = stream;
        el.muted = true;
        void el.play().catch(() => undefined);
        const analyser = this.ctx.createAnalyser();
        analyser.fftSize = 2048;
        this.ctx.createMediaStreamSource(stream).connect(analyser);
        const data = new Float32Array(analyser.fftSize);
        const check = (): void => {
          analyser.getFloatTimeDomainData(data);
          let peak = 0;
          for (const v of data) peak = Math.max(peak, Math.abs(v));
          if (peak > 0.02) resolve(performance.now() - t0);
          else setTimeout(check, 10);
        };
        check();
      };
    });
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    a.addTrack(media.getAudioTracks()[0]!, media);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    const ms = await heard;
    a.close();
    b.close();
    media.getTracks().forEach((t) => t.stop());
    return ms;
  }

  /** Level (dBFS) of `freq` in each received audio stream, by sender. */
  levels(freq: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.received.values()) {
      if (!r.analyser) continue;
      const bins = new Float32Array(r.analyser.frequencyBinCount);
      r.analyser.getFloatFrequencyData(bins);
      const hz = this.ctx.sampleRate / r.analyser.fftSize;
      const i = Math.round(freq / hz);
      out[r.participantId] = Math.max(bins[i - 1]!, bins[i]!, bins[i + 1]!);
    }
    return out;
  }

  /** bytesReceived / framesDecoded per received stream. */
  async stats(): Promise<Array<{ participantId: string; kind: string; bytes: number; frames: number }>> {
    const out = [];
    for (const r of this.received.values()) {
      let bytes = 0;
      let frames = 0;
      (await r.consumer.getStats()).forEach(
        (s: { type: string; bytesReceived?: number; framesDecoded?: number }) => {
          if (s.type === 'inbound-rtp') {
            bytes += s.bytesReceived ?? 0;
            frames += s.framesDecoded ?? 0;
          }
        },
      );
      out.push({ participantId: r.participantId, kind: r.consumer.kind, bytes, frames });
    }
    return out;
  }

  /** Drops the connection as a network failure would (socket.io reconnects by itself). */
  dropConnection(): void {
    (this.socket.io.engine as unknown as { close(): void }).close();
  }

  async selectedCandidateType(): Promise<string | undefined> {
    const stats = await this.send!.getStats();
    let pairId: string | undefined;
    const byId = new Map<string, { type: string; candidateType?: string; localCandidateId?: string }>();
    stats.forEach((s: { id: string; type: string; selectedCandidatePairId?: string }) => {
      byId.set(s.id, s as never);
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? byId.get(pairId) : undefined;
    return pair?.localCandidateId ? byId.get(pair.localCandidateId)?.candidateType : undefined;
  }

  leave(): Promise<unknown> {
    return this.request('leave');
  }
}

(window as unknown as { probe: Probe }).probe = new Probe();
