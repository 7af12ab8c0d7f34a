import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { AudioEndpoint } from '../media/room-audio/room-audio';

/** What ffmpeg receives on one port pair: the SDP's codec line for it. */
export interface TapCodec {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, unknown>;
}

/** The router's codecs without RTX (ffmpeg does not retransmit: an RTX stream would only be noise to it). */
export function plainCapabilities(router: types.Router): types.RtpCapabilities {
  const caps = router.rtpCapabilities;
  return {
    ...caps,
    codecs: (caps.codecs ?? []).filter((c) => !/\/rtx$/i.test(c.mimeType)),
  };
}

/** The router's codec for `mimeType` as ffmpeg's SDP names it (payload type, clock rate, channels). */
export function routerCodec(router: types.Router, mimeType: string): TapCodec | undefined {
  const c = router.rtpCapabilities.codecs?.find((k) => k.mimeType.toLowerCase() === mimeType.toLowerCase());
  if (!c || c.preferredPayloadType === undefined) return undefined;
  return {
    mimeType: c.mimeType,
    payloadType: c.preferredPayloadType,
    clockRate: c.clockRate,
    ...(c.channels ? { channels: c.channels } : {}),
    ...(c.parameters ? { parameters: c.parameters as Record<string, unknown> } : {}),
  };
}

/**
 * A PlainTransport on the room's router sending to ffmpeg's port pair (RTP and RTCP on the next port: mediasoup's
 * sender reports let ffmpeg line audio and video up), with at most one consumer at a time. Consumers start paused
 * and flow only after `resume()` (ffmpeg listens): packets sent before would be lost and, for video, leave ffmpeg
 * without the keyframe it needs to start decoding.
 */
class PlainTap {
  protected consumer?: types.Consumer;
  protected flowing = false;
  private closed = false;

  protected constructor(
    protected readonly router: types.Router,
    protected readonly transport: types.PlainTransport,
    protected readonly log: Logger,
  ) {}

  protected static async transportTo(
    router: types.Router,
    listenIp: string,
    target: { ip: string; port: number },
    appData: Record<string, unknown>,
  ): Promise<types.PlainTransport> {
    const t = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: listenIp },
      rtcpMux: false,
      comedia: false,
      enableSctp: false, // mediasoup 3.19.3 mitigation: no DataChannels anywhere
      appData,
    });
    await t.connect({ ip: target.ip, port: target.port, rtcpPort: target.port + 1 });
    return t;
  }

  get isClosed(): boolean {
    return this.closed || this.transport.closed;
  }

  /** The producer consumed now. */
  get producerId(): string | undefined {
    return this.consumer?.closed ? undefined : this.consumer?.producerId;
  }

  /** Consumes `producerId` instead of what was consumed (null: nothing). */
  protected async consume(producerId: string | null): Promise<types.Consumer | undefined> {
    if (this.isClosed) return undefined;
    if (this.consumer && !this.consumer.closed && this.consumer.producerId === producerId)
      return this.consumer;
    this.consumer?.close();
    this.consumer = undefined;
    if (!producerId) return undefined;
    const consumer = await this.transport.consume({
      producerId,
      rtpCapabilities: plainCapabilities(this.router),
      paused: true,
    });
    if (this.isClosed) {
      consumer.close();
      return undefined;
    }
    // A concurrent consume() may have set one meanwhile: the last one wins.
    (this.consumer as types.Consumer | undefined)?.close();
    this.consumer = consumer;
    if (this.flowing) await consumer.resume();
    return consumer;
  }

  /** ffmpeg listens: let the media flow. */
  async resume(): Promise<void> {
    this.flowing = true;
    if (this.consumer && !this.consumer.closed) await this.consumer.resume();
  }

  /** ffmpeg is gone (restarting): hold the media until the next one listens. */
  async pause(): Promise<void> {
    this.flowing = false;
    if (this.consumer && !this.consumer.closed) await this.consumer.pause();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.consumer?.close();
    this.transport.close();
  }
}

/**
 * The room's full mix for ffmpeg: an audio endpoint the mixer knows like a listen-only attendee — added muted and
 * without input, so its "mix without itself" is everyone — whose mix (Opus, encoded by the media thread once for
 * all such listeners) the mixer hands over as a Producer (`setSource`), consumed here towards ffmpeg. It is not a
 * participant: no roster, REST or dashboard lists it; only the mixer's per-member figures name it (`livestream:`).
 */
export class MixTap extends PlainTap implements AudioEndpoint {
  readonly receiveMimeType = 'audio/opus';

  private constructor(
    readonly participantId: string,
    router: types.Router,
    transport: types.PlainTransport,
    log: Logger,
  ) {
    super(router, transport, log);
  }

  static async create(o: {
    id: string;
    router: types.Router;
    listenIp: string;
    target: { ip: string; port: number };
    log: Logger;
  }): Promise<MixTap> {
    const t = await PlainTap.transportTo(o.router, o.listenIp, o.target, { livestream: 'audio' });
    return new MixTap(o.id, o.router, t, o.log);
  }

  async setSource(producerId: string | null): Promise<void> {
    await this.consume(producerId);
  }
}

/**
 * The camera shown, for ffmpeg. ffmpeg cannot ask for a keyframe (its RTP input sends no PLI), so a timer asks the
 * source every `keyframeMs` (and at once on each switch and each resume): a decoder that starts or lost a packet
 * recovers within that time.
 */
export class VideoTap extends PlainTap {
  private timer?: NodeJS.Timeout;

  static async create(o: {
    router: types.Router;
    listenIp: string;
    target: { ip: string; port: number };
    keyframeMs: number;
    log: Logger;
  }): Promise<VideoTap> {
    const t = await PlainTap.transportTo(o.router, o.listenIp, o.target, { livestream: 'video' });
    const tap = new VideoTap(o.router, t, o.log);
    tap.timer = setInterval(() => tap.keyframe(), o.keyframeMs);
    tap.timer.unref();
    return tap;
  }

  /** The codec of the consumer (the router's payload type): what ffmpeg's SDP must say. */
  get codec(): TapCodec | undefined {
    const c = this.consumer?.closed
      ? undefined
      : this.consumer?.rtpParameters.codecs.find((k) => !/\/rtx$/i.test(k.mimeType));
    if (!c) return undefined;
    return {
      mimeType: c.mimeType,
      payloadType: c.payloadType,
      clockRate: c.clockRate,
      ...(c.channels ? { channels: c.channels } : {}),
      ...(c.parameters ? { parameters: c.parameters as Record<string, unknown> } : {}),
    };
  }

  /** Shows `producerId` (re-points the one consumer, then asks for a keyframe); null: nothing. */
  async show(producerId: string | null): Promise<void> {
    const c = await this.consume(producerId);
    if (c && this.flowing) this.keyframe();
  }

  override async resume(): Promise<void> {
    await super.resume();
    this.keyframe();
  }

  keyframe(): void {
    const c = this.consumer;
    if (!this.flowing || !c || c.closed || c.paused) return;
    c.requestKeyFrame().catch((err: unknown) => this.log.debug({ err }, 'keyframe request failed'));
  }

  override close(): void {
    clearInterval(this.timer);
    super.close();
  }
}
