import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaLeg, MediaLegFactory, MixerLegInfo } from '../../media/media-leg';
import {
  acceptedMedia,
  applyAnswer,
  buildAnswer,
  buildOffer,
  negotiate,
  SdpNegotiationError,
  SdpSession,
  type AcceptedMedia,
  type LocalCapabilities,
  type NegotiatedSession,
} from '../../media/sdp';
import type { ModifyRequest, SessionDialog } from '../../sip/dialog/session-dialog';
import { TerminationReason } from '../../sip/dialog/dialog-state';
import { LeaveReason } from '../participant/leave-reason';
import { ParticipantState, type Participant } from '../participant/participant';
import type { AudioEndpoint, RoomAudio } from '../../media/room-audio/room-audio';
import { TypedEmitter } from '../../util/typed-emitter';
import type { Keypad } from './keypad';

export interface CallMedia {
  /** Builds this call's legs in its room (thread, router, ports). */
  legs: MediaLegFactory;
  announcedIp: string;
  rtpTimeoutMs: number;
}

/** A negotiation error that the focus answers with its status (488, 400). */
export { SdpNegotiationError };

const TERMINATION_TO_LEAVE: Record<TerminationReason, LeaveReason> = {
  [TerminationReason.RemoteBye]: LeaveReason.RemoteBye,
  [TerminationReason.LocalBye]: LeaveReason.LocalBye,
  [TerminationReason.AckTimeout]: LeaveReason.AckTimeout,
  [TerminationReason.SessionExpired]: LeaveReason.SessionExpired,
  [TerminationReason.RequestFailed]: LeaveReason.MediaFailed,
  [TerminationReason.TransportError]: LeaveReason.MediaFailed,
  [TerminationReason.StackClosed]: LeaveReason.ServerShutdown,
};

/**
 * One phone in a room: the SIP dialog, the SDP offer/answer state (RFC 3264) and one media leg per served m-line.
 * Owned by its Participant: closing the participant sends BYE (if the dialog is up) and closes the legs.
 */
export interface SipCallEvents {
  /** A keypad digit: RFC 4733 in the RTP, or SIP INFO (application/dtmf-relay, application/dtmf). */
  dtmf: [digit: string];
  /** A PIN entered on the keypad (digits before '#'). */
  pin: [pin: string];
}

/** Parses the body of a SIP INFO carrying DTMF: `Signal=5` (application/dtmf-relay) or `5` (application/dtmf). */
export function parseInfoDtmf(contentType: string | undefined, body: string): string | undefined {
  const type = contentType?.toLowerCase();
  let signal: string | undefined;
  if (type === 'application/dtmf-relay') signal = /^\s*signal\s*=\s*(\S+)/im.exec(body)?.[1];
  else if (type === 'application/dtmf') signal = body.trim();
  if (!signal) return undefined;
  if (signal === '10') return '*';
  if (signal === '11') return '#';
  return /^[0-9*#A-Da-d]$/.test(signal) ? signal.toUpperCase() : undefined;
}

export class SipCall extends TypedEmitter<SipCallEvents> implements AudioEndpoint {
  readonly sdpSession: SdpSession;
  /** The in-call keypad state (set by the focus). */
  keypad?: Keypad;
  private readonly legs = new Map<number, MediaLeg>();
  private negotiated?: NegotiatedSession;
  private dialog?: SessionDialog;
  private ending = false;
  /** Why we hung up (hangup()): the leave reason, not the dialog's generic local-bye. */
  private hangupReason?: LeaveReason;

  constructor(
    readonly participant: Participant,
    private readonly media: CallMedia,
    private audio: RoomAudio,
    private readonly log: Logger,
  ) {
    super(log);
    this.sdpSession = new SdpSession({ address: media.announcedIp });
    participant.own(() => this.teardown());
  }

  get participantId(): string {
    return this.participant.id;
  }

  /** The codec the phone receives (router mimeType). */
  get receiveMimeType(): string | undefined {
    return this.audioLeg?.negotiated?.codec.mimeType;
  }

  /** The phone's audio producer (for the room's audio router and for browsers). */
  get producer(): types.Producer | undefined {
    return this.audioLeg?.producer;
  }

  /** Set when the phone's audio terminates in the room's media thread (mixed rooms). */
  get mixerLeg(): MixerLegInfo | undefined {
    return this.audioLeg?.mixerLeg;
  }

  private get audioLeg(): MediaLeg | undefined {
    for (const leg of this.legs.values()) if (leg.negotiated?.kind === 'audio' || !leg.negotiated) return leg;
    return undefined;
  }

  private get caps(): LocalCapabilities {
    return { codecs: this.media.legs.codecs };
  }

  async setSource(producerId: string | null): Promise<void> {
    await this.audioLeg?.setSource(producerId);
  }

  /** Moves the phone to another audio room (PIN lobby → conference). */
  async moveTo(next: RoomAudio): Promise<void> {
    const prev = this.audio;
    this.audio = next;
    await prev.remove(this.participant.id);
    await next.add(this);
  }

  get roomAudio(): RoomAudio {
    return this.audio;
  }

  /** Early offer: negotiate the phone's offer and build our answer. Throws SdpNegotiationError (488/400). */
  async answerOffer(offer: string, signallingSourceIp: string): Promise<string> {
    const neg = negotiate(offer, this.caps, { signallingSourceIp, codecPreference: 'prefer-router-pt' });
    await this.applyNegotiation(neg);
    return this.renderAnswer();
  }

  /** Delayed offer (RFC 3261 §13.2.1): our offer goes in the 2xx; the answer comes in the ACK (`applyAckAnswer`). */
  async makeOffer(): Promise<string> {
    const leg = await this.createLeg(undefined, 0);
    this.legs.set(0, leg);
    return buildOffer(
      { ip: this.media.announcedIp, media: [{ kind: 'audio', port: leg.localPort }] },
      this.caps,
      this.sdpSession,
    );
  }

  async applyAckAnswer(answer: string, offer: string): Promise<void> {
    const neg = applyAnswer(offer, answer, this.caps, {});
    this.negotiated = neg;
    const m = acceptedMedia(neg).find((x) => x.kind === 'audio');
    const leg = this.legs.get(0);
    if (!m || !leg) throw new SdpNegotiationError(488, 'no audio in the answer');
    await leg.update(m);
    await this.afterMediaChange();
  }

  /** The dialog is up: follow its re-INVITE/UPDATE, BYE and failures. */
  attachDialog(dialog: SessionDialog): void {
    this.dialog = dialog;
    dialog.on('modify', (m) => void this.onModify(m));
    dialog.on('info', (info) => {
      const digit = parseInfoDtmf(info.request.contentType, info.body.toString('utf8'));
      if (!digit) {
        info.reply(info.body.length ? 415 : 200);
        return;
      }
      info.reply(200);
      this.safeEmit('dtmf', digit);
    });
    dialog.on('terminated', (info) => {
      this.log.info({ reason: info.reason }, 'dialog terminated');
      // Our own BYE terminates the dialog synchronously inside hangup(): keep hangup()'s reason (pin-failed,
      // rtp-timeout...) rather than the dialog's local-bye.
      const ours = info.reason === TerminationReason.LocalBye ? this.hangupReason : undefined;
      this.participant.close(ours ?? TERMINATION_TO_LEAVE[info.reason] ?? LeaveReason.LocalBye);
    });
    if (dialog.terminated) this.participant.close(LeaveReason.RemoteBye);
  }

  /** Ends the call from our side with BYE and an RFC 3326 Reason header. */
  hangup(reason: LeaveReason, why?: { cause: number; text: string }): void {
    if (this.dialog && !this.dialog.terminated && !this.ending) {
      this.ending = true;
      this.hangupReason = reason;
      const headers = why ? { Reason: `SIP;cause=${why.cause};text="${why.text}"` } : undefined;
      this.dialog
        .bye(headers ? { headers } : {})
        .catch((err: unknown) => this.log.warn({ err }, 'BYE failed'));
    }
    this.participant.close(reason);
  }

  private async onModify(m: ModifyRequest): Promise<void> {
    const offer = m.sdp;
    try {
      if (!offer) {
        // A re-INVITE without offer: our current SDP is the offer; the answer comes in the ACK.
        const ours = this.renderAnswer();
        const ack = await m.accept({ sdp: ours });
        if (ack && ack.body.length > 0)
          await this.applyNegotiation(applyAnswer(ours, ack.body.toString(), this.caps, {}));
        return;
      }
      const neg = negotiate(offer, this.caps, {
        signallingSourceIp: m.request.topVia.received ?? m.request.topVia.host,
        codecPreference: 'prefer-router-pt',
      });
      await this.applyNegotiation(neg);
      await m.accept({ sdp: this.renderAnswer() });
    } catch (err) {
      if (err instanceof SdpNegotiationError) {
        this.log.info({ err: err.message }, 'modification rejected');
        m.reject(err.status, err.message);
      } else {
        this.log.error({ err }, 'modification failed');
        m.reject(500, 'Media update failed');
      }
    }
  }

  /** Creates, updates or replaces the legs so they match `neg`; the previous negotiation stays on failure. */
  private async applyNegotiation(neg: NegotiatedSession): Promise<void> {
    const prev = this.negotiated;
    for (const m of neg.media) {
      const old = this.legs.get(m.index);
      if (!m.accepted) {
        old?.close();
        this.legs.delete(m.index);
        continue;
      }
      const prevM = prev?.media[m.index];
      const needsNewLeg =
        !old ||
        !prevM?.accepted ||
        prevM.transportOptions.enableSrtp !== m.transportOptions.enableSrtp ||
        prevM.srtp?.remoteKeyBase64 !== m.srtp?.remoteKeyBase64 ||
        prevM.srtp?.suite !== m.srtp?.suite ||
        prevM.transportOptions.rtcpMux !== m.transportOptions.rtcpMux;
      if (needsNewLeg) {
        // mediasoup connects a transport once: a new key or RTCP-mux change means a new leg (and a new port).
        const leg = await this.createLeg(m, m.index);
        old?.close();
        this.legs.set(m.index, leg);
      } else {
        await old.update(m);
      }
    }
    for (const idx of [...this.legs.keys()]) if (!neg.media[idx]) this.legs.get(idx)?.close();
    this.negotiated = neg;
    await this.afterMediaChange();
  }

  private async createLeg(m: AcceptedMedia | undefined, index: number): Promise<MediaLeg> {
    const leg = await this.media.legs.create({
      ...(m ? { media: m } : {}),
      kind: m?.kind ?? 'audio',
      log: this.log.child({ leg: index }),
    });
    if (this.participant.state === ParticipantState.Left) {
      // The call ended (CANCEL, BYE) while the leg was being built: teardown() has run already and would never
      // see this leg, so close it here rather than leak its relay sockets and transport.
      leg.close();
      throw new Error('call ended during media setup');
    }
    leg.on('producer', (producer) => {
      if (producer.kind === 'video') {
        // H.264 from a video phone: a Producer browsers can consume (later wave); phones get no video back yet.
        this.participant.update({ video: true });
        producer.observer.once('close', () => {
          if (![...this.legs.values()].some((l) => l.producer?.kind === 'video' && !l.producer.closed))
            this.participant.update({ video: false });
        });
        return;
      }
      void this.audio.producerChanged(this).catch(() => undefined);
    });
    leg.on('dtmf', (digit) => this.safeEmit('dtmf', digit));
    leg.on('inactive', () => {
      this.log.warn('no RTP: ending the call');
      this.hangup(LeaveReason.RtpTimeout, { cause: 408, text: 'RTP timeout' });
    });
    leg.on('closed', () => {
      if (this.legs.get(index) === leg) this.legs.delete(index);
    });
    return leg;
  }

  /** Participant fields, hold state and the inactivity timer follow the audio m-line. */
  private async afterMediaChange(): Promise<void> {
    const leg = this.audioLeg;
    const m = leg?.negotiated;
    if (!leg || !m) return;
    // RFC 3264 §8.4: a phone that no longer wants to receive (sendonly/inactive, c=0.0.0.0) has put us on hold.
    const onHold = !m.phoneReceives;
    this.participant.update({ codec: m.codec.encodingName, srtp: m.transportOptions.enableSrtp, onHold });
    await leg.setInactivityTimeout(onHold ? 0 : this.media.rtpTimeoutMs);
    await this.audio.producerChanged(this);
  }

  private renderAnswer(): string {
    if (!this.negotiated) throw new Error('no negotiation yet');
    return buildAnswer(
      this.negotiated,
      {
        ip: this.media.announcedIp,
        media: this.negotiated.media.map((m) => {
          const leg = this.legs.get(m.index);
          if (!m.accepted || !leg) return undefined;
          return {
            port: leg.localPort,
            ...(leg.localRtcpPort !== undefined ? { rtcpPort: leg.localRtcpPort } : {}),
            ...(leg.srtpKeyBase64 ? { srtpKeyBase64: leg.srtpKeyBase64 } : {}),
          };
        }),
      },
      this.sdpSession,
    );
  }

  private teardown(): void {
    if (this.dialog && !this.dialog.terminated && !this.ending) {
      this.ending = true;
      this.dialog.bye().catch(() => undefined);
    }
    for (const leg of this.legs.values()) leg.close();
    this.legs.clear();
    void this.audio.remove(this.participant.id).catch(() => undefined);
  }
}
