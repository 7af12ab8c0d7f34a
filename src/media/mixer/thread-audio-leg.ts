import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MixerCodec, RelaySrtpParams } from '../../../workers/mixer/protocol';
import { TypedEmitter } from '../../util/typed-emitter';
import type { MediaLeg, MediaLegEvents, MixerLegInfo } from '../media-leg';
import type { PortAllocator } from '../rtp/port-allocator';
import { buildProducerRtpParameters, type AcceptedMedia } from '../sdp';
import { openLegRelay, remoteOf, sdesParams } from '../leg-relay';
import type { MediaThread } from './media-thread';
import type { RelayHandle } from './relay-handle';
import { mitigatedProducerParameters } from '../mediasoup/mediasoup-mitigations';

export interface ThreadAudioLegOptions {
  thread: MediaThread;
  /** The room's router: where the endpoint's audio is produced while an SFU consumer needs it. */
  router: types.Router;
  ports: PortAllocator;
  listenIp: string;
  /** The negotiated m-line; absent when we make the offer (delayed offer) until `update()`. */
  media?: AcceptedMedia;
  /** Symmetric RTP: follow the source of the endpoint's RTP (NAT). */
  latch: boolean;
  log: Logger;
}

const MIXER_CODEC: Record<string, MixerCodec> = {
  'audio/pcmu': 'PCMU',
  'audio/pcma': 'PCMA',
  'audio/g722': 'G722',
  'audio/opus': 'opus',
};

let legSeq = 0;

/**
 * An audio m-line terminated in the room's media thread: the endpoint's RTP (SDES-SRTP unprotected there by
 * libsrtp) goes straight into the thread's mixer, and its mix goes straight back out of the same socket, with the
 * negotiated payload type and no header extension. No mediasoup transport, Producer or Consumer exists for it:
 * the path that every phone of a mixed room takes costs one socket read and one socket write per packet.
 *
 * Address, direction, codec and SRTP key changes can be applied in place (`update`); the session still builds a new
 * leg when the key or RTCP-mux changes (a new port: what router legs need anyway), and the mixer follows the leg.
 */
export class ThreadAudioLeg extends TypedEmitter<MediaLegEvents> implements MediaLeg {
  readonly kind: types.MediaKind = 'audio';
  private closed = false;
  private media: AcceptedMedia | undefined;
  private srtp: RelaySrtpParams | undefined;
  /** The phone's current SSRC (learnt by the relay). */
  private ssrc?: number;
  /** The tap to mediasoup: a plain PlainTransport fed by the relay with clear RTP, and a Producer on it. */
  private tap?: { users: number; transport: Promise<types.PlainTransport>; producer?: types.Producer };
  private producing: Promise<void> = Promise.resolve();
  /** Where the tap is built: the room's router (another one after a move or after the router's worker died). */
  private router: types.Router;

  private constructor(
    private readonly opts: ThreadAudioLegOptions,
    private readonly relay: RelayHandle,
    private readonly port: number,
  ) {
    super(opts.log);
    this.router = opts.router;
    relay.on('inactive', () => this.safeEmit('inactive'));
    relay.on('dtmf', (digit, ms) => this.safeEmit('dtmf', digit, ms));
    relay.on('latched', (ip, p) => opts.log.info({ ip, port: p }, 'RTP source latched'));
    relay.on('closed', () => this.close());
    relay.on('ssrc', (ssrc) => {
      this.ssrc = ssrc;
      if (this.tap) this.reproduce();
    });
  }

  static async create(opts: ThreadAudioLegOptions): Promise<ThreadAudioLeg> {
    const m = opts.media;
    const srtp = m ? sdesParams(m) : undefined;
    const { relay, port } = await openLegRelay({
      ...opts,
      legId: (p) => `a${++legSeq}-${p}`,
      extra: {
        ...(m?.telephoneEvent ? { dtmf: dtmfOf(m) } : {}),
        ...(srtp ? { srtp } : {}),
        ...(m ? { direction: { sends: m.phoneSends && m.phoneReceives, receives: m.phoneReceives } } : {}),
      },
    });
    const leg = new ThreadAudioLeg(opts, relay, port);
    leg.media = m;
    leg.srtp = srtp;
    return leg;
  }

  get localPort(): number {
    return this.relay.port;
  }

  get localRtcpPort(): number | undefined {
    return this.relay.rtcpPort;
  }

  get srtpKeyBase64(): string | undefined {
    return this.srtp?.localKeyBase64;
  }

  get negotiated(): AcceptedMedia | undefined {
    return this.media;
  }

  /**
   * The leg's room now has another router (a move between rooms of one thread, or a rebuild after the router's
   * worker died): later taps are built there. Refused (false) while a tap is held on the current router.
   */
  moveToRouter(router: types.Router): boolean {
    if (this.closed || this.tap) return false;
    this.router = router;
    return true;
  }

  /** The media thread the leg lives in. */
  get threadIndex(): number {
    return this.opts.thread.index;
  }

  /** Only while an SFU consumer holds the tap (acquireProducer): otherwise the audio never leaves the thread. */
  get producer(): types.Producer | undefined {
    return this.tap?.producer;
  }

  async acquireProducer(): Promise<types.Producer | undefined> {
    if (this.closed) return undefined;
    if (!this.tap) {
      const transport = (async () => {
        const t = await this.router.createPlainTransport({
          enableSctp: false, // mediasoup 3.19.3 mitigation: no DataChannels anywhere
          listenInfo: { protocol: 'udp', ip: this.opts.listenIp },
          rtcpMux: true,
          comedia: false,
        });
        await t.connect({ ip: this.relay.innerIp, port: this.relay.innerPort });
        await this.relay.connectInner(t.tuple.localAddress ?? t.tuple.localIp, t.tuple.localPort);
        return t;
      })();
      this.tap = { users: 0, transport };
      this.reproduce();
    }
    this.tap.users++;
    await this.tap.transport;
    await this.producing;
    return this.tap?.producer;
  }

  releaseProducer(): void {
    const tap = this.tap;
    if (!tap || --tap.users > 0) return;
    this.closeTap();
  }

  private closeTap(): void {
    const tap = this.tap;
    if (!tap) return;
    this.tap = undefined;
    tap.producer?.close();
    void tap.transport.then(
      (t) => t.close(),
      () => undefined,
    );
    if (!this.closed) void this.relay.disconnectInner().catch(() => undefined);
  }

  /** (Re)creates the tap's Producer for the current SSRC and codec; serialised, the newest wins. */
  private reproduce(): void {
    this.producing = this.producing
      .then(async () => {
        const tap = this.tap;
        const m = this.media;
        if (!tap || !m || this.ssrc === undefined) return;
        const transport = await tap.transport;
        tap.producer?.close();
        tap.producer = undefined;
        const producer = await transport.produce({
          kind: 'audio',
          rtpParameters: mitigatedProducerParameters(buildProducerRtpParameters(m, this.ssrc)),
          appData: { ssrc: this.ssrc, tap: true },
        });
        if (this.tap !== tap) {
          if (!transport.closed) producer.close(); // a closed transport took the producer with it
          return;
        }
        tap.producer = producer;
        this.safeEmit('producer', producer);
      })
      .catch((err: unknown) => this.opts.log.warn({ err }, 'cannot produce the phone audio on the router'));
  }

  get mixerLeg(): MixerLegInfo | undefined {
    const m = this.media;
    const codec = m ? MIXER_CODEC[m.codec.mimeType.toLowerCase()] : undefined;
    if (this.closed || !m || !codec) return undefined;
    return {
      legId: this.relay.legId,
      threadIndex: this.opts.thread.index,
      codec,
      payloadType: m.codec.payloadType,
      ...(m.telephoneEvent ? { dtmf: dtmfOf(m) } : {}),
      sends: m.phoneSends && m.phoneReceives,
      receives: m.phoneReceives,
    };
  }

  async update(media: AcceptedMedia): Promise<void> {
    if (this.closed) return;
    const codecChanged =
      this.media?.codec.mimeType !== media.codec.mimeType ||
      this.media?.codec.payloadType !== media.codec.payloadType;
    this.media = media;
    if (codecChanged && this.tap) this.reproduce();
    await this.relay.updateRemote(remoteOf(media) ?? null, this.opts.latch);
    const srtp = sdesParams(media, this.srtp);
    if (JSON.stringify(srtp) !== JSON.stringify(this.srtp)) {
      this.srtp = srtp;
      await this.relay.setSrtp(srtp ?? null);
    }
    await this.relay.setDtmf(media.telephoneEvent ? dtmfOf(media) : null);
    await this.applyDirection();
  }

  /** Mixed in the thread: nothing to consume through mediasoup. */
  async setSource(): Promise<void> {}

  async setInactivityTimeout(ms: number): Promise<void> {
    if (!this.closed) await this.relay.setInactivityTimeout(ms);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeTap();
    void this.relay.close().finally(() => this.opts.ports.release(this.port));
    this.safeEmit('closed');
  }

  private async applyDirection(): Promise<void> {
    const m = this.media;
    if (this.closed || !m) return;
    // On hold (the phone stopped receiving) its music-on-hold must not reach the room either.
    await this.relay.setDirection(m.phoneSends && m.phoneReceives, m.phoneReceives);
  }
}

function dtmfOf(m: AcceptedMedia): { payloadType: number; clockRate: number } {
  return { payloadType: m.telephoneEvent!.payloadType, clockRate: m.telephoneEvent!.clockRate };
}
