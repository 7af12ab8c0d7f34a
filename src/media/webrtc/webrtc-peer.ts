import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import { TypedEmitter } from '../../util/typed-emitter';
import { mitigatedCapabilities, mitigatedProducerParameters } from '../mediasoup/mediasoup-mitigations';
import type { PipedProducer } from '../mediasoup/router-fanout';

export interface WebRtcPeerOptions {
  router: types.Router;
  /** The WebRtcServer of the router's worker: every browser transport listens on its fixed ports. */
  webRtcServer: types.WebRtcServer;
  log: Logger;
  /**
   * Where the browser receives when not on `router` (large audiences: a room's router on another worker, see
   * RouterFanout): its receive transport lives there and consumes the sources' piped copies, while its send
   * transport stays on `router`, so whatever it may produce later (an attendee promoted to panelist) is where the
   * room's mix and the other participants take it from.
   */
  receive?: {
    router: types.Router;
    webRtcServer: types.WebRtcServer;
    producerOn(router: types.Router, producer: types.Producer): Promise<PipedProducer>;
  };
}

export interface WebRtcTransportInfo {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

export type ProducerSource = 'mic' | 'camera';

export interface WebRtcPeerEvents {
  /** A producer of the browser appeared (or was replaced). */
  produced: [producer: types.Producer, source: ProducerSource];
  producerClosed: [producerId: string, source: ProducerSource];
  /** A consumer went away with its producer (the other participant left or replaced its stream). */
  consumerClosed: [consumerId: string];
  /** DTLS or ICE failed or closed on a transport (the browser is gone or lost its network). */
  transportDown: [transportId: string, state: string];
  closed: [];
}

const MAX_INCOMING_BITRATE = 1_500_000;

/**
 * One browser's media on a router: a send and a receive WebRtcTransport (ICE-lite, DTLS-SRTP, on the worker's
 * WebRtcServer), the browser's producers (mic, camera) and the consumers it receives. Owns them all; `close()` is
 * idempotent and closes both transports (and with them every producer and consumer).
 */
export class WebRtcPeer extends TypedEmitter<WebRtcPeerEvents> {
  private readonly transports = new Map<string, types.WebRtcTransport>();
  private readonly producers = new Map<string, { producer: types.Producer; source: ProducerSource }>();
  private readonly consumers = new Map<string, types.Consumer>();
  private closed = false;

  private constructor(
    private readonly router: types.Router,
    readonly send: types.WebRtcTransport,
    readonly recv: types.WebRtcTransport,
    private readonly log: Logger,
    private readonly receive?: WebRtcPeerOptions['receive'],
  ) {
    super(log);
    for (const t of [send, recv]) {
      this.transports.set(t.id, t);
      t.on('dtlsstatechange', (state) => {
        if (state === 'failed' || state === 'closed') this.safeEmit('transportDown', t.id, `dtls ${state}`);
      });
      t.on('icestatechange', (state) => {
        if (state === 'disconnected') log.info({ transportId: t.id }, 'ICE disconnected');
      });
      t.observer.once('close', () => this.close());
    }
  }

  static async create(opts: WebRtcPeerOptions): Promise<WebRtcPeer> {
    const make = (direction: 'send' | 'recv'): Promise<types.WebRtcTransport> =>
      (direction === 'recv' && opts.receive ? opts.receive.router : opts.router).createWebRtcTransport({
        webRtcServer: direction === 'recv' && opts.receive ? opts.receive.webRtcServer : opts.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: 1_000_000,
        // DataChannels stay off (nothing needs them; mediasoup 3.19.3 runs without later fixes: keep surface small).
        enableSctp: false,
        appData: { direction },
      });
    const send = await make('send');
    let recv: types.WebRtcTransport;
    try {
      recv = await make('recv');
      await send.setMaxIncomingBitrate(MAX_INCOMING_BITRATE).catch(() => undefined);
    } catch (err) {
      send.close();
      throw err;
    }
    return new WebRtcPeer(opts.router, send, recv, opts.log, opts.receive);
  }

  /** The router the browser receives on (the room's, or a fan-out router on another worker). */
  get receiveRouterId(): string {
    return (this.receive?.router ?? this.router).id;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get routerRtpCapabilities(): types.RtpCapabilities {
    return mitigatedCapabilities(this.router.rtpCapabilities);
  }

  info(t: types.WebRtcTransport): WebRtcTransportInfo {
    return {
      id: t.id,
      iceParameters: t.iceParameters,
      iceCandidates: t.iceCandidates,
      dtlsParameters: t.dtlsParameters,
    };
  }

  /** The browser's DTLS parameters (its fingerprint and role) for one transport. */
  async connect(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    await guard(() => this.transport(transportId).connect({ dtlsParameters }));
  }

  /** New ICE credentials (the browser's network changed); the browser restarts ICE with them. */
  async restartIce(transportId: string): Promise<types.IceParameters> {
    return this.transport(transportId).restartIce();
  }

  /** The browser sends a stream (mic: Opus; camera: VP8/H.264 simulcast) on its send transport. */
  async produce(
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
    source: ProducerSource,
  ): Promise<types.Producer> {
    const t = this.transport(transportId);
    if (t !== this.send) throw new AppError('RTC_BAD_PARAMETERS', 'produce on the send transport');
    if ((source === 'mic') !== (kind === 'audio'))
      throw new AppError('RTC_BAD_PARAMETERS', `a ${source} sends ${source === 'mic' ? 'audio' : 'video'}`);
    // One producer per source: a replaced track (device change) replaces the producer.
    for (const [id, p] of this.producers) if (p.source === source) this.closeProducer(id);
    const safe = mitigatedProducerParameters(rtpParameters);
    const producer = await guard(() => t.produce({ kind, rtpParameters: safe, appData: { source } }));
    this.producers.set(producer.id, { producer, source });
    producer.observer.once('close', () => {
      if (this.producers.delete(producer.id)) this.safeEmit('producerClosed', producer.id, source);
    });
    this.log.info(
      { producerId: producer.id, kind, source, codec: producer.rtpParameters.codecs[0]?.mimeType },
      'browser producing',
    );
    this.safeEmit('produced', producer, source);
    return producer;
  }

  producer(id: string): { producer: types.Producer; source: ProducerSource } {
    const p = this.producers.get(id);
    if (!p) throw new AppError('RTC_PRODUCER_NOT_FOUND');
    return p;
  }

  producerOf(source: ProducerSource): types.Producer | undefined {
    for (const p of this.producers.values()) if (p.source === source) return p.producer;
    return undefined;
  }

  closeProducer(id: string): void {
    const p = this.producers.get(id);
    if (!p) throw new AppError('RTC_PRODUCER_NOT_FOUND');
    p.producer.close();
    if (this.producers.delete(id)) this.safeEmit('producerClosed', id, p.source);
  }

  /**
   * Receives `producer` on the receive transport, if the browser can decode it (undefined: it cannot). Video
   * starts paused (the page resumes it when its tile is visible); audio flows at once.
   */
  async consume(
    producer: types.Producer,
    rtpCapabilities: types.RtpCapabilities,
  ): Promise<types.Consumer | undefined> {
    if (this.closed || producer.closed) return undefined;
    // Never another participant's keypad digits (PINs): telephone-event stays out of what browsers receive.
    const caps = withoutTelephoneEvent(mitigatedCapabilities(rtpCapabilities));
    // On a fan-out router: the source's piped copy there (held while this consumer lives).
    const lease = this.receive ? await this.receive.producerOn(this.receive.router, producer) : undefined;
    const source = lease?.producer ?? producer;
    let consumer: types.Consumer;
    try {
      if (
        this.closed ||
        !(this.receive?.router ?? this.router).canConsume({ producerId: source.id, rtpCapabilities: caps })
      ) {
        lease?.release();
        return undefined;
      }
      consumer = await this.recv.consume({
        producerId: source.id,
        rtpCapabilities: caps,
        // Paused until the page has set it up and asks for it (resumeConsumer): RTP sent before the browser knows
        // the consumer's SSRC can be bound to another receiver (mediasoup's documented practice).
        paused: true,
        ignoreDtx: true,
      });
    } catch (err) {
      lease?.release();
      throw err;
    }
    if (lease) consumer.observer.once('close', () => lease.release());
    if (this.closed) {
      consumer.close();
      return undefined;
    }
    this.consumers.set(consumer.id, consumer);
    const gone = (): void => {
      if (this.consumers.delete(consumer.id)) this.safeEmit('consumerClosed', consumer.id);
    };
    consumer.on('producerclose', gone);
    consumer.observer.once('close', gone);
    return consumer;
  }

  consumer(id: string): types.Consumer {
    const c = this.consumers.get(id);
    if (!c) throw new AppError('RTC_CONSUMER_NOT_FOUND');
    return c;
  }

  closeConsumer(id: string): void {
    const c = this.consumers.get(id);
    if (!c) return;
    this.consumers.delete(id);
    c.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.send.close();
    this.recv.close();
    this.producers.clear();
    this.consumers.clear();
    this.safeEmit('closed');
  }

  private transport(id: string): types.WebRtcTransport {
    const t = this.transports.get(id);
    if (!t || t.closed) throw new AppError('RTC_TRANSPORT_NOT_FOUND');
    return t;
  }
}

/** mediasoup's TypeError (bad parameters from the browser) becomes the catalogue's 400. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TypeError || (err as Error).name === 'UnsupportedError')
      throw new AppError('RTC_BAD_PARAMETERS', (err as Error).message);
    throw err;
  }
}

function withoutTelephoneEvent(c: types.RtpCapabilities): types.RtpCapabilities {
  return {
    ...c,
    codecs: (c.codecs ?? []).filter((k) => k.mimeType.toLowerCase() !== 'audio/telephone-event'),
  };
}
