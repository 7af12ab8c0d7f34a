import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaLeg } from '../../media/media-leg';
import type { MediaSource } from '../../media/media-source';
import type { VideoCodecName } from '../../media/video/keyframe';
import { maxFrameMacroblocks, maxSpatialLayer } from '../../media/video/h264-level';
import type { SpeakerVideo } from '../../media/video/speaker-video';
import type { ActiveSpeaker } from '../room/active-speaker';
import type { Publication, SfuFeed } from '../room/room-sfu';
import { TypedEmitter } from '../../util/typed-emitter';

export interface RoomVideoEvents {
  /**
   * The camera codec browsers should send changed: H.264 while a video phone receives the room's video (it can
   * only be shown sources of its codec; nothing is transcoded), VP8 otherwise.
   */
  codec: [codec: VideoCodecName];
}

/** Builds a speaker-video output on the room's router (undefined: this media host has none, e.g. unit fakes). */
export type SpeakerVideoFactory = (codec: VideoCodecName, log: Logger) => Promise<SpeakerVideo> | undefined;

export interface RoomVideoOptions {
  feed: SfuFeed;
  speaker: ActiveSpeaker;
  open: SpeakerVideoFactory;
  log: Logger;
}

/** What a caller of `output()` gets: the Producer to consume, when it switches, and its end. */
export interface SpeakerVideoOutput {
  readonly producer: types.Producer;
  on(event: 'switched', listener: (producerId: string | null) => void): unknown;
  close(): void;
}

/** A participant's camera (or a video phone's video), as a source the outputs may show. */
interface Camera {
  participantId: string;
  pub: Publication;
  producer?: types.Producer;
  onProducer: (p: types.Producer) => void;
}

interface Output {
  codec: VideoCodecName;
  /** Never shown this participant's own video (a video phone watching the room). */
  exclude?: string;
  video: SpeakerVideo;
}

/** A video phone's receiving leg: a viewer of an output that excludes its own participant. */
interface Viewer {
  participantId: string;
  leg: MediaLeg;
  output?: Output;
  closed: boolean;
}

/**
 * The room's speaker video for those who take one video stream (video phones; the livestream may use it too):
 * outputs (`SpeakerVideo`, one continuous stream each, no transcoding) that follow the room's active speaker.
 *
 * Each video phone gets its own output that never shows the phone's own participant: when the phone's user is the
 * active speaker it sees the previous speaker (the most recent other one who held the floor), as people expect
 * from a video call ("I see who I talk to, not myself"). One output per video phone costs one DirectTransport
 * consumer of the shown camera per phone; rooms have few video phones, and a shared output would either show a
 * speaker their own face or change SSRC under the phone when it moves to another stream.
 *
 * Cameras come from the room's SFU feed (the publications of participants seated in the conference): a video
 * publication with a Producer. Viewers are given by the room (`watch`) for everyone seated in the conference,
 * webinar attendees included (they publish nothing, yet watch): a video leg whose negotiation has the phone receive
 * H.264 (`leg.setSource(output.producer.id)`). Only cameras of the output's codec are shown (no transcoding):
 * a browser that sends only VP8 is skipped for phones until it sends H.264.
 */
export class RoomVideo extends TypedEmitter<RoomVideoEvents> {
  private readonly cameras = new Map<string, Camera>();
  private readonly viewers = new Map<MediaSource, Viewer>();
  private readonly outputs = new Set<Output>();
  /** Participants in the order they were last the active speaker, most recent first. */
  private history: string[] = [];
  private closed = false;
  private readonly onPublished = (pub: Publication): void => this.published(pub);
  private readonly onUnpublished = (pub: Publication): void => this.unpublished(pub);
  private readonly onSpeaker = (pid: string | null): void => {
    if (pid !== null) this.history = [pid, ...this.history.filter((p) => p !== pid)].slice(0, 16);
    this.refresh();
  };

  constructor(private readonly opts: RoomVideoOptions) {
    super(opts.log);
    opts.feed.on('published', this.onPublished);
    opts.feed.on('unpublished', this.onUnpublished);
    opts.speaker.on('changed', this.onSpeaker);
    for (const pub of opts.feed.list()) this.published(pub);
  }

  /** What browsers' cameras should send: H.264 while a video phone watches, else VP8. */
  get codec(): VideoCodecName {
    return this.viewers.size > 0 ? 'H264' : 'VP8';
  }

  /**
   * A new output following the active speaker (never showing `exclude`); the caller consumes its `producer` and
   * closes it. Undefined when the room's media host cannot build one.
   */
  async output(
    codec: VideoCodecName,
    exclude?: string,
    maxSpatialLayer?: number,
    /** The viewer's MaxFS (macroblocks per frame): pictures above it are never forwarded. */
    maxMacroblocks?: number,
  ): Promise<SpeakerVideoOutput | undefined> {
    if (this.closed) return undefined;
    const video = await this.opts.open(codec, this.opts.log);
    if (!video) return undefined;
    if (this.closed) {
      video.close();
      return undefined;
    }
    video.setMaxSpatialLayer(maxSpatialLayer, maxMacroblocks);
    const out: Output = { codec, video, ...(exclude !== undefined ? { exclude } : {}) };
    this.outputs.add(out);
    video.producer.observer.once('close', () => this.outputs.delete(out));
    this.show(out);
    return video;
  }

  /** Closes every output (viewers' legs lose their source) and stops following the room. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.feed.off('published', this.onPublished);
    this.opts.feed.off('unpublished', this.onUnpublished);
    this.opts.speaker.off('changed', this.onSpeaker);
    this.removeAllListeners();
    for (const c of this.cameras.values()) this.forget(c);
    this.cameras.clear();
    for (const v of this.viewers.values()) v.closed = true;
    this.viewers.clear();
    for (const o of [...this.outputs]) o.video.close();
    this.outputs.clear();
  }

  private published(pub: Publication): void {
    if (this.closed || pub.source.kind !== 'video') return;
    const camera: Camera = {
      participantId: pub.participantId,
      pub,
      onProducer: (p) => {
        camera.producer = p;
        this.refresh();
      },
    };
    this.cameras.set(pub.key, camera);
    pub.source.on('producer', camera.onProducer);
    void pub.source
      .acquireProducer()
      .then((p) => {
        if (this.cameras.get(pub.key) !== camera) return;
        if (p && !camera.producer) camera.onProducer(p);
      })
      .catch((err: unknown) => this.opts.log.warn({ err }, 'speaker video: camera not available'));
  }

  private unpublished(pub: Publication): void {
    const camera = this.cameras.get(pub.key);
    if (camera) {
      this.cameras.delete(pub.key);
      this.forget(camera);
    }
    this.refresh();
  }

  private forget(camera: Camera): void {
    camera.pub.source.off('producer', camera.onProducer);
    camera.pub.source.releaseProducer();
  }

  /**
   * The participant's streams (all of them, published or not; none: it left the conference): its legs that receive
   * H.264 video become viewers, each with its own output; legs no longer there lose theirs.
   */
  watch(participantId: string, sources: readonly MediaSource[]): void {
    if (this.closed) return;
    const before = this.codec;
    for (const [source, v] of this.viewers) {
      if (v.participantId !== participantId || sources.includes(source)) continue;
      this.viewers.delete(source);
      v.closed = true;
      v.output?.video.close();
    }
    for (const source of sources) {
      const leg = receivingLeg(source);
      if (!leg || this.viewers.has(source)) continue;
      const viewer: Viewer = { participantId, leg, closed: false };
      this.viewers.set(source, viewer);
      void this.addViewer(viewer);
    }
    if (this.codec !== before) this.safeEmit('codec', this.codec);
  }

  private async addViewer(viewer: Viewer): Promise<void> {
    const { participantId, leg } = viewer;
    try {
      // Frames that fit the phone's level: browsers' simulcast capped accordingly (nothing is transcoded).
      const plid = leg.negotiated?.codec.parameters['profile-level-id'];
      const maxFs = maxFrameMacroblocks(plid);
      const out = await this.output('H264', participantId, maxSpatialLayer(maxFs), maxFs);
      if (!out) return;
      if (viewer.closed || this.closed) {
        out.close();
        return;
      }
      viewer.output = [...this.outputs].find((o) => o.video === out);
      await leg.setSource(out.producer.id);
      this.opts.log.info(
        { participantId, producerId: out.producer.id },
        'video phone receives the speaker video',
      );
    } catch (err) {
      this.opts.log.warn({ err, participantId }, 'speaker video for a video phone failed');
    }
  }

  private refresh(): void {
    if (this.closed) return;
    for (const o of this.outputs) this.show(o);
  }

  /** Points `o` at the camera it should show now. */
  private show(o: Output): void {
    const usable = (pid: string): types.Producer | undefined => {
      if (pid === o.exclude) return undefined;
      for (const c of this.cameras.values())
        if (c.participantId === pid && c.producer && !c.producer.closed && o.video.canShow(c.producer))
          return c.producer;
      return undefined;
    };
    const current = this.opts.speaker.current;
    const order = [
      ...(current !== null ? [current] : []),
      ...this.history,
      ...[...this.cameras.values()].map((c) => c.participantId),
    ];
    let producer: types.Producer | undefined;
    for (const pid of order) if ((producer = usable(pid))) break;
    const target = producer?.id ?? null;
    if (target === o.video.current) {
      // Cancel a pending switch away from it, if any.
      void o.video.select(target).catch(() => undefined);
      return;
    }
    void o.video
      .select(target)
      .catch((err: unknown) => this.opts.log.warn({ err }, 'speaker video switch failed'));
  }
}

/** A phone's video leg that receives H.264 (the negotiation has the phone receive it), else undefined. */
function receivingLeg(source: MediaSource): MediaLeg | undefined {
  const leg = source as Partial<MediaLeg>;
  const m = leg.negotiated;
  if (typeof leg.setSource !== 'function' || !m) return undefined;
  if (m.kind !== 'video' || !m.phoneReceives) return undefined;
  if (m.codec.mimeType.toLowerCase() !== 'video/h264') return undefined;
  return leg as MediaLeg;
}
