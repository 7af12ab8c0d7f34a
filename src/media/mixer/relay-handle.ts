import type { Logger } from 'pino';
import { TypedEmitter } from '../../util/typed-emitter';
import type { RelaySrtpParams, RelayStatsResult, RemoteAddress } from '../../../workers/mixer/protocol';
import type { MediaThread } from './media-thread';

export type RelayStats = RelayStatsResult;

export interface RelayHandleEvents {
  /** The first RTP SSRC from the phone, and every change: (re)create the mediasoup Producer with it. */
  ssrc: [ssrc: number, payloadType: number];
  /** Symmetric RTP latched (or re-latched) to the phone's real source address. */
  latched: [ip: string, port: number];
  /** Nothing from the phone for the configured timeout (fires once per setInactivityTimeout). */
  inactive: [];
  /** RFC 4733 digit in the phone's RTP (only when `dtmf` was set: plain RTP legs). */
  dtmf: [digit: string, durationMs: number];
  /** The relay is gone: closed by us, or its thread died. */
  closed: [];
}

interface RelayHandleInit {
  legId: string;
  innerIp: string;
  innerPort: number;
  port: number;
  rtcpPort?: number;
}

/**
 * Main-thread handle of one phone leg's RTP relay living in a media thread. No packet ever reaches this object:
 * only the relay's control events (SSRC learnt, latched, inactive).
 */
export class RelayHandle extends TypedEmitter<RelayHandleEvents> {
  readonly legId: string;
  /** The relay's inner socket: connect the leg's mediasoup PlainTransport to it. */
  readonly innerIp: string;
  readonly innerPort: number;
  /** Phone-facing ports (announce in the SDP). */
  readonly port: number;
  readonly rtcpPort?: number;
  private isClosed = false;
  private closing: Promise<void> | null = null;

  /** @internal created by MediaThread.createRelay */
  constructor(
    private readonly thread: MediaThread,
    init: RelayHandleInit,
    log?: Logger,
  ) {
    super(log);
    this.legId = init.legId;
    this.innerIp = init.innerIp;
    this.innerPort = init.innerPort;
    this.port = init.port;
    this.rtcpPort = init.rtcpPort;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Where the relay sends what the phone sends: the mediasoup PlainTransport's tuple.localIp/localPort. */
  async connectInner(ip: string, port: number): Promise<void> {
    await this.thread.request('relay.connectInner', { legId: this.legId, ip, port });
  }

  async disconnectInner(): Promise<void> {
    await this.thread.request('relay.disconnectInner', { legId: this.legId });
  }

  /** A re-INVITE changed the phone's address (null: none, e.g. c=0.0.0.0 hold). */
  async updateRemote(remote: RemoteAddress | null, latch: boolean): Promise<void> {
    await this.thread.request('relay.updateRemote', { legId: this.legId, remote, latch });
  }

  /** 0 disables. */
  async setInactivityTimeout(ms: number): Promise<void> {
    await this.thread.request('relay.setInactivityTimeout', { legId: this.legId, ms });
  }

  /**
   * Decode RFC 4733 digits in the phone's RTP (null: stop). Plain RTP only: under SRTP the payload is encrypted
   * (such legs need SIP INFO or in-band detection). mediasoup 3.19 consumers do not forward telephone-event,
   * so the relay is the one place that sees them.
   */
  async setDtmf(dtmf: { payloadType: number; clockRate?: number } | null): Promise<void> {
    await this.thread.request('relay.setDtmf', { legId: this.legId, dtmf });
  }

  /** Rewrite payload types on the way to the phone (router PT → phone PT; null: none). Plain RTP only. */
  async setPayloadTypeMap(map: Array<[number, number]> | null): Promise<void> {
    await this.thread.request('relay.setPayloadTypeMap', { legId: this.legId, map });
  }

  /** New SDES contexts in the thread (re-key), or none. */
  async setSrtp(srtp: RelaySrtpParams | null): Promise<void> {
    await this.thread.request('relay.setSrtp', { legId: this.legId, srtp });
  }

  /** Hold / resume: whether the phone's media is passed on, and whether media is sent to it. */
  async setDirection(sends: boolean, receives: boolean): Promise<void> {
    await this.thread.request('relay.setDirection', { legId: this.legId, sends, receives });
  }

  async stats(): Promise<RelayStats> {
    return this.thread.request('relay.stats', { legId: this.legId });
  }

  /** Idempotent. Releases the relay's sockets; the caller releases the allocator's ports. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      try {
        if (!this.isClosed && this.thread.alive)
          await this.thread.request('relay.close', { legId: this.legId });
      } catch {
        // the thread died meanwhile: its sockets are gone with it
      } finally {
        this.markClosed();
      }
    })();
    return this.closing;
  }

  /** @internal notification routing from MediaThread */
  onNotification(event: 'ssrc' | 'latched' | 'inactive' | 'dtmf', args: unknown[]): void {
    if (this.isClosed) return;
    switch (event) {
      case 'ssrc':
        this.safeEmit('ssrc', args[0] as number, args[1] as number);
        break;
      case 'latched':
        this.safeEmit('latched', args[0] as string, args[1] as number);
        break;
      case 'inactive':
        this.safeEmit('inactive');
        break;
      case 'dtmf':
        this.safeEmit('dtmf', args[0] as string, args[1] as number);
        break;
    }
  }

  /** @internal */
  markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.thread.forgetRelay(this.legId, this);
    this.safeEmit('closed');
  }
}
