import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { MediaLegFactory } from '../../media/media-leg';
import type { SessionDialog } from '../../sip/dialog/session-dialog';
import { SipError } from '../../sip/errors';
import { newCallId } from '../../sip/message/ids';
import { SipUri } from '../../sip/message/uri';
import type { SipResponse } from '../../sip/message/sip-message';
import type { InviteOptions } from '../../sip/ua/user-agent-core';
import { LeaveReason } from '../participant/leave-reason';
import type { Participant } from '../participant/participant';
import { ParticipantKind } from '../participant/participant-kind';
import type {
  Dialer,
  DialProgressListener,
  ParticipantIdentity,
  SessionConnector,
} from '../participant/participant-session';
import { DialPolicy } from './dial-policy';
import type { SipCallSettings } from './invite-connector';
import { SipCall } from './sip-call';
import { TrunkTable, type DialRoute } from './trunk';

/** The stack's UAC: an INVITE that resolves with the confirmed dialog (SipStack.invite). */
export interface Inviter {
  invite(uri: string | SipUri, opts: InviteOptions): Promise<SessionDialog>;
}

export interface SipDialerOptions extends SipCallSettings {
  sip: Inviter;
  /** Give up (CANCEL) after ringing this long (default 60 s) when `trunks` is absent. */
  ringTimeoutMs?: number;
  /**
   * `sip.dialOut`: outbound proxies, digest credentials, From and ring timeouts per target pattern; absent: every
   * call goes straight to its target with `ringTimeoutMs`.
   */
  trunks?: TrunkTable;
  /**
   * The destinations that may be called (`security.dialOut.allow`); default: loopback only. Checked before any
   * media or INVITE, so a refused target costs nothing and nothing leaves the server.
   */
  policy?: DialPolicy;
}

const DEFAULT_RING_TIMEOUT_MS = 60_000;

/** How a dial-out went, as reported to whoever asked (REST, dashboard, a REFER's NOTIFY sipfrag). */
export enum DialResult {
  /** 180, or a 183 without SDP. */
  Ringing = 'ringing',
  /** A 183 (or 180) with SDP: the far end's media (ringback, announcement) is in the room already. */
  EarlyMedia = 'early-media',
  Answered = 'answered',
  /** 486 Busy Here, 600 Busy Everywhere. */
  Busy = 'busy',
  /** 603 Decline. */
  Declined = 'declined',
  /** Nobody answered within the ring timeout: we sent CANCEL; reported as 408. */
  Timeout = 'timeout',
  /** The asker gave up (the participant left, the room closed) before an answer: 487. */
  Cancelled = 'cancelled',
  /** Any other final status (404, 480, 5xx, a transport error as 503...). */
  Failed = 'failed',
}

/** A final dial-out failure: its result and the SIP status it is reported with. */
export interface DialFailure {
  result:
    DialResult.Busy | DialResult.Declined | DialResult.Timeout | DialResult.Cancelled | DialResult.Failed;
  status: number;
  reason: string;
}

/**
 * What a final non-2xx means for the asker. `timedOut`: our ring timer fired and sent the CANCEL, so the 487 (or
 * the 408 of an INVITE that never got a provisional) is a timeout, reported as 408 Request Timeout (RFC 3261
 * §21.4.9: "could not find the user in time") rather than the 487 our own CANCEL caused.
 */
export function classifyDialFailure(status: number, reason: string, timedOut: boolean): DialFailure {
  if (timedOut && (status === 487 || status === 408))
    return { result: DialResult.Timeout, status: 408, reason: 'Request Timeout' };
  if (status === 486 || status === 600) return { result: DialResult.Busy, status, reason };
  if (status === 603) return { result: DialResult.Declined, status, reason };
  if (status === 487) return { result: DialResult.Cancelled, status, reason };
  return { result: DialResult.Failed, status, reason };
}

/**
 * A dial-out that ended without an answer: CONF_DIAL_NO_ANSWER for the ring timeout, CONF_DIAL_FAILED for the
 * rest, the message led by the result and the status (`busy: 486 Busy Here`), and the parts for a structured answer.
 */
export class DialOutError extends AppError {
  readonly result: DialFailure['result'];
  readonly status: number;
  readonly reason: string;

  constructor(target: string, failure: DialFailure, ringTimeoutMs: number) {
    super(
      failure.result === DialResult.Timeout ? 'CONF_DIAL_NO_ANSWER' : 'CONF_DIAL_FAILED',
      failure.result === DialResult.Timeout
        ? `${target}: timeout: no answer within ${Math.round(ringTimeoutMs / 1000)} s (CANCEL sent)`
        : `${target}: ${failure.result}: ${failure.status} ${failure.reason}`.trim(),
    );
    this.result = failure.result;
    this.status = failure.status;
    this.reason = failure.reason;
  }
}

/** Dial-out over SIP: our offer in the INVITE (RFC 3261 §13.2), the answer in the 2xx. */
export class SipDialer implements Dialer {
  private readonly policy: DialPolicy;
  private readonly trunks: TrunkTable;

  constructor(private readonly opts: SipDialerOptions) {
    this.policy = opts.policy ?? DialPolicy.compile(DialPolicy.LOOPBACK_ONLY);
    this.trunks = opts.trunks ?? TrunkTable.direct((opts.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS) / 1000);
  }

  dial(
    target: string,
    opts: { roomName: string; log: Logger; onProgress?: DialProgressListener },
  ): SessionConnector {
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
    const route = this.trunks.routeFor(uri);
    return new DialOutConnector(
      uri,
      this.opts,
      route,
      opts.log.child({ roomId: opts.roomName, ...(route.trunk !== null ? { trunk: route.trunk } : {}) }),
      opts.roomName,
      opts.onProgress,
    );
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
    private readonly route: DialRoute,
    readonly log: Logger,
    /** our Contact is the conference URI (RFC 4579 §4.5), as in the calls the focus answers */
    private readonly roomName: string,
    private readonly onProgress?: DialProgressListener,
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

  /**
   * The INVITE (through the trunk's outbound proxy, answering its challenge once), then the answer applied. A
   * 18x with SDP is early media (RFC 3261 §13.2.1 allows the answer in an unreliable 1xx, repeated in the 2xx):
   * applied at once, so the far end's ringback or announcement is heard in the room while it rings (the callee was
   * seated in the mix before the INVITE). Every step is reported to `onProgress`; the ring timeout CANCELs.
   */
  async establish(signal: AbortSignal): Promise<void> {
    const call = this.call;
    const offer = this.offer;
    if (!call || offer === undefined) throw new Error('establish() before connect()');
    const p = call.participant;
    const route = this.route;
    // Our own abort: the asker's (participant left, room closed) or the ring timer's, told apart by `timedOut`.
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    signal.addEventListener('abort', onAbort);
    if (signal.aborted) abort.abort();
    let timedOut = false;
    const ringTimer = setTimeout(() => {
      timedOut = true;
      p.log.info({ ringTimeoutMs: route.ringTimeoutMs }, 'dial-out ring timeout: CANCEL');
      abort.abort();
    }, route.ringTimeoutMs);
    let early: { sdp: string; applied: Promise<boolean> } | undefined;
    const onProgress = (res: SipResponse): void => {
      this.report(res.status, res.reason);
      const sdp = res.contentType === 'application/sdp' ? res.body.toString('utf8') : '';
      // The first early answer wins (forking may send several, each from its own branch: RFC 3261 §13.2.2.1).
      if (!sdp || early) return;
      p.log.info({ status: res.status }, 'dial-out early media');
      early = {
        sdp,
        applied: call.applyRemoteAnswer(sdp, offer, { early: true }).then(
          () => true,
          (err: unknown) => {
            p.log.warn({ err: (err as Error).message }, 'early media answer not usable');
            return false;
          },
        ),
      };
    };
    let dialog: SessionDialog;
    try {
      p.log.info({ target: this.identity.uri, trunk: route.trunk, route: route.route }, 'dialling out');
      dialog = await this.opts.sip.invite(this.target, {
        sdp: offer,
        contactParams: ';isfocus',
        contactUser: this.roomName,
        signal: abort.signal,
        callId: this.callId,
        onProgress,
        ...(route.route.length > 0 ? { route: route.route } : {}),
        ...(route.auth ? { auth: route.auth } : {}),
        ...(route.from ? { from: route.from } : {}),
      });
    } catch (err) {
      const failure =
        err instanceof SipError
          ? classifyDialFailure(err.status, err.reason ?? '', timedOut)
          : classifyDialFailure(503, (err as Error).message, timedOut);
      p.log.info({ ...failure }, 'dial-out not answered');
      this.report(failure.status, failure.reason);
      p.close(LeaveReason.NotAnswered);
      throw new DialOutError(this.identity.uri, failure, route.ringTimeoutMs);
    } finally {
      clearTimeout(ringTimer);
      signal.removeEventListener('abort', onAbort);
    }
    call.attachDialog(dialog);
    try {
      const answer = dialog.remoteSdp?.toString('utf8');
      const earlyOk = early ? await early.applied : false;
      // The 2xx repeats the early answer (same o= version): the legs already point at the callee.
      if (earlyOk && answer !== undefined && sameSdpVersion(answer, early!.sdp)) await call.answeredAsEarly();
      else {
        if (!answer) throw new AppError('CONF_DIAL_FAILED', 'the 2xx carried no SDP answer');
        await call.applyRemoteAnswer(answer, offer);
      }
    } catch (err) {
      p.log.warn({ err: (err as Error).message }, 'dial-out answer not usable');
      this.report(488, 'Not Acceptable Here');
      call.hangup(LeaveReason.MediaFailed, { cause: 488, text: (err as Error).message });
      throw err instanceof AppError ? err : new AppError('CONF_DIAL_FAILED', (err as Error).message);
    }
    this.report(200, 'OK');
  }

  /** Tells the asker; a listener that throws must not break the call. */
  private report(status: number, reason: string): void {
    if (!this.onProgress) return;
    try {
      this.onProgress(status, reason);
    } catch (err) {
      this.log.warn({ err }, 'dial-out progress listener failed');
    }
  }
}

/** Whether two SDP bodies are the same version of one session (RFC 4566 §5.2: o= username, id and version). */
export function sameSdpVersion(a: string, b: string): boolean {
  const origin = (sdp: string): string | undefined => /^o=(\S+ \S+ \S+)/m.exec(sdp)?.[1];
  const oa = origin(a);
  return a === b || (oa !== undefined && oa === origin(b));
}
