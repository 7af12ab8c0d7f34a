import type { Logger } from 'pino';
import type { Conference } from '../conference/conference';
import type { Participant } from '../conference/participant/participant';
import type { Room } from '../conference/room/room';
import type { RoomDeclaration } from '../conference/room/room-manager';
import { webinarColumn } from '../conference/webinar/stored-room';
import { AppError } from '../errors/app-error';
import type { Principal } from '../protocol/dashboard-protocol';
import { webinarRoomIssues } from '../protocol/webinar-protocol';
import type { AuditRepository, RoomRepository } from '../storage/store';

/** Who asks, and from where: every moderation action is authorised on it and recorded with it. */
export interface Actor {
  principal: Principal;
  /** The client's address (REST: the request's; dashboard: the socket's). */
  source: string | null;
}

/** What a livestream start asks for: RTMP/RTMPS URLs, HLS at /live/<room>, a recording (at least one). */
export interface LivestreamAsk {
  rtmp?: string[] | undefined;
  hls?: boolean | undefined;
  record?: boolean | undefined;
  /** `speaker` (default): the active speaker's camera; `grid`: the cameras tiled. */
  layout?: 'speaker' | 'grid' | undefined;
}

/** Starts and stops a room's livestream (src/livestream); absent: LIVESTREAM_UNAVAILABLE. */
export interface LivestreamControl {
  start(roomId: string, ask: LivestreamAsk): Promise<unknown>;
  stop(roomId: string): Promise<unknown>;
  isStreaming(roomId: string): boolean;
  isRecording(roomId: string): boolean;
}

export interface ModerationServiceOptions {
  conference: Conference;
  audit: AuditRepository;
  /** Where rooms created at run time are kept (re-declared at the next start). */
  rooms: RoomRepository;
  livestream?: LivestreamControl;
  log: Logger;
}

/**
 * The one place moderators act on rooms, whatever the channel (REST, dashboard): checks the actor's rights on
 * the room, runs the command through the conference core, and appends an audit record (`ok`, or `error` with the
 * catalogue code) for every attempt. Rights: admin and moderator accounts act on every room; a session that only
 * holds a moderator PIN acts on that room alone; creating rooms needs an account.
 */
export class ModerationService {
  constructor(private readonly opts: ModerationServiceOptions) {}

  /** Whether `principal` may see and moderate room `roomId`. */
  canModerate(principal: Principal, roomId: string): boolean {
    if (principal.role === 'admin') return true;
    if (principal.role === 'moderator' && !isPinOnly(principal)) return true;
    return principal.roomGrants.includes(roomId);
  }

  /** Throws AUTH_FORBIDDEN unless `actor` may moderate room `roomId`. */
  authorizeRoom(actor: Actor, roomId: string): void {
    if (!this.canModerate(actor.principal, roomId))
      throw new AppError('AUTH_FORBIDDEN', `no rights on room ${roomId}`);
  }

  /** The rooms `principal` may see. */
  visibleRooms(principal: Principal): Room[] {
    return this.opts.conference.listRooms().filter((r) => this.canModerate(principal, r.id));
  }

  isStreaming(roomId: string): boolean {
    return this.opts.livestream?.isStreaming(roomId) ?? false;
  }

  isRecording(roomId: string): boolean {
    return this.opts.livestream?.isRecording(roomId) ?? false;
  }

  // ------------------------------------------------------------------ actions (each authorised and audited)

  async mute(actor: Actor, roomId: string, pid: string, muted: boolean): Promise<Participant> {
    return this.audited(actor, muted ? 'mute' : 'unmute', roomId, pid, null, async () => {
      const p = this.opts.conference.participantIn(roomId, pid);
      await this.opts.conference.mute(p.id, muted, 'moderator');
      return p;
    });
  }

  async muteAll(actor: Actor, roomId: string, muted: boolean): Promise<Participant[]> {
    return this.audited(actor, muted ? 'mute-all' : 'unmute-all', roomId, null, null, () =>
      this.opts.conference.muteAll(roomId, muted),
    );
  }

  kick(actor: Actor, roomId: string, pid: string): Promise<Participant> {
    return this.audited(actor, 'kick', roomId, pid, null, () => {
      const p = this.opts.conference.participantIn(roomId, pid);
      this.opts.conference.kick(p.id);
      return p;
    });
  }

  /** A webinar's attendee may speak (panelist); `false`: a panelist goes back to the audience. */
  promote(actor: Actor, roomId: string, pid: string, promoted = true): Promise<Participant> {
    return this.audited(actor, promoted ? 'promote' : 'demote', roomId, pid, null, async () => {
      const p = this.opts.conference.participantIn(roomId, pid);
      return promoted ? this.opts.conference.promote(p.id) : this.opts.conference.demote(p.id);
    });
  }

  /** Lets a person waiting in a webinar's lobby in (`true`) or turns it away (`false`). */
  admit(actor: Actor, roomId: string, pid: string, admitted = true): Promise<Participant> {
    return this.audited(actor, admitted ? 'admit' : 'deny', roomId, pid, null, () => {
      const p = this.opts.conference.participantIn(roomId, pid);
      return admitted ? this.opts.conference.admit(p.id) : this.opts.conference.deny(p.id);
    });
  }

  lock(actor: Actor, roomId: string, locked: boolean): Promise<void> {
    return this.audited(actor, locked ? 'lock' : 'unlock', roomId, null, null, () => {
      this.opts.conference.getRoom(roomId);
      this.opts.conference.setLocked(roomId, locked);
    });
  }

  /** `opts.onProgress` hears the call's progress (180/183, 200, the final failure) as SIP statuses. */
  dial(
    actor: Actor,
    roomId: string,
    target: string,
    opts: Parameters<Conference['dialOut']>[2] = {},
  ): Promise<Participant> {
    return this.audited(actor, 'dial', roomId, null, JSON.stringify({ target }), async () => {
      this.opts.conference.getRoom(roomId);
      return this.opts.conference.dialOut(roomId, target, opts);
    });
  }

  /** Needs rights on both rooms. */
  move(actor: Actor, roomId: string, pid: string, toRoomId: string): Promise<void> {
    this.authorizeRoomAudited(actor, 'move', toRoomId, pid);
    return this.audited(actor, 'move', roomId, pid, JSON.stringify({ to: toRoomId }), async () => {
      const p = this.opts.conference.participantIn(roomId, pid);
      await this.opts.conference.move(p.id, toRoomId);
    });
  }

  endRoom(actor: Actor, roomId: string): Promise<void> {
    return this.audited(actor, 'end-room', roomId, null, null, () => this.opts.conference.endRoom(roomId));
  }

  /**
   * Accounts only (not a moderator-PIN session). Declares the room, opens it at once, keeps it when empty and across
   * restarts. ROOM_EXISTS when a room of that name is declared or open.
   */
  createRoom(actor: Actor, d: RoomDeclaration): Promise<Room> {
    const detail = JSON.stringify({
      displayName: d.displayName,
      pin: d.pin !== undefined,
      moderatorPin: d.moderatorPin !== undefined,
      maxParticipants: d.maxParticipants,
      ...(d.webinar ? { webinar: { lobby: d.webinar.lobby, waitForHost: d.webinar.waitForHost } } : {}),
    });
    return this.audited(actor, 'create-room', d.name, null, detail, async () => {
      requireAccount(actor);
      const issue = webinarRoomIssues(d)[0];
      if (issue) throw new AppError('API_BAD_REQUEST', `${issue.path.join('.')}: ${issue.message}`);
      const { conference } = this.opts;
      if (conference.isDeclared(d.name) || conference.listRooms().some((r) => r.id === d.name))
        throw new AppError('ROOM_EXISTS', `room ${d.name} exists`);
      const room = await conference.declareRoom(d);
      this.opts.rooms.put({
        name: d.name,
        displayName: d.displayName ?? null,
        pin: d.pin ?? null,
        moderatorPin: d.moderatorPin ?? null,
        maxParticipants: d.maxParticipants ?? null,
        createdAt: new Date().toISOString(),
        createdBy: actor.principal.name,
        // Kept with its policy: it comes back after a restart as the same webinar (storedRoomDeclaration).
        webinar: webinarColumn(d),
      });
      return room;
    });
  }

  /**
   * Ends the room (every call ends) and, accounts only, forgets a declaration made at run time (it does not come
   * back at the next start). A config file's room or an on-demand room just ends.
   */
  deleteRoom(actor: Actor, roomId: string): Promise<{ forgotten: boolean }> {
    return this.audited(actor, 'delete-room', roomId, null, null, () => {
      const { conference } = this.opts;
      const open = conference.listRooms().some((r) => r.id === roomId && !r.isClosed);
      if (!this.opts.rooms.get(roomId)) {
        if (!open) throw new AppError('CONF_ROOM_NOT_FOUND', `room ${roomId} not found`);
        conference.endRoom(roomId);
        return { forgotten: false };
      }
      requireAccount(actor);
      conference.forgetRoom(roomId);
      this.opts.rooms.delete(roomId);
      return { forgotten: true };
    });
  }

  /** `ask` a URL (the dashboard's field): stream there; absent: HLS at /live/<room>. */
  startLivestream(actor: Actor, roomId: string, ask?: string | LivestreamAsk): Promise<void> {
    const what: LivestreamAsk = typeof ask === 'string' ? { rtmp: [ask] } : (ask ?? { hls: true });
    // Stream keys are secrets: the audit keeps the outputs' kinds and hosts only.
    const detail = {
      rtmp: (what.rtmp ?? []).map((u) => u.replace(/^([a-z]+:\/\/[^/]*).*$/i, '$1/…')),
      hls: what.hls ?? false,
      record: what.record ?? false,
      layout: what.layout ?? 'speaker',
    };
    return this.audited(actor, 'livestream-start', roomId, null, JSON.stringify(detail), async () => {
      this.opts.conference.getRoom(roomId);
      if (!this.opts.livestream) throw new AppError('LIVESTREAM_UNAVAILABLE');
      await this.opts.livestream.start(roomId, what);
    });
  }

  stopLivestream(actor: Actor, roomId: string): Promise<void> {
    return this.audited(actor, 'livestream-stop', roomId, null, null, async () => {
      this.opts.conference.getRoom(roomId);
      if (!this.opts.livestream) throw new AppError('LIVESTREAM_UNAVAILABLE');
      await this.opts.livestream.stop(roomId);
    });
  }

  /** Records an event that is not a room command (sign-in, accounts, tokens, a PIN claim). */
  record(
    actor: { name: string; source: string | null },
    action: string,
    o: { roomId?: string; target?: string; outcome?: 'ok' | 'error'; detail?: string } = {},
  ): void {
    this.append(
      actor.name,
      actor.source,
      action,
      o.roomId ?? null,
      o.target ?? null,
      o.outcome ?? 'ok',
      o.detail ?? null,
    );
  }

  // ------------------------------------------------------------------ internals

  private authorizeRoomAudited(actor: Actor, action: string, roomId: string, target: string | null): void {
    try {
      this.authorizeRoom(actor, roomId);
    } catch (err) {
      this.append(
        actor.principal.name,
        actor.source,
        action,
        roomId,
        target,
        'error',
        (err as AppError).code,
      );
      throw err;
    }
  }

  private async audited<T>(
    actor: Actor,
    action: string,
    roomId: string,
    pid: string | null,
    detail: string | null,
    run: () => T | Promise<T>,
  ): Promise<T> {
    const target = pid ? this.describe(roomId, pid) : null;
    this.authorizeRoomAudited(actor, action, roomId, target);
    try {
      const out = await run();
      this.append(actor.principal.name, actor.source, action, roomId, target, 'ok', detail);
      return out;
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'INTERNAL';
      const d = detail ? `${code} ${detail}` : code;
      this.append(actor.principal.name, actor.source, action, roomId, target, 'error', d);
      throw err;
    }
  }

  /** `"<id> (<display name>)"` while the participant is known, else the id. */
  private describe(roomId: string, pid: string): string {
    const p = this.opts.conference
      .listRooms()
      .find((r) => r.id === roomId)
      ?.participant(pid);
    return p ? `${pid} (${p.displayName})` : pid;
  }

  private append(
    actor: string,
    source: string | null,
    action: string,
    roomId: string | null,
    target: string | null,
    outcome: 'ok' | 'error',
    detail: string | null,
  ): void {
    try {
      this.opts.audit.append({
        at: new Date().toISOString(),
        actor,
        action,
        roomId,
        target,
        source,
        outcome,
        detail,
      });
    } catch (err) {
      // The audit log must not stop the command; the failure is loud in the logs.
      this.opts.log.error({ err, action, roomId }, 'audit append failed');
    }
  }
}

function requireAccount(actor: Actor): void {
  if (isPinOnly(actor.principal))
    throw new AppError('AUTH_FORBIDDEN', 'creating and deleting rooms needs an account');
}

/** A session holding only moderator-PIN grants (no account rights). */
function isPinOnly(p: Principal): boolean {
  return p.kind === 'pin';
}
