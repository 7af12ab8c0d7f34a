import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Conference } from '../conference/conference';
import type { Participant } from '../conference/participant/participant';
import type { MediaLease } from '../conference/room/room-media';
import type { Room } from '../conference/room/room';
import type { RoomAudio } from '../media/room-audio/room-audio';
import type { MediaSource } from '../media/media-source';
import type { PortAllocator } from '../media/rtp/port-allocator';
import type { VideoCodecName } from '../media/video/keyframe';
import type { SpeakerVideoOutput } from '../conference/video/room-video';
import { TypedEmitter } from '../util/typed-emitter';
import { buildFfmpegArgs, type Picture } from './ffmpeg-args';
import { writeFfmpegSdp, type SdpStream } from './ffmpeg-sdp';
import { FfmpegSupervisor, type SpawnFn } from './ffmpeg-supervisor';
import { LivestreamState, LivestreamStateMachine } from './livestream-state';
import { MixTap, routerCodec, VideoTap, type TapCodec } from './media-taps';
import { leasePortPair, waitUntilBound, type PortLease } from './port-lease';
import { RestartPolicy } from './restart-policy';

/** What a moderator asked for (REST body, dashboard). */
export interface LivestreamRequest {
  rtmp: string[];
  hls: boolean;
  record: boolean;
  /** `speaker`: the active speaker's camera; `grid`: up to `MAX_GRID` cameras tiled (the speaker first). */
  layout: 'speaker' | 'grid';
}

/** Cameras a grid shows at most (each is one decode in ffmpeg). */
export const MAX_GRID = 4;

export interface LivestreamSettings {
  ffmpegPath: string;
  hlsSegmentSeconds: number;
  hlsListSize: number;
  recordingsDir: string;
  restartInitialMs: number;
  restartMaxMs: number;
  maxRestarts: number;
  picture: Omit<Picture, 'keyframeSeconds'>;
  /** rtmps:// outputs check the ingest's certificate (`livestream.rtmpsVerify`) against this CA bundle. */
  rtmpsVerify: boolean;
  rtmpsCaFile: string;
  /** The still's font (DejaVu Sans from fonts-dejavu-core). */
  fontFile: string;
  /** Where the stream's temp dir (SDP, still text, HLS) is made. */
  tmpRoot?: string;
  /** How often ffmpeg's camera source is asked for a keyframe. */
  keyframeMs?: number;
}

export interface LivestreamEvents {
  /** ffmpeg encodes (first time, or again after a restart). */
  live: [];
  /** ffmpeg exited and is restarted after `inMs`. */
  restarting: [inMs: number, error: string | undefined];
  stopped: [];
  failed: [error: string];
  /**
   * The room's router or media thread died under the stream: it has torn itself down (state restarting) and
   * waits to be rebuilt on the room's new media (the service does it).
   */
  mediaLost: [];
}

/** GET /api/rooms/:id/livestream, the dashboard. */
export interface LivestreamView {
  roomId: string;
  state: LivestreamState;
  /** When the current state was entered (ISO 8601). */
  since: string;
  startedAt: string;
  outputs: { rtmp: string[]; hls: string | null; recording: string | null };
  /** What the picture shows: the active speaker's camera, a grid of cameras, or the still. */
  video: 'camera' | 'grid' | 'still';
  layout: 'speaker' | 'grid';
  /** Speaker switches the camera picture went through (each one at the new speaker's keyframe). */
  switches: number;
  restarts: number;
  lastError: string | null;
  pid: number | null;
}

export interface LivestreamDeps {
  room: Room;
  conference: Conference;
  router: types.Router;
  ports: PortAllocator;
  /** mediasoup's listen address (the PlainTransports towards ffmpeg). */
  listenIp: string;
  settings: LivestreamSettings;
  log: Logger;
  /** The stream this one replaces (rebuilt after a media fault): its restarts count on, its error is kept. */
  carried?: { restarts: number; lastError: string | null };
  spawn?: SpawnFn;
}

/** ffmpeg's side of the loopback: it binds its RTP ports here. */
const FFMPEG_IP = '127.0.0.1';
let tapSeq = 0;

/**
 * One room's livestream: the room's full mix (a muted, hidden mixer listener) and the active speaker's camera (or
 * a generated still naming the room and who speaks) leave mediasoup through PlainTransports into one ffmpeg, which
 * encodes once and writes RTMP/RTMPS, HLS and a recording. ffmpeg is supervised (restart with back-off, give up →
 * failed). Speaker switches happen inside the room's speaker video (one continuous stream, switched at the new
 * speaker's keyframe), invisible to ffmpeg; the picture's mode (camera ⇄ still, or another codec) is a planned
 * restart of ffmpeg, since its inputs change. Stopping ends
 * ffmpeg, closes the transports, takes the listener out of the mix, gives back the ports and the media lease, and
 * removes the temp dir: nothing is left behind.
 */
export class Livestream extends TypedEmitter<LivestreamEvents> {
  readonly roomId: string;
  readonly startedAt = new Date();
  private readonly machine = new LivestreamStateMachine();
  private readonly supervisor: FfmpegSupervisor;
  private readonly abort = new AbortController();
  private tmpDir?: string;
  private audioPort?: PortLease;
  private videoPort?: PortLease;
  private lease?: MediaLease;
  private audio?: RoomAudio;
  private mixTap?: MixTap;
  private videoTap?: VideoTap;
  /** The room's speaker video (one continuous stream following the active speaker) of the cameras' codec. */
  private output?: { codec: VideoCodecName; video: SpeakerVideoOutput };
  private switches = 0;
  /** Grid layout: one tap (and port pair) per camera shown, in grid order. */
  private grid: GridCamera[] = [];
  /** The mode ffmpeg was started in: `still`, or the camera's codec. */
  private mode: string = 'still';
  private restarts = 0;
  private lastErr: string | null = null;
  private recordFile: string | null = null;
  private speakerName: string | null = null;
  private stillSeq = 0;
  private reselectTimer?: NodeJS.Timeout;
  /** Picture changes run one after the other (a burst of events must not build two outputs or grids at once). */
  private selecting: Promise<void> = Promise.resolve();
  private readonly unwatch: Array<() => void> = [];
  private stopping?: Promise<void>;

  constructor(
    readonly request: LivestreamRequest,
    private readonly deps: LivestreamDeps,
  ) {
    super(deps.log);
    this.roomId = deps.room.id;
    this.restarts = deps.carried?.restarts ?? 0;
    this.lastErr = deps.carried?.lastError ?? null;
    const s = deps.settings;
    this.supervisor = new FfmpegSupervisor({
      ffmpegPath: s.ffmpegPath,
      prepare: () => this.prepareRun(),
      policy: new RestartPolicy({
        initialMs: s.restartInitialMs,
        maxMs: s.restartMaxMs,
        maxRestarts: s.maxRestarts,
        stableMs: 60_000,
      }),
      log: deps.log.child({ component: 'ffmpeg' }),
      ...(deps.spawn ? { spawn: deps.spawn } : {}),
    });
    this.supervisor.on('spawned', (pid) => void this.onSpawned(pid));
    this.supervisor.on('encoding', () => {
      if (this.machine.move(LivestreamState.Live)) {
        deps.log.info({ pid: this.supervisor.pid }, 'livestream live');
        this.safeEmit('live');
      }
    });
    this.supervisor.on('exited', (_code, _signal, inMs) => {
      this.lastErr = this.supervisor.lastError ?? this.lastErr;
      void this.mixTap?.pause().catch(() => undefined);
      void this.videoTap?.pause().catch(() => undefined);
      for (const g of this.grid) void g.tap.pause().catch(() => undefined);
      if (inMs === null) return;
      this.restarts++;
      if (this.machine.move(LivestreamState.Restarting))
        this.safeEmit('restarting', inMs, this.supervisor.lastError);
    });
    this.supervisor.on('gaveUp', (error) => void this.fail(error));
  }

  get state(): LivestreamState {
    return this.machine.state;
  }

  get hlsDir(): string | undefined {
    return this.request.hls && this.tmpDir ? path.join(this.tmpDir, 'hls') : undefined;
  }

  /** The ffmpeg running now. */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  view(): LivestreamView {
    return {
      roomId: this.roomId,
      state: this.machine.state,
      since: new Date(this.machine.since).toISOString(),
      startedAt: this.startedAt.toISOString(),
      outputs: {
        rtmp: this.request.rtmp.map(redactUrl),
        hls: this.request.hls ? `/live/${encodeURIComponent(this.roomId)}/index.m3u8` : null,
        recording: this.recordFile,
      },
      video: this.mode === 'still' ? 'still' : this.mode.startsWith('grid') ? 'grid' : 'camera',
      layout: this.request.layout,
      switches: this.switches,
      restarts: this.restarts,
      lastError: this.lastErr,
      pid: this.supervisor.pid ?? null,
    };
  }

  /** Builds the taps and starts ffmpeg; a failure here cleans up and leaves the stream `failed`. */
  async start(): Promise<void> {
    const { room, router, ports, listenIp, settings, log } = this.deps;
    try {
      this.tmpDir = await fs.promises.mkdtemp(path.join(settings.tmpRoot ?? os.tmpdir(), 'parley-live-'));
      if (this.request.hls) await fs.promises.mkdir(path.join(this.tmpDir, 'hls'));
      if (this.request.record) await fs.promises.mkdir(settings.recordingsDir, { recursive: true });
      this.audioPort = await leasePortPair(ports, FFMPEG_IP);
      this.videoPort = await leasePortPair(ports, FFMPEG_IP);
      // A fault under the stream (the worker or the media thread died): rebuilt on the room's new media.
      router.observer.once('close', () => this.mediaLost('the room router closed (mediasoup worker died?)'));
      this.lease = room.acquireMedia();
      this.lease.media.onLost(() => this.mediaLost('the room media thread died'));
      this.audio = await this.lease.media.audio();
      this.mixTap = await MixTap.create({
        id: `livestream:${++tapSeq}`,
        router,
        listenIp,
        target: { ip: FFMPEG_IP, port: this.audioPort.port },
        log,
      });
      // Muted from the mixer's first tick: it has no input anyway, and is never heard.
      await this.audio.add(this.mixTap, { muted: true });
      this.videoTap = await VideoTap.create({
        router,
        listenIp,
        target: { ip: FFMPEG_IP, port: this.videoPort.port },
        keyframeMs: settings.keyframeMs ?? 2000,
        log,
      });
      this.watchRoom();
      await this.reselect();
      await this.supervisor.start();
    } catch (err) {
      await this.fail(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** Idempotent; resolves once ffmpeg has exited and everything is given back. */
  stop(): Promise<void> {
    this.stopping ??= this.teardown().then(() => {
      if (this.machine.move(LivestreamState.Stopped)) {
        this.deps.log.info('livestream stopped');
        this.safeEmit('stopped');
      }
    });
    return this.stopping;
  }

  /** The ffmpeg run was spawned: once it listens on its ports, the consumers flow. */
  private async onSpawned(pid: number): Promise<void> {
    try {
      await waitUntilBound(FFMPEG_IP, this.audioPort!.port, 10_000, this.abort.signal);
      if (this.supervisor.pid !== pid) return;
      await this.mixTap?.resume();
      await this.videoTap?.resume();
      for (const g of this.grid) await g.tap.resume();
    } catch (err) {
      if (!this.abort.signal.aborted) this.deps.log.warn({ err, pid }, 'ffmpeg did not bind its RTP port');
    }
  }

  /** Writes this run's SDP and still text, and returns its command line. */
  private async prepareRun(): Promise<string[]> {
    const { settings, router } = this.deps;
    const dir = this.tmpDir!;
    const audio = routerCodec(router, 'audio/opus');
    if (!audio) throw new Error('the router has no Opus');
    const streams: SdpStream[] = [sdpStream('audio', this.audioPort!.port, audio)];
    // The consumer's codec (the router's payload type and parameters), not the producer's own numbering.
    let cameras = 0;
    if (this.request.layout === 'grid') {
      for (const g of this.grid) {
        const codec = g.tap.codec;
        if (!codec) continue;
        streams.push(sdpStream('video', g.port.port, codec));
        cameras++;
      }
      this.mode = cameras ? this.gridMode() : 'still';
    } else {
      const videoCodec = this.output ? this.videoTap?.codec : undefined;
      if (videoCodec) streams.push(sdpStream('video', this.videoPort!.port, videoCodec));
      cameras = videoCodec ? 1 : 0;
      this.mode = videoCodec ? videoCodec.mimeType : 'still';
    }
    const sdpPath = path.join(dir, 'stream.sdp');
    await fs.promises.writeFile(sdpPath, writeFfmpegSdp({ ip: FFMPEG_IP, name: this.roomId, streams }));
    const textFile = path.join(dir, 'still.txt');
    await this.writeStill();
    if (this.request.record) {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      this.recordFile = path.join(
        settings.recordingsDir,
        `${this.roomId.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.mp4`,
      );
    }
    return buildFfmpegArgs({
      sdpPath,
      cameras,
      ...(this.mode === 'still' ? { still: { textFile, fontFile: settings.fontFile } } : {}),
      picture: { ...settings.picture, keyframeSeconds: settings.hlsSegmentSeconds },
      rtmp: this.request.rtmp,
      ...(settings.rtmpsVerify ? { rtmpsVerify: { caFile: settings.rtmpsCaFile } } : {}),
      ...(this.hlsDir
        ? {
            hls: {
              dir: this.hlsDir,
              segmentSeconds: settings.hlsSegmentSeconds,
              listSize: settings.hlsListSize,
            },
          }
        : {}),
      ...(this.recordFile ? { recordFile: this.recordFile } : {}),
    });
  }

  /** The still's text: the room's name and who speaks. Replaced atomically (drawtext re-reads it every frame). */
  private async writeStill(): Promise<void> {
    if (!this.tmpDir) return;
    const name = this.deps.room.settings.displayName || this.roomId;
    const text = `${name}\n${this.speakerName ? `Speaking: ${this.speakerName}` : ' '}\n`;
    const file = path.join(this.tmpDir, 'still.txt');
    const tmp = `${file}.${++this.stillSeq}.tmp`;
    try {
      await fs.promises.writeFile(tmp, text);
      await fs.promises.rename(tmp, file);
    } catch (err) {
      if (!this.abort.signal.aborted) this.deps.log.warn({ err }, 'still text not written');
    }
  }

  private watchRoom(): void {
    const { room, conference } = this.deps;
    const inRoom = (p: Participant): boolean => room.participant(p.id) === p;
    const onSpeaking = (p: Participant, speaking: boolean): void => {
      if (!speaking || !inRoom(p) || p.muted) return;
      if (this.speakerName === p.displayName) return;
      this.speakerName = p.displayName;
      void this.writeStill();
    };
    const reselect = (): void => {
      clearTimeout(this.reselectTimer);
      // Cameras coming and going in a burst (a browser joining publishes mic then camera) settle first.
      this.reselectTimer = setTimeout(() => void this.reselect(), 300);
    };
    const onChanged = (): void => reselect();
    // Whoever already speaks when the stream starts (speaking events come on changes only).
    for (const p of room.participants()) if (p.speaking) onSpeaking(p, true);
    conference.observer.on('participantSpeaking', onSpeaking);
    room.activeSpeaker.on('changed', onChanged);
    room.feed.on('published', onChanged);
    room.feed.on('unpublished', onChanged);
    this.unwatch.push(
      () => conference.observer.off('participantSpeaking', onSpeaking),
      () => room.activeSpeaker.off('changed', onChanged),
      () => room.feed.off('published', onChanged),
      () => room.feed.off('unpublished', onChanged),
    );
  }

  /**
   * The picture follows the room's active speaker through the room's speaker video (`room.video.output`): one
   * continuous stream (one SSRC, sequence numbers and timestamps without jumps) that switches cameras at the new
   * speaker's keyframe, so ffmpeg's RTP input never sees a new stream and nothing is transcoded before ffmpeg.
   * Here only its codec is chosen — the active speaker's camera's, else any camera's — and a change of codec, or
   * cameras appearing in or leaving an audio-only room, is a change of ffmpeg's inputs: a planned restart.
   */
  private async selectCamera(): Promise<void> {
    if (this.abort.signal.aborted || !this.videoTap) return;
    if (this.request.layout === 'grid') return this.selectGrid();
    const codec = await this.wantedCodec();
    if (this.abort.signal.aborted) return;
    if (codec === (this.output?.codec ?? null)) return;
    const old = this.output;
    this.output = undefined;
    old?.video.close();
    if (codec) {
      const video = await this.deps.room.video.output(codec).catch((err: unknown) => {
        this.deps.log.warn({ err, codec }, 'livestream: no speaker video');
        return undefined;
      });
      if (video && this.abort.signal.aborted) video.close();
      else if (video) {
        this.output = { codec, video };
        video.on('switched', (producerId) => {
          if (this.output?.video !== video || producerId === null) return;
          this.switches++;
          this.videoTap?.keyframe();
        });
      }
    }
    const producerId = this.output?.video.producer.id ?? null;
    await this.videoTap
      .show(producerId)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'livestream camera failed'));
    const mode = this.output && this.videoTap.codec ? this.videoTap.codec.mimeType : 'still';
    this.deps.log.info({ codec: this.output?.codec ?? null, mode }, 'livestream picture');
    if (mode !== this.mode && this.supervisor.runCount > 0) await this.supervisor.restart();
  }

  private reselect(): Promise<void> {
    this.selecting = this.selecting
      .then(() => this.selectCamera())
      .catch((err: unknown) => this.deps.log.warn({ err }, 'livestream picture change failed'));
    return this.selecting;
  }

  /** The grid's mode key: which cameras, so a change of them (not of their order) restarts ffmpeg. */
  private gridMode(): string {
    return `grid:${this.grid.map((g) => g.key).join(',')}`;
  }

  /**
   * Grid layout: the room's cameras (the active speaker's first, up to MAX_GRID), each consumed directly on its
   * own PlainTransport and port pair — any codec, ffmpeg decodes each — and tiled by ffmpeg (xstack). A camera
   * coming or going changes ffmpeg's inputs: a planned restart.
   */
  private async selectGrid(): Promise<void> {
    const { room, router, ports, listenIp, settings, log } = this.deps;
    const speaker = room.activeSpeaker.current;
    const pubs = room.feed
      .list()
      .filter((p) => p.source.kind === 'video')
      .sort((a, b) => Number(b.participantId === speaker) - Number(a.participantId === speaker))
      .slice(0, MAX_GRID);
    const wanted = new Set(pubs.map((p) => p.key));
    if (this.grid.length === pubs.length && this.grid.every((g) => wanted.has(g.key))) return;
    const kept = this.grid.filter((g) => wanted.has(g.key));
    for (const g of this.grid) if (!wanted.has(g.key)) closeGridCamera(g);
    this.grid = kept;
    for (const pub of pubs) {
      if (this.abort.signal.aborted) return;
      if (this.grid.some((g) => g.key === pub.key)) continue;
      let port: PortLease | undefined;
      try {
        const producer = await pub.source.acquireProducer();
        if (!producer) {
          pub.source.releaseProducer();
          continue;
        }
        port = await leasePortPair(ports, FFMPEG_IP);
        const tap = await VideoTap.create({
          router,
          listenIp,
          target: { ip: FFMPEG_IP, port: port.port },
          keyframeMs: settings.keyframeMs ?? 2000,
          log,
        });
        const g: GridCamera = { key: pub.key, source: pub.source, port, tap, onProducer: () => undefined };
        g.onProducer = (p) => void tap.show(p.id).catch(() => undefined);
        pub.source.on('producer', g.onProducer);
        this.grid.push(g);
        await tap.show(producer.id);
      } catch (err) {
        port?.release();
        log.warn({ err, participantId: pub.participantId }, 'livestream grid: camera not shown');
      }
    }
    if (this.abort.signal.aborted) return;
    const mode = this.grid.length ? this.gridMode() : 'still';
    log.info({ cameras: this.grid.length }, 'livestream grid');
    if (mode !== this.mode && this.supervisor.runCount > 0) await this.supervisor.restart();
  }

  /** The codec of the active speaker's camera, else of any camera in the room; null: no camera (the still). */
  private async wantedCodec(): Promise<VideoCodecName | null> {
    const { room } = this.deps;
    const speaker = room.activeSpeaker.current;
    const videos = room.feed
      .list()
      .filter((p) => p.source.kind === 'video')
      .sort((a, b) => Number(b.participantId === speaker) - Number(a.participantId === speaker));
    for (const pub of videos) {
      const producer = await pub.source.acquireProducer().catch(() => undefined);
      pub.source.releaseProducer();
      const mime = producer?.rtpParameters.codecs[0]?.mimeType.toLowerCase();
      if (mime === 'video/vp8') return 'VP8';
      if (mime === 'video/h264') return 'H264';
    }
    return null;
  }

  private mediaLost(error: string): void {
    // The room's end closes its router too: that is a stop (the service's), not a fault.
    if (this.abort.signal.aborted || this.deps.room.isClosed) return;
    this.lastErr = error;
    this.restarts++;
    this.deps.log.warn({ error }, 'livestream lost its media: rebuilding');
    if (this.machine.move(LivestreamState.Restarting)) this.safeEmit('restarting', 0, error);
    void this.teardown().then(() => this.safeEmit('mediaLost'));
  }

  private async fail(error: string): Promise<void> {
    this.lastErr = error;
    await this.teardown();
    if (this.machine.move(LivestreamState.Failed)) {
      this.deps.log.error({ error }, 'livestream failed');
      this.safeEmit('failed', error);
    }
  }

  private async teardown(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    clearTimeout(this.reselectTimer);
    for (const u of this.unwatch.splice(0)) u();
    await this.supervisor.stop();
    this.videoTap?.close();
    for (const g of this.grid.splice(0)) closeGridCamera(g);
    this.mixTap?.close();
    if (this.mixTap) await this.audio?.remove(this.mixTap.participantId).catch(() => undefined);
    this.output?.video.close();
    this.output = undefined;
    this.lease?.release();
    this.audioPort?.release();
    this.videoPort?.release();
    if (this.tmpDir) await fs.promises.rm(this.tmpDir, { recursive: true, force: true });
  }
}

/** One camera of the grid: its source (its Producer held), its tap towards ffmpeg and that tap's ports. */
interface GridCamera {
  key: string;
  source: MediaSource;
  port: PortLease;
  tap: VideoTap;
  onProducer: (p: types.Producer) => void;
}

function closeGridCamera(g: GridCamera): void {
  g.source.off('producer', g.onProducer);
  g.tap.close();
  g.source.releaseProducer();
  g.port.release();
}

function sdpStream(kind: 'audio' | 'video', port: number, c: TapCodec): SdpStream {
  const fmtp: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(c.parameters ?? {}))
    if (typeof v === 'string' || typeof v === 'number') fmtp[k] = v;
  return {
    kind,
    port,
    payloadType: c.payloadType,
    codec: c.mimeType.split('/')[1]!,
    clockRate: c.clockRate,
    ...(c.channels ? { channels: c.channels } : {}),
    ...(kind === 'video' && Object.keys(fmtp).length ? { fmtp } : {}),
  };
}

/** A stream key is a secret: the view shows the URL without its path's last part and query. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const parts = u.pathname.split('/');
    if (parts.length > 2) parts[parts.length - 1] = '***';
    return `${u.protocol}//${u.host}${parts.join('/')}`;
  } catch {
    return '***';
  }
}
