import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { LeaveReason } from '../conference/participant/leave-reason';
import type { MuteSource, Participant } from '../conference/participant/participant';
import { ParticipantKind } from '../conference/participant/participant-kind';
import {
  producerMediaStats,
  type HangupCause,
  type ParticipantSession,
  type ParticipantSessionEvents,
  type SessionMediaStats,
} from '../conference/participant/participant-session';
import type { Publication, SfuFeed } from '../conference/room/room-sfu';
import { AppError } from '../errors/app-error';
import type { MediaLeg, MediaLegFactory } from '../media/media-leg';
import type { MediaSource, MediaSourceEvents } from '../media/media-source';
import type { AudioEndpoint } from '../media/room-audio/room-audio';
import type { ProducerSource, WebRtcPeer } from '../media/webrtc/webrtc-peer';
import type { RtcServerToClient } from '../protocol/rtc-protocol';
import { TypedEmitter } from '../util/typed-emitter';

/** How the session talks to its page (a socket.io connection that may drop and come back). */
export interface PageLink {
  emit<K extends keyof RtcServerToClient>(event: K, ...args: Parameters<RtcServerToClient[K]>): void;
}

/** Why the page is told it ended. */
const ENDED_TEXT: Partial<Record<LeaveReason, string>> = {
  [LeaveReason.Kicked]: 'A moderator removed you from the room.',
  [LeaveReason.RoomClosed]: 'The room was ended.',
  [LeaveReason.ServerShutdown]: 'The server is shutting down.',
  [LeaveReason.MediaFailed]: 'The media connection failed.',
  [LeaveReason.ConnectionLost]: 'Your connection was lost.',
  [LeaveReason.Draining]: 'The server is restarting; join again in a moment.',
};

/**
 * Reasons whose page text above wins over the hang-up's own text: that one is written for a SIP Reason header
 * ('Server draining', for operators' logs and phones), while the person in the browser needs to know what to do.
 */
const PAGE_TEXT_FIRST: ReadonlySet<LeaveReason> = new Set([LeaveReason.Draining]);

/** A browser's mic or camera as an SFU source: its Producer is replaced when the page switches devices. */
class BrowserSource extends TypedEmitter<MediaSourceEvents> implements MediaSource {
  constructor(
    readonly kind: types.MediaKind,
    public producer: types.Producer,
    log: Logger,
  ) {
    super(log);
  }

  replace(producer: types.Producer): void {
    this.producer = producer;
    this.safeEmit('producer', producer);
  }

  async acquireProducer(): Promise<types.Producer | undefined> {
    return this.producer.closed ? undefined : this.producer;
  }

  releaseProducer(): void {}
}

interface Subscription {
  pub: Publication;
  consumer?: types.Consumer;
  onProducer: (producer: types.Producer) => void;
  /** The source's Producer is held (acquireProducer called). */
  held: boolean;
  /**
   * Consumes one after the other: the source's first Producer can be announced twice (the `producer` event and
   * `acquireProducer`'s answer), and two consumes in flight would both reach the page.
   */
  consuming: Promise<void>;
  /** The page asked for the consumer's media (`resumeConsumer`: its track is set up, its tile visible). */
  wanted: boolean;
}

/**
 * A browser participant's session: its WebRTC peer (transports, producers, consumers) and its page link. What the
 * browser says reaches the room's mixer as its mic Producer (`audio`); what it hears and sees is every other
 * participant's stream separately (the room's SFU feed, consumed as-is: phones' PCMU/PCMA/G.722/Opus, browsers'
 * Opus and VP8). A muted participant's consumers are paused.
 */
export class WebRtcSession extends TypedEmitter<ParticipantSessionEvents> implements ParticipantSession {
  readonly kind = ParticipantKind.WebRtc;
  /** A browser always joins by itself (no SIP: no Call-ID, no call ladder). */
  readonly direction = 'inbound' as const;
  readonly legs: readonly MediaLeg[] = [];
  readonly mediaOnRouter = true;
  readonly audio: AudioEndpoint;
  private readonly sourceBy = new Map<ProducerSource, BrowserSource>();
  private readonly subs = new Map<string, Subscription>();
  /** Consumer id → the participant and source it carries (for the page). */
  private feed?: SfuFeed;
  private mutedBy?: MuteSource;
  private closed = false;

  constructor(
    readonly participant: Participant,
    readonly peer: WebRtcPeer,
    private link: PageLink,
    /** What the page can decode (its mediasoup Device's capabilities). */
    private readonly rtpCapabilities: types.RtpCapabilities,
  ) {
    super(participant.log);
    const sources = this.sourceBy;
    this.audio = {
      participantId: participant.id,
      get producer() {
        return sources.get('mic')?.producer;
      },
      // Browsers hear the room as separate streams, never a mix.
      receiveMimeType: undefined,
      async setSource(): Promise<void> {},
    };
    peer.on('produced', (producer, source) => this.onProduced(producer, source));
    peer.on('producerClosed', (_id, source) => this.onProducerClosed(source));
    peer.on('consumerClosed', (consumerId) => this.link.emit('consumerClosed', { consumerId }));
    // The peer's transports went away under the session (its mediasoup worker died, or DTLS failed): the page is
    // told (`ended`, media-failed) and joins again by itself, onto the room's rebuilt router (issue 14).
    peer.on('closed', () => {
      if (!this.closed && !participant.hasLeft()) this.hangup(LeaveReason.MediaFailed);
    });
    participant.on('muted', (muted, by) => void this.onMuted(muted, by));
    participant.own(() => this.close());
  }

  /** The page came back on a new connection (reconnect): events go there from now on. */
  relink(link: PageLink): void {
    this.link = link;
  }

  /** The mic Producer's receive figures (mediasoup: fractionLost, jitter, roundTripTime). */
  mediaStats(): Promise<SessionMediaStats | null> {
    return producerMediaStats(this.sourceBy.get('mic')?.producer);
  }

  sources(): readonly MediaSource[] {
    return [...this.sourceBy.values()];
  }

  subscribe(feed: SfuFeed | undefined): void {
    if (this.feed === feed) return;
    if (this.feed) {
      this.feed.off('published', this.onPublished);
      this.feed.off('unpublished', this.onUnpublished);
      this.feed.off('muted', this.onFeedMuted);
      // Closing: the transports close every consumer at once (closing them one by one would race the producers'
      // own closing when the whole room ends).
      for (const sub of [...this.subs.values()]) this.unsubscribe(sub, !this.closed);
    }
    this.feed = feed;
    if (!feed || this.closed) return;
    feed.on('published', this.onPublished);
    feed.on('unpublished', this.onUnpublished);
    feed.on('muted', this.onFeedMuted);
    for (const pub of feed.list()) this.onPublished(pub);
  }

  hangup(reason: LeaveReason, why?: HangupCause): void {
    if (!this.closed)
      this.link.emit('ended', {
        reason,
        message:
          (PAGE_TEXT_FIRST.has(reason) ? ENDED_TEXT[reason] : undefined) ??
          why?.text ??
          ENDED_TEXT[reason] ??
          'You left the room.',
      });
    this.participant.close(reason);
  }

  /** Browsers' media lives on one room's router: moving them is a rejoin (the conference refuses the move). */
  rehome(_legs: MediaLegFactory): void {}

  /** Self mute from the page: the conference mutes (out of the mix, consumers paused) and the mic Producer pauses. */
  async resumeMic(): Promise<void> {
    if (this.participant.muted && this.mutedBy === 'moderator') throw new AppError('RTC_MUTED_BY_MODERATOR');
    await this.sourceBy.get('mic')?.producer.resume();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscribe(undefined);
    this.peer.close();
  }

  private onProduced(producer: types.Producer, source: ProducerSource): void {
    const existing = this.sourceBy.get(source);
    if (existing) existing.replace(producer);
    else this.sourceBy.set(source, new BrowserSource(producer.kind, producer, this.participant.log));
    if (source === 'mic' && this.participant.muted) void producer.pause();
    this.participant.setMedia({
      codec: source === 'mic' ? codecName(producer) : this.participant.codec,
      video: this.peer.producerOf('camera') !== undefined,
      srtp: true,
    });
    if (source === 'mic') this.safeEmit('audioChanged');
    if (!existing) this.safeEmit('sourcesChanged');
  }

  private onProducerClosed(source: ProducerSource): void {
    if (this.peer.producerOf(source)) return; // replaced
    this.sourceBy.delete(source);
    this.participant.setMedia({ video: this.peer.producerOf('camera') !== undefined });
    if (source === 'mic') this.safeEmit('audioChanged');
    this.safeEmit('sourcesChanged');
  }

  private async onMuted(muted: boolean, by: MuteSource): Promise<void> {
    this.mutedBy = muted ? by : undefined;
    const mic = this.sourceBy.get('mic')?.producer;
    if (mic && !mic.closed) await (muted ? mic.pause() : mic.resume()).catch(() => undefined);
    this.link.emit('mutedBy', { muted, by });
  }

  private readonly onPublished = (pub: Publication): void => {
    if (pub.participantId === this.participant.id || this.closed || this.subs.has(pub.key)) return;
    const sub: Subscription = {
      pub,
      held: true,
      onProducer: (producer) => this.queueConsume(sub, producer),
      consuming: Promise.resolve(),
      wanted: false,
    };
    this.subs.set(pub.key, sub);
    pub.source.on('producer', sub.onProducer);
    void pub.source.acquireProducer().then(
      (producer) => {
        if (producer) this.queueConsume(sub, producer);
      },
      (err: unknown) =>
        this.participant.log.warn({ err, from: pub.participantId }, 'cannot acquire a stream'),
    );
  };

  private readonly onUnpublished = (pub: Publication): void => {
    const sub = this.subs.get(pub.key);
    if (sub) this.unsubscribe(sub);
  };

  private readonly onFeedMuted = (participantId: string): void => {
    for (const sub of this.subs.values())
      if (sub.pub.participantId === participantId && sub.pub.source.kind === 'audio')
        void this.applyFlow(sub).catch(() => undefined);
  };

  /**
   * The page's `resumeConsumer`/`pauseConsumer`: it wants the consumer's media (its track is set up) or not (a
   * video tile out of view). What flows is that and the focus's mute: a muted participant's audio stays paused
   * whatever the page asks, and flows again when unmuted if the page wants it.
   */
  async setConsumerWanted(consumerId: string, wanted: boolean): Promise<void> {
    const consumer = this.peer.consumer(consumerId);
    const sub = [...this.subs.values()].find((s) => s.consumer === consumer);
    if (!sub) return wanted ? consumer.resume() : consumer.pause(); // unsubscribed, closing
    sub.wanted = wanted;
    await this.applyFlow(sub);
  }

  private async applyFlow(sub: Subscription): Promise<void> {
    const c = sub.consumer;
    if (!c || c.closed) return;
    const muted = c.kind === 'audio' && this.feed?.isMuted(sub.pub.participantId) === true;
    await (sub.wanted && !muted ? c.resume() : c.pause());
  }

  private unsubscribe(sub: Subscription, closeConsumer = true): void {
    this.subs.delete(sub.pub.key);
    sub.pub.source.off('producer', sub.onProducer);
    if (sub.consumer && closeConsumer) {
      const id = sub.consumer.id;
      this.peer.closeConsumer(id);
      this.link.emit('consumerClosed', { consumerId: id });
      sub.consumer = undefined;
    }
    if (sub.held) {
      sub.held = false;
      sub.pub.source.releaseProducer();
    }
  }

  /** Receives `producer` (a first one, or the replacement of the one consumed so far), after earlier ones. */
  private queueConsume(sub: Subscription, producer: types.Producer): void {
    sub.consuming = sub.consuming
      .then(() => this.consume(sub, producer))
      .catch((err: unknown) =>
        this.participant.log.warn({ err, from: sub.pub.participantId }, 'cannot consume a stream'),
      );
  }

  private async consume(sub: Subscription, producer: types.Producer): Promise<void> {
    if (this.closed || this.subs.get(sub.pub.key) !== sub || producer.closed) return;
    if (sub.consumer && !sub.consumer.closed && sub.consumer.producerId === producer.id) return;
    if (sub.consumer) {
      const old = sub.consumer.id;
      sub.consumer = undefined;
      this.peer.closeConsumer(old);
      this.link.emit('consumerClosed', { consumerId: old });
    }
    let consumer: types.Consumer | undefined;
    try {
      consumer = await this.peer.consume(producer, this.rtpCapabilities);
    } catch (err) {
      this.participant.log.warn({ err, from: sub.pub.participantId }, 'cannot consume a stream');
      return;
    }
    if (!consumer) {
      this.participant.log.info(
        { from: sub.pub.participantId, codec: producer.rtpParameters.codecs[0]?.mimeType },
        'the browser cannot decode this stream',
      );
      return;
    }
    if (this.subs.get(sub.pub.key) !== sub) {
      this.peer.closeConsumer(consumer.id);
      return;
    }
    // Created paused (WebRtcPeer.consume): nothing is sent before the page has set the consumer up with its SSRC
    // (RTP arriving first can be bound by the browser to another stream's receiver) and asks for it.
    sub.consumer = consumer;
    sub.wanted = false;
    this.link.emit('newConsumer', {
      consumerId: consumer.id,
      producerId: producer.id,
      participantId: sub.pub.participantId,
      kind: consumer.kind,
      source: consumer.kind === 'audio' ? 'mic' : 'camera',
      rtpParameters: consumer.rtpParameters as unknown as Record<string, unknown>,
      layered: consumer.type === 'simulcast' || consumer.type === 'svc',
    });
  }
}

function codecName(p: types.Producer): string | null {
  const mime = p.rtpParameters.codecs[0]?.mimeType;
  return mime ? mime.split('/')[1]! : null;
}
