import { SipError } from '../errors';
import { createResponse } from '../message/response-factory';
import { newTag } from '../message/ids';
import type { SipRequest } from '../message/sip-message';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction';
import type { Flow } from '../transport/transport';
import type { TimerHandle } from '../transaction/clock';
import { TypedEmitter } from '../../util/typed-emitter';
import { SessionDialog } from '../dialog/session-dialog';
import { negotiateAsUas } from '../dialog/session-timer';
import type { DialogHost } from '../dialog/dialog-host';

export enum IncomingInviteState {
  Pending = 'pending',
  Accepted = 'accepted',
  Rejected = 'rejected',
  Canceled = 'canceled',
}

export interface IncomingInviteEvents {
  /** the caller sent CANCEL (§9.2); we already answered 487 to the INVITE */
  cancel: [SipRequest];
}

export interface AcceptOptions {
  /** our SDP: the answer, or the offer when the INVITE had none (delayed offer: the answer comes in the ACK) */
  sdp?: string | Buffer;
  headers?: Record<string, string | string[]>;
  /** Contact header params after the URI, e.g. ';isfocus' (RFC 4579) */
  contactParams?: string;
  /** the user part of our Contact (default the stack's): a focus answers with the conference URI (RFC 4579 §4.5) */
  contactUser?: string;
}

/** What IncomingInvite needs from the core. */
export interface InviteHost extends DialogHost {
  addDialog(d: SessionDialog): void;
  readonly defaultContactParams?: string;
}

/**
 * An initial INVITE waiting for the application's decision (the UAS core side of §13.3): send provisional
 * responses, accept (→ SessionDialog once the ACK arrives) or reject. Emits 'cancel' when the caller gives up.
 */
export class IncomingInvite extends TypedEmitter<IncomingInviteEvents> {
  state = IncomingInviteState.Pending;
  /** the To tag of all our responses (and of the dialog) */
  readonly toTag = newTag();

  constructor(
    private readonly host: InviteHost,
    readonly request: SipRequest,
    readonly tx: InviteServerTransaction,
    readonly flow: Flow,
  ) {
    super(host.logger);
    tx.toTag = this.toTag;
  }

  private timeout?: TimerHandle;

  /** @internal answers 408 if the application has not answered within `ms` (a Timer C-like safety net) */
  armTimeout(ms: number): void {
    if (ms <= 0) return;
    this.timeout = this.host.clock.setTimeout(() => {
      this.timeout = undefined;
      if (this.state !== IncomingInviteState.Pending) return;
      this.host.logger.warn({ callId: this.callId }, 'INVITE not answered in time, sending 408');
      this.reject(408);
    }, ms);
  }

  private disarm(): void {
    if (this.timeout !== undefined) this.host.clock.clearTimeout(this.timeout);
    this.timeout = undefined;
  }

  /** the SDP offer, or undefined (delayed offer) */
  get sdp(): string | undefined {
    return this.request.body.length > 0 ? this.request.body.toString('utf8') : undefined;
  }

  get callId(): string {
    return this.request.callId;
  }

  /** 180 Ringing / 183 Session Progress (with early media SDP) ... */
  progress(
    status = 180,
    opts: { sdp?: string | Buffer; headers?: Record<string, string | string[]>; reason?: string } = {},
  ): void {
    if (this.state !== IncomingInviteState.Pending) return;
    if (status <= 100 || status >= 200) throw new Error('progress() takes a 1xx status above 100');
    const body = typeof opts.sdp === 'string' ? Buffer.from(opts.sdp) : opts.sdp;
    const res = createResponse(this.request, status, opts.reason, {
      toTag: this.toTag,
      recordRoute: true,
      headers: opts.headers,
      body,
      contentType: body ? 'application/sdp' : undefined,
    });
    res.headers.set(
      'Contact',
      this.host.contact(this.flow.protocol) + (this.host.defaultContactParams ?? ''),
    );
    this.host.decorate(res.headers, 'response', 'INVITE');
    this.tx.respond(res);
  }

  /**
   * Answers 200 OK, creates the dialog and retransmits the 2xx until the ACK arrives (§13.3.1.4). Resolves with
   * the confirmed SessionDialog (its `ackBody` holds the answer for a delayed offer); rejects if the ACK never
   * came (we then sent BYE) or the INVITE was canceled first.
   */
  async accept(opts: AcceptOptions = {}): Promise<SessionDialog> {
    if (this.state !== IncomingInviteState.Pending) {
      throw new SipError(
        this.state === IncomingInviteState.Canceled ? 487 : 500,
        `INVITE already ${this.state}`,
      );
    }
    const req = this.request;
    const headers: Record<string, string | string[]> = {};
    // RFC 4028 §9
    const st = this.host.sessionTimers ? negotiateAsUas(req, this.host.sessionTimers) : undefined;
    if (st && !st.ok) {
      this.reject(422, 'Session Interval Too Small', st.headers);
      throw new SipError(422, 'Session Interval Too Small');
    }
    if (st?.ok) Object.assign(headers, st.headers);
    Object.assign(headers, opts.headers);
    this.state = IncomingInviteState.Accepted;
    this.disarm();
    const sdp = typeof opts.sdp === 'string' ? Buffer.from(opts.sdp) : opts.sdp;
    const contactParams = opts.contactParams ?? this.host.defaultContactParams;
    const from = req.from.clone();
    from.tag = undefined;
    const to = req.to.clone();
    to.tag = undefined;
    const remoteContact = req.contact[0];
    if (!remoteContact) throw new SipError(400, 'Missing Contact');
    // §12.1.1: the UAS side of dialog creation
    const dialog = new SessionDialog(this.host, {
      role: 'uas',
      callId: req.callId,
      localTag: this.toTag,
      remoteTag: req.from.tag ?? '',
      localUri: to,
      remoteUri: from,
      localSeq: Math.floor(Math.random() * 10000),
      remoteSeq: req.cseq.seq,
      remoteTarget: remoteContact.uri,
      // "The route set MUST be set to the list of URIs in the Record-Route header field from the request, taken in order"
      routeSet: req.headers.getList('Record-Route'),
      secure: req.uri.scheme === 'sips' && (this.flow.protocol === 'TLS' || this.flow.protocol === 'WSS'),
      flow: this.flow,
      contactParams,
      contactUser: opts.contactUser,
      localSdp: sdp,
      remoteSdp: req.body.length > 0 ? req.body : undefined,
      peerAllows: req.headers.getList('Allow').map((m) => m.toUpperCase()),
    });
    this.host.addDialog(dialog);
    const res = createResponse(req, 200, undefined, {
      toTag: this.toTag,
      recordRoute: true,
      headers,
      body: sdp,
      contentType: sdp && sdp.length > 0 ? 'application/sdp' : undefined,
    });
    res.headers.set('Contact', this.host.contact(this.flow.protocol, contactParams, opts.contactUser));
    this.host.decorate(res.headers, 'response', 'INVITE');
    if (st?.ok) dialog.applySessionTimer(st.params);
    await dialog.send2xxUntilAck(this.tx, res);
    return dialog;
  }

  /** Rejects the INVITE with a final non-2xx response (the transaction retransmits it until the ACK). */
  reject(status: number, reason?: string, headers?: Record<string, string | string[]>): void {
    if (this.state !== IncomingInviteState.Pending) return;
    if (status < 300) throw new Error('reject() takes a status >= 300');
    this.state = IncomingInviteState.Rejected;
    this.disarm();
    const res = createResponse(this.request, status, reason, { toTag: this.toTag, headers });
    this.host.decorate(res.headers, 'response', 'INVITE');
    this.tx.respond(res);
  }

  /** @internal §9.2: the core matched a CANCEL to this INVITE: 487 and 'cancel'. */
  cancelBy(cancel: SipRequest): void {
    if (this.state !== IncomingInviteState.Pending) return;
    // "the UAS core ... SHOULD respond to the INVITE with a 487 (Request Terminated)"
    const res = createResponse(this.request, 487, undefined, { toTag: this.toTag });
    this.host.decorate(res.headers, 'response', 'INVITE');
    this.tx.respond(res);
    this.state = IncomingInviteState.Canceled;
    this.disarm();
    this.safeEmit('cancel', cancel);
  }
}
