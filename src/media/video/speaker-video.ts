import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import type { VideoCodecName } from './keyframe';
import { spsOf, spsPictureSize } from './h264-sps';
import { DropReason, RtpRewriter, rtpPayload } from './rtp-rewriter';

export interface SpeakerVideoEvents {
  /** The output now shows `producerId` (its keyframe went out); null: it shows nothing. */
  switched: [producerId: string | null];
}

export interface SpeakerVideoOptions {
  router: types.Router;
  codec: VideoCodecName;
  log: Logger;
  /**
   * While a switch waits for the new source's keyframe, ask again this often: the first request may be lost, and
   * a phone or browser may ignore a request that arrives while it is still encoding the previous one.
   */
  keyframeRetryMs?: number;
}

/** One source being consumed: the DirectTransport consumer of its Producer. */
interface Tap {
  producerId: string;
  consumer: types.Consumer;
}

const MIME: Record<VideoCodecName, string> = { H264: 'video/H264', VP8: 'video/VP8' };

/**
 * One video stream on the room's router that shows whichever source is selected, without transcoding: the
 * selected source's Producer is consumed on a DirectTransport (its RTP comes up to Node), rewritten by
 * `RtpRewriter` into one continuous stream (one SSRC, sequence numbers and timestamps without jumps) and sent into
 * a Producer on the same DirectTransport, which viewers (video phones' legs, the livestream) consume like any
 * other Producer. Viewers never see a new SSRC, so phones that set up their decoder once keep decoding.
 *
 * - A switch (`select`) consumes the new source and requests a keyframe from it (and again every
 *   `keyframeRetryMs` until one comes); the old source stays on the output until then, so viewers see no gap.
 * - A viewer's PLI/FIR (RTCP the router sends our Producer's transport) is forwarded as a keyframe request to the
 *   source shown.
 * - Only sources of the output's codec can be shown (no transcoding): `select` of another codec is refused.
 */
export class SpeakerVideo extends TypedEmitter<SpeakerVideoEvents> {
  private readonly taps = new Map<string, Tap>();
  /**
   * Consumes in flight: a source selected again before its consumer exists (speaker events come in bursts) waits
   * for that one. Two consumers of one Producer have their own sequence numbers, and the rewriter, which keys by
   * Producer, would interleave both into the output.
   */
  private readonly tapping = new Map<string, Promise<void>>();
  private readonly rewriter: RtpRewriter;
  private retry?: NodeJS.Timeout;
  /** Packets of the shown source dropped, by reason (logged on each switch: padding, malformed, reordered). */
  private drops: Partial<Record<DropReason, number>> = {};
  /** The highest simulcast layer a viewer of this output can take (its H.264 level); undefined: no cap. */
  private maxSpatialLayer?: number;
  /**
   * The viewers' MaxFS (macroblocks per frame, their H.264 level): a source whose last SPS announced more is not
   * forwarded until an SPS that fits. A simulcast consumer forwards a layer above the preferred one while that one
   * is inactive (mediasoup takes the lowest active layer at or above it), so the layer cap alone is not enough.
   */
  private maxMacroblocks?: number;
  /** Sources whose current picture (last SPS) is above `maxMacroblocks`. */
  private readonly aboveLevel = new Set<string>();
  private closed = false;

  private constructor(
    private readonly opts: SpeakerVideoOptions,
    private readonly transport: types.DirectTransport,
    readonly producer: types.Producer,
    ssrc: number,
    payloadType: number,
  ) {
    super(opts.log);
    this.rewriter = new RtpRewriter({
      codec: opts.codec,
      ssrc,
      payloadType,
      initialSequence: randomInt(0x10000),
      initialTimestamp: randomInt(0x100000000),
    });
    transport.on('rtcp', (packet: Buffer) => {
      if (wantsKeyframe(packet)) this.requestKeyFrame();
    });
    transport.observer.once('close', () => this.close());
  }

  static async create(opts: SpeakerVideoOptions): Promise<SpeakerVideo> {
    const mimeType = MIME[opts.codec];
    const routerCodec = opts.router.rtpCapabilities.codecs?.find(
      (c) => c.mimeType.toLowerCase() === mimeType.toLowerCase(),
    );
    if (!routerCodec) throw new Error(`the router has no ${mimeType}`);
    const transport = await opts.router.createDirectTransport();
    try {
      const ssrc = randomInt(1, 0xffffffff);
      const payloadType = routerCodec.preferredPayloadType ?? 102;
      const producer = await transport.produce({
        kind: 'video',
        rtpParameters: {
          codecs: [
            {
              mimeType: routerCodec.mimeType,
              payloadType,
              clockRate: routerCodec.clockRate,
              parameters: { ...routerCodec.parameters },
              rtcpFeedback: [
                { type: 'nack', parameter: 'pli' },
                { type: 'ccm', parameter: 'fir' },
              ],
            },
          ],
          encodings: [{ ssrc }],
          headerExtensions: [],
          rtcp: { cname: `parley-speaker-${ssrc.toString(16)}`, reducedSize: true },
        },
        appData: { speakerVideo: true },
      });
      return new SpeakerVideo(opts, transport, producer, ssrc, payloadType);
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  /** The source shown now (its keyframe went out), if any. */
  get current(): string | null {
    return this.rewriter.current ?? null;
  }

  /** Whether `producer` can be shown here (same codec: nothing is transcoded). */
  canShow(producer: Pick<types.Producer, 'rtpParameters' | 'kind'>): boolean {
    return (
      producer.kind === 'video' &&
      producer.rtpParameters.codecs.some(
        (c) => c.mimeType.toLowerCase() === MIME[this.opts.codec].toLowerCase(),
      )
    );
  }

  /**
   * Shows `producerId` from its next keyframe on (null: nothing). Resolves once its consumer exists; a producer
   * that cannot be consumed here (another codec, gone) leaves the output as it was and rejects.
   */
  async select(producerId: string | null): Promise<void> {
    if (this.closed) return;
    if (producerId === null && !this.rewriter.current && !this.rewriter.pending) return;
    this.rewriter.select(producerId);
    this.prune();
    if (producerId === null) {
      this.emitSwitched();
      return;
    }
    if (this.rewriter.pending !== producerId) return; // already shown
    try {
      if (!this.taps.has(producerId)) {
        let consuming = this.tapping.get(producerId);
        if (!consuming) {
          consuming = this.tap(producerId).finally(() => this.tapping.delete(producerId));
          this.tapping.set(producerId, consuming);
        }
        await consuming;
      }
    } catch (err) {
      // Keep showing what is shown.
      if (this.rewriter.pending === producerId) this.rewriter.select(this.rewriter.current ?? null);
      throw err;
    }
    this.requestKeyFrame();
  }

  /**
   * Caps the spatial layer taken from simulcast sources (a viewer whose H.264 level cannot take the full size;
   * see h264-level.ts). Applies to the sources consumed from now on and to those consumed already.
   */
  setMaxSpatialLayer(layer: number | undefined, maxMacroblocks?: number): void {
    this.maxSpatialLayer = layer;
    this.maxMacroblocks = maxMacroblocks;
    for (const t of this.taps.values()) void this.applyLayerCap(t.consumer);
  }

  private async applyLayerCap(consumer: types.Consumer): Promise<void> {
    if (consumer.type !== 'simulcast' || consumer.closed) return;
    const spatialLayer = this.maxSpatialLayer ?? Math.max(0, consumer.rtpParameters.encodings!.length - 1);
    await consumer.setPreferredLayers({ spatialLayer }).catch(() => undefined);
  }

  /** Closes the output Producer, the consumers and the transport. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    for (const t of this.taps.values()) t.consumer.close();
    this.taps.clear();
    this.producer.close();
    this.transport.close();
    this.removeAllListeners();
  }

  private async tap(producerId: string): Promise<void> {
    const router = this.opts.router;
    const mimeType = MIME[this.opts.codec].toLowerCase();
    const rtpCapabilities: types.RtpCapabilities = {
      // The one codec (no RTX: a lost packet is covered by the next keyframe request), no header extensions.
      codecs: (router.rtpCapabilities.codecs ?? []).filter((c) => c.mimeType.toLowerCase() === mimeType),
      headerExtensions: [],
    };
    if (!router.canConsume({ producerId, rtpCapabilities }))
      throw new Error(`producer ${producerId} cannot be shown as ${this.opts.codec}`);
    // A capped viewer gets the capped layer from the first packet on (a layer cap set after consume would let
    // the top layer through until it applies).
    const consumer = await this.transport.consume({
      producerId,
      rtpCapabilities,
      paused: false,
      ...(this.maxSpatialLayer !== undefined
        ? { preferredLayers: { spatialLayer: this.maxSpatialLayer } }
        : {}),
    });
    if (
      this.closed ||
      this.taps.has(producerId) ||
      (this.rewriter.pending !== producerId && this.rewriter.current !== producerId)
    ) {
      consumer.close();
      return;
    }
    const tap = { producerId, consumer };
    this.taps.set(producerId, tap);
    consumer.on('rtp', (packet: Buffer) => this.onRtp(producerId, packet));
    consumer.on('producerclose', () => {
      consumer.close();
      if (this.taps.get(producerId) === tap) this.taps.delete(producerId);
    });
  }

  private onRtp(producerId: string, packet: Buffer): void {
    if (this.closed) return;
    if (this.maxMacroblocks !== undefined && this.isAboveLevel(producerId, packet)) {
      this.rewriter.skip(producerId, packet);
      this.drops[DropReason.AboveLevel] = (this.drops[DropReason.AboveLevel] ?? 0) + 1;
      return;
    }
    const r = this.rewriter.rewrite(producerId, packet);
    if (r.kind !== 'forward') {
      if (r.reason !== DropReason.NotSelected && r.reason !== DropReason.WaitingForKeyframe)
        this.drops[r.reason] = (this.drops[r.reason] ?? 0) + 1;
      return;
    }
    this.producer.send(r.packet);
    if (r.switched) {
      clearTimeout(this.retry);
      this.retry = undefined;
      this.prune();
      this.opts.log.info({ producerId, drops: this.drops }, 'speaker video switched');
      this.drops = {};
      this.emitSwitched();
    }
  }

  /** Whether this packet belongs to a picture above the viewers' level (tracked from each SPS the source sends). */
  private isAboveLevel(producerId: string, packet: Buffer): boolean {
    const payload = rtpPayload(packet);
    const sps = payload ? spsOf(payload) : undefined;
    const size = sps ? spsPictureSize(sps) : undefined;
    if (size) {
      // (mediasoup moves to the preferred layer by itself, at a keyframe it asks for, once that layer is active)
      if (size.macroblocks > this.maxMacroblocks!) this.aboveLevel.add(producerId);
      else this.aboveLevel.delete(producerId);
    }
    return this.aboveLevel.has(producerId);
  }

  /** Consumers of sources that are neither shown nor pending are closed. */
  private prune(): void {
    for (const [id, t] of this.taps) {
      if (id === this.rewriter.current || id === this.rewriter.pending) continue;
      t.consumer.close();
      this.taps.delete(id);
      this.aboveLevel.delete(id);
    }
  }

  /** A keyframe from the source about to be shown (a switch), else from the one shown (a viewer asked). */
  private requestKeyFrame(): void {
    if (this.closed) return;
    const id = this.rewriter.pending ?? this.rewriter.current;
    const tap = id ? this.taps.get(id) : undefined;
    if (!tap) return;
    void tap.consumer.requestKeyFrame().catch(() => undefined);
    if (this.rewriter.pending && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (this.rewriter.pending) this.requestKeyFrame();
      }, this.opts.keyframeRetryMs ?? 1000);
      this.retry.unref();
    }
  }

  private emitSwitched(): void {
    this.safeEmit('switched', this.current);
  }
}

/**
 * Whether an RTCP compound packet holds a keyframe request: PSFB (PT 206, RFC 4585 §6.1) with FMT 1 (PLI,
 * §6.3.1) or FMT 4 (FIR, RFC 5104 §4.3.1).
 */
export function wantsKeyframe(packet: Uint8Array): boolean {
  let i = 0;
  while (i + 4 <= packet.length) {
    if (packet[i] >> 6 !== 2) return false;
    const fmt = packet[i] & 0x1f;
    const pt = packet[i + 1];
    if (pt === 206 && (fmt === 1 || fmt === 4)) return true;
    i += 4 * (((packet[i + 2] << 8) | packet[i + 3]) + 1);
  }
  return false;
}
