import type { Participant } from '../../conference/participant/participant';
import type { Room } from '../../conference/room/room';
import type {
  AuditEntryView,
  CallQuality,
  CdrView,
  DashboardParticipant,
  DashboardRoom,
} from '../../protocol/dashboard-protocol';
import type { AuditRecord, CdrRecord } from '../../storage/store';

/** What the dashboard shows before any figure is known. */
export const UNKNOWN_QUALITY: CallQuality = Object.freeze({
  loss: null,
  jitterMs: null,
  rttMs: null,
  mos: null,
});

/** A room as the dashboard shows it: the core's view, whether it is declared, and its livestream state. */
export function dashboardRoom(
  room: Room,
  live: { isStreaming(roomId: string): boolean; isRecording(roomId: string): boolean },
): DashboardRoom {
  const v = room.view();
  return {
    id: v.id,
    displayName: v.displayName,
    participants: v.participants,
    locked: v.locked,
    hasPin: v.hasPin,
    declared: room.settings.declared,
    recording: live.isRecording(v.id),
    streaming: live.isStreaming(v.id),
    createdAt: v.createdAt,
  };
}

/** A participant as the dashboard shows it: the core's view, its room and its call quality. */
export function dashboardParticipant(
  p: Participant,
  roomId: string,
  quality: CallQuality,
): DashboardParticipant {
  const v = p.view();
  return {
    id: v.id,
    roomId,
    kind: v.kind,
    displayName: v.displayName,
    uri: v.uri,
    transport: v.transport,
    codec: v.codec,
    srtp: v.srtp,
    onHold: v.onHold,
    video: v.video,
    muted: v.muted,
    speaking: v.speaking,
    handRaised: v.handRaised,
    role: v.role,
    waiting: v.waiting,
    ...(v.referredBy !== undefined ? { referredBy: v.referredBy } : {}),
    state: v.state,
    joinedAt: v.joinedAt,
    quality,
  };
}

export function auditView(r: AuditRecord): AuditEntryView {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    roomId: r.roomId,
    target: r.target,
    source: r.source,
    outcome: r.outcome,
    detail: r.detail,
  };
}

export function cdrView(r: CdrRecord): CdrView {
  return {
    id: r.id,
    roomId: r.roomId,
    kind: r.kind,
    direction: r.direction,
    displayName: r.displayName,
    uri: r.uri,
    callId: r.callId,
    startedAt: r.startedAt,
    answeredAt: r.answeredAt,
    endedAt: r.endedAt,
    durationSeconds: r.durationSeconds,
    codec: r.codec,
    transport: r.transport,
    leaveReason: r.leaveReason,
    quality: {
      loss: r.quality.loss,
      jitterMs: r.quality.jitterMs,
      rttMs: r.quality.rttMs,
      mos: r.quality.mos,
    },
  };
}
