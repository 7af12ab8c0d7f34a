import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaThreadPool } from '../../media/mixer/media-thread-pool';
import { MixedRoomAudio } from '../../media/room-audio/mixed-room-audio';
import { ForwardingRoomAudio, type RoomAudio } from '../../media/room-audio/room-audio';
import { RoomLegFactory } from '../../media/room-leg-factory';
import type { PortAllocator } from '../../media/rtp/port-allocator';
import { RouterFanout, type FanoutWorkers } from '../../media/mediasoup/router-fanout';
import { WebRtcPeer } from '../../media/webrtc/webrtc-peer';
import type { VideoCodecName } from '../../media/video/keyframe';
import { SpeakerVideo } from '../../media/video/speaker-video';
import type { MediaLegFactory } from '../../media/media-leg';
import { RoomFanout, type FanoutSettings, type PlacementLoad } from './room-fanout';
import type { CreateAudioOptions, RoomMediaHost, RoomMediaInstance, RoomMediaProvider } from './room-media';

export interface RouterSource {
  createRouter(appData?: Record<string, unknown>): Promise<types.Router>;
  /** The WebRtcServer of the router's worker: browsers' (and SIP-over-WebSocket WebRTC) transports listen there. */
  webRtcServerFor(router: types.Router): types.WebRtcServer | undefined;
}

export interface MediasoupRoomMediaOptions {
  routers: RouterSource;
  threads: MediaThreadPool;
  ports: PortAllocator;
  listenIp: string;
  /** What phones hear: the MCU mix (default) or the other party forwarded as-is. */
  audio: 'mixer' | 'forward';
  /** Large audiences (`rtc.fanout`): receive-only browsers spread over the room's routers on every worker. */
  fanout?: { settings: FanoutSettings; workers: FanoutWorkers };
}

/**
 * Rooms on mediasoup: one router per room (spread over the worker pool), and per media lifetime a media thread
 * (placement by instance id), a leg factory on both, and mixer rooms in that thread (the mix, the PIN lobby).
 */
export class MediasoupRoomMedia implements RoomMediaProvider {
  constructor(private readonly opts: MediasoupRoomMediaOptions) {}

  async createRoom(roomId: string, log?: Logger): Promise<RoomMediaHost> {
    const router = await this.opts.routers.createRouter({ roomId });
    return new RouterRoomHost(router, this.opts, log);
  }
}

class RouterRoomHost implements RoomMediaHost {
  /** The room's routers on the other workers (for its audience), closed with the room's own router. */
  private readonly fanout?: RoomFanout;

  constructor(
    private readonly router: types.Router,
    private readonly opts: MediasoupRoomMediaOptions,
    log: Logger | undefined,
  ) {
    const f = opts.fanout;
    if (log && f?.settings.enabled && f.workers.size > 1) {
      const flog = log.child({ component: 'room-fanout' });
      this.fanout = new RoomFanout(
        new RouterFanout({ origin: router, workers: f.workers, appData: router.appData, log: flog }),
        f.settings,
        (r) => opts.routers.webRtcServerFor(r),
        flog,
      );
    }
  }

  get routerId(): string {
    return this.router.id;
  }

  onClosed(listener: () => void): void {
    this.router.observer.once('close', listener);
  }

  ready(): Promise<void> {
    return this.opts.threads.ready();
  }

  createSpeakerVideo(codec: VideoCodecName, log: Logger): Promise<SpeakerVideo> {
    return SpeakerVideo.create({ router: this.router, codec, log });
  }

  open(instanceId: string, _log?: unknown, preferThread?: number): RoomMediaInstance {
    const { router, opts } = this;
    const thread = opts.threads.threadFor(instanceId, preferThread);
    let released = false;
    const lost: Array<() => void> = [];
    const onDied = (): void => {
      if (!released) for (const l of lost.splice(0)) l();
    };
    thread.once('died', onDied);
    const webRtcServer = opts.routers.webRtcServerFor(router);
    const phoneLegs = new RoomLegFactory({
      router,
      thread,
      ports: opts.ports,
      listenIp: opts.listenIp,
      latch: true,
      audio: opts.audio === 'forward' ? 'router' : 'thread',
      webRtcServer,
    });
    const legs: MediaLegFactory = {
      get codecs() {
        return phoneLegs.codecs;
      },
      ...(phoneLegs.webRtc ? { webRtc: phoneLegs.webRtc } : {}),
      create: (o) => phoneLegs.create(o),
      adopt: (leg) => phoneLegs.adopt(leg),
      ...(webRtcServer
        ? { createWebRtcPeer: (log, o) => this.createWebRtcPeer(webRtcServer, log, o?.audience === true) }
        : {}),
    };
    return {
      id: instanceId,
      threadIndex: thread.index,
      routerId: router.id,
      legs,
      async createAudio(a: CreateAudioOptions): Promise<RoomAudio> {
        if (opts.audio === 'forward') return new ForwardingRoomAudio();
        const mixed = await MixedRoomAudio.create({
          router,
          thread,
          roomId: a.name === 'mix' ? instanceId : `${instanceId}~lobby`,
          listenIp: opts.listenIp,
          mixInputs: a.name === 'mix',
          log: a.log,
        });
        const { onSpeaking } = a;
        if (onSpeaking) mixed.on('speaking', (pid, speaking) => onSpeaking(pid, speaking));
        return mixed;
      },
      onLost(listener: () => void) {
        lost.push(listener);
      },
      close() {
        if (released) return;
        released = true;
        thread.off('died', onDied);
        opts.threads.releaseRoom(instanceId);
      },
    };
  }

  audience(): PlacementLoad[] | undefined {
    return this.fanout?.loads();
  }

  close(): void {
    this.fanout?.close();
    this.router.close();
  }

  /** A browser's peer: sending on the room's router; an audience member may receive on another worker's. */
  private async createWebRtcPeer(
    webRtcServer: types.WebRtcServer,
    log: Logger,
    audience: boolean,
  ): Promise<WebRtcPeer> {
    const { router } = this;
    if (!audience || !this.fanout) return WebRtcPeer.create({ router, webRtcServer, log });
    const placed = await this.fanout.placeViewer();
    try {
      const peer = await WebRtcPeer.create({
        router,
        webRtcServer,
        log,
        ...(placed.receive ? { receive: placed.receive } : {}),
      });
      peer.once('closed', () => placed.release());
      log.info(
        { workerIndex: placed.workerIndex ?? null, receiveRouterId: peer.receiveRouterId },
        'browser viewer placed',
      );
      return peer;
    } catch (err) {
      placed.release();
      throw err;
    }
  }
}
