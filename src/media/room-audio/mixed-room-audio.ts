import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaThread } from '../mixer/media-thread';
import type { MixerRoomHandle, MixerRoomStats } from '../mixer/mixer-room-handle';
import { TypedEmitter } from '../../util/typed-emitter';
import type { AddAudioOptions, AudioEndpoint, RoomAudio } from './room-audio';

type MixerCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus';

const CODEC_BY_MIME: Record<string, MixerCodec> = {
  'audio/pcmu': 'PCMU',
  'audio/pcma': 'PCMA',
  'audio/g722': 'G722',
  'audio/opus': 'opus',
};

interface Member {
  ep: AudioEndpoint;
  /** Endpoint attached to a leg of the mixer's thread: what it was last described with (change detection). */
  directKey?: string;
  /** Output SSRC of a directly attached endpoint's mix (stable across codec changes and re-keys). */
  directSsrc?: number;
  /** The mix this participant hears: a Producer on the mixer-output transport, consumed on the participant's leg. */
  output?: { producer: types.Producer; ssrc: number; mime: string };
  /** The participant's voice into the mixer: a Consumer of its Producer on the mixer-input transport. */
  input?: types.Consumer;
  muted: boolean;
  /** Known to the mixer thread (added once, then updated in place). */
  registered: boolean;
}

export interface MixedRoomAudioEvents {
  speaking: [participantId: string, speaking: boolean];
}

/**
 * The MCU: every participant hears the room's mix without itself (mix-minus), computed in a media thread. Two
 * kinds of members, no packet ever on the main thread:
 *  - endpoints whose audio terminates in the mixer's own thread (`mixerLeg`: phones): the mixer reads and writes
 *    their leg directly, with their negotiated codec and payload type;
 *  - endpoints whose audio is a mediasoup Producer (forwarded legs; browsers next): Producer → Consumer on the
 *    "mixer input" PlainTransport → thread (jitter buffer, decode, mix, encode once per codec for listeners, per
 *    talker for mix-minus) → "mixer output" PlainTransport → one Producer per participant → Consumer on its leg.
 *    Those two transports are built for the first such member only. RFC 4733 digits in such a Producer (WebRTC
 *    callers: nothing else sees their RTP) are read by the thread from that Consumer and handed to the endpoint's
 *    `onDtmf`; telephone-event is never mixed as audio.
 * With `mixInputs: false` it is a lobby: participants hear only what is played to them (PIN prompts).
 */
export class MixedRoomAudio extends TypedEmitter<MixedRoomAudioEvents> implements RoomAudio {
  private readonly members = new Map<string, Member>();
  private closed = false;
  /** Serialises membership changes so a burst of events cannot interleave half-built members. */
  private queue: Promise<unknown> = Promise.resolve();

  /** The mediasoup side (mixer-input and -output PlainTransports), built for the first router endpoint only. */
  private transports?: Promise<{ inT: types.PlainTransport; outT: types.PlainTransport }>;

  private constructor(
    private readonly router: types.Router,
    private readonly mixer: MixerRoomHandle,
    private readonly listenIp: string,
    private readonly mixInputs: boolean,
    private readonly log: Logger,
  ) {
    super(log);
    mixer.on('speaking', (pid, speaking) => this.safeEmit('speaking', pid, speaking));
    // RFC 4733 §2.5: the thread reports each key press once (end packet, or the next event if all ends were lost).
    mixer.on('dtmf', (pid, digit, durationMs) => this.members.get(pid)?.ep.onDtmf?.(digit, durationMs));
    mixer.on('closed', () => {
      if (!this.closed) log.error('mixer room closed under the room (media thread died?)');
    });
  }

  static async create(opts: {
    router: types.Router;
    thread: MediaThread;
    roomId: string;
    listenIp: string;
    mixInputs?: boolean;
    log: Logger;
  }): Promise<MixedRoomAudio> {
    const mixer = await opts.thread.createMixerRoom({ roomId: opts.roomId, ip: opts.listenIp, rate: 'auto' });
    return new MixedRoomAudio(opts.router, mixer, opts.listenIp, opts.mixInputs ?? true, opts.log);
  }

  /**
   * Endpoints whose audio goes through mediasoup (forwarded legs; browsers later) reach the mix through two
   * PlainTransports connected to the thread's room sockets. Phones mixed in the thread never need them.
   */
  private routerSide(): Promise<{ inT: types.PlainTransport; outT: types.PlainTransport }> {
    this.transports ??= (async () => {
      const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: this.listenIp };
      let inT: types.PlainTransport | undefined;
      let outT: types.PlainTransport | undefined;
      try {
        inT = await this.router.createPlainTransport({
          enableSctp: false, // mediasoup 3.19.3 mitigation: no DataChannels anywhere
          listenInfo,
          rtcpMux: true,
          comedia: false,
          appData: { mixer: 'in' },
        });
        outT = await this.router.createPlainTransport({
          enableSctp: false, // mediasoup 3.19.3 mitigation: no DataChannels anywhere
          listenInfo,
          rtcpMux: true,
          comedia: false,
          appData: { mixer: 'out' },
        });
        await inT.connect({ ip: this.mixer.inputIp, port: this.mixer.inputPort });
        await outT.connect({ ip: this.mixer.outputIp, port: this.mixer.outputPort });
        await this.mixer.connectOutput(outT.tuple.localAddress ?? outT.tuple.localIp, outT.tuple.localPort);
        if (this.closed) {
          inT.close();
          outT.close();
        }
        return { inT, outT };
      } catch (err) {
        inT?.close();
        outT?.close();
        this.transports = undefined;
        throw err;
      }
    })();
    return this.transports;
  }

  /** `muted`: described muted in the mixer's own add (`mixer.addParticipant`), so no frame of it is ever mixed. */
  add(ep: AudioEndpoint, opts: AddAudioOptions = {}): Promise<void> {
    return this.serial(async () => {
      if (this.closed || this.members.has(ep.participantId)) return;
      const m: Member = { ep, muted: opts.muted ?? false, registered: false };
      this.members.set(ep.participantId, m);
      await this.sync(m);
    });
  }

  producerChanged(ep: AudioEndpoint): Promise<void> {
    return this.serial(async () => {
      const m = this.members.get(ep.participantId);
      if (m && !this.closed) await this.sync(m);
    });
  }

  remove(participantId: string): Promise<void> {
    // The mediasoup side goes at once, not after queued changes: the caller closes the participant's own transports
    // right after, and a consumer of its producer closed later would already be gone in the worker.
    const now = this.members.get(participantId);
    if (now) {
      this.members.delete(participantId);
      now.input?.close();
      now.input = undefined;
      now.output?.producer.close();
      now.output = undefined;
    }
    return this.serial(async () => {
      const m = now ?? this.members.get(participantId);
      if (!m) return;
      this.members.delete(participantId);
      m.input?.close();
      m.output?.producer.close();
      if (!this.closed) await this.mixer.removeParticipant(participantId).catch(() => undefined);
    });
  }

  async setMuted(participantId: string, muted: boolean): Promise<void> {
    const m = this.members.get(participantId);
    if (!m || this.closed) return;
    m.muted = muted;
    // A member the mixer does not know yet (a browser before its microphone Producer: no input, and browsers get
    // no mix) is described with `muted` when it is (sync). In the membership queue, so an add in flight (described
    // with the old flag) is corrected once it is done.
    if (m.registered) await this.mixer.setMuted(participantId, muted);
    else
      await this.serial(async () => {
        if (m.registered && this.members.get(participantId) === m && !this.closed)
          await this.mixer.setMuted(participantId, m.muted);
      });
  }

  /**
   * Plays a clip to one participant and resolves when it was played out or stopped. Waits for pending membership
   * changes first, so a prompt queued right after a join reaches the registered participant; later changes (its
   * producer appears with the first RTP, an SSRC or codec change) update it in place and do not cut the clip.
   */
  async play(participantId: string, pcm: Int16Array, rate: number): Promise<void> {
    await this.serial(async () => undefined);
    const m = this.members.get(participantId);
    if (this.closed || !m || (!m.output && m.directKey === undefined)) return;
    await this.mixer.playAndWait(participantId, pcm, rate);
  }

  async announce(pcm: Int16Array, rate: number): Promise<void> {
    if (this.closed || !this.mixInputs) return;
    await this.mixer.announce(pcm, rate);
  }

  async stopPlay(participantId: string): Promise<void> {
    if (this.closed || !this.members.has(participantId)) return;
    await this.mixer.stopPlay(participantId).catch(() => undefined);
  }

  stats(): Promise<MixerRoomStats> {
    return this.mixer.stats();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.members.values()) {
      m.input?.close();
      m.output?.producer.close();
    }
    this.members.clear();
    void this.transports?.then(
      (t) => {
        t.inT.close();
        t.outT.close();
      },
      () => undefined,
    );
    void this.mixer.close();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch((err: unknown) => this.log.warn({ err }, 'mixer membership change failed'));
    return next;
  }

  /**
   * An endpoint whose audio terminates in the mixer's own thread: the mixer reads and writes its leg directly,
   * with the negotiated codec and payload type. No mediasoup object is involved.
   */
  private async syncDirect(m: Member): Promise<void> {
    const leg = m.ep.mixerLeg!;
    const key = JSON.stringify(leg);
    if (key === m.directKey) return;
    m.input?.close();
    m.input = undefined;
    m.output?.producer.close();
    m.output = undefined;
    m.directSsrc ??= randomInt(1, 2 ** 31);
    const describe = m.registered ? this.mixer.updateParticipant : this.mixer.addParticipant;
    await describe.call(this.mixer, {
      participantId: m.ep.participantId,
      leg: leg.legId,
      ...(this.mixInputs ? { input: { payloadType: leg.payloadType, codec: leg.codec } } : {}),
      output: { ssrc: m.directSsrc, payloadType: leg.payloadType, codec: leg.codec },
      muted: m.muted,
    });
    m.registered = true;
    m.directKey = key;
  }

  /** Brings one member's mixer registration in line with its endpoint (codec, producer). */
  private async sync(m: Member): Promise<void> {
    const { ep } = m;
    if (ep.mixerLeg) return this.syncDirect(m);
    m.directKey = undefined;
    const mime = ep.receiveMimeType?.toLowerCase();
    const codec = mime ? CODEC_BY_MIME[mime] : undefined;
    const producer = this.mixInputs && ep.producer && !ep.producer.closed ? ep.producer : undefined;
    const inputStale = m.input && (m.input.closed || m.input.producerId !== producer?.id);
    const outputStale = m.output && m.output.mime !== mime;
    if (
      !inputStale &&
      !outputStale &&
      Boolean(m.input) === Boolean(producer) &&
      Boolean(m.output) === Boolean(codec)
    )
      return;

    // Only on join, codec or SSRC changes: rebuild the stale mediasoup side, then describe it to the mixer.
    if (inputStale || !producer) {
      m.input?.close();
      m.input = undefined;
    }
    if (outputStale || !codec) {
      m.output?.producer.close();
      m.output = undefined;
    }
    const side = producer || codec ? await this.routerSide() : undefined;
    if (producer && !m.input) {
      m.input = await side!.inT.consume({
        producerId: producer.id,
        rtpCapabilities: this.router.rtpCapabilities,
      });
    }
    if (codec && !m.output) {
      const cap = this.router.rtpCapabilities.codecs!.find((c) => c.mimeType.toLowerCase() === mime)!;
      const ssrc = randomInt(1, 2 ** 31);
      const producerOut = await side!.outT.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [
            {
              mimeType: cap.mimeType,
              payloadType: cap.preferredPayloadType!,
              clockRate: cap.clockRate,
              ...(cap.channels ? { channels: cap.channels } : {}),
              ...(cap.parameters ? { parameters: cap.parameters } : {}),
            },
          ],
          encodings: [{ ssrc }],
        },
        appData: { mixFor: ep.participantId },
      });
      m.output = { producer: producerOut, ssrc, mime: mime! };
    }
    const inMedia = m.input?.rtpParameters.codecs.find((c) => CODEC_BY_MIME[c.mimeType.toLowerCase()]);
    const inCodec = inMedia ? CODEC_BY_MIME[inMedia.mimeType.toLowerCase()] : undefined;
    // RFC 4733 in the consumer (the Producer negotiated it, router PT): read by the thread, never mixed as audio.
    const inDtmf = ep.onDtmf
      ? m.input?.rtpParameters.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/telephone-event')
      : undefined;
    const describe = m.registered ? this.mixer.updateParticipant : this.mixer.addParticipant;
    await describe.call(this.mixer, {
      participantId: ep.participantId,
      ...(m.input && inMedia && inCodec
        ? {
            input: {
              ssrc: m.input.rtpParameters.encodings![0]!.ssrc!,
              payloadType: inMedia.payloadType,
              codec: inCodec,
              ...(inDtmf ? { dtmfPayloadType: inDtmf.payloadType, dtmfClockRate: inDtmf.clockRate } : {}),
            },
          }
        : {}),
      ...(m.output && codec
        ? {
            output: {
              ssrc: m.output.ssrc,
              payloadType: m.output.producer.rtpParameters.codecs[0]!.payloadType,
              codec,
            },
          }
        : {}),
      muted: m.muted,
    });
    m.registered = true;
    await ep.setSource(m.output?.producer.id ?? null);
  }
}
