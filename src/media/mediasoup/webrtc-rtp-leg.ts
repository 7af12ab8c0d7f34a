import { performance } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { applyLegDirection, producerFlows } from './leg-direction';
import { TypedEmitter } from '../../util/typed-emitter';
import type { MediaLeg, MediaLegEvents } from '../media-leg';
import type { AcceptedMedia, LocalWebRtcEndpoint } from '../sdp';
import { mitigatedProducerParameters } from './mediasoup-mitigations';

export interface WebRtcRtpLegOptions {
  router: types.Router;
  /** The WebRtcServer of the router's worker: every such leg shares its fixed UDP/TCP ports. */
  webRtcServer: types.WebRtcServer;
  /** The negotiated ICE + DTLS-SRTP m-line (we answer WebRTC offers; we never make one). */
  media: AcceptedMedia;
  log: Logger;
}

/** How often the inactivity watch reads the transport's byte counter, at most. */
const INACTIVITY_POLL_MS = 5000;

/**
 * One served m-line of an ICE + DTLS-SRTP endpoint (a WebRTC offer: a browser's SIP library over WebSocket) on a
 * mediasoup WebRtcTransport of the worker's WebRtcServer: ICE-lite (RFC 8445 §2.5), DTLS-SRTP (RFC 5764) with the
 * role and fingerprint of the offer, RTP and RTCP muxed. The endpoint's media is a Producer matched by its SSRC or
 * its MID header extension; what it hears is a Consumer on the same transport (`setSource`), so no relay and no
 * media thread is involved: mediasoup terminates ICE, DTLS and SRTP itself.
 *
 * The Consumer sends the router's payload types and only the header extensions the offer numbers as the router
 * does; negotiation (`src/media/sdp`) only accepts codecs whose offered PT is the router's, so nothing the browser
 * did not negotiate reaches it.
 */
export class WebRtcRtpLeg extends TypedEmitter<MediaLegEvents> implements MediaLeg {
  producer?: types.Producer;
  consumer?: types.Consumer;
  private sourceProducerId: string | null = null;
  private closed = false;
  private watch?: NodeJS.Timeout;

  private constructor(
    private readonly opts: WebRtcRtpLegOptions,
    private media: AcceptedMedia,
    readonly transport: types.WebRtcTransport,
  ) {
    super(opts.log);
    transport.observer.once('close', () => this.close());
    transport.on('icestatechange', (state) => opts.log.info({ state }, 'ICE state'));
    transport.on('dtlsstatechange', (state) => {
      opts.log.info({ state }, 'DTLS state');
      // A failed handshake (wrong fingerprint, no DTLS at all) never carries media: end the call like a silent one.
      if (state === 'failed') this.safeEmit('inactive');
    });
  }

  static async create(opts: WebRtcRtpLegOptions): Promise<WebRtcRtpLeg> {
    const { media } = opts;
    const w = media.webRtc;
    if (!w) throw new Error('WebRtcRtpLeg: the m-line was not negotiated as ICE/DTLS');
    const transport = await opts.router.createWebRtcTransport({
      webRtcServer: opts.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      // No DataChannels (mediasoup 3.19.3 mitigation: no SCTP code reachable).
      enableSctp: false,
      appData: { mid: media.mid },
    });
    try {
      // The far end's DTLS role and fingerprints (RFC 8842 §5): mediasoup checks its certificate against them.
      await transport.connect({ dtlsParameters: w.dtlsParameters });
      const leg = new WebRtcRtpLeg(opts, media, transport);
      await leg.produce();
      return leg;
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  get kind(): types.MediaKind {
    return this.media.kind;
  }

  /** Our ICE-lite credentials, candidates and DTLS fingerprints for the answer (JSEP §5.3.1). */
  get webRtc(): LocalWebRtcEndpoint {
    return {
      iceParameters: this.transport.iceParameters,
      iceCandidates: this.transport.iceCandidates,
      fingerprints: this.transport.dtlsParameters.fingerprints,
      msid: `parley ${this.transport.id}`,
    };
  }

  /** The port of the default (best UDP) candidate, which the answer's m= line carries. */
  get localPort(): number {
    const udp = this.transport.iceCandidates.filter((c) => c.protocol === 'udp');
    const best = [...(udp.length > 0 ? udp : this.transport.iceCandidates)].sort(
      (a, b) => b.priority - a.priority,
    )[0];
    return best?.port ?? 9;
  }

  get negotiated(): AcceptedMedia {
    return this.media;
  }

  /**
   * A new negotiation for this m-line (re-INVITE, UPDATE): direction (hold/resume) or codec (new Producer and
   * Consumer). New ICE credentials or DTLS parameters need a new leg: the caller compares `webRtcKey`.
   */
  async update(media: AcceptedMedia): Promise<void> {
    const prev = this.media;
    this.media = media;
    const changed =
      JSON.stringify(prev.producer.rtpParameters) !== JSON.stringify(media.producer.rtpParameters) ||
      JSON.stringify(prev.consumer.rtpCapabilities) !== JSON.stringify(media.consumer.rtpCapabilities);
    if (changed) {
      await this.produce();
      const source = this.sourceProducerId;
      this.sourceProducerId = null;
      await this.setSource(source);
    }
    await this.applyDirection();
  }

  /** What the endpoint hears: consume `producerId` on this leg's transport (null: silence). */
  async setSource(producerId: string | null): Promise<void> {
    if (this.closed || producerId === this.sourceProducerId) return;
    this.sourceProducerId = producerId;
    this.consumer?.close();
    this.consumer = undefined;
    if (!producerId) return;
    const consumer = await this.transport.consume({
      producerId,
      rtpCapabilities: this.media.consumer.rtpCapabilities,
      paused: !this.media.phoneReceives,
      ...(this.media.mid !== undefined ? { mid: this.media.mid } : {}),
    });
    if (this.closed) return; // the transport closed meanwhile, and the consumer with it (worker side)
    if (this.sourceProducerId !== producerId) {
      consumer.close();
      return;
    }
    this.consumer = consumer;
  }

  /** The endpoint's media always reaches the router (its Producer exists from the start). */
  async acquireProducer(): Promise<types.Producer | undefined> {
    return this.producer;
  }

  releaseProducer(): void {}

  /**
   * No RTP for `ms` (0 disables): read from the transport's byte counter (SRTP and RTCP included: a muted browser
   * still sends RTCP, and mediasoup's ICE consent keeps the path itself checked).
   */
  async setInactivityTimeout(ms: number): Promise<void> {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
    if (this.closed || ms <= 0) return;
    let last = -1;
    let since = performance.now();
    const watch = setInterval(
      () => {
        this.transport
          .getStats()
          .then((stats) => {
            if (this.closed || this.watch !== watch) return;
            const bytes = stats.reduce((n, s) => n + (s.bytesReceived ?? 0), 0);
            const now = performance.now();
            if (bytes !== last) {
              last = bytes;
              since = now;
            } else if (now - since >= ms) {
              clearInterval(watch);
              this.watch = undefined;
              this.safeEmit('inactive');
            }
          })
          .catch(() => undefined);
      },
      Math.min(INACTIVITY_POLL_MS, Math.max(250, ms / 4)),
    );
    watch.unref();
    this.watch = watch;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
    // The transport closes its producer and consumer with it. Closing the consumer first would race its producer
    // (the mix made for this participant), which the room's audio closes as the participant leaves.
    this.consumer = undefined;
    this.producer = undefined;
    this.transport.close();
    this.safeEmit('closed');
  }

  /** (Re)creates the Producer from the negotiated parameters: the offer's PTs, SSRC, MID and extension ids. */
  private async produce(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    old?.close();
    const producer = await this.transport.produce({
      kind: this.media.kind,
      rtpParameters: mitigatedProducerParameters(this.media.producer.rtpParameters),
      // On hold (the endpoint stopped receiving) its music-on-hold must not reach the room either.
      paused: !producerFlows(this.media),
    });
    if (this.closed) return; // the transport closed meanwhile, and the producer with it (worker side)
    this.producer = producer;
    this.opts.log.info(
      {
        producerId: producer.id,
        ssrc: this.media.producer.rtpParameters.encodings?.[0]?.ssrc,
        mid: this.media.mid,
      },
      old ? 'producer recreated' : 'producer created',
    );
    this.safeEmit('producer', producer);
  }

  private async applyDirection(): Promise<void> {
    if (this.closed) return;
    await applyLegDirection(this.media, this.producer, this.consumer);
  }
}
