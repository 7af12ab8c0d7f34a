import type { types } from 'mediasoup';
import type { CreateLegOptions, MediaLeg, MediaLegFactory } from './media-leg';
import { RouterRtpLeg } from './mediasoup/router-rtp-leg';
import { WebRtcRtpLeg } from './mediasoup/webrtc-rtp-leg';
import type { MediaThread } from './mixer/media-thread';
import { ThreadAudioLeg } from './mixer/thread-audio-leg';
import type { PortAllocator } from './rtp/port-allocator';
import { mitigatedHeaderExtensions } from './mediasoup/mediasoup-mitigations';

export interface RoomLegFactoryOptions {
  router: types.Router;
  thread: MediaThread;
  ports: PortAllocator;
  listenIp: string;
  /** Symmetric RTP: follow the source of the endpoint's RTP (NAT). */
  latch: boolean;
  /**
   * Where audio m-lines terminate: `thread` (RTP/SRTP in the room's media thread, mixed there; the default for
   * mixed rooms) or `router` (through a mediasoup PlainTransport: forwarding rooms).
   */
  audio: 'thread' | 'router';
  /** The WebRtcServer of the router's worker (ICE/DTLS endpoints: browsers, SIP over WebSocket). */
  webRtcServer?: types.WebRtcServer;
}

/**
 * The legs of one room: audio in the room's media thread (mixed rooms), video and forwarded audio via mediasoup,
 * ICE + DTLS-SRTP m-lines (WebRTC offers) on a WebRtcTransport of the worker's WebRtcServer.
 */
export class RoomLegFactory implements MediaLegFactory {
  constructor(private readonly opts: RoomLegFactoryOptions) {}

  get codecs(): readonly types.RtpCodecCapability[] {
    return this.opts.router.rtpCapabilities.codecs ?? [];
  }

  /** ICE/DTLS m-lines are served only where the router's worker has a WebRtcServer. */
  get webRtc():
    { headerExtensions: readonly types.RtpHeaderExtension[]; telephoneEvent: boolean } | undefined {
    if (!this.opts.webRtcServer) return undefined;
    // Our worker build forwards telephone-event through consumers (scripts/build-mediasoup-worker.sh), so RFC 4733
    // from WebRTC callers reaches the mixer, which reads the digits.
    return {
      // Never the dependency descriptor (mediasoup 3.19.3 mitigation: mediasoup-mitigations.ts).
      headerExtensions: mitigatedHeaderExtensions(this.opts.router.rtpCapabilities.headerExtensions ?? []),
      telephoneEvent: true,
    };
  }

  adopt(leg: MediaLeg): boolean {
    if (!(leg instanceof ThreadAudioLeg) || leg.threadIndex !== this.opts.thread.index) return false;
    return leg.moveToRouter(this.opts.router);
  }

  async create(o: CreateLegOptions): Promise<MediaLeg> {
    if (o.media?.webRtc) {
      if (!this.opts.webRtcServer)
        throw new Error('an ICE/DTLS m-line was negotiated without a WebRtcServer');
      return WebRtcRtpLeg.create({
        router: this.opts.router,
        webRtcServer: this.opts.webRtcServer,
        media: o.media,
        log: o.log,
      });
    }
    if (o.kind === 'audio' && this.opts.audio === 'thread') {
      return ThreadAudioLeg.create({
        thread: this.opts.thread,
        router: this.opts.router,
        ports: this.opts.ports,
        listenIp: this.opts.listenIp,
        ...(o.media ? { media: o.media } : {}),
        latch: this.opts.latch,
        log: o.log,
      });
    }
    return RouterRtpLeg.create({
      router: this.opts.router,
      thread: this.opts.thread,
      ports: this.opts.ports,
      listenIp: this.opts.listenIp,
      ...(o.media ? { media: o.media } : {}),
      kind: o.kind,
      latch: this.opts.latch,
      log: o.log,
    });
  }
}
