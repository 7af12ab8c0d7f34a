import type { Logger } from 'pino';
import type { MediaLegFactory } from '../../media/media-leg';
import type { IncomingInvite } from '../../sip/ua/incoming-invite';
import { LeaveReason } from '../participant/leave-reason';
import type { Participant } from '../participant/participant';
import { ParticipantKind } from '../participant/participant-kind';
import type { ParticipantIdentity, SessionConnector } from '../participant/participant-session';
import { parseReferredBy } from './refer-headers';
import { SdpNegotiationError, SipCall, type CallMedia } from './sip-call';
import { SrtpRequiredError } from './srtp-policy';

export interface SipCallSettings extends Pick<CallMedia, 'onRefer' | 'referMoves'> {
  announcedIp: string;
  rtpTimeoutMs: number;
  /**
   * Whether calls to the room named so must be SRTP (`security.requireSrtp`, `conference.rooms[].requireSrtp`);
   * absent: never required.
   */
  srtpRequired?: (room: string) => boolean;
}

/**
 * An INVITE received, as a participant's session: `connect` negotiates the phone's offer (or makes ours for a
 * delayed offer) on the room's legs; `establish` answers 200 (Contact `;isfocus`, RFC 4579 §4.5), waits for the
 * ACK and, for a delayed offer, applies the answer it carries.
 */
export class InviteConnector implements SessionConnector {
  /** RFC 7118: an INVITE over WebSocket comes from a browser's SIP library (`sip-ws`), with a WebRTC offer. */
  readonly kind: ParticipantKind.Sip | ParticipantKind.SipWs;
  readonly identity: ParticipantIdentity;
  private call?: SipCall;
  private localSdp?: string;

  constructor(
    private readonly invite: IncomingInvite,
    private readonly settings: SipCallSettings,
    readonly log: Logger,
  ) {
    const from = invite.request.from;
    const ws = invite.flow.protocol === 'WS' || invite.flow.protocol === 'WSS';
    this.kind = ws ? ParticipantKind.SipWs : ParticipantKind.Sip;
    // A blind transfer's transferee says who sent it (RFC 3892 §3); a malformed one is 400 (SipParseError).
    const referredBy = parseReferredBy(invite.request);
    this.identity = {
      displayName: from.displayName ?? from.uri.user ?? from.uri.host,
      uri: from.uri.toString(),
      transport: invite.flow.protocol,
      ...(referredBy !== undefined ? { referredBy } : {}),
    };
    if (referredBy !== undefined) log.info({ referredBy }, 'caller transferred here (Referred-By)');
  }

  async connect(p: Participant, legs: MediaLegFactory): Promise<SipCall> {
    const offer = this.invite.sdp;
    const requireSrtp = this.settings.srtpRequired?.(this.invite.request.uri.user ?? '') ?? false;
    // Our own offer (delayed offer, RFC 3261 §13.2.1) would be RTP/AVP: refuse before anything is built rather
    // than answer 200 and hang up once the ACK brings a clear answer.
    if (requireSrtp && !offer)
      throw new SrtpRequiredError('an INVITE without an offer; offer RTP/SAVP with a=crypto in the INVITE');
    const call = new SipCall(p, { legs, ...this.settings, requireSrtp }, p.log, this.kind, {
      callId: this.invite.callId,
      direction: 'inbound',
    });
    this.call = call;
    this.localSdp = offer ? await call.answerOffer(offer, this.invite.flow.address) : await call.makeOffer();
    return call;
  }

  async establish(): Promise<void> {
    const call = this.call;
    const localSdp = this.localSdp;
    if (!call || localSdp === undefined) throw new Error('establish() before connect()');
    let dialog;
    try {
      // RFC 4579 §4.5: the focus's Contact is the conference URI with the "isfocus" feature parameter (a client
      // SUBSCRIBEs to it for the roster, and REFERs to it)
      dialog = await this.invite.accept({
        sdp: localSdp,
        contactParams: ';isfocus',
        contactUser: this.invite.request.uri.user,
      });
    } catch (err) {
      call.participant.log.info({ err: (err as Error).message }, 'call not established');
      call.participant.close(LeaveReason.Cancelled);
      throw err;
    }
    call.attachDialog(dialog);
    if (this.invite.sdp) return;
    try {
      if (!dialog.ackBody?.length) throw new SdpNegotiationError(400, 'ACK without the answer to our offer');
      await call.applyRemoteAnswer(dialog.ackBody.toString(), localSdp);
    } catch (err) {
      call.participant.log.warn({ err: (err as Error).message }, 'delayed offer failed');
      call.hangup(LeaveReason.MediaFailed, { cause: 488, text: (err as Error).message });
      throw err;
    }
  }
}
