import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { applyLegDirection, producerFlows } from './leg-direction';
import { TypedEmitter } from '../../util/typed-emitter';
import type { MediaLeg, MediaLegEvents } from '../media-leg';
import type { MediaThread } from '../mixer/media-thread';
import type { RelayHandle } from '../mixer/relay-handle';
import type { PortAllocator } from '../rtp/port-allocator';
import type { RelaySrtpParams } from '../../../workers/mixer/protocol';
import { buildProducerRtpParameters, type AcceptedMedia } from '../sdp';
import { openLegRelay, remoteOf, sdesParams } from '../leg-relay';
import { mitigatedProducerParameters } from './mediasoup-mitigations';

export interface RouterRtpLegOptions {
  router: types.Router;
  thread: MediaThread;
  ports: PortAllocator;
  /** Address the phone-facing relay sockets and the inner PlainTransport bind to. */
  listenIp: string;
  /** The negotiated m-line; absent when we make the offer (delayed offer): then plain RTP until `update()`. */
  media?: AcceptedMedia;
  kind?: types.MediaKind;
  /** Symmetric RTP: follow the source of the phone's RTP (NAT). */
  latch: boolean;
  log: Logger;
}

/**
 * One served m-line of an RTP endpoint through mediasoup: endpoint ⇄ relay (media thread) ⇄ mediasoup PlainTransport.
 *
 * SDES-SRTP ends in the relay (libsrtp), so the PlainTransport is plain RTP; the relay strips mediasoup's MID header
 * extension and maps payload types before protecting what goes to the phone.
 *
 * The relay exists because mediasoup matches plain RTP to a Producer only by a signalled SSRC (phones rarely send
 * a=ssrc and may change SSRC mid-call), and because under SDES-SRTP our key comes from the PlainTransport, so the
 * transport must exist before our answer. The relay reports each SSRC it sees; the leg (re)creates the Producer.
 * What the phone hears is a Consumer on the same transport (`setSource`).
 */
export class RouterRtpLeg extends TypedEmitter<MediaLegEvents> implements MediaLeg {
  producer?: types.Producer;
  consumer?: types.Consumer;
  private sourceProducerId: string | null = null;
  /** SDES contexts of the relay (SRTP ends there; a re-key is a new leg). */
  private srtp: RelaySrtpParams | undefined;
  private closed = false;
  private ssrc?: number;
  private producing?: Promise<void>;

  private constructor(
    private readonly opts: RouterRtpLegOptions,
    private media: AcceptedMedia | undefined,
    readonly transport: types.PlainTransport,
    readonly relay: RelayHandle,
    private readonly allocated: number[],
  ) {
    super(opts.log);
    relay.on('ssrc', (ssrc) => this.onSsrc(ssrc));
    relay.on('inactive', () => this.safeEmit('inactive'));
    relay.on('dtmf', (digit, ms) => this.safeEmit('dtmf', digit, ms));
    relay.on('latched', (ip, port) => opts.log.info({ ip, port }, 'RTP source latched'));
    relay.on('closed', () => this.close());
    transport.observer.once('close', () => this.close());
  }

  static async create(opts: RouterRtpLegOptions): Promise<RouterRtpLeg> {
    const { media } = opts;
    // SDES-SRTP ends in the relay (libsrtp in the media thread), so the mediasoup side is always plain RTP: the
    // relay can take out what mediasoup adds (its MID header extension) and map payload types before protecting.
    const srtp = media ? sdesParams(media) : undefined;
    const { relay, port } = await openLegRelay({
      ...opts,
      legId: (p) => `${opts.kind ?? media?.kind ?? 'audio'}-${p}`,
      extra: srtp ? { srtp } : {},
    });
    const allocated = [port];
    let transport: types.PlainTransport | undefined;
    try {
      transport = await opts.router.createPlainTransport({
        enableSctp: false, // mediasoup 3.19.3 mitigation: no DataChannels anywhere
        listenInfo: { protocol: 'udp', ip: opts.listenIp },
        rtcpMux: true,
        comedia: false,
      });
      await relay.connectInner(
        transport.tuple.localAddress ?? transport.tuple.localIp,
        transport.tuple.localPort,
      );
      await transport.connect({ ip: relay.innerIp, port: relay.innerPort });
    } catch (err) {
      transport?.close();
      await relay.close();
      for (const p of allocated) opts.ports.release(p);
      throw err;
    }
    const leg = new RouterRtpLeg(opts, media, transport, relay, allocated);
    leg.srtp = srtp;
    if (media?.remote.ssrc !== undefined) leg.onSsrc(media.remote.ssrc);
    await leg.applyDirection();
    await leg.applyDtmf();
    return leg;
  }

  get kind(): types.MediaKind {
    return this.opts.kind ?? this.media?.kind ?? 'audio';
  }

  /** The port in our SDP (RTP; RTCP is the next one unless muxed). */
  get localPort(): number {
    return this.relay.port;
  }

  get localRtcpPort(): number | undefined {
    return this.relay.rtcpPort;
  }

  /** Our SDES key for the SDP (RFC 4568), valid after connect(). */
  get srtpKeyBase64(): string | undefined {
    return this.srtp?.localKeyBase64;
  }

  get negotiated(): AcceptedMedia | undefined {
    return this.media;
  }

  /**
   * A new negotiation for this m-line (answer to our offer, re-INVITE, UPDATE): new remote address, direction
   * (hold/resume: a held phone is neither heard nor sent media) or codec (new Producer and Consumer). SRTP re-keying
   * and RTCP-mux changes need a new leg (mediasoup connects a transport once).
   */
  async update(media: AcceptedMedia): Promise<void> {
    const prev = this.media;
    this.media = media;
    await this.relay.updateRemote(remoteOf(media) ?? null, this.opts.latch);
    const codecChanged =
      !prev ||
      prev.codec.mimeType !== media.codec.mimeType ||
      prev.codec.payloadType !== media.codec.payloadType ||
      prev.telephoneEvent?.payloadType !== media.telephoneEvent?.payloadType;
    if (codecChanged) {
      if (this.ssrc !== undefined) this.onSsrc(this.ssrc, true);
      await this.producing; // the new Producer exists before its direction is applied
      const source = this.sourceProducerId;
      this.sourceProducerId = null;
      await this.setSource(source);
    }
    await this.applyDirection();
    await this.applyDtmf();
  }

  /**
   * mediasoup consumers forward media codecs only, so RFC 4733 events never reach the mixer through mediasoup:
   * the relay decodes them (in the clear: SRTP ends in the relay).
   */
  private async applyDtmf(): Promise<void> {
    const m = this.media;
    if (this.closed || !m) return;
    // The relay sees clear RTP (SRTP ends there), so RFC 4733 digits are read for SRTP phones too.
    const te = m.telephoneEvent;
    await this.relay.setDtmf(te ? { payloadType: te.payloadType, clockRate: te.clockRate } : null);
    // mediasoup consumers send the router's payload types; the phone expects its own (RFC 3264 §6.1). The relay
    // maps them before it protects the packet.
    const mismatches = m.consumer.payloadTypeMismatches.filter((x) => !/telephone-event/i.test(x.mimeType));
    await this.relay.setPayloadTypeMap(
      mismatches.map((x): [number, number] => [x.routerPayloadType, x.phonePayloadType]),
    );
  }

  /** What the phone hears: consume `producerId` on this leg (null: silence). */
  async setSource(producerId: string | null): Promise<void> {
    if (this.closed || producerId === this.sourceProducerId) return;
    this.sourceProducerId = producerId;
    this.consumer?.close();
    this.consumer = undefined;
    if (!producerId || !this.media) return;
    const consumer = await this.transport.consume({
      producerId,
      rtpCapabilities: this.media.consumer.rtpCapabilities,
      paused: !this.media.phoneReceives,
    });
    if (this.closed) return; // the transport closed meanwhile, and the consumer with it (worker side)
    if (this.sourceProducerId !== producerId) {
      consumer.close();
      return;
    }
    this.consumer = consumer;
  }

  /** Router legs always produce (their media reaches mediasoup anyway). */
  async acquireProducer(): Promise<types.Producer | undefined> {
    await this.producing;
    return this.producer;
  }

  releaseProducer(): void {}

  /** Inactivity timeout in ms; 0 disables. */
  async setInactivityTimeout(ms: number): Promise<void> {
    if (!this.closed) await this.relay.setInactivityTimeout(ms);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.consumer?.close();
    this.producer?.close();
    this.transport.close();
    void this.relay.close().finally(() => {
      for (const p of this.allocated) this.opts.ports.release(p);
    });
    this.safeEmit('closed');
  }

  private async applyDirection(): Promise<void> {
    if (this.closed || !this.media) return;
    await applyLegDirection(this.media, this.producer, this.consumer);
  }

  private onSsrc(ssrc: number, force = false): void {
    if (this.closed || (ssrc === this.ssrc && !force)) return;
    this.ssrc = ssrc;
    const media = this.media;
    if (!media) return; // delayed offer: produce once the answer is known (update())
    // Serialise: a burst of SSRC changes must not leave two producers behind.
    this.producing = (this.producing ?? Promise.resolve()).then(async () => {
      if (this.closed || this.ssrc !== ssrc) return;
      const old = this.producer;
      old?.close();
      try {
        const producer = await this.transport.produce({
          kind: media.kind,
          rtpParameters: mitigatedProducerParameters(buildProducerRtpParameters(media, ssrc)),
          paused: !producerFlows(media),
          appData: { ssrc },
        });
        if (this.closed) return; // the transport closed meanwhile, and the producer with it (worker side)
        this.producer = producer;
        this.opts.log.info(
          { ssrc, producerId: producer.id },
          old ? 'phone changed SSRC; producer recreated' : 'producer created',
        );
        this.safeEmit('producer', producer);
      } catch (err) {
        this.opts.log.warn({ err, ssrc }, 'cannot create producer for phone RTP');
      }
    });
  }
}
