import type { Logger } from 'pino';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../../errors/app-error';
import { SdpNegotiationError } from '../../media/sdp';
import { IncomingInviteState, type IncomingInvite } from '../../sip/ua/incoming-invite';
import type { Conference } from '../conference';
import type { SourceGuard } from '../../sip/security/source-guard';
import { InviteConnector, type SipCallSettings } from './invite-connector';
import type { AdmissionTicket, SourceAdmission } from './source-admission';
import { SrtpRequiredError } from './srtp-policy';

export interface InviteSource {
  onInvite(handler: (invite: IncomingInvite) => void): unknown;
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
  constructor(private readonly opts: FocusOptions) {
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
        connector: new InviteConnector(invite, this.opts, log),
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
      err instanceof SdpNegotiationError
        ? err.status
        : err instanceof AppError && err.sipStatus
          ? err.sipStatus
          : ERROR_CATALOGUE.INTERNAL.sip.status,
    );
    // SdpNegotiationError is an AppError too: test it first, so that its 488/400 carries the standard reason
    // phrase and the why in a Warning header (RFC 3261 §20.43, code 304 "Media type not available").
    if (err instanceof SdpNegotiationError) {
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
