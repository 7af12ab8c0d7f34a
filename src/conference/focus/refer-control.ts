import type { Logger } from 'pino';
import { AppError, type ErrorCode } from '../../errors/app-error';
import { SipError } from '../../sip/errors';
import type { InDialogRequest, SessionDialog } from '../../sip/dialog/session-dialog';
import type { SipRequest } from '../../sip/message/sip-message';
import type { SipUri } from '../../sip/message/uri';
import { SipUri as Uri } from '../../sip/message/uri';
import type { Clock } from '../../sip/transaction/clock';
import type { SipRequestAuthenticator } from '../../sip/auth/request-authenticator';
import type { Conference } from '../conference';
import { LeaveReason } from '../participant/leave-reason';
import { ParticipantState, type Participant } from '../participant/participant';
import type { Room } from '../room/room';
import type { DialPolicy } from './dial-policy';
import { parseReferTo, sipfrag, wantsReferSubscription, type ReferTarget } from './refer-headers';
import { ReferSubscription, SIPFRAG_TYPE } from './refer-subscription';
import type { IncomingRequest } from '../../sip/ua/incoming-request';
import { TerminatedReason, type SubscriptionNotifier } from '../../sip/subscription';
import type { SipCall } from './sip-call';

/** One line of the audit log (the same log moderators' actions go to: ModerationService). */
export interface FocusAuditEntry {
  /** Who: `sip:<account>` (digest) or the moderator participant's URI. */
  actor: string;
  /** The request's source address. */
  source: string | null;
  /** `dial` or `kick`, as the dashboard's own actions. */
  action: 'dial' | 'kick';
  roomId: string;
  target: string | null;
  outcome: 'ok' | 'error';
  /** The catalogue code of a refusal, and how the action was asked (`via REFER`). */
  detail: string | null;
}

export interface ReferControlOptions {
  conference: Conference;
  log: Logger;
  /** Digest against the accounts (RFC 3261 §22); absent: only the room's moderators may REFER. */
  authenticator?: SipRequestAuthenticator;
  /** `security.dialOut.allow`, checked before the 202 so a refused target never sees an INVITE. */
  dialPolicy?: DialPolicy;
  /** Where refusals and actions are recorded; absent: logged only. */
  audit?: (entry: FocusAuditEntry) => void;
  /** How long the implicit subscription lasts (default 120 s: past the dial-out ring timeout). */
  subscriptionSeconds?: number;
  clock?: Clock;
}

const DEFAULT_SUBSCRIPTION_SECONDS = 120;

/** Who may act, once authorised. */
interface Principal {
  actor: string;
  source: string | null;
}

/** How one REFER is answered: in a participant's dialog, or out of any dialog (its own subscription dialog). */
interface ReferExchange {
  readonly request: SipRequest;
  readonly log: Logger;
  /** A final refusal (no subscription). */
  reply(status: number, reason: string, headers?: Record<string, string | string[]>): void;
  /** 202 Accepted and the implicit subscription, whose first NOTIFY says `100 Trying`. */
  accept(): ReferReport;
}

/** The implicit subscription's NOTIFYs as the REFER's outcome is known. */
interface ReferReport {
  progress(status: number, reason: string): void;
  finish(status: number, reason: string): Promise<unknown>;
}

/** What the focus needs of the RFC 6665 notifier: an out-of-dialog REFER's implicit subscription. */
export type ReferNotifierHost = Pick<SubscriptionNotifier, 'acceptRefer'>;

/**
 * REFER call control (RFC 4579 §5.5–§5.6 over RFC 3515), in a participant's INVITE dialog with the focus or sent
 * to the conference URI outside any dialog: `Refer-To: <sip:carol@pbx>` dials Carol into the room
 * (Conference.dialOut), `Refer-To: <sip:bob@host;method=BYE>` removes the participant with that URI. Only the
 * room's moderators (joined with the moderator PIN; in-dialog only) and callers who authenticate with a SIP
 * account (digest, RFC 3261 §22) may; anyone else gets 403 and nothing happens. A dial-out target outside
 * `security.dialOut.allow` gets 403 before the 202, so no INVITE ever leaves (toll fraud), and the refusal is
 * audited like a dashboard's. Accepted REFERs get 202 and the implicit subscription's NOTIFYs (`100 Trying`, then
 * the outcome as a sipfrag status line, `terminated;reason=noresource`).
 */
export class ReferControl {
  private readonly subscriptionSeconds: number;

  constructor(private readonly opts: ReferControlOptions) {
    this.subscriptionSeconds = opts.subscriptionSeconds ?? DEFAULT_SUBSCRIPTION_SECONDS;
  }

  /** A REFER received in `call`'s dialog. */
  handleInDialog(r: InDialogRequest, dialog: SessionDialog, call: SipCall): void {
    const p = call.participant;
    const log = p.log.child({ refer: r.request.cseq.seq });
    const exchange: ReferExchange = {
      request: r.request,
      log,
      reply: (status, reason, headers) => r.reply(status, { reason, ...(headers ? { headers } : {}) }),
      accept: () => {
        const wanted = wantsReferSubscription(r.request);
        // RFC 4488 §4: the 2xx to a REFER with Refer-Sub: false says whether we created the subscription.
        r.reply(202, wanted ? {} : { headers: { 'Refer-Sub': 'false' } });
        const sub = new ReferSubscription({
          notify: (o) => dialog.notify(o),
          referSeq: r.request.cseq.seq,
          wanted,
          expiresSeconds: this.subscriptionSeconds,
          log,
          ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        });
        dialog.once('terminated', () => sub.close());
        void sub.start();
        return { progress: (s, why) => void sub.progress(s, why), finish: (s, why) => sub.finish(s, why) };
      },
    };
    let room: Room;
    try {
      room = this.opts.conference.locate(p.id).room;
    } catch {
      r.reply(481);
      return;
    }
    this.run(exchange, room, p).catch((err: unknown) => {
      log.error({ err }, 'REFER handling failed');
      r.reply(500);
    });
  }

  /**
   * A REFER to the conference URI outside any dialog (RFC 4579 §5.5): digest authentication is required (there is
   * no participant whose role could vouch), and the implicit subscription lives in a dialog of its own
   * (`notifier.acceptRefer`). Unknown room → 404.
   */
  handleOutOfDialog(incoming: IncomingRequest, notifier: ReferNotifierHost): void {
    const log = this.opts.log.child({ refer: incoming.request.callId });
    const exchange: ReferExchange = {
      request: incoming.request,
      log,
      reply: (status, reason, headers) => incoming.reply(status, { reason, ...(headers ? { headers } : {}) }),
      accept: () => {
        const sub = notifier.acceptRefer(incoming, {
          state: () => ({ body: sipfrag(100, 'Trying'), contentType: SIPFRAG_TYPE }),
          expires: this.subscriptionSeconds,
        });
        return {
          progress: (s, why) => void sub.notify({ body: sipfrag(s, why), contentType: SIPFRAG_TYPE }),
          finish: (s, why) =>
            sub.terminate(TerminatedReason.NoResource, { body: sipfrag(s, why), contentType: SIPFRAG_TYPE }),
        };
      },
    };
    const name = incoming.request.uri.user;
    let room: Room;
    try {
      if (!name) throw new AppError('CONF_NO_ROOM_IN_URI');
      room = this.opts.conference.getRoom(name);
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('CONF_ROOM_NOT_FOUND');
      incoming.reply(e.sipStatus ?? 404, { reason: e.sipReason ?? e.message });
      return;
    }
    this.run(exchange, room, undefined).catch((err: unknown) => {
      // The notifier refuses a subscription it cannot take (no Contact: 400; too many: 503) before any answer.
      if (err instanceof SipError) {
        log.info({ status: err.status, why: err.reason }, 'REFER refused by the notifier');
        incoming.reply(err.status, { reason: err.reason ?? 'Refused' });
        return;
      }
      log.error({ err }, 'REFER handling failed');
      incoming.reply(500);
    });
  }

  /** Parse, authorise, check the target, accept and act (`from`: the participant whose dialog carried it). */
  private async run(x: ReferExchange, room: Room, from: Participant | undefined): Promise<void> {
    const { request: req, log } = x;
    let target: ReferTarget;
    try {
      target = parseReferTo(req);
    } catch (err) {
      const e = err as SipError;
      log.info({ why: e.reason }, 'REFER rejected: malformed');
      x.reply(e.status, e.reason ?? 'Bad Request');
      return;
    }
    const source = req.topVia.received ?? req.topVia.host;
    const action = target.method === 'BYE' ? 'kick' : 'dial';
    const who = await this.authorise(req, from, source, log);
    if (!who.ok) {
      // A challenge is not a refusal (the phone retries with credentials): only a 403 is audited.
      const actor = from?.uri ?? req.from.uri.toString();
      if (who.status === 403)
        this.audit({ actor, source }, action, room, target.uri.toString(), 'REFER_FORBIDDEN');
      x.reply(who.status, who.reason, who.headers);
      return;
    }
    const principal = who.principal;
    log.info({ actor: principal.actor, referTo: target.text, method: target.method }, 'REFER received');
    if (target.method === 'BYE') {
      this.removeByRefer(x, room, target, principal);
      return;
    }
    if (target.method !== 'INVITE') {
      this.refuse(x, 'REFER_METHOD_UNSUPPORTED');
      return;
    }
    const denied = this.opts.dialPolicy?.check(target.uri);
    if (denied !== undefined) {
      log.warn({ target: target.uri.toString(), why: denied }, 'REFER refused: dial-out target not allowed');
      this.audit(principal, 'dial', room, target.uri.toString(), 'CONF_DIAL_DENIED');
      this.refuse(x, 'CONF_DIAL_DENIED');
      return;
    }
    const report = x.accept();
    const uri = target.uri.toString();
    // The far end's own final status, when the dialer reports one (486, 603, 408...): the NOTIFY's sipfrag.
    let final: { status: number; reason: string } | undefined;
    const onProgress = (status: number, reason: string): void => {
      if (status > 100 && status < 200) report.progress(status, reason);
      else if (status >= 300) final = { status, reason };
    };
    try {
      await this.opts.conference.dialOut(room.id, uri, { onProgress });
      this.audit(principal, 'dial', room, uri, null);
      await report.finish(200, 'OK');
    } catch (err) {
      const { status, reason } = final ?? failure(err);
      log.info({ target: uri, status, why: (err as Error).message }, 'REFER dial-out failed');
      this.audit(principal, 'dial', room, uri, err instanceof AppError ? err.code : 'INTERNAL');
      await report.finish(status, reason);
    }
  }

  /** RFC 4579 §5.6: `method=BYE` removes the participant(s) of the room with that URI. */
  private removeByRefer(x: ReferExchange, room: Room, target: ReferTarget, principal: Principal): void {
    const victims = room.participants().filter((v) => sameParty(v.uri, target.uri));
    if (victims.length === 0) {
      this.audit(principal, 'kick', room, target.uri.toString(), 'REFER_NO_SUCH_PARTICIPANT');
      this.refuse(x, 'REFER_NO_SUCH_PARTICIPANT');
      return;
    }
    const report = x.accept();
    for (const v of victims) {
      v.log.info({ by: principal.actor }, 'participant removed by REFER');
      if (v.session) v.session.hangup(LeaveReason.Kicked);
      else v.close(LeaveReason.Kicked);
      this.audit(principal, 'kick', room, `${v.id} (${v.displayName})`, null);
    }
    void report.finish(200, 'OK');
  }

  private refuse(x: ReferExchange, code: ErrorCode): void {
    const e = new AppError(code);
    x.log.info({ code }, 'REFER refused');
    x.reply(e.sipStatus ?? 403, e.sipReason ?? e.message);
  }

  /**
   * A moderator of the room may (in its own dialog); anyone else must authenticate. No credentials → the
   * authenticator's challenge (RFC 3261 §22.1: 401/407, the phone retries with them); wrong ones → 403; no
   * authenticator → 403.
   */
  private async authorise(
    req: SipRequest,
    p: Participant | undefined,
    source: string,
    log: Logger,
  ): Promise<
    | { ok: true; principal: Principal }
    | { ok: false; status: number; reason: string; headers?: Record<string, string | string[]> }
  > {
    // A webinar's host has a moderator's powers (webinar-policy.ts).
    if (p && (p.role === 'moderator' || p.role === 'host') && p.state === ParticipantState.Joined)
      return { ok: true, principal: { actor: p.uri, source } };
    const forbidden = new AppError('REFER_FORBIDDEN');
    const refusal = { ok: false as const, status: forbidden.sipStatus!, reason: forbidden.sipReason! };
    const auth = this.opts.authenticator;
    if (!auth) return refusal;
    const res = await auth.check(req);
    if (res.ok) return { ok: true, principal: { actor: `sip:${res.user}`, source } };
    log.info({ status: res.status, why: res.reason }, 'REFER not authenticated');
    if (res.status === 403) return refusal;
    return { ok: false, status: res.status, reason: res.reason, headers: res.headers };
  }

  private audit(
    who: Principal,
    action: FocusAuditEntry['action'],
    room: Room,
    target: string | null,
    code: string | null,
  ): void {
    const detail = code ? `${code} via REFER` : 'via REFER';
    try {
      this.opts.audit?.({
        actor: who.actor,
        source: who.source,
        action,
        roomId: room.id,
        target,
        outcome: code ? 'error' : 'ok',
        detail,
      });
    } catch (err) {
      this.opts.log.error({ err }, 'audit of a REFER failed');
    }
  }
}

/**
 * The sipfrag status line for a failed dial-out: the catalogue's SIP answer where it has one (locked, full...),
 * the far end's own status when the dialer names it (`CONF_DIAL_FAILED: sip:x: 486 Busy Here`), else 480.
 */
function failure(err: unknown): { status: number; reason: string } {
  if (err instanceof AppError) {
    if (err.sipStatus !== undefined) return { status: err.sipStatus, reason: err.sipReason ?? err.message };
    if (err.code === 'CONF_DIAL_FAILED') {
      const m = /:\s([3-6]\d\d)\s?([^:]*)$/.exec(err.message);
      if (m) return { status: Number(m[1]), reason: m[2]?.trim() || 'Failed' };
      return { status: 480, reason: 'Temporarily Unavailable' };
    }
  }
  if (err instanceof SipError) return { status: err.status, reason: err.reason ?? 'Failed' };
  return { status: 500, reason: 'Server Internal Error' };
}

/** Whether a participant's URI names the party of a REFER's `method=BYE` (user, host; port when both say one). */
export function sameParty(participantUri: string, target: SipUri): boolean {
  const u = Uri.tryParse(participantUri);
  if (!u) return false;
  if ((u.user ?? '') !== (target.user ?? '')) return false;
  if (u.host.toLowerCase() !== target.host.toLowerCase()) return false;
  return u.port === undefined || target.port === undefined || u.port === target.port;
}
