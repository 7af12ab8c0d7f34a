import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { PipedProducer, RouterFanout, WorkerLoad } from '../../media/mediasoup/router-fanout';

/** `rtc.fanout` in the config. */
export interface FanoutSettings {
  enabled: boolean;
  /** Viewers kept on the room's own router before any goes to another worker's router (0: spread at once). */
  viewersPerRouterBeforeSpill: number;
}

/** One worker's load as placement weighs it: its consumers, and the viewers placed there (not yet consuming). */
export interface PlacementLoad extends Pick<WorkerLoad, 'workerIndex' | 'origin' | 'consumers'> {
  viewers: number;
}

/**
 * Where the next receive-only browser goes: the worker index, or undefined for the room's own router. Pure.
 * - fan-out off, or one worker: the room's router;
 * - fewer than `viewersPerRouterBeforeSpill` viewers on the room's router: there (a small webinar pays no pipe);
 * - else the least loaded worker, the room's own included: fewest consumers plus viewers placed (a viewer counts
 *   at once, before its consumers exist, so a burst of joins spreads instead of piling onto one router); ties go
 *   to the lower index.
 */
export function pickViewerWorker(
  loads: readonly PlacementLoad[],
  settings: FanoutSettings,
): number | undefined {
  if (!settings.enabled || loads.length <= 1) return undefined;
  const origin = loads.find((l) => l.origin);
  if (!origin) return undefined;
  if (origin.viewers < settings.viewersPerRouterBeforeSpill) return undefined;
  const score = (l: PlacementLoad): number => l.consumers + l.viewers;
  const best = loads.reduce((a, b) => (score(b) < score(a) ? b : a));
  return best.origin ? undefined : best.workerIndex;
}

/** Where a viewer receives: on the room's router, or on a fan-out router with the sources piped there. */
export interface ViewerPlacement {
  workerIndex: number | undefined;
  /** Set when the viewer receives on another worker's router. */
  receive?: {
    router: types.Router;
    webRtcServer: types.WebRtcServer;
    producerOn(router: types.Router, producer: types.Producer): Promise<PipedProducer>;
  };
  /** The viewer left (its peer closed): it no longer counts. Idempotent. */
  release(): void;
}

/**
 * A room's large-audience placement: its RouterFanout (routers on the other workers) and the viewers placed on
 * each. Owned by the room's media host, closed with it (and so with the room): closing closes the fan-out routers.
 * Senders (and whoever may send: hosts, panelists, plain participants) stay on the room's router, where the mix
 * and every consumer take their producers; only receive-only browsers (webinar attendees) are spread.
 */
export class RoomFanout {
  private readonly viewers = new Map<number, number>();
  private readonly originIndex: number;

  constructor(
    private readonly fanout: RouterFanout,
    private readonly settings: FanoutSettings,
    private readonly webRtcServerFor: (router: types.Router) => types.WebRtcServer | undefined,
    private readonly log: Logger,
  ) {
    this.originIndex = fanout.loads().find((l) => l.origin)?.workerIndex ?? -1;
  }

  /** Each worker's consumers and viewers (for the debug view and tests). */
  loads(): PlacementLoad[] {
    return this.fanout.loads().map((l) => ({
      workerIndex: l.workerIndex,
      origin: l.origin,
      consumers: l.consumers,
      viewers: this.viewers.get(l.workerIndex) ?? 0,
    }));
  }

  /** Places one receive-only browser; release the answer when it leaves. */
  async placeViewer(): Promise<ViewerPlacement> {
    const picked = this.fanout.isClosed ? undefined : pickViewerWorker(this.loads(), this.settings);
    // Counted before any await: concurrent joins see it.
    const release = this.count(picked ?? this.originIndex);
    if (picked === undefined) return { workerIndex: undefined, release };
    try {
      const router = await this.fanout.routerOn(picked);
      const webRtcServer = router && this.webRtcServerFor(router);
      if (!router || !webRtcServer) {
        // That worker is being replaced: the room's own router takes this viewer.
        release();
        return { workerIndex: undefined, release: this.count(this.originIndex) };
      }
      this.log.info({ workerIndex: picked, routerId: router.id }, 'viewer placed on a fan-out router');
      const fanout = this.fanout;
      return {
        workerIndex: picked,
        receive: { router, webRtcServer, producerOn: (r, p) => fanout.producerOn(r, p) },
        release,
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Closes the fan-out routers (and every viewer transport and pipe on them). Idempotent. */
  close(): void {
    this.fanout.close();
  }

  /** One more viewer on worker `index`; the answer takes it back (once). */
  private count(index: number): () => void {
    this.viewers.set(index, (this.viewers.get(index) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.viewers.set(index, (this.viewers.get(index) ?? 1) - 1);
    };
  }
}
