import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { type Namespace } from 'socket.io';
import type { z } from 'zod';
import type { Conference } from '../conference/conference';
import { LeaveReason } from '../conference/participant/leave-reason';
import { ParticipantState, type Participant } from '../conference/participant/participant';
import type { Room } from '../conference/room/room';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../errors/app-error';
import { settle } from '../errors/settle';
import { mitigatedCapabilities } from '../media/mediasoup/mediasoup-mitigations';
import {
  ConnectTransportSchema,
  ConsumerRefSchema,
  HandSchema,
  JoinSchema,
  MuteSchema,
  PreferredLayersSchema,
  ProduceSchema,
  ProducerRefSchema,
  RTC_NAMESPACE,
  TransportRefSchema,
  type AckResult,
  type IceServer,
  type JoinResult,
  type PeerView,
  type RtcClientToServer,
  type RtcServerToClient,
} from '../protocol/rtc-protocol';
import type { AttachmentStore } from '../storage/attachment-store';
import { CommandRateLimiter } from '../util/command-rate-limiter';
import { AudienceNotifier } from './audience-notifier';
import { registerChatHandlers } from './chat-handlers';
import { SocketLink, type RtcSocket } from './page-link';
import { turnCredentials, type TurnSettings } from './turn-credentials';
import { WebRtcConnector } from './webrtc-connector';
import type { WebRtcSession } from './webrtc-session';

export interface RtcSignalingOptions {
  /** The app's one socket.io server (`createSocketIoServer`), shared with the dashboard; its owner closes it. */
  io: Server;
  conference: Conference;
  /** STUN/TURN servers handed to every page as they are. */
  iceServers: readonly IceServer[];
  /** TURN with short-lived credentials minted per participant. */
  turn: TurnSettings;
  /** How long a browser whose connection dropped stays in the room waiting for it to come back. */
  reconnectGraceMs: number;
  attachmentMaxBytes: number;
  /** Where the rooms' chat attachments are kept (each room's removed when it closes). */
  attachments: AttachmentStore;
  /** Every room router's RTP capabilities (they share one codec list): pages load their Device with them. */
  routerRtpCapabilities: types.RtpCapabilities;
  /** Abuse limits (`security.*`); absent: unlimited (tests of other things). */
  limits?: RtcSocketLimits;
  log: Logger;
}

/** What one source address may hold and send on `/rtc`. */
export interface RtcSocketLimits {
  /** Concurrent connections per source address; the next handshake is refused (RTC_TOO_MANY_CONNECTIONS). */
  maxConnectionsPerSource: number;
  /** Requests per second per connection, sustained (token bucket) and at once; beyond: RTC_RATE_LIMITED. */
  requestsPerSecond: number;
  requestBurst: number;
}

/** What a socket's handlers know of the browser behind it. */
export interface BrowserContext {
  participant: Participant;
  session: WebRtcSession;
  room: Room;
  token: string;
}

interface Browser {
  token: string;
  participant: Participant;
  session: WebRtcSession;
  link: SocketLink;
  grace?: NodeJS.Timeout;
}

const roomChannel = (roomId: string): string => `room:${roomId}`;

/**
 * Whether the room pages show the participant: everyone but a webinar's attendees, the audience (as webinar
 * products do: attendees see and hear the hosts and panelists, not each other; moderators see everyone on the
 * dashboard). A promoted attendee comes on stage.
 */
function onStage(p: Participant): boolean {
  return p.role !== 'attendee';
}

/** How many of the room's joined participants are its audience (off stage): the pages show the number. */
function audienceOf(room: Room): number {
  return room.participants().filter((p) => p.state === ParticipantState.Joined && !onStage(p)).length;
}

/** A participant as the page shows it. */
function peerView(p: Participant): PeerView {
  return {
    id: p.id,
    kind: p.kind,
    displayName: p.displayName,
    muted: p.muted,
    speaking: p.speaking,
    handRaised: p.handRaised,
    role: p.role,
    video: p.video,
    codec: p.codec,
    onHold: p.onHold,
  };
}

/**
 * Browsers' signalling over socket.io (namespace `/rtc`): join (through the conference core, PIN up front),
 * transports, producers and consumers of the browser's WebRTC peer, self mute and hand, leave; the room's changes
 * pushed to every page from the conference observer. Every payload is parsed with the protocol's zod schemas
 * first; every answer is `{ ok, data }` or `{ ok: false, error }` with a catalogue code. A browser whose
 * connection drops keeps its place for `reconnectGraceMs` and resumes with its session token.
 */
export class RtcSignaling {
  private readonly io: Server;
  /** Whether `io` is ours (built here, closed by `close()`) or the app's. */
  private readonly ns: Namespace<RtcClientToServer, RtcServerToClient>;
  private readonly byToken = new Map<string, Browser>();
  private readonly byParticipant = new Map<string, Browser>();
  /** Connections per source address: connected ones, plus handshakes let through and not connected yet. */
  private readonly perSource = new Map<string, number>();
  /** Each room's audience size, told to its pages (coalesced). */
  private readonly audience: AudienceNotifier;
  private closed = false;

  constructor(private readonly opts: RtcSignalingOptions) {
    this.io = opts.io;
    this.ns = this.io.of(RTC_NAMESPACE) as Namespace<RtcClientToServer, RtcServerToClient>;
    if (opts.limits) this.ns.use((socket, next) => this.admitConnection(socket, next));
    this.ns.on('connection', (socket) => this.onConnection(socket));
    this.audience = new AudienceNotifier(
      (roomId) => {
        const room = this.opts.conference.listRooms().find((r) => r.id === roomId);
        return room && !room.isClosed ? audienceOf(room) : undefined;
      },
      (roomId, attendees) => this.ns.to(roomChannel(roomId)).emit('audience', { attendees }),
    );
    this.watchConference();
  }

  /** The browser holding `token` (attachments are authorised by it). */
  authenticate(token: string): { participantId: string; roomId: string; displayName: string } | undefined {
    const b = this.byToken.get(token);
    if (!b || b.participant.hasLeft()) return undefined;
    const room = this.roomOf(b.participant);
    if (!room) return undefined;
    return { participantId: b.participant.id, roomId: room.id, displayName: b.participant.displayName };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const b of this.byToken.values()) clearTimeout(b.grace);
    this.audience.close();
    // The shared server stays up for its other namespaces; ours stops taking and holding pages.
    this.ns.disconnectSockets(true);
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ connections

  /**
   * The handshake's gate: one source address holds at most `maxConnectionsPerSource` connections, so a script
   * cannot pin the server's memory and file descriptors from one machine. Refused: the client's `connect_error`
   * carries the catalogue code in `data.code`. A handshake let through counts at once (socket.io connects it on
   * the next tick), then until its socket disconnects.
   */
  private admitConnection(socket: RtcSocket, next: (err?: Error) => void): void {
    const max = this.opts.limits!.maxConnectionsPerSource;
    const address = socket.handshake.address;
    if (this.sources(address) >= max) {
      this.opts.log.warn({ address, max }, 'browser connection refused: too many from this address');
      const code: ErrorCode = 'RTC_TOO_MANY_CONNECTIONS';
      next(Object.assign(new Error(ERROR_CATALOGUE[code].message), { data: { code } }));
      return;
    }
    this.count(address, +1);
    // socket.io connects on the next tick (then 'connection' counts it) or drops a handshake whose client left.
    setImmediate(() => this.count(address, -1));
    next();
  }

  private sources(address: string): number {
    return this.perSource.get(address) ?? 0;
  }

  private count(address: string, delta: number): void {
    const n = this.sources(address) + delta;
    if (n > 0) this.perSource.set(address, n);
    else this.perSource.delete(address);
  }

  /**
   * Every request (chat included) takes a token of the connection's bucket first; an empty bucket answers
   * RTC_RATE_LIMITED through the request's ack without running it.
   */
  private limitRequests(socket: RtcSocket, log: Logger): void {
    const limits = this.opts.limits;
    if (!limits) return;
    const address = socket.handshake.address;
    this.count(address, +1);
    socket.once('disconnect', () => this.count(address, -1));
    const bucket = new CommandRateLimiter(limits.requestsPerSecond, limits.requestBurst);
    let refused = 0;
    socket.use((packet, next) => {
      if (bucket.take()) {
        next();
        return;
      }
      if (refused++ % 100 === 0) log.warn({ address, refused }, 'browser requests over the rate limit');
      const ack = packet[packet.length - 1];
      const e = new AppError('RTC_RATE_LIMITED');
      if (typeof ack === 'function')
        (ack as (r: AckResult<unknown>) => void)({ ok: false, error: { code: e.code, message: e.message } });
    });
  }

  private onConnection(socket: RtcSocket): void {
    const log = this.opts.log.child({ socketId: socket.id });
    this.limitRequests(socket, log);
    let browser: Browser | undefined;
    const ctx = (): BrowserContext | undefined => {
      if (!browser || browser.participant.hasLeft()) return undefined;
      const room = this.roomOf(browser.participant);
      return room
        ? { participant: browser.participant, session: browser.session, room, token: browser.token }
        : undefined;
    };
    const need = (): Browser => {
      if (!browser || browser.participant.hasLeft()) throw new AppError('RTC_NO_SESSION');
      return browser;
    };
    const on = <K extends keyof RtcClientToServer, S extends z.ZodTypeAny, T>(
      event: K,
      schema: S | null,
      fn: (req: z.output<S>) => Promise<T> | T,
    ): void => {
      (socket.on as (e: string, l: (...a: unknown[]) => void) => void)(event, (...args: unknown[]) => {
        const ack = args[args.length - 1];
        const payload = schema ? args[0] : undefined;
        void this.answer(
          log,
          event,
          () => fn(schema ? (schema.parse(payload) as z.output<S>) : undefined),
          ack,
        );
      });
    };

    on('capabilities', null, () => ({
      // Never AV1 nor the dependency descriptor (mediasoup 3.19.3 mitigation).
      routerRtpCapabilities: mitigatedCapabilities(this.opts.routerRtpCapabilities) as unknown as Record<
        string,
        unknown
      >,
    }));
    on('join', JoinSchema, async (req) => {
      if (browser && !browser.participant.hasLeft()) throw new AppError('RTC_ALREADY_JOINED');
      if (req.resume) {
        browser = this.resume(req.resume, socket);
        return this.joinResult(browser, true);
      }
      browser = await this.join(req, socket, log);
      return this.joinResult(browser, false);
    });
    on('connectTransport', ConnectTransportSchema, async (req) => {
      await need().session.peer.connect(
        req.transportId,
        req.dtlsParameters as unknown as types.DtlsParameters,
      );
      return null;
    });
    on('produce', ProduceSchema, async (req) => {
      const b = need();
      // The audience sends nothing (no ingest the room would only drop); promoted, it may.
      if (b.participant.role === 'attendee') throw new AppError('RTC_ATTENDEE_CANNOT_PUBLISH');
      const producer = await b.session.peer.produce(
        req.transportId,
        req.kind,
        req.rtpParameters as unknown as types.RtpParameters,
        req.source,
      );
      return { producerId: producer.id };
    });
    on('closeProducer', ProducerRefSchema, (req) => {
      need().session.peer.closeProducer(req.producerId);
      return null;
    });
    on('pauseProducer', ProducerRefSchema, async (req) => {
      const b = need();
      const { producer, source } = b.session.peer.producer(req.producerId);
      if (source === 'mic') await this.opts.conference.mute(b.participant.id, true, 'self');
      else await producer.pause();
      return null;
    });
    on('resumeProducer', ProducerRefSchema, async (req) => {
      const b = need();
      const { producer, source } = b.session.peer.producer(req.producerId);
      if (source === 'mic') {
        this.opts.conference.assertMayUnmute(b.participant.id);
        await b.session.resumeMic();
        await this.opts.conference.mute(b.participant.id, false, 'self');
      } else await producer.resume();
      return null;
    });
    on('resumeConsumer', ConsumerRefSchema, async (req) => {
      await need().session.setConsumerWanted(req.consumerId, true);
      return null;
    });
    on('pauseConsumer', ConsumerRefSchema, async (req) => {
      await need().session.setConsumerWanted(req.consumerId, false);
      return null;
    });
    on('setPreferredLayers', PreferredLayersSchema, async (req) => {
      const c = need().session.peer.consumer(req.consumerId);
      if (c.type === 'simulcast' || c.type === 'svc')
        await c.setPreferredLayers({
          spatialLayer: req.spatialLayer,
          ...(req.temporalLayer !== undefined ? { temporalLayer: req.temporalLayer } : {}),
        });
      return null;
    });
    on('restartIce', TransportRefSchema, async (req) => {
      const iceParameters = await need().session.peer.restartIce(req.transportId);
      return { iceParameters: iceParameters as unknown as Record<string, unknown> };
    });
    on('setMuted', MuteSchema, async (req) => {
      const b = need();
      if (!req.muted) {
        this.opts.conference.assertMayUnmute(b.participant.id);
        await b.session.resumeMic();
      }
      await this.opts.conference.mute(b.participant.id, req.muted, 'self');
      return null;
    });
    on('setHand', HandSchema, (req) => {
      const b = need();
      this.opts.conference.setHand(b.participant.id, req.raised);
      return null;
    });
    on('leave', null, () => {
      const b = need();
      b.participant.close(LeaveReason.RemoteBye);
      return null;
    });

    socket.on('disconnect', (why) => {
      const b = browser;
      if (!b || b.participant.hasLeft()) return;
      b.link.detach(socket);
      if (b.link.current) return; // already resumed on another connection
      const grace = this.opts.reconnectGraceMs;
      b.participant.log.info({ why, graceMs: grace }, 'browser connection lost; waiting for it to come back');
      clearTimeout(b.grace);
      b.grace = setTimeout(() => {
        if (!b.link.current) b.session.hangup(LeaveReason.ConnectionLost);
      }, grace);
      b.grace.unref();
    });
    registerChatHandlers(
      socket,
      () => {
        const c = ctx();
        return c
          ? {
              chat: c.room.chat,
              participantId: c.participant.id,
              displayName: c.participant.displayName,
              roomId: c.room.id,
              attachments: this.opts.attachments,
            }
          : undefined;
      },
      log,
    );
  }

  private async join(req: z.output<typeof JoinSchema>, socket: RtcSocket, log: Logger): Promise<Browser> {
    const link = new SocketLink();
    const address = socket.handshake.address;
    const connector = new WebRtcConnector(
      { displayName: req.displayName, uri: `webrtc:${address}`, transport: 'WebRTC' },
      req.rtpCapabilities as unknown as types.RtpCapabilities,
      link,
      log.child({ room: req.room }),
    );
    // The page went away before its join was answered (closed, "Stop waiting" in a webinar's lobby): the join is
    // abandoned, and a session already made (waiting in the lobby) ends, rather than wait for an admission nobody sees.
    const gone = new AbortController();
    const onGone = (): void => {
      gone.abort();
      connector.session?.hangup(LeaveReason.ConnectionLost);
    };
    socket.once('disconnect', onGone);
    const participant = await this.opts.conference
      .join({
        room: req.room,
        connector,
        upFront: true,
        signal: gone.signal,
        ...(req.pin !== undefined ? { pin: req.pin } : {}),
        // A webinar's lobby: the page shows "waiting for the host to admit you" until the join answers.
        onWaiting: (state) => {
          if (state) socket.emit('lobby', { state });
        },
      })
      .catch((err: unknown) => {
        // Denied in the lobby: the join's answer says so, then the connection goes (after the answer is sent).
        if (err instanceof AppError && err.code === 'CONF_LOBBY_DENIED')
          setImmediate(() => socket.disconnect(true));
        throw err;
      })
      .finally(() => socket.off('disconnect', onGone));
    const session = connector.session!;
    const browser: Browser = { token: randomBytes(24).toString('base64url'), participant, session, link };
    this.byToken.set(browser.token, browser);
    this.byParticipant.set(participant.id, browser);
    participant.once('left', () => {
      clearTimeout(browser.grace);
      this.byToken.delete(browser.token);
      this.byParticipant.delete(participant.id);
      const s = link.current;
      if (s) for (const ch of s.rooms) if (ch.startsWith('room:')) void s.leave(ch);
    });
    this.bind(browser, socket);
    return browser;
  }

  private resume(token: string, socket: RtcSocket): Browser {
    const b = this.byToken.get(token);
    if (!b || b.participant.hasLeft() || b.link.overflowed) throw new AppError('RTC_RESUME_EXPIRED');
    clearTimeout(b.grace);
    b.grace = undefined;
    const previous = b.link.current;
    if (previous && previous !== socket) previous.disconnect(true);
    this.bind(b, socket);
    b.participant.log.info('browser resumed on a new connection');
    return b;
  }

  /** The socket carries this browser from now on (after the join answer, queued events follow in order). */
  private bind(b: Browser, socket: RtcSocket): void {
    const room = this.roomOf(b.participant);
    if (room) void socket.join(roomChannel(room.id));
    if (room) socket.emit('videoCodec', { codec: room.video.codec });
    b.session.relink(b.link);
    setImmediate(() => {
      if (socket.connected) b.link.attach(socket);
    });
  }

  private joinResult(b: Browser, resumed: boolean): JoinResult {
    const room = this.roomOf(b.participant);
    if (!room) throw new AppError('RTC_RESUME_EXPIRED');
    const peer = b.session.peer;
    const turn = turnCredentials(this.opts.turn, b.participant.id);
    return {
      participantId: b.participant.id,
      sessionToken: b.token,
      resumed,
      roomDisplayName: room.settings.displayName,
      role: b.participant.role,
      routerRtpCapabilities: peer.routerRtpCapabilities as unknown as Record<string, unknown>,
      iceServers: [...this.opts.iceServers, ...(turn ? [turn] : [])],
      sendTransport: peer.info(peer.send) as unknown as JoinResult['sendTransport'],
      recvTransport: peer.info(peer.recv) as unknown as JoinResult['recvTransport'],
      peers: room
        .participants()
        .filter((p) => p !== b.participant && p.state === ParticipantState.Joined && onStage(p))
        .map(peerView),
      audience: audienceOf(room),
      chat: room.chat.history(),
      attachmentMaxBytes: this.opts.attachmentMaxBytes,
    };
  }

  private roomOf(p: Participant): Room | undefined {
    try {
      return this.opts.conference.locate(p.id).room;
    } catch {
      return undefined;
    }
  }

  /** Runs one request and acknowledges it with its result or a catalogue error; never throws. */
  private async answer(log: Logger, event: string, fn: () => unknown, ack: unknown): Promise<void> {
    const result = await settle(fn, (err) => log.error({ err, event }, 'browser request failed'));
    if (typeof ack === 'function') (ack as (r: AckResult<unknown>) => void)(result);
  }

  // ------------------------------------------------------------------ the rooms' changes, to every page

  private watchConference(): void {
    const o = this.opts.conference.observer;
    const to = (room: Room, except?: Participant): ReturnType<typeof this.ns.to> => {
      const ns = this.ns;
      const sock = except ? this.byParticipant.get(except.id)?.link.current : undefined;
      return sock ? ns.to(roomChannel(room.id)).except(sock.id) : ns.to(roomChannel(room.id));
    };
    const roomOfP = (p: Participant): Room | undefined => this.roomOf(p);
    /** The participant's own page (it learns its own mute, hand and role from its peer view). */
    const own = (p: Participant): ReturnType<typeof this.ns.to> | undefined => {
      const sock = this.byParticipant.get(p.id)?.link.current;
      return sock ? this.ns.to(sock.id) : undefined;
    };
    // A webinar's audience is not on the stage (onStage): the pages hear of an attendee only when it is promoted,
    // so a large audience costs no message per pair of attendees; its own page still hears of itself.
    const updated = (p: Participant): void => {
      const room = roomOfP(p);
      if (!room || p.state !== ParticipantState.Joined) return;
      if (onStage(p)) to(room).emit('peerUpdated', peerView(p));
      else own(p)?.emit('peerUpdated', peerView(p));
    };
    o.on('participantJoined', (p, room) => {
      if (onStage(p)) to(room, p).emit('peerJoined', peerView(p));
      else this.audience.changed(room.id);
    });
    o.on('participantLeft', (p, _reason, room) => {
      if (onStage(p)) to(room, p).emit('peerLeft', { id: p.id });
      else this.audience.changed(room.id);
    });
    o.on('participantMuted', (p) => updated(p));
    // Promoted: the others see it come on stage; demoted: it leaves the stage. Its own page learns its role.
    o.on('participantRole', (p) => {
      const room = roomOfP(p);
      if (!room || p.state !== ParticipantState.Joined) return;
      if (onStage(p)) to(room, p).emit('peerJoined', peerView(p));
      else to(room, p).emit('peerLeft', { id: p.id });
      own(p)?.emit('peerUpdated', peerView(p));
      this.audience.changed(room.id);
    });
    o.on('participantHand', (p) => updated(p));
    o.on('participantMedia', (p) => updated(p));
    o.on('participantSpeaking', (p, speaking) => {
      const room = roomOfP(p);
      if (room && onStage(p)) to(room).emit('speaking', { id: p.id, speaking });
    });
    // Each room's chat goes to its pages; its attachments go when the messages holding them or the room go.
    const watchChat = (room: Room): void => {
      const ns = this.ns;
      room.chat.on('message', (m) => ns.to(roomChannel(room.id)).emit('chatMessage', m));
      room.chat.on('seen', (messageId, participantId) =>
        ns.to(roomChannel(room.id)).emit('chatSeen', { messageId, participantId }),
      );
      room.chat.on(
        'attachmentDropped',
        (a) => void this.opts.attachments.remove(room.id, a.id).catch(() => undefined),
      );
    };
    // Browsers send their camera in the codec the room's video phones can be shown (issue 12: no transcoding).
    const watchVideo = (room: Room): void => {
      room.video.on('codec', (codec) => this.ns.to(roomChannel(room.id)).emit('videoCodec', { codec }));
    };
    for (const room of this.opts.conference.listRooms()) {
      watchChat(room);
      watchVideo(room);
    }
    o.on('roomCreated', (room) => {
      watchChat(room);
      watchVideo(room);
    });
    o.on('roomClosed', (room) => {
      this.audience.forget(room.id);
      void this.opts.attachments.removeRoom(room.id).catch(() => undefined);
    });
    o.on('participantMoved', (p, from, toRoom) => {
      if (!onStage(p)) {
        this.audience.changed(from.id);
        this.audience.changed(toRoom.id);
        return;
      }
      to(from, p).emit('peerLeft', { id: p.id });
      to(toRoom, p).emit('peerJoined', peerView(p));
    });
  }
}
