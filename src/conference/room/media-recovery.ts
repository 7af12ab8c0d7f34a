import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import { ERROR_CATALOGUE } from '../../errors/catalogue';
import { LeaveReason } from '../participant/leave-reason';
import type { Participant } from '../participant/participant';
import type { HangupCause, ParticipantSession } from '../participant/participant-session';
import { MediaFault, type Room } from './room';
import type { RoomMedia } from './room-media';

/** The BYE Reason of a call that could not be re-homed after a media fault (RFC 3326). */
export const MEDIA_FAILURE_CAUSE: HangupCause = {
  cause: ERROR_CATALOGUE.MEDIA_FAILURE.sip.status,
  text: ERROR_CATALOGUE.MEDIA_FAILURE.sip.reason,
};

/**
 * After a media fault (the room's mediasoup worker or its media thread died), rebuilds the room's media and
 * re-homes every participant on it instead of ending the calls:
 *  - what survived is kept untouched: after a router fault, a phone whose audio terminates in a media thread (no
 *    mediasoup Producer) keeps its socket and address, and is only re-attached to the new mix on the same thread;
 *    after a thread fault, browsers and SIP-over-WebSocket calls (on the router) are re-attached to the new mix;
 *  - everything else renegotiates onto legs built in the new media (SIP: a re-INVITE with the new address, a
 *    WebRTC call re-offered on the new worker, `ParticipantSession.renegotiate`, as a move to another room does);
 *  - a session that cannot (a browser after a router fault, a call still being set up, a refused re-INVITE) is
 *    ended cleanly with BYE and `Reason: SIP;cause=500;text="media failure"` (a browser's page rejoins).
 * Each participant is handled on its own: one failing never affects another. Every step is logged.
 */
export async function recoverRoomMedia(room: Room, fault: MediaFault): Promise<void> {
  const log = room.log.child({ recovery: fault });
  const started = Date.now();
  log.warn({ participants: room.size }, 'media fault: rebuilding the room media');
  const old = await room.rebuildMedia(fault);
  log.info({ routerId: room.routerId, ms: Date.now() - started }, 'room media rebuilt');
  const results = await Promise.all(room.participants().map((p) => rehome(room, p, old, fault, log)));
  room.retireMedia(old);
  log.info(
    {
      kept: results.filter((r) => r === 'kept').length,
      renegotiated: results.filter((r) => r === 'renegotiated').length,
      ended: results.filter((r) => r === 'ended').length,
      ms: Date.now() - started,
    },
    'media fault recovered',
  );
}

type Outcome = 'kept' | 'renegotiated' | 'ended';

async function rehome(
  room: Room,
  p: Participant,
  old: RoomMedia | undefined,
  fault: MediaFault,
  log: Logger,
): Promise<Outcome> {
  const plog = log.child({ participantId: p.id });
  const session = p.session;
  if (!session) {
    plog.info('participant without a session: ending it');
    p.close(LeaveReason.MediaFailed);
    return 'ended';
  }
  const seat = room.seatOf(p);
  const lease = room.acquireMedia();
  let rebound = false;
  try {
    await (seat === 'lobby' ? lease.media.lobby() : lease.media.audio());
    const keep = legsSurvive(session, old, lease.media, fault);
    if (!keep && !session.renegotiate)
      throw new AppError('MEDIA_FAILURE', `a ${session.kind} session cannot renegotiate its media`);
    await room.unseat(p);
    if (keep) session.rehome(lease.media.legs);
    else {
      plog.info({ kind: session.kind }, 'renegotiating onto the rebuilt media');
      await session.renegotiate!(lease.media.legs);
    }
    if (p.hasLeft()) return 'ended';
    room.rebind(p, lease);
    rebound = true;
    if (seat) await room.seat(p, seat);
    plog.info({ kept: keep, seat }, 'participant re-homed after media fault');
    return keep ? 'kept' : 'renegotiated';
  } catch (err) {
    plog.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'participant could not be re-homed after media fault: ending its call',
    );
    if (!p.hasLeft()) session.hangup(LeaveReason.MediaFailed, MEDIA_FAILURE_CAUSE);
    return 'ended';
  } finally {
    if (!rebound) lease.release();
  }
}

/**
 * Which legs outlive the fault where they are:
 *  - after a router fault, legs whose RTP terminates in a media thread (no mediasoup Producer) still live, on their
 *    thread: they survive when the new media sits on that same thread (and the old media's thread was that one:
 *    a replacement thread of the same index holds none of them);
 *  - after a media thread's death, browsers (their WebRTC peer) and WebRTC legs (SIP over WebSocket) live on the
 *    room's router, which mediasoup terminates (ICE, DTLS, SRTP) without any media thread: the new mixer consumes
 *    them where they are. A re-offer could not move them anyway: a router of the same worker has the same DTLS
 *    certificate.
 */
function legsSurvive(
  session: ParticipantSession,
  old: RoomMedia | undefined,
  target: RoomMedia,
  fault: MediaFault,
): boolean {
  if (old === undefined) return false;
  if (fault === MediaFault.Thread && session.mediaOnRouter) return true;
  if (session.legs.length === 0) return false;
  if (fault === MediaFault.Thread)
    return session.legs.every((l) => l.webRtc !== undefined && l.mixerLeg === undefined);
  return (
    old.threadIndex === target.threadIndex &&
    session.legs.every(
      (l) =>
        l.mixerLeg !== undefined && l.producer === undefined && l.mixerLeg.threadIndex === target.threadIndex,
    )
  );
}
