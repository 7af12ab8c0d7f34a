import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { MediaThreadPool } from '../../media/mixer/media-thread-pool';
import type { PortAllocator } from '../../media/rtp/port-allocator';
import { SdpNegotiationError } from '../../media/sdp';
import type { IncomingInvite } from '../../sip/ua/incoming-invite';
import { LeaveReason } from '../participant/leave-reason';
import { Participant, ParticipantState } from '../participant/participant';
import type { Room } from '../room/room';
import { ForwardingRoomAudio, type RoomAudio } from '../room/room-audio';
import type { RoomManager } from '../room/room-manager';
import { SipCall } from './sip-call';

export interface InviteSource {
  onInvite(handler: (invite: IncomingInvite) => void): unknown;
}

export interface FocusOptions {
  sip: InviteSource;
  rooms: RoomManager;
  threads: MediaThreadPool;
  ports: PortAllocator;
  listenIp: string;
  announcedIp: string;
  rtpTimeoutMs: number;
  log: Logger;
  /** What each room's participants hear (default: forwarding; the MCU mixer plugs in here). */
  roomAudio?: (room: Room) => RoomAudio;
}

/**
 * The conference focus (RFC 4353, RFC 4579): answers INVITEs to `sip:<room>@<host>` and puts the caller in the
 * room. Gates: a named room (404), room policy (404 for unknown rooms when configured, 486/503 full, 403 locked),
 * SDP (488 when nothing can be served). Our Contact carries `;isfocus` (RFC 4579 §4.5).
 */
export class Focus {
  private readonly audio = new WeakMap<Room, RoomAudio>();
  private readonly calls = new Set<SipCall>();

  constructor(private readonly opts: FocusOptions) {
    opts.sip.onInvite((invite) => {
      this.handle(invite).catch((err: unknown) => {
        opts.log.error({ err, callId: invite.callId }, 'INVITE handling failed');
        invite.reject(500, 'Server Internal Error');
      });
    });
  }

  /** Live calls (for tests and metrics). */
  get callCount(): number {
    return this.calls.size;
  }

  private audioFor(room: Room): RoomAudio {
    let a = this.audio.get(room);
    if (!a) {
      a = this.opts.roomAudio?.(room) ?? new ForwardingRoomAudio();
      this.audio.set(room, a);
      const ra = a;
      room.once('closed', () => ra.close());
    }
    return a;
  }

  private reject(invite: IncomingInvite, err: unknown, log: Logger): void {
    // SdpNegotiationError is an AppError too: test it first, so that its 488/400 carries the standard reason
    // phrase and the why in a Warning header (RFC 3261 §20.43, code 304 "Media type not available").
    if (err instanceof SdpNegotiationError) {
      log.info({ status: err.status, why: err.reason }, 'INVITE rejected: SDP');
      invite.reject(err.status, err.reasonPhrase, {
        Warning: `304 parley "${err.reason.replace(/"/g, "'")}"`,
      });
    } else if (err instanceof AppError && err.sipStatus) {
      log.info({ status: err.sipStatus, why: err.message }, 'INVITE rejected');
      invite.reject(err.sipStatus, reasonFor(err.sipStatus, err.message));
    } else {
      log.error({ err }, 'INVITE failed');
      invite.reject(500, 'Server Internal Error');
    }
  }

  private async handle(invite: IncomingInvite): Promise<void> {
    const req = invite.request;
    const log = this.opts.log.child({ callId: invite.callId });
    // A CANCEL can arrive during any await below (RFC 3261 §9.2: the stack already answered 487); listen from the
    // start and stop at each step, so that a cancelled caller is never admitted to a room.
    let cancelled = false;
    let onCancel = (): void => {
      cancelled = true;
    };
    invite.once('cancel', () => onCancel());
    const roomName = req.uri.user;
    if (!roomName) {
      invite.reject(404, 'No conference named in the Request-URI');
      return;
    }
    let room: Room;
    try {
      room = await this.opts.rooms.getOrCreate(roomName);
      room.checkAdmission();
    } catch (err) {
      this.reject(invite, err, log);
      return;
    }
    if (cancelled) {
      log.info('INVITE cancelled before media setup');
      return;
    }
    const from = req.from;
    const participant = new Participant(
      from.displayName ?? from.uri.user ?? from.uri.host,
      from.uri.toString(),
      invite.flow.protocol,
      log.child({ roomId: room.id }),
    );
    const plog = participant.log.child({ participantId: participant.id });
    const audio = this.audioFor(room);
    const call = new SipCall(
      participant,
      {
        router: room.router,
        thread: this.opts.threads.threadFor(room.id),
        ports: this.opts.ports,
        listenIp: this.opts.listenIp,
        announcedIp: this.opts.announcedIp,
        rtpTimeoutMs: this.opts.rtpTimeoutMs,
      },
      audio,
      plog,
    );
    this.calls.add(call);
    participant.once('left', () => this.calls.delete(call));
    onCancel = () => participant.close(LeaveReason.Cancelled);
    const hasLeft = (): boolean => participant.state === ParticipantState.Left;

    let localSdp: string;
    try {
      localSdp = invite.sdp
        ? await call.answerOffer(invite.sdp, invite.flow.address)
        : await call.makeOffer();
      if (hasLeft()) return; // cancelled while media was being set up: its legs are closed already
      room.admit(participant);
      await audio.add(call);
    } catch (err) {
      participant.close(LeaveReason.MediaFailed);
      this.reject(invite, err, plog);
      return;
    }
    if (hasLeft()) return; // cancelled while joining the room audio

    let dialog;
    try {
      dialog = await invite.accept({ sdp: localSdp, contactParams: ';isfocus' });
    } catch (err) {
      plog.info({ err: (err as Error).message }, 'call not established');
      participant.close(LeaveReason.Cancelled);
      return;
    }
    call.attachDialog(dialog);
    if (!invite.sdp) {
      try {
        if (!dialog.ackBody?.length)
          throw new SdpNegotiationError(400, 'ACK without the answer to our offer');
        await call.applyAckAnswer(dialog.ackBody.toString(), localSdp);
      } catch (err) {
        plog.warn({ err: (err as Error).message }, 'delayed offer failed');
        call.hangup(LeaveReason.MediaFailed, { cause: 488, text: (err as Error).message });
        return;
      }
    }
    participant.joined();
    plog.info({ codec: participant.codec, srtp: participant.srtp }, 'participant joined');
  }

  /** Ends every call with BYE (shutdown). */
  close(): void {
    for (const c of [...this.calls]) c.hangup(LeaveReason.ServerShutdown);
  }
}

function reasonFor(status: number, fallback: string): string {
  switch (status) {
    case 404:
      return 'Conference Not Found';
    case 486:
      return 'Busy Here (conference full)';
    case 503:
      return 'Service Unavailable (conference full)';
    case 403:
      return 'Forbidden (conference locked)';
    default:
      return fallback;
  }
}
