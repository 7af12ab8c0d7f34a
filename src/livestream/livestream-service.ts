import type { Logger } from 'pino';
import type { Conference } from '../conference/conference';
import type { Room } from '../conference/room/room';
import { AppError } from '../errors/app-error';
import type { PortAllocator } from '../media/rtp/port-allocator';
import { TypedEmitter } from '../util/typed-emitter';
import { isSafeOutputUrl } from './ffmpeg-args';
import type { SpawnFn } from './ffmpeg-supervisor';
import {
  Livestream,
  type LivestreamRequest,
  type LivestreamSettings,
  type LivestreamView,
} from './livestream';
import { LivestreamState } from './livestream-state';
import type { RouterDirectory } from './router-directory';

export interface LivestreamServiceEvents {
  live: [room: Room, view: LivestreamView];
  stopped: [room: Room, view: LivestreamView];
  failed: [room: Room, view: LivestreamView, error: string];
  /** Any change of state (restarting included): the dashboard shows it. */
  changed: [room: Room, view: LivestreamView];
}

export interface LivestreamServiceOptions {
  conference: Conference;
  routers: RouterDirectory;
  ports: PortAllocator;
  listenIp: string;
  settings: LivestreamSettings;
  maxConcurrent: number;
  log: Logger;
  spawn?: SpawnFn;
}

/** What POST /api/rooms/:id/livestream may carry before validation. */
export interface LivestreamAsk {
  rtmp?: string[] | undefined;
  hls?: boolean | undefined;
  record?: boolean | undefined;
  layout?: 'speaker' | 'grid' | undefined;
}

/**
 * The rooms' livestreams: at most one per room (a second start is LIVESTREAM_ALREADY_LIVE), at most
 * `maxConcurrent` on the server. A stream that stopped or failed stays readable (GET) until the next start or its
 * room's end. A room's end stops its stream.
 */
export class LivestreamService extends TypedEmitter<LivestreamServiceEvents> {
  private readonly streams = new Map<string, { room: Room; stream: Livestream }>();
  private closed = false;

  constructor(private readonly opts: LivestreamServiceOptions) {
    super(opts.log);
    opts.conference.observer.on('roomClosed', this.onRoomClosed);
  }

  /** Validates the request (catalogue errors) into what a stream runs with. */
  static validate(ask: LivestreamAsk): LivestreamRequest {
    const rtmp = ask.rtmp ?? [];
    for (const url of rtmp) {
      let u: URL | undefined;
      try {
        u = new URL(url);
      } catch {
        u = undefined;
      }
      if (!u || (u.protocol !== 'rtmp:' && u.protocol !== 'rtmps:') || !u.hostname || !isSafeOutputUrl(url))
        throw new AppError('LIVESTREAM_BAD_URL', `not an rtmp:// or rtmps:// URL ffmpeg can take: ${url}`);
    }
    const req: LivestreamRequest = {
      rtmp: [...new Set(rtmp)],
      hls: ask.hls ?? false,
      record: ask.record ?? false,
      layout: ask.layout ?? 'speaker',
    };
    if (req.rtmp.length === 0 && !req.hls && !req.record) throw new AppError('LIVESTREAM_NO_OUTPUT');
    return req;
  }

  async start(roomId: string, ask: LivestreamAsk): Promise<LivestreamView> {
    if (this.closed) throw new AppError('LIVESTREAM_UNAVAILABLE', 'the server is shutting down');
    const request = LivestreamService.validate(ask);
    const room = this.opts.conference.getRoom(roomId);
    const current = this.streams.get(room.id)?.stream;
    if (current && !isOver(current.state)) throw new AppError('LIVESTREAM_ALREADY_LIVE');
    const running = [...this.streams.values()].filter((s) => !isOver(s.stream.state)).length;
    if (running >= this.opts.maxConcurrent)
      throw new AppError('LIVESTREAM_TOO_MANY', `${running} livestreams run (livestream.maxConcurrent)`);
    const stream = this.launch(room, request);
    await stream.start();
    this.safeEmit('changed', room, stream.view());
    return stream.view();
  }

  /** A stream of `room` on its current router, registered and wired (not started). */
  private launch(
    room: Room,
    request: LivestreamRequest,
    carried?: { restarts: number; lastError: string | null },
  ): Livestream {
    const router = this.opts.routers.get(room.routerId);
    if (!router) throw new AppError('LIVESTREAM_NO_MEDIA');
    const stream = new Livestream(request, {
      room,
      conference: this.opts.conference,
      router,
      ports: this.opts.ports,
      listenIp: this.opts.listenIp,
      settings: this.opts.settings,
      log: this.opts.log.child({ roomId: room.id }),
      ...(carried ? { carried } : {}),
      ...(this.opts.spawn ? { spawn: this.opts.spawn } : {}),
    });
    const entry = { room, stream };
    this.streams.set(room.id, entry);
    const changed = (): void => void this.safeEmit('changed', room, stream.view());
    stream.on('live', () => {
      this.safeEmit('live', room, stream.view());
      changed();
    });
    stream.on('restarting', changed);
    stream.on('stopped', () => {
      this.safeEmit('stopped', room, stream.view());
      changed();
    });
    stream.on('failed', (error) => {
      this.safeEmit('failed', room, stream.view(), error);
      changed();
    });
    stream.on('mediaLost', () => void this.rebuild(entry));
    return stream;
  }

  /**
   * The room's router (its mediasoup worker died) or media thread went away under the stream: once the room has
   * rebuilt its media, the same stream starts again on the new media (one more restart), unless it was stopped,
   * replaced or its room ended meanwhile.
   */
  private async rebuild(entry: { room: Room; stream: Livestream }): Promise<void> {
    const { room, stream } = entry;
    await room.whenRecovered();
    if (this.closed || room.isClosed || this.streams.get(room.id) !== entry || isOver(stream.state)) return;
    try {
      const { restarts, lastError } = stream.view();
      const next = this.launch(room, stream.request, { restarts, lastError });
      this.opts.log.info({ roomId: room.id }, "livestream rebuilt on the room's new media");
      await next.start();
    } catch (err) {
      this.opts.log.error({ err, roomId: room.id }, 'livestream could not be rebuilt');
    }
  }

  async stop(roomId: string): Promise<LivestreamView> {
    const entry = this.streams.get(roomId);
    if (!entry || isOver(entry.stream.state)) throw new AppError('LIVESTREAM_NOT_LIVE');
    await entry.stream.stop();
    return entry.stream.view();
  }

  /** The room's stream (running, or the last one that ended), or undefined. */
  view(roomId: string): LivestreamView | undefined {
    return this.streams.get(roomId)?.stream.view();
  }

  /** The running stream of the room, for the HLS files. */
  stream(roomId: string): Livestream | undefined {
    const s = this.streams.get(roomId)?.stream;
    return s && !isOver(s.state) ? s : undefined;
  }

  isStreaming(roomId: string): boolean {
    return this.stream(roomId) !== undefined;
  }

  isRecording(roomId: string): boolean {
    return this.stream(roomId)?.request.record ?? false;
  }

  /** Stops every stream (shutdown). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.conference.observer.off('roomClosed', this.onRoomClosed);
    await Promise.all([...this.streams.values()].map((s) => s.stream.stop()));
  }

  private readonly onRoomClosed = (room: Room): void => {
    const entry = this.streams.get(room.id);
    if (!entry || entry.room !== room) return;
    void entry.stream.stop().finally(() => {
      if (this.streams.get(room.id) === entry) this.streams.delete(room.id);
    });
  };
}

function isOver(state: LivestreamState): boolean {
  return state === LivestreamState.Stopped || state === LivestreamState.Failed;
}
