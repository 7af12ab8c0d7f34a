import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { Conference } from './conference/conference';
import { Focus } from './conference/focus/focus';
import { DialPolicy } from './conference/focus/dial-policy';
import { SipDialer } from './conference/focus/sip-dialer';
import { TrunkTable } from './conference/focus/trunk';
import { SipChat } from './conference/focus/sip-chat';
import { RoomOptions } from './conference/focus/room-options';
import { SourceAdmission } from './conference/focus/source-admission';
import { PinLockout } from './conference/lobby/pin-lockout';
import { storedRoomDeclaration } from './conference/webinar/stored-room';
import { SourceGuard } from './sip/security/source-guard';
import { MediasoupRoomMedia } from './conference/room/mediasoup-room-media';
import { Prompts } from './conference/room/prompts';
import { RoomManager, type RoomDeclaration } from './conference/room/room-manager';
import { HttpServer } from './http/http-server';
import { roomsRouter } from './http/routes/rooms';
import { webinarRouter } from './http/routes/webinar';
import { authRouter } from './http/routes/auth';
import { accountsRouter } from './http/routes/accounts';
import { AuthService } from './moderation/auth/auth-service';
import { ModerationService } from './moderation/moderation-service';
import { Retention } from './moderation/retention';
import { openStore } from './storage/open-store';
import type { Store } from './storage/store';
import { defaultWebDistDir, webRouter } from './http/routes/web';
import { openapiRouter } from './http/routes/openapi';
import { recordsRouter } from './http/routes/records';
import { adminRouter } from './http/routes/admin';
import { metricsRouter } from './http/routes/metrics';
import { MetricsCollector } from './http/metrics/metrics-collector';
import { ERROR_CATALOGUE } from './errors/app-error';
import { createSocketIoServer } from './http/socket-io';
import { CdrRecorder } from './moderation/cdr/cdr-recorder';
import { DashboardSignaling } from './moderation/dashboard/dashboard-signaling';
import { CallLadders } from './moderation/ladder/call-ladders';
import { QualityMonitor } from './moderation/quality/quality-monitor';
import { WebhookDispatcher } from './moderation/webhooks/webhook-dispatcher';
import type { Server as SocketIoServer } from 'socket.io';
import { RtcSignaling } from './signaling/rtc-signaling';
import { attachmentsRouter, type SessionDirectory } from './http/routes/attachments';
import { AttachmentStore } from './storage/attachment-store';
import { WorkerPool, routeMediasoupLogs } from './media/mediasoup/worker-pool';
import { MediaThreadPool } from './media/mixer/media-thread-pool';
import { PortAllocator } from './media/rtp/port-allocator';
import { SipStack } from './sip/ua/sip-stack';
import { DigestRequestAuthenticator } from './sip/auth/request-authenticator';
import { Registrar } from './conference/registrar/registrar';
import { LocatingDialer } from './conference/registrar/locating-dialer';
import { Availability } from './conference/registrar/availability';
import { PresenceAgent } from './conference/registrar/presence';
import { registrationsRouter } from './http/routes/registrations';
import { livePagesRouter, livestreamRouter } from './http/routes/livestream';
import { LivestreamService } from './livestream/livestream-service';
import type { LivestreamView } from './livestream/livestream';
import type { Room } from './conference/room/room';
import { RouterDirectory } from './livestream/router-directory';
import { SubscriptionNotifier } from './sip/subscription';
import { ConferenceEventPackage } from './conference/events';
import { projectRoot } from './util/project-root';

export const VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * The RTP port range is split in two: mediasoup picks its own transports' ports from the lower half, and the
 * phone-facing relay sockets (the ports in our SDP) come from the upper half, so the two never race for a port.
 */
export function splitRtpRange(
  min: number,
  max: number,
): { mediasoup: [number, number]; phones: [number, number] } {
  const mid = min + Math.floor((max - min + 1) / 2);
  return { mediasoup: [min, mid - 1], phones: [mid, max] };
}

export interface AppOptions {
  /**
   * Where the operator-facing lines go (the dashboard URL; the generated initial admin password, once). Default:
   * stdout — never the pino log, which is shipped and kept.
   */
  print?: (line: string) => void;
}

/** App.drain, for the App and for the admin route built before it. */
function drainServer(
  parts: { config: Readonly<Config>; sip: SipStack; conference: Conference },
  opts: { deadlineSeconds?: number },
): Promise<void> {
  const { retryAfterSeconds, deadlineSeconds } = parts.config.drain;
  parts.sip.setUnavailable({ retryAfterSeconds, reason: ERROR_CATALOGUE.CONF_DRAINING.sip.reason });
  const deadlineMs = (opts.deadlineSeconds ?? deadlineSeconds) * 1000;
  return parts.conference.drain({ deadlineMs, retryAfterSeconds });
}

/** `http://ip:port` of the HTTP server (IPv6 in brackets). */
function httpBase(ip: string, port: number): string {
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/**
 * The composition root: builds the layers bottom-up and injects them into each other; `close()` tears them down
 * top-down. Idempotent.
 */
export class App {
  private closing?: Promise<void>;
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly workers: WorkerPool;
  readonly threads: MediaThreadPool;
  readonly sip: SipStack;
  /** RFC 6665 notifier: SUBSCRIBE (event packages register on it) and REFER's implicit subscriptions. */
  readonly subscriptions: SubscriptionNotifier;
  /** RFC 4575 conference event package (`Event: conference`). */
  readonly conferenceEvents: ConferenceEventPackage;
  readonly rooms: RoomManager;
  readonly conference: Conference;
  readonly focus: Focus;
  /** Per-source limits and bans on SIP requests: `guard.stats()` for metrics. */
  readonly guard: SourceGuard;
  readonly http: HttpServer;
  /** The one socket.io server of the HTTP server: `/rtc` (browsers) and `/dashboard` (moderators). */
  readonly io: SocketIoServer;
  readonly rtc: RtcSignaling;
  readonly dashboard: DashboardSignaling;
  /** Accounts, sessions, tokens, declared rooms, the audit log and CDRs. */
  readonly store: Store;
  readonly auth: AuthService;
  readonly moderation: ModerationService;
  readonly quality: QualityMonitor;
  readonly ladders: CallLadders;
  readonly cdrs: CdrRecorder;
  readonly webhooks: WebhookDispatcher;
  /** Rooms streamed to RTMP/HLS/recordings (one ffmpeg each). */
  readonly livestreams: LivestreamService;
  /** Prometheus metrics (GET /metrics). */
  readonly metrics: MetricsCollector;
  /** The registrar (REGISTER bindings, dial-by-name) and the users' availability. */
  readonly registrar: Registrar;
  readonly availability: Availability;
  readonly presence: PresenceAgent;
  /** SIP digest for REGISTER, REFER and any UAS service that needs to know the sender. */
  readonly sipAuthenticator: DigestRequestAuthenticator;
  private readonly attachments: AttachmentStore;
  private readonly retention: Retention;

  private constructor(parts: AppParts) {
    this.config = parts.config;
    this.log = parts.log;
    this.workers = parts.workers;
    this.threads = parts.threads;
    this.sip = parts.sip;
    this.subscriptions = parts.subscriptions;
    this.conferenceEvents = parts.conferenceEvents;
    this.rooms = parts.rooms;
    this.conference = parts.conference;
    this.focus = parts.focus;
    this.guard = parts.guard;
    this.http = parts.http;
    this.io = parts.io;
    this.rtc = parts.rtc;
    this.dashboard = parts.dashboard;
    this.store = parts.store;
    this.auth = parts.auth;
    this.moderation = parts.moderation;
    this.quality = parts.quality;
    this.ladders = parts.ladders;
    this.cdrs = parts.cdrs;
    this.webhooks = parts.webhooks;
    this.livestreams = parts.livestreams;
    this.metrics = parts.metrics;
    this.registrar = parts.registrar;
    this.availability = parts.availability;
    this.presence = parts.presence;
    this.sipAuthenticator = parts.sipAuthenticator;
    this.attachments = parts.attachments;
    this.retention = parts.retention;
  }

  static async create(config: Readonly<Config>, log: Logger, appOpts: AppOptions = {}): Promise<App> {
    routeMediasoupLogs(log);
    const print = appOpts.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const range = splitRtpRange(config.rtc.minPort, config.rtc.maxPort);
    const opened: Array<{ close(): unknown }> = [];
    try {
      // First: a database this release cannot read stops the start before anything else is spawned.
      const store = openStore(config, config.dataDir);
      opened.push(store);
      const workers = await WorkerPool.create({
        numWorkers: config.rtc.numWorkers,
        rtcMinPort: range.mediasoup[0],
        rtcMaxPort: range.mediasoup[1],
        logLevel: config.rtc.workerLogLevel,
        logger: log,
        webRtc: { port: config.webrtc.port, listen: config.webrtc.listen },
      });
      opened.push(workers);
      const threads = await MediaThreadPool.create({
        threads: config.rtc.numWorkers,
        logger: log.child({ component: 'media-threads' }),
      });
      opened.push(threads);
      const sip = await SipStack.create({
        listen: config.sip.listen,
        publicHost: config.sip.publicHost,
        tls: { cert: config.sip.tls.cert, key: config.sip.tls.key },
        userAgent: config.sip.userAgent,
        advertisedVersion: config.sip.advertiseVersion ? VERSION : undefined,
        logger: log.child({ component: 'sip' }),
        sessionTimers: { sessionExpires: config.conference.sessionExpiresSeconds, minSE: 90 },
        contactUser: 'parley',
        // RFC 3891 (attended transfer into a room) and RFC 4488 (REFER without subscription).
        supported: ['replaces', 'norefersub'],
        // The focus does async work (room, mediasoup) before answering: say 100 Trying at once (RFC 3261 §17.2.1).
        tryingDelayMs: 0,
      });
      opened.push(sip);
      // Abuse limits (issue 14): per-source rate and bans, scanners dropped before the transaction layer sees them.
      const sec = config.security;
      const guard = new SourceGuard({
        ...sec,
        onBan: (address, untilMs, reason) =>
          log.warn(
            { component: 'security', address, reason, until: new Date(untilMs).toISOString() },
            'source banned',
          ),
      });
      sip.transport.setGuard(guard);
      const isExempt = (address: string): boolean => guard.isAllowed(address);
      // RFC 6665 notifier (SUBSCRIBE, REFER's implicit subscriptions): live subscriptions capped per source.
      const subscriptions = new SubscriptionNotifier(sip, { isExempt });
      opened.push(subscriptions);
      // The livestream opens PlainTransports on room routers: it finds them by id here.
      const routers = new RouterDirectory(workers);
      // Phone relays and ffmpeg's RTP inputs lease from the same range, so they never get the same port.
      const phonePorts = new PortAllocator(range.phones[0], range.phones[1]);
      const media = new MediasoupRoomMedia({
        routers,
        threads,
        ports: phonePorts,
        listenIp: config.rtc.listenIp,
        audio: config.conference.audio,
        fanout: { settings: config.rtc.fanout, workers },
      });
      const rooms = new RoomManager(
        config.conference,
        media,
        log.child({ component: 'rooms' }),
        config.chat.historySize,
        { perSourcePerMinute: sec.maxRoomsPerSourcePerMinute, total: sec.maxOnDemandRooms, isExempt },
      );
      opened.push(rooms);
      // Rooms that refuse phones without SRTP (488): all of them, or those declared with requireSrtp.
      const srtpRooms = new Set(config.conference.rooms.filter((r) => r.requireSrtp).map((r) => r.name));
      const callSettings = {
        announcedIp: config.rtc.announcedIp ?? config.rtc.listenIp,
        rtpTimeoutMs: config.conference.rtpTimeoutSeconds * 1000,
        srtpRequired: (room: string): boolean => sec.requireSrtp || srtpRooms.has(room),
      };
      // Toll-fraud guard: dial-out (REST, dashboard, REFER) only to security.dialOut.allow.
      const dialPolicy = DialPolicy.compile(sec.dialOut.allow);
      // SIP digest (RFC 3261 §22) for REGISTER and REFER: config sip.accounts, and database accounts by their HA1s
      // for sip.realm (written when a password is set). Nonces are signed with a key of this start only.
      const sipAuthenticator = new DigestRequestAuthenticator({
        realm: config.sip.realm,
        secret: randomBytes(32),
        accounts: config.sip.accounts,
        algorithms: [...config.sip.digestAlgorithms],
        source: {
          lookup: (username, realm) => {
            const a = store.accounts.byUsername(username);
            if (!a || a.disabled || !a.sip || a.sip.realm !== realm) return undefined;
            return { ha1: { MD5: a.sip.md5, 'SHA-256': a.sip.sha256 } };
          },
        },
      });
      const knowsSipUser = (user: string): boolean => sipAuthenticator.knows(user);
      // Hosts that name this server: REGISTER's Request-URI and AOR, a participant's sip:alice@<ours>.
      const ourHosts = new Set(
        ['localhost', config.sip.listen.ip, config.sip.publicHost, config.sip.realm]
          .filter((h): h is string => typeof h === 'string')
          .map((h) => h.toLowerCase()),
      );
      const anyHost = config.sip.listen.ip === '0.0.0.0' || config.sip.listen.ip === '::';
      const isOurDomain = (host: string): boolean =>
        anyHost || ourHosts.has(host.toLowerCase().replace(/^\[|\]$/g, ''));
      const registrar = new Registrar({
        sip,
        authenticator: sipAuthenticator,
        knowsUser: knowsSipUser,
        isOurDomain,
        store: store.registrations,
        policy: config.sip.registrar,
        log: log.child({ component: 'registrar' }),
      });
      opened.push(registrar);
      const conference = new Conference({
        rooms,
        prompts: new Prompts(),
        joinTones: config.conference.joinTones,
        srtpRequired: callSettings.srtpRequired,
        // Dial-by-name ("alice" → her registered contact) around the dial-out proper.
        dialer: new LocatingDialer({
          // Toll-fraud guard: dial-out only to security.dialOut.allow.
          dialer: new SipDialer({
            sip,
            ...callSettings,
            policy: dialPolicy,
            // Outbound proxies, digest credentials, From and ring timeouts (sip.dialOut); a bad trunk stops the start.
            trunks: TrunkTable.compile(config.sip.dialOut.trunks, config.sip.dialOut.ringTimeoutSeconds),
          }),
          // A registered contact at the address its authenticated REGISTER came from (see LocatingDialer).
          registered: new SipDialer({
            sip,
            ...callSettings,
            policy: DialPolicy.compile(['/.*/']),
            ringTimeoutMs: config.sip.dialOut.ringTimeoutSeconds * 1000,
          }),
          bindings: registrar,
        }),
        pinLockout: new PinLockout({
          failuresPerSource: sec.pinFailuresPerSource,
          failuresPerRoom: sec.pinFailuresPerRoom,
          windowSeconds: sec.pinFailureWindowSeconds,
          lockoutSeconds: sec.pinLockoutSeconds,
          isExempt,
        }),
        log: log.child({ component: 'conference' }),
      });
      opened.push(conference);
      const livestreams = new LivestreamService({
        conference,
        routers,
        ports: phonePorts,
        listenIp: config.rtc.listenIp,
        settings: {
          ...config.livestream,
          recordingsDir: config.livestream.recordingsDir || path.join(config.dataDir, 'recordings'),
          picture: config.livestream,
          // Debian's bundle (ca-certificates) unless the operator names another.
          rtmpsCaFile: config.livestream.rtmpsCaFile || '/etc/ssl/certs/ca-certificates.crt',
          fontFile: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
        },
        maxConcurrent: config.livestream.maxConcurrent,
        log: log.child({ component: 'livestream' }),
      });
      opened.push(livestreams);
      const moderation = new ModerationService({
        conference,
        audit: store.audit,
        rooms: store.rooms,
        livestream: livestreams,
        log: log.child({ component: 'moderation' }),
      });
      const auth = await AuthService.create({
        store,
        auth: config.auth,
        audit: moderation,
        isModeratorPin: (roomId, pin) => conference.isModeratorPin(roomId, pin),
        log: log.child({ component: 'auth' }),
        // Setting a password also stores its SIP digest HA1s, so accounts can REGISTER.
        sipRealm: config.sip.realm,
      });
      const availability = new Availability({
        registrar,
        conference,
        isOurDomain,
        knowsUser: knowsSipUser,
        log: log.child({ component: 'availability' }),
      });
      opened.push(availability);
      // RFC 3856 presence of our users (SUBSCRIBE Event: presence, PIDF), through the RFC 6665 notifier.
      const presence = new PresenceAgent({
        notifier: subscriptions,
        availability,
        authenticator: sipAuthenticator,
        knowsUser: knowsSipUser,
        isOurDomain,
        log: log.child({ component: 'presence' }),
      });
      opened.push(presence);
      // Rooms created through the API (or the dashboard) are kept across restarts.
      // A stored webinar policy the code cannot read keeps its room closed (never opened as a plain room).
      for (const r of store.rooms.list()) {
        let d: RoomDeclaration;
        try {
          d = storedRoomDeclaration(r);
        } catch (err) {
          log.error({ err, roomId: r.name }, 'stored room not declared: its webinar policy is unreadable');
          continue;
        }
        await conference.declareRoom(d);
      }
      // Declared rooms (config file and API) are open from the start: listed on the dashboard, lockable at once.
      await conference.openDeclaredRooms();
      const retention = Retention.start({
        store,
        auditRetentionDays: config.storage.auditRetentionDays,
        cdrRetentionDays: config.storage.cdrRetentionDays,
        log: log.child({ component: 'retention' }),
      });
      opened.push(retention);
      const quality = new QualityMonitor({ conference, log: log.child({ component: 'quality' }) });
      opened.push(quality);
      const ladders = new CallLadders({
        sip,
        conference,
        maxCalls: config.ladder.maxCalls,
        maxMessagesPerCall: config.ladder.maxMessagesPerCall,
        log: log.child({ component: 'ladder' }),
      });
      opened.push(ladders);
      const cdrs = new CdrRecorder({
        conference,
        cdrs: store.cdrs,
        quality,
        log: log.child({ component: 'cdr' }),
      });
      opened.push(cdrs);
      const webhooks = new WebhookDispatcher({
        conference,
        targets: config.webhooks,
        log: log.child({ component: 'webhooks' }),
      });
      opened.push(webhooks);
      // The livestreams' events, to the webhooks (the dashboard listens itself).
      const hook =
        (type: 'livestream.live' | 'livestream.stopped' | 'livestream.failed') =>
        (room: Room, view: LivestreamView, error?: string): void =>
          webhooks.livestream(type, room, {
            state: view.state,
            outputs: view.outputs,
            restarts: view.restarts,
            error: error ?? view.lastError,
          });
      livestreams.on('live', hook('livestream.live'));
      livestreams.on('stopped', hook('livestream.stopped'));
      livestreams.on('failed', hook('livestream.failed'));
      const metrics = new MetricsCollector({
        conference,
        sipTrace: (listener) => sip.onTrace(listener),
        quality,
        workers,
        threads,
        webhooks,
        guard,
      });
      opened.push(metrics);
      const focus = new Focus({
        sip,
        conference,
        ...callSettings,
        log: log.child({ component: 'focus' }),
        admission: new SourceAdmission(
          { maxCallsPerSource: sec.maxCallsPerSource, maxSetupsPerSource: sec.maxSetupsPerSource },
          isExempt,
        ),
        guard,
        onAttempt: (status) => metrics.callAttempt(status),
        // REFER call control (RFC 4579): refused targets before any INVITE, every attempt in the audit log.
        dialPolicy,
        authenticator: sipAuthenticator,
        subscriptions,
        moveByRefer: config.conference.moveByRefer,
        referMoveTimeoutMs: config.conference.moveByReferTimeoutSeconds * 1000,
        audit: (e) =>
          moderation.record({ name: e.actor, source: e.source }, e.action, {
            roomId: e.roomId,
            outcome: e.outcome,
            ...(e.target !== null ? { target: e.target } : {}),
            ...(e.detail !== null ? { detail: e.detail } : {}),
          }),
      });
      // SIP chat (RFC 3428 MESSAGE) in and out of the room chat; OPTIONS to a room answer its capabilities.
      opened.push(new SipChat({ sip, conference, log: log.child({ component: 'sip-chat' }) }));
      opened.push(
        new RoomOptions({
          sip,
          conference,
          roomsOnDemand: config.conference.unknownRooms === 'create',
          // MESSAGE chat, REFER progress; the conference event package (RFC 4575) below serves `conference`.
          accept: ['text/plain', 'message/sipfrag', 'application/conference-info+xml'],
          events: ['conference', 'refer'],
          log: log.child({ component: 'room-options' }),
        }),
      );
      const attachments = new AttachmentStore({
        dataDir: config.dataDir,
        maxBytes: config.chat.attachmentMaxBytes,
      });
      opened.push({ close: () => attachments.close() });
      // Attachments are authorised by a browser's session token; the signalling (built on the HTTP server) knows them.
      const sessions: SessionDirectory = { authenticate: () => undefined };
      const http = await HttpServer.create({
        ip: config.http.ip,
        port: config.http.port,
        version: VERSION,
        logger: log.child({ component: 'http' }),
        health: {
          health: () => {
            const list = workers.status();
            return {
              ok: list.length > 0 && list.every((w) => w.alive),
              workers: list,
              draining: conference.isDraining,
            };
          },
        },
        authenticator: auth,
        api: [
          authRouter({ auth, secureCookie: config.auth.secureCookie }),
          accountsRouter(auth),
          registrationsRouter({ availability, knowsUser: knowsSipUser }),
          roomsRouter({ conference, moderation }),
          webinarRouter({ moderation }),
          livestreamRouter({ conference, moderation, livestreams }),
          recordsRouter({ store, moderation, ladders }),
          openapiRouter({ version: VERSION }),
          adminRouter({
            target: {
              drain: (o) => drainServer({ config, sip, conference }, o),
              participantCount: () => conference.participantCount(),
            },
            moderation,
          }),
          attachmentsRouter({
            store: attachments,
            sessions,
            maxBytes: config.chat.attachmentMaxBytes,
          }),
        ],
        pages: [
          metricsRouter({ collector: metrics, authenticator: auth, public: config.metrics.public }),
          livePagesRouter({ livestreams, distDir: defaultWebDistDir() }),
          webRouter({ distDir: defaultWebDistDir() }),
        ],
      });
      opened.push(http);
      // Every room router is built from the same codec list: one short-lived router tells the pages its capabilities.
      const probe = await workers.createRouter({ probe: true });
      const routerRtpCapabilities = probe.rtpCapabilities;
      probe.close();
      const io = createSocketIoServer(http.nodeServer);
      opened.push({ close: () => new Promise<void>((r) => void io.close(() => r())) });
      const rtc = new RtcSignaling({
        routerRtpCapabilities,
        io,
        conference,
        iceServers: config.webrtc.iceServers,
        turn: config.webrtc.turn,
        reconnectGraceMs: config.webrtc.reconnectGraceSeconds * 1000,
        attachmentMaxBytes: config.chat.attachmentMaxBytes,
        attachments,
        limits: {
          maxConnectionsPerSource: sec.maxBrowserConnectionsPerSource,
          requestsPerSecond: sec.browserRequestsPerSecond,
          requestBurst: sec.browserRequestBurst,
        },
        log: log.child({ component: 'rtc' }),
      });
      sessions.authenticate = (token) => rtc.authenticate(token);
      const dashboard = new DashboardSignaling({
        io,
        livestreams,
        availability,
        authenticator: auth,
        moderation,
        conference,
        store,
        quality,
        ladders,
        log: log.child({ component: 'dashboard' }),
      });
      const web = httpBase(config.http.ip, http.port);
      const conferenceEvents = new ConferenceEventPackage({
        conference,
        notifier: subscriptions,
        // PIN rooms are watched by SIP accounts only (digest)
        authenticator: sipAuthenticator,
        webUrl: (room) => `${web}/r/${encodeURIComponent(room)}`,
        log: log.child({ component: 'conference-events' }),
      });
      opened.push(conferenceEvents);
      log.info(
        {
          http: `${config.http.ip}:${http.port}`,
          sip: sip.ports,
          workers: workers.size,
          rtp: range,
          webrtc: workers.webRtcPorts(),
          join: `${web}/`,
          dashboard: `${web}/dashboard`,
        },
        'parley started',
      );
      print(`Parley dashboard: ${web}/dashboard`);
      const generated = auth.takeGeneratedAdminPassword();
      if (generated !== undefined)
        print(
          `initial admin password: ${generated}  (user "admin"; sign in at ${web}/dashboard — shown only this once)`,
        );
      return new App({
        config,
        log,
        workers,
        threads,
        sip,
        subscriptions,
        conferenceEvents,
        rooms,
        conference,
        focus,
        guard,
        http,
        io,
        rtc,
        dashboard,
        store,
        auth,
        moderation,
        quality,
        ladders,
        cdrs,
        webhooks,
        livestreams,
        metrics,
        attachments,
        retention,
        registrar,
        availability,
        presence,
        sipAuthenticator,
      });
    } catch (err) {
      for (const o of opened.reverse()) await o.close();
      throw err;
    }
  }

  /**
   * Drains the server (SIGTERM, POST /api/admin/drain): new INVITEs and browser joins are refused (503 +
   * Retry-After), out-of-dialog OPTIONS and /healthz answer 503 so a load balancer takes the node out, and the calls
   * in progress go on; those left after `deadlineSeconds` (default `drain.deadlineSeconds`) get BYE. Resolves when
   * the last call has gone. Idempotent (a second call returns the first drain). Does not close the App.
   */
  drain(opts: { deadlineSeconds?: number } = {}): Promise<void> {
    return drainServer(this, opts);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.retention.close();
      this.dashboard.close();
      await this.rtc.close();
      // Closes the socket.io engine (and with it the HTTP listener's upgrade handling) before the HTTP server.
      await new Promise<void>((r) => void this.io.close(() => r()));
      await this.http.close();
      // ffmpeg ended, its ports and temp files given back, before the rooms go.
      await this.livestreams.close();
      this.conference.close();
      this.presence.close();
      this.availability.close();
      this.registrar.close();
      // The participants' leave events (CDRs, webhooks) are out now; CDRs are written synchronously on leave.
      this.cdrs.close();
      await this.webhooks.close();
      this.quality.close();
      this.metrics.close();
      this.ladders.close();
      // Give the BYEs (and the watchers' final NOTIFYs) a moment to leave before the transports close.
      await new Promise((r) => setTimeout(r, 200));
      this.conferenceEvents.close();
      this.subscriptions.close();
      this.rooms.close();
      await this.attachments.close();
      await this.sip.close();
      await this.threads.close();
      this.workers.close();
      this.store.close();
      this.log.info('parley stopped');
    })();
    return this.closing;
  }
}

/** Everything the composition root built, handed to the App that owns and closes it. */
interface AppParts {
  config: Readonly<Config>;
  log: Logger;
  workers: WorkerPool;
  threads: MediaThreadPool;
  sip: SipStack;
  subscriptions: SubscriptionNotifier;
  conferenceEvents: ConferenceEventPackage;
  rooms: RoomManager;
  conference: Conference;
  focus: Focus;
  guard: SourceGuard;
  http: HttpServer;
  io: SocketIoServer;
  rtc: RtcSignaling;
  dashboard: DashboardSignaling;
  store: Store;
  auth: AuthService;
  moderation: ModerationService;
  quality: QualityMonitor;
  ladders: CallLadders;
  cdrs: CdrRecorder;
  webhooks: WebhookDispatcher;
  livestreams: LivestreamService;
  metrics: MetricsCollector;
  registrar: Registrar;
  availability: Availability;
  presence: PresenceAgent;
  sipAuthenticator: DigestRequestAuthenticator;
  attachments: AttachmentStore;
  retention: Retention;
}
