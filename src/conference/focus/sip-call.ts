import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { AppError, ERROR_CATALOGUE } from '../../errors/app-error';
import type { MediaLeg, MediaLegFactory, MixerLegInfo } from '../../media/media-leg';
import {
  acceptedMedia,
  applyAnswer,
  buildAnswer,
  buildOffer,
  checkWebRtcReanswer,
  negotiate,
  SdpNegotiationError,
  SdpSession,
  type AcceptedMedia,
  type LocalCapabilities,
  type NegotiatedSession,
  webRtcKey,
} from '../../media/sdp';
import type { InDialogRequest, ModifyRequest, SessionDialog } from '../../sip/dialog/session-dialog';
import { IncomingInviteState, type IncomingInvite } from '../../sip/ua/incoming-invite';
import { TerminationReason } from '../../sip/dialog/dialog-state';
import { SipError } from '../../sip/errors';
import { LeaveReason } from '../participant/leave-reason';
import { ParticipantState, type Participant } from '../participant/participant';
import { ParticipantKind } from '../participant/participant-kind';
import {
  producerMediaStats,
  type CallDirection,
  type HangupCause,
  type ParticipantSession,
  type ParticipantSessionEvents,
  type SessionMediaStats,
} from '../participant/participant-session';
import type { AudioEndpoint } from '../../media/room-audio/room-audio';
import { TypedEmitter } from '../../util/typed-emitter';
import { assertSrtp, SrtpRequiredError } from './srtp-policy';

export interface CallMedia {
  /** Builds this call's legs in its room (thread, router, ports). */
  legs: MediaLegFactory;
  announcedIp: string;
  rtpTimeoutMs: number;
  /** The room requires SRTP: an offer (INVITE or re-INVITE) with a stream in the clear gets 488 (srtp-policy.ts). */
  requireSrtp?: boolean;
  /** A REFER in the call's dialog (RFC 4579 call control: refer-control.ts); absent: 603 Declined. */
  onRefer?: (r: InDialogRequest, dialog: SessionDialog, call: SipCall) => void;
  /**
   * Moves by REFER (refer-moves.ts): a move first asks the phone to call the new room itself, and falls back to a
   * re-INVITE when it refuses; absent: moves always re-INVITE.
   */
  referMoves?: ReferMoveDesk;
}

/** Where a move by REFER waits for the phone's new INVITE (implemented by ReferMoves). */
export interface ReferMoveDesk {
  /**
   * A pending move: `uri` is what the phone is referred to (the new room, with a one-time token); `arrival`
   * resolves with the INVITE the phone sends there, or undefined after `timeoutMs` or `cancel()`.
   */
  expect(
    room: string,
    base: string,
  ): { uri: string; arrival: Promise<IncomingInvite | undefined>; cancel(): void };
}

/** The call as SIP names it: its Call-ID and who placed it (for the call ladder and the CDR). */
export interface CallIdentity {
  callId: string;
  direction: CallDirection;
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
 * The Reason of our BYE (RFC 3326) when hangup() is given no cause: a kick, the room's end, the server's shutdown.
 * The room's end and the shutdown say what a new INVITE would be answered (the catalogue's status).
 */
const DEFAULT_HANGUP_CAUSE: Partial<Record<LeaveReason, HangupCause>> = {
  [LeaveReason.Kicked]: { cause: 403, text: 'Removed from the conference' },
  // A media fault the room could not recover from (its router could not be rebuilt).
  [LeaveReason.MediaFailed]: {
    cause: ERROR_CATALOGUE.MEDIA_FAILURE.sip.status,
    text: ERROR_CATALOGUE.MEDIA_FAILURE.sip.reason,
  },
  [LeaveReason.RoomClosed]: { cause: ERROR_CATALOGUE.CONF_ROOM_CLOSED.sip.status, text: 'Conference ended' },
  [LeaveReason.ServerShutdown]: {
    cause: ERROR_CATALOGUE.CONF_SHUTTING_DOWN.sip.status,
    text: ERROR_CATALOGUE.CONF_SHUTTING_DOWN.message,
  },
};

/** Parses the body of a SIP INFO carrying DTMF: `Signal=5` (application/dtmf-relay) or `5` (application/dtmf). */
/** The legs being built for a new negotiation (by index), and a closer for them all if it fails. */
function freshLegs(): { fresh: Map<number, MediaLeg>; closeFresh: () => void } {
  const fresh = new Map<number, MediaLeg>();
  const closeFresh = (): void => {
    for (const leg of fresh.values()) leg.close();
    fresh.clear();
  };
  return { fresh, closeFresh };
}

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

/**
 * One phone in a room, the SIP session of a participant: the SIP dialog, the SDP offer/answer state (RFC 3264) and
 * one media leg per served m-line. Emits `dtmf` (RFC 4733 in the RTP, or SIP INFO application/dtmf-relay and
 * application/dtmf) and `audioChanged`. Owned by its Participant: closing the participant sends BYE (if the
 * dialog is up) and closes the legs.
 */
export class SipCall
  extends TypedEmitter<ParticipantSessionEvents>
  implements AudioEndpoint, ParticipantSession
{
  readonly sdpSession: SdpSession;
  private readonly legMap = new Map<number, MediaLeg>();
  /** Where new legs are built: the room's media (changes when the call moves to another room). */
  private legFactory: MediaLegFactory;
  private negotiated?: NegotiatedSession;
  private dialog?: SessionDialog;
  /** Removes this call's listeners from `dialog` (a replaced dialog must not end the participant). */
  private detachDialog?: () => void;
  private ending = false;
  private moving = false;
  /** Why we hung up (hangup()): the leave reason, not the dialog's generic local-bye. */
  private hangupReason?: LeaveReason;

  /**
   * `SipWs` for a SIP endpoint over WebSocket (RFC 7118: a browser's SIP library), whose WebRTC offer is served on
   * a WebRtcTransport; `Sip` for phones, PBX trunks and softphones.
   */
  constructor(
    readonly participant: Participant,
    private readonly media: CallMedia,
    private readonly log: Logger,
    readonly kind: ParticipantKind.Sip | ParticipantKind.SipWs = ParticipantKind.Sip,
    private readonly identity?: CallIdentity,
  ) {
    super(log);
    this.legFactory = media.legs;
    this.sdpSession = new SdpSession({ address: media.announcedIp });
    participant.own(() => this.teardown());
  }

  /** This call is its own audio endpoint. */
  get audio(): AudioEndpoint {
    return this;
  }

  get legs(): readonly MediaLeg[] {
    return [...this.legMap.values()];
  }

  get participantId(): string {
    return this.participant.id;
  }

  /** The SIP Call-ID (the INVITE's, ours for a dial-out; the new INVITE's once a transfer replaced the dialog). */
  get callId(): string | undefined {
    return this.dialog?.callId ?? this.identity?.callId;
  }

  /**
   * Whether this call's dialog is the one named (RFC 3891 §3: Call-ID, our tag as to-tag, the peer's as from-tag).
   * Only a confirmed dialog matches: the focus has no early dialog it started that a Replaces could take over.
   */
  hasDialog(callId: string, localTag: string, remoteTag: string): boolean {
    const d = this.dialog;
    return (
      d !== undefined &&
      !d.terminated &&
      d.callId === callId &&
      d.localTag === localTag &&
      d.remoteTag === remoteTag
    );
  }

  get direction(): CallDirection {
    return this.identity?.direction ?? 'inbound';
  }

  /** The audio Producer's receive figures (legs mixed in their media thread have none: the mixer measures them). */
  mediaStats(): Promise<SessionMediaStats | null> {
    return producerMediaStats(this.audioLeg?.producer);
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

  /**
   * RFC 4733 digits the room's mixer read from this call's Producer. Only a WebRTC leg (SIP over WebSocket) needs
   * them: its RTP ends in mediasoup, so the mixer's consumer is the only reader. Phones' legs read their own digits
   * in the relay (leg `dtmf`), so these are dropped for them and no digit counts twice.
   */
  onDtmf(digit: string): void {
    if (this.audioLeg?.webRtc) this.safeEmit('dtmf', digit);
  }

  private get audioLeg(): MediaLeg | undefined {
    for (const leg of this.legMap.values())
      if (leg.negotiated?.kind === 'audio' || !leg.negotiated) return leg;
    return undefined;
  }

  private get caps(): LocalCapabilities {
    const webRtc = this.legFactory.webRtc;
    return { codecs: this.legFactory.codecs, ...(webRtc ? { webRtc } : {}) };
  }

  async setSource(producerId: string | null): Promise<void> {
    await this.audioLeg?.setSource(producerId);
  }

  /** Early offer: negotiate the phone's offer and build our answer. Throws SdpNegotiationError (488/400). */
  async answerOffer(offer: string, signallingSourceIp: string): Promise<string> {
    const neg = negotiate(offer, this.caps, { signallingSourceIp, codecPreference: 'prefer-router-pt' });
    if (this.media.requireSrtp) assertSrtp(neg);
    await this.applyNegotiation(neg);
    return this.renderAnswer();
  }

  /** Delayed offer (RFC 3261 §13.2.1): our offer goes in the 2xx; the answer comes in the ACK (`applyRemoteAnswer`). */
  async makeOffer(): Promise<string> {
    const leg = await this.createLeg(this.legFactory, undefined, 0);
    this.legMap.set(0, leg);
    return buildOffer(
      { ip: this.media.announcedIp, media: [{ kind: 'audio', port: leg.localPort }] },
      this.caps,
      this.sdpSession,
    );
  }

  /** The answer to our offer (`makeOffer`): in the ACK (delayed offer) or in the 2xx to our INVITE (dial-out). */
  async applyRemoteAnswer(answer: string, offer: string, opts: { early?: boolean } = {}): Promise<void> {
    const neg = applyAnswer(offer, answer, this.caps, {});
    this.negotiated = neg;
    const m = acceptedMedia(neg).find((x) => x.kind === 'audio');
    const leg = this.legMap.get(0);
    if (!m || !leg) throw new SdpNegotiationError(488, 'no audio in the answer');
    await leg.update(m);
    await this.afterMediaChange(opts.early === true);
  }

  /**
   * The call was answered and its 2xx repeated the early answer (`applyRemoteAnswer(..., { early: true })`): the
   * media is already right; the RTP timer starts now.
   */
  async answeredAsEarly(): Promise<void> {
    await this.afterMediaChange();
  }

  /** The dialog is up: follow its re-INVITE/UPDATE, BYE and failures. */
  attachDialog(dialog: SessionDialog): void {
    this.detachDialog?.();
    this.dialog = dialog;
    const onModify = (m: ModifyRequest): void => void this.onModify(m);
    const onInfo = (info: InDialogRequest): void => {
      const digit = parseInfoDtmf(info.request.contentType, info.body.toString('utf8'));
      if (!digit) {
        info.reply(info.body.length ? 415 : 200);
        return;
      }
      info.reply(200);
      this.safeEmit('dtmf', digit);
    };
    const onRefer = (r: InDialogRequest): void => {
      if (this.media.onRefer) this.media.onRefer(r, dialog, this);
      else r.reply(603);
    };
    const onTerminated = (info: { reason: TerminationReason }): void => {
      this.log.info({ reason: info.reason }, 'dialog terminated');
      // Our own BYE terminates the dialog synchronously inside hangup(): keep hangup()'s reason (pin-failed,
      // rtp-timeout...) rather than the dialog's local-bye.
      const ours = info.reason === TerminationReason.LocalBye ? this.hangupReason : undefined;
      this.participant.close(ours ?? TERMINATION_TO_LEAVE[info.reason] ?? LeaveReason.LocalBye);
    };
    dialog.on('modify', onModify);
    dialog.on('info', onInfo);
    dialog.on('refer', onRefer);
    dialog.on('terminated', onTerminated);
    this.detachDialog = () => {
      dialog.off('modify', onModify);
      dialog.off('info', onInfo);
      dialog.off('refer', onRefer);
      dialog.off('terminated', onTerminated);
      this.detachDialog = undefined;
    };
    if (dialog.terminated) this.participant.close(LeaveReason.RemoteBye);
  }

  /**
   * Takes over `invite` as this call's dialog and media, keeping the participant (id, role, mute, place in the
   * room): an attended transfer (RFC 3891 Replaces) or the phone's own INVITE after a move by REFER. The INVITE's
   * offer is answered on new legs from `legs` (the room's, or the target room's for a move); once the ACK came, the
   * new legs replace the old ones in the room's audio and the old dialog gets BYE (RFC 3891 §3: "the UAS ... MUST
   * ... terminate the replaced dialog"). A failure before the 2xx leaves the call as it was and rejects.
   */
  async adoptInvite(
    invite: IncomingInvite,
    why: string,
    legs: MediaLegFactory = this.legFactory,
  ): Promise<void> {
    const old = this.dialog;
    if (!old || old.terminated || this.participant.hasLeft())
      throw new AppError('TRANSFER_NO_DIALOG', 'the call to replace has ended');
    const offer = invite.sdp;
    // Our own offer would be answered in the ACK, after the old legs are gone: not worth a gap. RFC 3891 allows
    // any INVITE; the phones that transfer send an offer.
    if (!offer) throw new SdpNegotiationError(488, 'an INVITE that replaces a call must carry an SDP offer');
    if (this.moving) throw new AppError('CONF_MOVE_FAILED', 'a move is already in progress');
    this.moving = true;
    const { fresh, closeFresh } = freshLegs();
    try {
      let neg: NegotiatedSession;
      let answer: string;
      try {
        const webRtc = legs.webRtc;
        neg = negotiate(
          offer,
          { codecs: legs.codecs, ...(webRtc ? { webRtc } : {}) },
          { signallingSourceIp: invite.flow.address, codecPreference: 'prefer-router-pt' },
        );
        if (this.media.requireSrtp) assertSrtp(neg);
        for (const m of acceptedMedia(neg)) fresh.set(m.index, await this.createLeg(legs, m, m.index));
        answer = this.render(neg, fresh);
      } catch (err) {
        closeFresh();
        throw err;
      }
      let dialog: SessionDialog;
      try {
        dialog = await invite.accept({
          sdp: answer,
          contactParams: ';isfocus',
          contactUser: invite.request.uri.user,
        });
      } catch (err) {
        closeFresh();
        throw err;
      }
      this.log.info({ oldCallId: old.callId, newCallId: dialog.callId, why }, 'dialog replaced');
      // The old dialog's BYE must not end the participant: its listeners go first.
      this.detachDialog?.();
      const oldLegs = this.takeLegs(fresh);
      this.legFactory = legs;
      this.negotiated = neg;
      this.attachDialog(dialog);
      for (const leg of oldLegs) leg.close();
      await this.afterMediaChange();
      // RFC 3326: the old phone learns why its call ended.
      old
        .bye({ headers: { Reason: `SIP;cause=200;text="${why}"` } })
        .catch((err: unknown) => this.log.warn({ err }, 'BYE of the replaced dialog failed'));
    } finally {
      this.moving = false;
    }
  }

  /** Makes `fresh` the call's legs (emptying it); returns the legs they replace, for the caller to close. */
  private takeLegs(fresh: Map<number, MediaLeg>): MediaLeg[] {
    const old = [...this.legMap.values()];
    this.legMap.clear();
    for (const [index, leg] of fresh) this.legMap.set(index, leg);
    fresh.clear();
    return old;
  }

  /** Ends the call from our side with BYE and an RFC 3326 Reason header. */
  hangup(reason: LeaveReason, cause?: HangupCause): void {
    if (this.dialog && !this.dialog.terminated && !this.ending) {
      this.ending = true;
      this.hangupReason = reason;
      const why = cause ?? DEFAULT_HANGUP_CAUSE[reason];
      const headers = why ? { Reason: `SIP;cause=${why.cause};text="${why.text}"` } : undefined;
      this.dialog
        .bye(headers ? { headers } : {})
        .catch((err: unknown) => this.log.warn({ err }, 'BYE failed'));
    }
    this.participant.close(reason);
  }

  rehome(legs: MediaLegFactory): void {
    this.legFactory = legs;
    // Legs that stay where they are now belong to the new room's router (their SFU taps are built there).
    for (const leg of this.legMap.values()) legs.adopt?.(leg);
  }

  /**
   * Moves the call's media onto legs built by `legs` (another room's router and media thread): one new leg per
   * served m-line, a re-INVITE offering them (RFC 3261 §14.1; the offer restates the negotiated codecs, RFC 3264
   * §8), the answer applied, the old legs closed. Refused re-INVITE (491 glare, 488...): the old legs stay, and
   * CONF_MOVE_FAILED. Once the phone accepted, it sends to the new legs: a failure then ends the call.
   */
  async renegotiate(legs: MediaLegFactory, to?: { room: string }): Promise<void> {
    const dialog = this.dialog;
    const current = this.negotiated;
    if (!dialog || dialog.terminated || !current)
      throw new AppError('CONF_MOVE_UNSUPPORTED', 'the call is not established');
    // A WebRTC call (SIP over WebSocket) is re-offered on new transports after a media fault: an ICE restart and a
    // new DTLS association, which the browser starts because the new worker's certificate is another one
    // (checkWebRtcReanswer). Not to move it to another room: a router of the same worker has the same certificate,
    // and Chromium keeps its DTLS association when the fingerprint stays (RFC 8842 §5.5 leaves that to the offerer).
    const webRtc = acceptedMedia(current).some((m) => m.webRtc);
    if (webRtc && to)
      throw new AppError('CONF_MOVE_UNSUPPORTED', 'a WebRTC call cannot be moved to another room');
    if (this.moving) throw new AppError('CONF_MOVE_FAILED', 'a move is already in progress');
    if (to && (await this.moveByRefer(dialog, legs, to.room))) return;
    if (this.participant.hasLeft() || dialog !== this.dialog || dialog.terminated)
      throw new AppError('CONF_MOVE_FAILED', 'the call ended during the move');
    this.moving = true;
    const { fresh, closeFresh } = freshLegs();
    try {
      let offer: string;
      try {
        for (const m of acceptedMedia(current)) fresh.set(m.index, await this.createLeg(legs, m, m.index));
        if (webRtc) assertNewCertificates(this.legMap, fresh);
        offer = this.render(current, fresh);
      } catch (err) {
        closeFresh();
        throw err;
      }
      let answer: string;
      // Moving rooms: the re-INVITE (a target refresh) names the new conference URI as our Contact (RFC 4579 §4.5).
      const formerContactUser = dialog.contactUser;
      if (to) dialog.contactUser = to.room;
      try {
        const res = await dialog.reinvite(offer);
        answer = res.body.toString('utf8');
      } catch (err) {
        dialog.contactUser = formerContactUser;
        closeFresh();
        const why = err instanceof SipError ? `${err.status} ${err.reason ?? ''}`.trim() : String(err);
        this.log.info({ why }, 'move re-INVITE refused');
        throw new AppError('CONF_MOVE_FAILED', `re-INVITE refused: ${why}`);
      }
      try {
        const neg = webRtc ? current : applyAnswer(offer, answer, { codecs: legs.codecs }, {});
        // The browser's transports were connected with its DTLS role and certificate: the answer must keep them.
        if (webRtc) checkWebRtcReanswer(current, answer);
        else
          for (const m of neg.media) {
            const leg = fresh.get(m.index);
            if (!m.accepted || !leg) {
              leg?.close();
              fresh.delete(m.index);
              continue;
            }
            const built = current.media[m.index];
            // The new leg's transport was connected with the phone's current key (mediasoup connects once).
            if (
              !built?.accepted ||
              built.transportOptions.enableSrtp !== m.transportOptions.enableSrtp ||
              built.srtp?.remoteKeyBase64 !== m.srtp?.remoteKeyBase64 ||
              built.srtp?.suite !== m.srtp?.suite ||
              built.transportOptions.rtcpMux !== m.transportOptions.rtcpMux
            )
              throw new SdpNegotiationError(488, 'the answer changed the SRTP key or RTCP multiplexing');
            await leg.update(m);
          }
        const old = this.takeLegs(fresh);
        for (const leg of old) leg.close();
        this.legFactory = legs;
        this.negotiated = neg;
        await this.afterMediaChange();
      } catch (err) {
        closeFresh();
        this.log.warn({ err: (err as Error).message }, 'move failed after the re-INVITE: ending the call');
        this.hangup(LeaveReason.MediaFailed, { cause: 488, text: 'Media move failed' });
        throw new AppError('CONF_MOVE_FAILED', (err as Error).message);
      }
    } finally {
      this.moving = false;
    }
  }

  /**
   * A move by REFER (RFC 3515, as a blind transfer of the phone to the new room): the phone is asked to call the
   * new room (`Refer-To` with a one-time token, `Referred-By` the room it is in); its INVITE is then adopted on
   * `legs` with the participant unchanged, and the old dialog gets BYE. Only tried with phones that allow REFER
   * (their Allow header, RFC 3261 §20.5). False, with nothing changed, when the phone refuses the REFER
   * (4xx–6xx), times out, or its INVITE cannot be adopted: the caller then moves it by re-INVITE.
   */
  private async moveByRefer(dialog: SessionDialog, legs: MediaLegFactory, room: string): Promise<boolean> {
    const desk = this.media.referMoves;
    if (!desk || !(dialog.peerAllows ?? []).includes('REFER')) return false;
    const wait = desk.expect(room, dialog.localUri.uri.toString());
    try {
      const res = await dialog.refer(`<${wait.uri}>`, {
        headers: { 'Referred-By': `<${dialog.localUri.uri.toString()}>` },
      });
      if (res.status >= 300) {
        this.log.info({ status: res.status }, 'move by REFER refused: re-INVITE instead');
        wait.cancel();
        return false;
      }
      const invite = await wait.arrival;
      if (!invite) {
        this.log.info('move by REFER: no INVITE from the phone in time: re-INVITE instead');
        return false;
      }
      try {
        await this.adoptInvite(invite, 'Moved to another conference', legs);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'move by REFER: the new INVITE failed');
        if (invite.state === IncomingInviteState.Pending)
          invite.reject(
            err instanceof SdpNegotiationError ? err.status : 500,
            err instanceof SdpNegotiationError ? err.reasonPhrase : 'Move failed',
          );
        return false;
      }
      return true;
    } catch (err) {
      wait.cancel();
      this.log.info({ err: (err as Error).message }, 'move by REFER failed: re-INVITE instead');
      return false;
    }
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
      // No downgrade to RTP in the clear mid-call in a room that requires SRTP.
      if (this.media.requireSrtp) assertSrtp(neg);
      await this.applyNegotiation(neg);
      await m.accept({ sdp: this.renderAnswer() });
    } catch (err) {
      if (err instanceof SrtpRequiredError) {
        this.log.info({ err: err.message }, 'modification rejected: SRTP required');
        m.reject(ERROR_CATALOGUE.SEC_SRTP_REQUIRED.sip.status, ERROR_CATALOGUE.SEC_SRTP_REQUIRED.sip.reason, {
          Warning: err.sipWarning,
        });
      } else if (err instanceof SdpNegotiationError) {
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
      const old = this.legMap.get(m.index);
      if (!m.accepted) {
        old?.close();
        this.legMap.delete(m.index);
        continue;
      }
      const prevM = prev?.media[m.index];
      const needsNewLeg =
        !old ||
        !prevM?.accepted ||
        prevM.transportOptions.enableSrtp !== m.transportOptions.enableSrtp ||
        prevM.srtp?.remoteKeyBase64 !== m.srtp?.remoteKeyBase64 ||
        prevM.srtp?.suite !== m.srtp?.suite ||
        prevM.transportOptions.rtcpMux !== m.transportOptions.rtcpMux ||
        webRtcKey(prevM) !== webRtcKey(m);
      if (needsNewLeg) {
        // mediasoup connects a transport once: a new key, RTCP-mux change, ICE restart or DTLS certificate means a
        // new leg (and a new port or new ICE credentials).
        const leg = await this.createLeg(this.legFactory, m, m.index);
        old?.close();
        this.legMap.set(m.index, leg);
      } else {
        await old.update(m);
      }
    }
    for (const idx of [...this.legMap.keys()]) if (!neg.media[idx]) this.legMap.get(idx)?.close();
    this.negotiated = neg;
    await this.afterMediaChange();
  }

  private async createLeg(
    factory: MediaLegFactory,
    m: AcceptedMedia | undefined,
    index: number,
  ): Promise<MediaLeg> {
    const leg = await factory.create({
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
        this.participant.setMedia({ video: true });
        producer.observer.once('close', () => {
          if (![...this.legMap.values()].some((l) => l.producer?.kind === 'video' && !l.producer.closed))
            this.participant.setMedia({ video: false });
        });
        return;
      }
      this.safeEmit('audioChanged');
    });
    leg.on('dtmf', (digit) => this.safeEmit('dtmf', digit));
    leg.on('inactive', () => {
      this.log.warn('no RTP: ending the call');
      this.hangup(LeaveReason.RtpTimeout, { cause: 408, text: 'RTP timeout' });
    });
    leg.on('closed', () => {
      if (this.legMap.get(index) === leg) this.legMap.delete(index);
    });
    return leg;
  }

  /**
   * Participant fields, hold state and the inactivity timer follow the audio m-line. `early`: an early answer (a 18x
   * with SDP, RFC 3261 §13.2.1) of a call still ringing: a far end may ring in silence, so no RTP timer yet.
   */
  private async afterMediaChange(early = false): Promise<void> {
    const leg = this.audioLeg;
    const m = leg?.negotiated;
    if (!leg || !m) return;
    // RFC 3264 §8.4: a phone that no longer wants to receive (sendonly/inactive, c=0.0.0.0) has put us on hold.
    const onHold = !m.phoneReceives;
    // DTLS-SRTP (WebRTC) is SRTP too, keyed by the handshake instead of SDES.
    const srtp = m.transportOptions.enableSrtp || m.webRtc !== undefined;
    this.participant.setMedia({ codec: m.codec.encodingName, srtp, onHold });
    await leg.setInactivityTimeout(onHold || early ? 0 : this.media.rtpTimeoutMs);
    this.safeEmit('audioChanged');
  }

  private renderAnswer(): string {
    if (!this.negotiated) throw new Error('no negotiation yet');
    return this.render(this.negotiated, this.legMap);
  }

  /** Our SDP for `neg` with the ports and keys of `legs` (an answer, or the offer of a move's re-INVITE). */
  private render(neg: NegotiatedSession, legs: ReadonlyMap<number, MediaLeg>): string {
    return buildAnswer(
      neg,
      {
        ip: this.media.announcedIp,
        media: neg.media.map((m) => {
          const leg = legs.get(m.index);
          if (!m.accepted || !leg) return undefined;
          return {
            port: leg.localPort,
            ...(leg.localRtcpPort !== undefined ? { rtcpPort: leg.localRtcpPort } : {}),
            ...(leg.srtpKeyBase64 ? { srtpKeyBase64: leg.srtpKeyBase64 } : {}),
            ...(leg.webRtc ? { webRtc: leg.webRtc } : {}),
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
    for (const leg of this.legMap.values()) leg.close();
    this.legMap.clear();
  }
}

/**
 * A re-offered WebRTC call needs a new DTLS association, which a browser starts only when our certificate changed
 * (the new worker's): the same fingerprint on a fresh transport would wait for a handshake that never comes.
 */
function assertNewCertificates(
  old: ReadonlyMap<number, MediaLeg>,
  fresh: ReadonlyMap<number, MediaLeg>,
): void {
  for (const [index, leg] of fresh) {
    const before = new Set(
      old.get(index)?.webRtc?.fingerprints.map((f) => `${f.algorithm} ${f.value}`) ?? [],
    );
    if (leg.webRtc?.fingerprints.some((f) => before.has(`${f.algorithm} ${f.value}`)))
      throw new AppError('CONF_MOVE_UNSUPPORTED', 'the new WebRTC transport has the same DTLS certificate');
  }
}
