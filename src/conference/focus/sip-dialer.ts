import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { MediaLegFactory } from '../../media/media-leg';
import type { SessionDialog } from '../../sip/dialog/session-dialog';
import { SipError } from '../../sip/errors';
import { newCallId } from '../../sip/message/ids';
import { SipUri } from '../../sip/message/uri';
import type { InviteOptions } from '../../sip/ua/user-agent-core';
import { LeaveReason } from '../participant/leave-reason';
import type { Participant } from '../participant/participant';
import { ParticipantKind } from '../participant/participant-kind';
import type { Dialer, ParticipantIdentity, SessionConnector } from '../participant/participant-session';
import { DialPolicy } from './dial-policy';
import type { SipCallSettings } from './invite-connector';
import { SipCall } from './sip-call';

/** The stack's UAC: an INVITE that resolves with the confirmed dialog (SipStack.invite). */
export interface Inviter {
  invite(uri: string | SipUri, opts: InviteOptions): Promise<SessionDialog>;
}

export interface SipDialerOptions extends SipCallSettings {
  sip: Inviter;
  /** Give up (CANCEL) after ringing this long (default 60 s). */
  ringTimeoutMs?: number;
  /**
   * The destinations that may be called (`security.dialOut.allow`); default: loopback only. Checked before any
   * media or INVITE, so a refused target costs nothing and nothing leaves the server.
   */
  policy?: DialPolicy;
}

const DEFAULT_RING_TIMEOUT_MS = 60_000;

/** Dial-out over SIP: our offer in the INVITE (RFC 3261 §13.2), the answer in the 2xx. */
export class SipDialer implements Dialer {
  private readonly policy: DialPolicy;

  constructor(private readonly opts: SipDialerOptions) {
    this.policy = opts.policy ?? DialPolicy.compile(DialPolicy.LOOPBACK_ONLY);
  }

  dial(target: string, opts: { roomName: string; log: Logger }): SessionConnector {
    let uri: SipUri;
    try {
      uri = SipUri.parse(target);
    } catch {
      throw new AppError('CONF_DIAL_BAD_TARGET', `not a SIP URI: ${target}`);
    }
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips')
      throw new AppError('CONF_DIAL_BAD_TARGET', `not a SIP URI: ${target}`);
    // Toll fraud: a stolen token must not buy calls to anywhere (issue 14). Refused before anything is built.
    const denied = this.policy.check(uri);
    if (denied !== undefined) {
      opts.log.warn(
        { roomId: opts.roomName, target, why: denied },
        'dial-out refused by security.dialOut.allow',
      );
      throw new AppError('CONF_DIAL_DENIED', `${target}: ${denied}`);
    }
    return new DialOutConnector(uri, this.opts, opts.log.child({ roomId: opts.roomName }));
  }
}

class DialOutConnector implements SessionConnector {
  readonly kind = ParticipantKind.Sip;
  readonly identity: ParticipantIdentity;
  private call?: SipCall;
  private offer?: string;
  /** Chosen before the INVITE is sent, so the participant's call ladder is known from its first message. */
  private readonly callId = newCallId();

  constructor(
    private readonly target: SipUri,
    private readonly opts: SipDialerOptions,
    readonly log: Logger,
  ) {
    const tp = target.params.get('transport')?.toUpperCase();
    this.identity = {
      displayName: target.user ?? target.host,
      uri: target.toString(),
      transport: tp ?? (target.scheme === 'sips' ? 'TLS' : 'UDP'),
    };
  }

  async connect(p: Participant, legs: MediaLegFactory): Promise<SipCall> {
    const call = new SipCall(
      p,
      { legs, announcedIp: this.opts.announcedIp, rtpTimeoutMs: this.opts.rtpTimeoutMs },
      p.log,
      ParticipantKind.Sip,
      { callId: this.callId, direction: 'outbound' },
    );
    this.call = call;
    this.offer = await call.makeOffer();
    return call;
  }

  async establish(signal: AbortSignal): Promise<void> {
    const call = this.call;
    const offer = this.offer;
    if (!call || offer === undefined) throw new Error('establish() before connect()');
    const p = call.participant;
    let dialog: SessionDialog;
    try {
      p.log.info({ target: this.identity.uri }, 'dialling out');
      dialog = await this.opts.sip.invite(this.target, {
        sdp: offer,
        contactParams: ';isfocus',
        signal,
        timeoutMs: this.opts.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS,
        callId: this.callId,
      });
    } catch (err) {
      const why =
        err instanceof SipError ? `${err.status} ${err.reason ?? ''}`.trim() : (err as Error).message;
      p.log.info({ why }, 'dial-out not answered');
      p.close(LeaveReason.NotAnswered);
      throw new AppError('CONF_DIAL_FAILED', `${this.identity.uri}: ${why}`);
    }
    call.attachDialog(dialog);
    try {
      const answer = dialog.remoteSdp?.toString('utf8');
      if (!answer) throw new AppError('CONF_DIAL_FAILED', 'the 2xx carried no SDP answer');
      await call.applyRemoteAnswer(answer, offer);
    } catch (err) {
      p.log.warn({ err: (err as Error).message }, 'dial-out answer not usable');
      call.hangup(LeaveReason.MediaFailed, { cause: 488, text: (err as Error).message });
      throw err instanceof AppError ? err : new AppError('CONF_DIAL_FAILED', (err as Error).message);
    }
  }
}
