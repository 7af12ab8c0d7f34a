import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Namespace, Server, Socket } from 'socket.io';
import type { z } from 'zod';
import type { Conference, ConferenceObserverEvents } from '../../conference/conference';
import type { Participant } from '../../conference/participant/participant';
import type { Room } from '../../conference/room/room';
import { AppError, ERROR_CATALOGUE } from '../../errors/app-error';
import { settle } from '../../errors/settle';
import {
  AuditQuerySchema,
  CdrQuerySchema,
  ClaimRoomSchema,
  CreateRoomSchema,
  DASHBOARD_NAMESPACE,
  DialSchema,
  LadderSchema,
  LivestreamSchema,
  LockSchema,
  MoveSchema,
  MuteAllSchema,
  MuteParticipantSchema,
  ParticipantRefSchema,
  RoomRefSchema,
  SESSION_COOKIE,
  type AckResult,
  type CallLadder,
  type CallQuality,
  type DashboardClientToServer,
  type DashboardParticipant,
  type DashboardServerToClient,
  type DashboardSnapshot,
  type Page,
  type Principal,
  type UserAvailabilityView,
  type DashboardLivestream,
} from '../../protocol/dashboard-protocol';
import type { Store } from '../../storage/store';
import type { Authenticator } from '../auth/authenticator';
import type { Actor, ModerationService } from '../moderation-service';
import { CommandRateLimiter } from '../../util/command-rate-limiter';
import { auditView, cdrView, dashboardParticipant, dashboardRoom, UNKNOWN_QUALITY } from './dashboard-views';
import { SpeakingBatcher, type SpeakingBatch } from './speaking-batcher';

/** One participant's figures as the quality monitor publishes them. */
export interface QualityFigure {
  participantId: string;
  roomId: string;
  quality: CallQuality;
}

/**
 * What the dashboard needs of the quality monitor (`src/moderation/quality/quality-monitor.ts`): its periodic
 * `figures` event and the latest figures of one participant. Declared here so the dashboard depends on the shape,
 * not on the class.
 */
export interface QualityFeed {
  on(event: 'figures', listener: (list: QualityFigure[]) => void): unknown;
  off(event: 'figures', listener: (list: QualityFigure[]) => void): unknown;
  get(participantId: string): CallQuality;
}

/** What the dashboard needs of the call ladders (`src/moderation/ladder/call-ladders.ts`). */
export interface LadderSource {
  ladderOf(participantId: string): CallLadder | undefined;
}

/** What a livestream's state change carries (src/livestream's view; the dashboard does not import that layer). */
interface LivestreamChange {
  state: DashboardLivestream['state'];
  restarts: number;
  lastError: string | null;
}

export interface DashboardSignalingOptions {
  /** The app's one socket.io server (shared with `/rtc`); its owner closes it. */
  io: Server;
  authenticator: Authenticator;
  moderation: ModerationService;
  conference: Conference;
  /** Audit and CDR searches, and the rooms created from the dashboard (kept across restarts). */
  store: Pick<Store, 'audit' | 'cdrs' | 'rooms'>;
  quality?: QualityFeed;
  ladders?: LadderSource;
  /** Users' availability (registrar bindings, calls): listed and pushed to accounts and tokens, not PIN sessions. */
  availability?: {
    list(): UserAvailabilityView[];
    of(user: string): UserAvailabilityView;
    on(event: 'changed', fn: (user: string) => void): unknown;
    off(event: 'changed', fn: (user: string) => void): unknown;
  };
  /** The rooms' livestreams: each state change is pushed (`livestream`) and the room's `streaming` flag updated. */
  livestreams?: {
    on(event: 'changed', fn: (room: Room, view: LivestreamChange) => void): unknown;
    off(event: 'changed', fn: (room: Room, view: LivestreamChange) => void): unknown;
  };
  /** At most one `speaking` batch per room per this many ms (default 100). */
  speakingIntervalMs?: number;
  /** Commands per second and socket (default 20, the same burst). */
  commandsPerSecond?: number;
  log: Logger;
}

/** What a dashboard socket carries: who it is, and the hashes of the secrets it authenticated with. */
interface DashboardSocketData {
  principal: Principal;
  /** SHA-256 (hex) of the session cookie and of the API token it came with (sessions ending are named by them). */
  secretHashes: string[];
  limiter: CommandRateLimiter;
}

type DashboardNamespace = Namespace<
  DashboardClientToServer,
  DashboardServerToClient,
  Record<string, never>,
  DashboardSocketData
>;
type DashboardSocket = Socket<
  DashboardClientToServer,
  DashboardServerToClient,
  Record<string, never>,
  DashboardSocketData
>;

/** socket.io room of the dashboards that see every conference room (accounts and API tokens). */
const ALL_ROOMS = 'all';
/** socket.io room of the dashboards granted one conference room by its moderator PIN. */
const roomChannel = (roomId: string): string => `room:${roomId}`;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The value of cookie `name` in a Cookie header (undefined when absent). */
function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  }
  return undefined;
}

/**
 * The moderator dashboard's server side: socket.io namespace `/dashboard`. The handshake is authenticated
 * (session cookie or API token, through the `Authenticator`); a dashboard receives a `snapshot` of what its
 * principal may see, then only deltas pushed from the conference observer, to the dashboards allowed to see the
 * room (accounts share one socket.io room, PIN sessions join one per granted room). Speaking flags are batched
 * per room (`SpeakingBatcher`) and every broadcast payload is built once, whatever the number of dashboards.
 *
 * Every command is parsed with the protocol's zod schema, rate-limited per socket, authorised again against a
 * principal resolved afresh (a revoked session stops at once) and run through the `ModerationService`, which
 * audits it; the answer is `{ ok, data }` or `{ ok: false, error }` with a catalogue code.
 */
export class DashboardSignaling {
  private readonly ns: DashboardNamespace;
  private readonly speaking: SpeakingBatcher;
  private readonly unwatch: Array<() => void> = [];
  private closed = false;

  constructor(private readonly opts: DashboardSignalingOptions) {
    this.ns = opts.io.of(DASHBOARD_NAMESPACE) as DashboardNamespace;
    this.speaking = new SpeakingBatcher({
      intervalMs: opts.speakingIntervalMs ?? 100,
      flush: (b) => this.sendSpeaking(b),
    });
    this.ns.use((socket, next) => {
      if (this.closed) return next(connectError('AUTH_REQUIRED', 'the dashboard is shutting down'));
      const principal = this.resolve(socket as DashboardSocket);
      if (!principal) return next(connectError('AUTH_REQUIRED'));
      const token = socket.handshake.auth?.token;
      const cookie = cookieValue(socket.handshake.headers, SESSION_COOKIE);
      socket.data = {
        principal,
        secretHashes: [cookie, typeof token === 'string' ? token : undefined]
          .filter((s): s is string => Boolean(s))
          .map(sha256),
        limiter: new CommandRateLimiter(opts.commandsPerSecond ?? 20),
      };
      next();
    });
    const onConnection = (socket: DashboardSocket): void => this.onConnection(socket);
    this.ns.on('connection', onConnection);
    this.unwatch.push(() => this.ns.off('connection', onConnection));
    this.watchConference();
    this.watchLivestreams();
    this.watchQuality();
    this.watchAvailability();
    this.unwatch.push(
      opts.authenticator.onSessionEnded((name, idHash) => this.signOut(name, idHash, 'session ended')),
    );
  }

  /** How many dashboards are connected. */
  get connections(): number {
    return this.ns.sockets.size;
  }

  /** Disconnects every dashboard and stops following the conference. The shared socket.io server stays up. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unwatch.splice(0)) off();
    this.speaking.close();
    this.ns.disconnectSockets(true);
  }

  // ------------------------------------------------------------------ connections

  private onConnection(socket: DashboardSocket): void {
    const { principal } = socket.data;
    const log = this.opts.log.child({ socketId: socket.id, principal: principal.name });
    log.info({ kind: principal.kind, source: socket.handshake.address }, 'dashboard connected');
    this.joinChannels(socket, principal);
    socket.emit('snapshot', this.snapshot(principal));
    socket.on('disconnect', (why) => log.debug({ why }, 'dashboard disconnected'));
    this.registerCommands(socket, log);
  }

  /** The principal of the socket's credentials now (undefined once its session ended). */
  private resolve(socket: DashboardSocket): Principal | undefined {
    try {
      return this.opts.authenticator.fromHandshake(socket.handshake.headers, socket.handshake.auth ?? {});
    } catch (err) {
      this.opts.log.error({ err }, 'dashboard authentication failed');
      return undefined;
    }
  }

  private joinChannels(socket: DashboardSocket, principal: Principal): void {
    if (principal.kind !== 'pin') {
      void socket.join(ALL_ROOMS);
      return;
    }
    for (const roomId of principal.roomGrants)
      if (this.opts.moderation.canModerate(principal, roomId)) void socket.join(roomChannel(roomId));
  }

  private snapshot(principal: Principal): DashboardSnapshot {
    const rooms = this.opts.moderation.visibleRooms(principal);
    return {
      principal,
      rooms: rooms.map((r) => dashboardRoom(r, this.opts.moderation)),
      participants: rooms.flatMap((r) => r.participants().map((p) => this.participantView(p, r.id))),
      now: new Date().toISOString(),
      // who is registered is not one room's business: PIN sessions do not see it
      ...(this.opts.availability && principal.kind !== 'pin' ? { users: this.opts.availability.list() } : {}),
    };
  }

  private participantView(p: Participant, roomId: string): DashboardParticipant {
    return dashboardParticipant(p, roomId, this.opts.quality?.get(p.id) ?? UNKNOWN_QUALITY);
  }

  /**
   * Ends the dashboards of a session that ended: those that authenticated with the secret whose hash is `idHash`,
   * or, when the hash is empty (every session of an account ended: disabled, deleted), every session socket of
   * the account named `name`.
   */
  private signOut(name: string, idHash: string, reason: string): void {
    if (this.closed) return;
    for (const s of this.ns.sockets.values()) {
      const d = s.data;
      if (!d?.principal) continue;
      const hit =
        idHash !== ''
          ? d.secretHashes.includes(idHash)
          : d.principal.kind !== 'token' && d.principal.name === name;
      if (!hit) continue;
      s.emit('signedOut', { reason });
      s.disconnect(true);
    }
  }

  // ------------------------------------------------------------------ commands

  private registerCommands(socket: DashboardSocket, log: Logger): void {
    const actor = (): Actor => ({
      principal: socket.data.principal,
      source: socket.handshake.address ?? null,
    });
    const on = <K extends keyof DashboardClientToServer, S extends z.ZodTypeAny>(
      event: K,
      schema: S | null,
      fn: (req: z.output<S>) => unknown,
    ): void => {
      (socket.on as (e: string, l: (...a: unknown[]) => void) => void)(event, (...args: unknown[]) => {
        const ack = args.length > 0 ? args[args.length - 1] : undefined;
        void this.answer(socket, log, event, ack, () => {
          if (!socket.data.limiter.take())
            throw new AppError('AUTH_RATE_LIMITED', 'too many dashboard commands; slow down');
          const parsed = schema ? (schema.parse(args[0]) as z.output<S>) : (undefined as z.output<S>);
          const principal = this.resolve(socket);
          if (!principal) {
            setImmediate(() => {
              socket.emit('signedOut', { reason: 'session ended' });
              socket.disconnect(true);
            });
            throw new AppError('AUTH_REQUIRED', 'the session has ended; sign in again');
          }
          socket.data.principal = principal;
          return fn(parsed);
        });
      });
    };
    const m = this.opts.moderation;

    on('snapshot', null, () => this.snapshot(socket.data.principal));
    on('mute', MuteParticipantSchema, async (r) => {
      await m.mute(actor(), r.roomId, r.participantId, r.muted);
      return null;
    });
    on('muteAll', MuteAllSchema, async (r) => ({
      participants: (await m.muteAll(actor(), r.roomId, r.muted)).map((p) => p.id),
    }));
    on('kick', ParticipantRefSchema, async (r) => {
      await m.kick(actor(), r.roomId, r.participantId);
      return null;
    });
    on('promote', ParticipantRefSchema, async (r) => {
      await m.promote(actor(), r.roomId, r.participantId, true);
      return null;
    });
    on('demote', ParticipantRefSchema, async (r) => {
      await m.promote(actor(), r.roomId, r.participantId, false);
      return null;
    });
    on('admit', ParticipantRefSchema, async (r) => {
      await m.admit(actor(), r.roomId, r.participantId, true);
      return null;
    });
    on('deny', ParticipantRefSchema, async (r) => {
      await m.admit(actor(), r.roomId, r.participantId, false);
      return null;
    });
    on('lock', LockSchema, async (r) => {
      await m.lock(actor(), r.roomId, r.locked);
      return null;
    });
    on('dial', DialSchema, async (r) => {
      const p = await m.dial(actor(), r.roomId, r.target);
      return { participant: this.participantView(p, r.roomId) };
    });
    on('move', MoveSchema, async (r) => {
      await m.move(actor(), r.roomId, r.participantId, r.toRoomId);
      return null;
    });
    on('endRoom', RoomRefSchema, async (r) => {
      await m.endRoom(actor(), r.roomId);
      return null;
    });
    on('deleteRoom', RoomRefSchema, (r) => m.deleteRoom(actor(), r.roomId));
    on('createRoom', CreateRoomSchema, async (r) => this.createRoom(actor(), r));
    on('claimRoom', ClaimRoomSchema, (r) => {
      const principal = this.opts.authenticator.claimRoom(
        socket.handshake.headers,
        socket.handshake.auth ?? {},
        r.roomId,
        r.moderatorPin,
        socket.handshake.address ?? null,
      );
      socket.data.principal = principal;
      this.joinChannels(socket, socket.data.principal);
      socket.emit('snapshot', this.snapshot(socket.data.principal));
      return socket.data.principal;
    });
    on('startLivestream', LivestreamSchema, async (r) => {
      await m.startLivestream(actor(), r.roomId, r.url);
      return null;
    });
    on('stopLivestream', RoomRefSchema, async (r) => {
      await m.stopLivestream(actor(), r.roomId);
      return null;
    });
    on('ladder', LadderSchema, (r) => this.ladder(actor(), r.roomId, r.participantId));
    on('audit', AuditQuerySchema, (q) =>
      this.search(
        socket.data.principal,
        q.roomId,
        q,
        (qq) => this.opts.store.audit.query(qq),
        auditView,
        (a, b) => (a.at === b.at ? b.id - a.id : a.at < b.at ? 1 : -1),
      ),
    );
    on('cdrs', CdrQuerySchema, (q) =>
      this.search(
        socket.data.principal,
        q.roomId,
        q,
        (qq) => this.opts.store.cdrs.query(qq),
        cdrView,
        (a, b) => (a.startedAt === b.startedAt ? (a.id < b.id ? 1 : -1) : a.startedAt < b.startedAt ? 1 : -1),
      ),
    );
  }

  /** Runs one command and acknowledges it with its result or a catalogue error; never throws. */
  private async answer(
    socket: DashboardSocket,
    log: Logger,
    event: string,
    ack: unknown,
    fn: () => unknown,
  ): Promise<void> {
    const result = await settle(fn, (err) => log.error({ err, event }, 'dashboard command failed'));
    if (typeof ack === 'function' && socket.connected) (ack as (r: AckResult<unknown>) => void)(result);
  }

  /** Declares the room (ModerationService: accounts only, audited) and keeps it in the store. */
  private async createRoom(actor: Actor, r: z.output<typeof CreateRoomSchema>): Promise<unknown> {
    const room = await this.opts.moderation.createRoom(actor, {
      name: r.roomId,
      ...(r.displayName !== undefined ? { displayName: r.displayName } : {}),
      ...(r.pin !== undefined ? { pin: r.pin } : {}),
      ...(r.moderatorPin !== undefined ? { moderatorPin: r.moderatorPin } : {}),
      ...(r.maxParticipants !== undefined ? { maxParticipants: r.maxParticipants } : {}),
      ...(r.webinar !== undefined ? { webinar: r.webinar } : {}),
    });
    return dashboardRoom(room, this.opts.moderation);
  }

  /**
   * The ladder of a participant of room `roomId` (live, or a recent call whose CDR names the room): the room is
   * authorised first, so a PIN session cannot read another room's calls by guessing ids.
   */
  private ladder(actor: Actor, roomId: string, pid: string): CallLadder {
    this.opts.moderation.authorizeRoom(actor, roomId);
    let inRoom: boolean;
    try {
      inRoom = this.opts.conference.locate(pid).room.id === roomId;
    } catch {
      inRoom = this.opts.store.cdrs.get(pid)?.roomId === roomId;
    }
    const ladder = inRoom ? this.opts.ladders?.ladderOf(pid) : undefined;
    if (!ladder) throw new AppError('LADDER_NOT_FOUND', `no SIP messages kept for ${pid} in room ${roomId}`);
    return ladder;
  }

  /**
   * A store search limited to what `principal` may see: accounts search everything; a PIN session searches its
   * granted rooms (one room: the store pages it; several: each room's first `offset + limit` merged in the
   * store's order).
   */
  private search<Q extends { roomId?: string; limit: number; offset: number }, R, V>(
    principal: Principal,
    roomId: string | undefined,
    q: Q,
    run: (q: Q) => Page<R>,
    view: (r: R) => V,
    order: (a: R, b: R) => number,
  ): Page<V> {
    if (principal.kind !== 'pin') {
      const page = run(q);
      return { items: page.items.map(view), total: page.total };
    }
    if (roomId !== undefined) {
      if (!this.opts.moderation.canModerate(principal, roomId))
        throw new AppError('AUTH_FORBIDDEN', `no rights on room ${roomId}`);
      const page = run(q);
      return { items: page.items.map(view), total: page.total };
    }
    const rooms = principal.roomGrants.filter((r) => this.opts.moderation.canModerate(principal, r));
    if (rooms.length === 0) return { items: [], total: 0 };
    if (rooms.length === 1) {
      const page = run({ ...q, roomId: rooms[0] });
      return { items: page.items.map(view), total: page.total };
    }
    const pages = rooms.map((r) => run({ ...q, roomId: r, offset: 0, limit: q.offset + q.limit }));
    const all = pages.flatMap((p) => p.items).sort(order);
    return {
      items: all.slice(q.offset, q.offset + q.limit).map(view),
      total: pages.reduce((n, p) => n + p.total, 0),
    };
  }

  // ------------------------------------------------------------------ the conference's changes, to the dashboards

  private to(roomId: string): ReturnType<DashboardNamespace['to']> {
    return this.ns.to([ALL_ROOMS, roomChannel(roomId)]);
  }

  private roomChanged(room: Room): void {
    if (!room.isClosed) this.to(room.id).emit('room', dashboardRoom(room, this.opts.moderation));
  }

  private participantChanged(p: Participant): void {
    const room = this.roomOf(p);
    if (room) this.to(room.id).emit('participant', this.participantView(p, room.id));
  }

  private roomOf(p: Participant): Room | undefined {
    try {
      return this.opts.conference.locate(p.id).room;
    } catch {
      return undefined;
    }
  }

  private sendSpeaking(b: SpeakingBatch): void {
    this.to(b.roomId).emit('speaking', { changes: b.changes });
  }

  private watchLivestreams(): void {
    const l = this.opts.livestreams;
    if (!l) return;
    const onChanged = (room: Room, v: LivestreamChange): void => {
      if (this.closed) return;
      this.roomChanged(room);
      this.to(room.id).emit('livestream', {
        roomId: room.id,
        state: v.state,
        restarts: v.restarts,
        error: v.lastError,
      });
    };
    l.on('changed', onChanged);
    this.unwatch.push(() => l.off('changed', onChanged));
  }

  private watchConference(): void {
    const o = this.opts.conference.observer;
    const listen = <K extends keyof ConferenceObserverEvents & string>(
      event: K,
      fn: (...args: ConferenceObserverEvents[K]) => void,
    ): void => {
      o.on(event, fn);
      this.unwatch.push(() => o.off(event, fn));
    };
    listen('roomCreated', (room) => this.roomChanged(room));
    listen('roomLocked', (room) => this.roomChanged(room));
    listen('roomClosed', (room) => {
      this.speaking.dropRoom(room.id);
      this.to(room.id).emit('roomClosed', { roomId: room.id });
    });
    listen('participantAdmitted', (p, room) => {
      this.to(room.id).emit('participant', this.participantView(p, room.id));
      this.roomChanged(room);
    });
    listen('participantJoined', (p, room) =>
      this.to(room.id).emit('participant', this.participantView(p, room.id)),
    );
    listen('participantLeft', (p, reason, room) => {
      this.speaking.forget(room.id, p.id);
      this.to(room.id).emit('participantLeft', { roomId: room.id, participantId: p.id, reason });
      this.roomChanged(room);
    });
    listen('participantMuted', (p) => this.participantChanged(p));
    listen('participantRole', (p) => this.participantChanged(p));
    listen('participantHand', (p) => this.participantChanged(p));
    listen('participantWaiting', (p) => this.participantChanged(p));
    listen('participantMedia', (p) => this.participantChanged(p));
    listen('participantMoved', (p, from, toRoom) => {
      this.speaking.forget(from.id, p.id);
      this.to(from.id).emit('participantLeft', { roomId: from.id, participantId: p.id, reason: 'moved' });
      this.roomChanged(from);
      this.to(toRoom.id).emit('participant', this.participantView(p, toRoom.id));
      this.roomChanged(toRoom);
    });
    listen('participantSpeaking', (p, speaking) => {
      const room = this.roomOf(p);
      if (room) this.speaking.change(room.id, p.id, speaking);
    });
  }

  private watchAvailability(): void {
    const a = this.opts.availability;
    if (!a) return;
    const onChanged = (user: string): void => {
      if (!this.closed) this.ns.to(ALL_ROOMS).emit('user', a.of(user));
    };
    a.on('changed', onChanged);
    this.unwatch.push(() => a.off('changed', onChanged));
  }

  private watchQuality(): void {
    const q = this.opts.quality;
    if (!q) return;
    const onFigures = (list: QualityFigure[]): void => {
      const byRoom = new Map<string, { participantId: string; quality: CallQuality }[]>();
      for (const f of list) {
        let figures = byRoom.get(f.roomId);
        if (!figures) byRoom.set(f.roomId, (figures = []));
        figures.push({ participantId: f.participantId, quality: f.quality });
      }
      for (const [roomId, figures] of byRoom) this.to(roomId).emit('quality', { figures });
    };
    q.on('figures', onFigures);
    this.unwatch.push(() => q.off('figures', onFigures));
  }
}

/**
 * A refused handshake: socket.io hands the client `message` (here the catalogue code, so a page can switch on
 * it) and `data` (`{ code, message }` as in every other error of the protocol).
 */
function connectError(
  code: 'AUTH_REQUIRED',
  message?: string,
): Error & { data: { code: string; message: string } } {
  const err = new Error(code) as Error & { data: { code: string; message: string } };
  err.data = { code, message: message ?? ERROR_CATALOGUE[code].message };
  return err;
}
