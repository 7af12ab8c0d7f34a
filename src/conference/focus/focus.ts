import type { Logger } from 'pino';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../../errors/app-error';
import { SdpNegotiationError } from '../../media/sdp';
import { IncomingInviteState, type IncomingInvite } from '../../sip/ua/incoming-invite';
import type { Conference } from '../conference';
import type { SourceGuard } from '../../sip/security/source-guard';
import { InviteConnector, type SipCallSettings } from './invite-connector';
import type { AdmissionTicket, SourceAdmission } from './source-admission';
import { SrtpRequiredError } from './srtp-policy';
import { SipError } from '../../sip/errors';
import type { SipRequestAuthenticator } from '../../sip/auth/request-authenticator';
import type { DialPolicy } from './dial-policy';
import { ReferControl, type FocusAuditEntry, type ReferNotifierHost } from './refer-control';
import type { IncomingRequest } from '../../sip/ua/incoming-request';
import { parseReferredBy } from './refer-headers';
import { MoveClaim, ReferMoves } from './refer-moves';
import { parseReplaces, ReplacesError, type ReplacesTarget } from './replaces';
import { SipCall } from './sip-call';

export interface InviteSource {
  onInvite(handler: (invite: IncomingInvite) => void): unknown;
  /** Out-of-dialog requests of `method` (the stack's per-method routes): REFER to the conference URI. */
  routeMethod?(method: string, handler: (r: IncomingRequest) => void): void;
}

export interface FocusOptions extends SipCallSettings {
  sip: InviteSource;
  conference: Conference;
  log: Logger;
  /** Per-source call caps, checked before anything is built (`security`); absent: uncapped. */
  admission?: SourceAdmission;
  /** Told about calls refused by a per-source limit, which count toward the source's ban. */
  guard?: Pick<SourceGuard, 'penalize'>;
  /** Told the final status of every new INVITE the focus handled (200 answered, 503 draining...): metrics. */
  onAttempt?: (status: number) => void;
  /** REFER call control by SIP accounts (digest, RFC 3261 §22); absent: only a room's moderators may REFER. */
  authenticator?: SipRequestAuthenticator;
  /** `security.dialOut.allow`: a REFER to a target outside it is refused (403) before any INVITE. */
  dialPolicy?: DialPolicy;
  /** The audit log of REFER call control (ModerationService's, wired in app.ts). */
  audit?: (entry: FocusAuditEntry) => void;
  /**
   * The RFC 6665 notifier: with it (and `sip.routeMethod`) a REFER to the conference URI outside any dialog is
   * served (RFC 4579 §5.5); absent: such a REFER gets the stack's default answer.
   */
  subscriptions?: ReferNotifierHost;
  /** Moves REFER a phone to the new room first (`conference.moveByRefer`, default true); false: re-INVITE only. */
  moveByRefer?: boolean;
  /** How long a move by REFER waits for the phone's INVITE before it re-INVITEs instead (default 10 s). */
  referMoveTimeoutMs?: number;
}

/** Refusals that say a source is over one of its limits: each counts toward a ban. */
const SOURCE_LIMITS: ReadonlySet<ErrorCode> = new Set([
  'SEC_TOO_MANY_CALLS',
  'SEC_TOO_MANY_SETUPS',
  'SEC_ROOM_CREATION_LIMIT',
  'SEC_PIN_LOCKED',
]);

/**
 * The conference focus (RFC 4353, RFC 4579), the SIP adapter of the conference: turns each INVITE to
 * `sip:<room>@<host>` into `Conference.join` and answers the ones the conference refuses with the catalogue's SIP
 * status (404 unknown room, 403 locked, 486/503 full, 488 nothing to serve...). A CANCEL aborts the join.
 */
export class Focus {
  /** Moves by REFER waiting for their phone's INVITE. */
  readonly moves: ReferMoves;
  private readonly refer: ReferControl;
  /** What every SIP call of the focus is built with: media settings, REFER call control, moves by REFER. */
  private readonly callSettings: SipCallSettings;

  constructor(private readonly opts: FocusOptions) {
    this.moves = new ReferMoves({
      ...(opts.referMoveTimeoutMs ? { timeoutMs: opts.referMoveTimeoutMs } : {}),
    });
    this.refer = new ReferControl({
      conference: opts.conference,
      log: opts.log,
      ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
      ...(opts.dialPolicy ? { dialPolicy: opts.dialPolicy } : {}),
      ...(opts.audit ? { audit: opts.audit } : {}),
    });
    this.callSettings = {
      announcedIp: opts.announcedIp,
      rtpTimeoutMs: opts.rtpTimeoutMs,
      ...(opts.srtpRequired ? { srtpRequired: opts.srtpRequired } : {}),
      onRefer: (r, dialog, call) => this.refer.handleInDialog(r, dialog, call),
      ...(opts.moveByRefer !== false ? { referMoves: this.moves } : {}),
    };
    const notifier = opts.subscriptions;
    if (notifier && opts.sip.routeMethod)
      opts.sip.routeMethod('REFER', (r) => this.refer.handleOutOfDialog(r, notifier));
    opts.sip.onInvite((invite) => {
      this.handle(invite).catch((err: unknown) => {
        opts.log.error({ err, callId: invite.callId }, 'INVITE handling failed');
        this.reject(invite, err, opts.log);
      });
    });
  }

  private async handle(invite: IncomingInvite): Promise<void> {
    const log = this.opts.log.child({ callId: invite.callId });
    // A CANCEL can arrive during any await of the join (RFC 3261 §9.2: the stack already answered 487): abort it,
    // so a cancelled caller is never admitted to a room.
    const cancel = new AbortController();
    invite.once('cancel', () => cancel.abort());
    // The INVITE of a phone we referred to another room (a move by REFER) belongs to the call that waits for it.
    const claim = this.moves.claim(invite);
    if (claim === MoveClaim.Claimed) {
      log.info('INVITE of a move by REFER');
      return;
    }
    if (claim === MoveClaim.Expired) {
      this.reject(invite, new AppError('TRANSFER_EXPIRED'), log);
      return;
    }
    let replaces: ReplacesTarget | undefined;
    try {
      replaces = parseReplaces(invite.request.headers.getList('Replaces'));
    } catch (err) {
      if (!(err instanceof ReplacesError)) throw err;
      this.reject(invite, new SipError(err.status, err.message), log);
      return;
    }
    // RFC 3891 §3: the dialog named decides where the call goes, whatever the Request-URI says (a transferee
    // calls the Contact of the transferor's dialog with us, which names no room).
    if (replaces) {
      await this.replace(invite, replaces, log);
      return;
    }
    const room = invite.request.uri.user;
    if (!room) {
      this.reject(invite, new AppError('CONF_NO_ROOM_IN_URI'), log);
      return;
    }
    // Per-source caps before any port, socket or thread is taken; a delayed offer (no SDP) counts like any call.
    const source = invite.flow.address;
    let ticket: AdmissionTicket | undefined;
    try {
      ticket = this.opts.admission?.enter(source);
      const p = await this.opts.conference.join({
        room,
        connector: new InviteConnector(invite, this.callSettings, log),
        signal: cancel.signal,
        source,
      });
      ticket?.established();
      const release = ticket?.release;
      if (release) {
        if (p.hasLeft()) release();
        else p.once('left', release);
      }
      this.opts.onAttempt?.(200);
    } catch (err) {
      ticket?.release();
      if (err instanceof AppError && SOURCE_LIMITS.has(err.code)) this.opts.guard?.penalize(source);
      this.reject(invite, err, log);
    }
  }

  /**
   * An attended transfer (RFC 3891): the INVITE takes over the participant whose confirmed dialog its Replaces
   * names, keeping the participant (id, role, mute, place in the mix); the old dialog gets BYE. No such dialog →
   * 481; `early-only` on an answered call → 486 (§3). Knowing the dialog's Call-ID and both random tags is the
   * authorisation (§7: they are only known to the parties of the call and those they told).
   */
  private async replace(invite: IncomingInvite, target: ReplacesTarget, log: Logger): Promise<void> {
    let call: SipCall | undefined;
    for (const room of this.opts.conference.listRooms())
      for (const p of room.participants())
        if (p.session instanceof SipCall && p.session.hasDialog(target.callId, target.toTag, target.fromTag))
          call = p.session;
    if (!call) {
      log.info({ replaces: target.callId }, 'Replaces names no call of ours');
      this.reject(invite, new AppError('TRANSFER_NO_DIALOG'), log);
      return;
    }
    if (target.earlyOnly) {
      this.reject(invite, new AppError('TRANSFER_EARLY_ONLY'), log);
      return;
    }
    const referredBy = parseReferredBy(invite.request);
    call.participant.log.info(
      { newCallId: invite.callId, from: invite.request.from.uri.toString(), referredBy },
      'INVITE with Replaces: the call is transferred',
    );
    await call.adoptInvite(invite, 'Replaced (call transferred)');
    this.opts.onAttempt?.(200);
  }

  /** The final answer to an INVITE the conference refused (nothing once the INVITE was answered or cancelled). */
  private reject(invite: IncomingInvite, err: unknown, log: Logger): void {
    if (invite.state !== IncomingInviteState.Pending) {
      if (!(err instanceof AppError)) log.warn({ err }, 'call ended during setup');
      // Cancelled (the stack answered 487), or failed after the 200.
      if (invite.state === IncomingInviteState.Canceled) this.opts.onAttempt?.(487);
      else if (invite.state === IncomingInviteState.Accepted) this.opts.onAttempt?.(200);
      return;
    }
    this.opts.onAttempt?.(
      err instanceof SdpNegotiationError || (err instanceof SipError && !(err instanceof AppError))
        ? err.status
        : err instanceof AppError && err.sipStatus
          ? err.sipStatus
          : ERROR_CATALOGUE.INTERNAL.sip.status,
    );
    // SdpNegotiationError is an AppError too: test it first, so that its 488/400 carries the standard reason
    // phrase and the why in a Warning header (RFC 3261 §20.43, code 304 "Media type not available").
    if (err instanceof SipError && !(err instanceof AppError)) {
      // A malformed header (Replaces, Referred-By): 400 naming it.
      log.info({ status: err.status, why: err.reason }, 'INVITE rejected');
      invite.reject(err.status, err.reason);
    } else if (err instanceof SdpNegotiationError) {
      log.info({ status: err.status, why: err.reason }, 'INVITE rejected: SDP');
      invite.reject(err.status, err.reasonPhrase, {
        Warning: `304 parley "${err.reason.replace(/"/g, "'")}"`,
      });
    } else if (err instanceof AppError && err.sipStatus) {
      log.info({ status: err.sipStatus, why: err.message }, 'INVITE rejected');
      // A 503 says when to come back (draining: RFC 3261 §21.5.4, §20.33); a 488 for SRTP says why (§20.43).
      const retry = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      const headers: Record<string, string> = {};
      if (typeof retry === 'number') headers['Retry-After'] = String(retry);
      if (err instanceof SrtpRequiredError) headers.Warning = err.sipWarning;
      invite.reject(
        err.sipStatus,
        err.sipReason ?? err.message,
        Object.keys(headers).length > 0 ? headers : undefined,
      );
    } else {
      log.error({ err }, 'INVITE failed');
      const { status, reason } = ERROR_CATALOGUE.INTERNAL.sip;
      invite.reject(status, reason);
    }
  }
}
