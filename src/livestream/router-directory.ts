import type { types } from 'mediasoup';
import type { RouterSource } from '../conference/room/mediasoup-room-media';

/**
 * The rooms' routers by id, for the livestream: the conference layer hides its router behind `RoomMediaHost`
 * (it names it only by `room.routerId`), but the livestream must open PlainTransports on it towards ffmpeg. The
 * composition root hands this directory to `MediasoupRoomMedia` as its router source, so every room router is
 * known here from its creation until it closes.
 */
export class RouterDirectory implements RouterSource {
  private readonly routers = new Map<string, types.Router>();

  constructor(private readonly source: RouterSource) {}

  async createRouter(appData?: Record<string, unknown>): Promise<types.Router> {
    const router = await this.source.createRouter(appData);
    this.routers.set(router.id, router);
    router.observer.once('close', () => this.routers.delete(router.id));
    return router;
  }

  webRtcServerFor(router: types.Router): types.WebRtcServer | undefined {
    return this.source.webRtcServerFor(router);
  }

  /** The live router of that id (undefined: closed or unknown). */
  get(routerId: string): types.Router | undefined {
    const r = this.routers.get(routerId);
    return r && !r.closed ? r : undefined;
  }
}
