import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { Conference } from './conference/conference';
import { Focus } from './conference/focus/focus';
import { SipDialer } from './conference/focus/sip-dialer';
import { MediasoupRoomMedia } from './conference/room/mediasoup-room-media';
import { Prompts } from './conference/room/prompts';
import { RoomManager } from './conference/room/room-manager';
import { HttpServer } from './http/http-server';
import { roomsRouter } from './http/routes/rooms';
import { defaultWebDistDir, webRouter } from './http/routes/web';
import { RtcSignaling } from './signaling/rtc-signaling';
import { attachmentsRouter, type SessionDirectory } from './http/routes/attachments';
import { AttachmentStore } from './storage/attachment-store';
import { WorkerPool, routeMediasoupLogs } from './media/mediasoup/worker-pool';
import { MediaThreadPool } from './media/mixer/media-thread-pool';
import { PortAllocator } from './media/rtp/port-allocator';
import { SipStack } from './sip/ua/sip-stack';
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

/**
 * The composition root: builds the layers bottom-up and injects them into each other; `close()` tears them down
 * top-down. Idempotent.
 */
export class App {
  private closing?: Promise<void>;

  private constructor(
    readonly config: Readonly<Config>,
    readonly log: Logger,
    readonly workers: WorkerPool,
    readonly threads: MediaThreadPool,
    readonly sip: SipStack,
    readonly rooms: RoomManager,
    readonly conference: Conference,
    readonly focus: Focus,
    readonly http: HttpServer,
    readonly rtc: RtcSignaling,
    private readonly attachments: AttachmentStore,
  ) {}

  static async create(config: Readonly<Config>, log: Logger): Promise<App> {
    routeMediasoupLogs(log);
    const range = splitRtpRange(config.rtc.minPort, config.rtc.maxPort);
    const opened: Array<{ close(): unknown }> = [];
    try {
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
        logger: log.child({ component: 'sip' }),
        sessionTimers: { sessionExpires: config.conference.sessionExpiresSeconds, minSE: 90 },
        contactUser: 'parley',
        // The focus does async work (room, mediasoup) before answering: say 100 Trying at once (RFC 3261 §17.2.1).
        tryingDelayMs: 0,
      });
      opened.push(sip);
      const media = new MediasoupRoomMedia({
        routers: workers,
        threads,
        ports: new PortAllocator(range.phones[0], range.phones[1]),
        listenIp: config.rtc.listenIp,
        audio: config.conference.audio,
      });
      const rooms = new RoomManager(
        config.conference,
        media,
        log.child({ component: 'rooms' }),
        config.chat.historySize,
      );
      opened.push(rooms);
      const callSettings = {
        announcedIp: config.rtc.announcedIp ?? config.rtc.listenIp,
        rtpTimeoutMs: config.conference.rtpTimeoutSeconds * 1000,
      };
      const conference = new Conference({
        rooms,
        prompts: new Prompts(),
        joinTones: config.conference.joinTones,
        dialer: new SipDialer({ sip, ...callSettings }),
        log: log.child({ component: 'conference' }),
      });
      opened.push(conference);
      const focus = new Focus({ sip, conference, ...callSettings, log: log.child({ component: 'focus' }) });
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
            return { ok: list.length > 0 && list.every((w) => w.alive), workers: list };
          },
        },
        api: [
          roomsRouter(conference),
          attachmentsRouter({
            store: attachments,
            sessions,
            maxBytes: config.chat.attachmentMaxBytes,
          }),
        ],
        pages: [webRouter({ distDir: defaultWebDistDir() })],
      });
      opened.push(http);
      // Every room router is built from the same codec list: one short-lived router tells the pages its capabilities.
      const probe = await workers.createRouter({ probe: true });
      const routerRtpCapabilities = probe.rtpCapabilities;
      probe.close();
      const rtc = new RtcSignaling({
        routerRtpCapabilities,
        httpServer: http.nodeServer,
        conference,
        iceServers: config.webrtc.iceServers,
        turn: config.webrtc.turn,
        reconnectGraceMs: config.webrtc.reconnectGraceSeconds * 1000,
        attachmentMaxBytes: config.chat.attachmentMaxBytes,
        attachments,
        log: log.child({ component: 'rtc' }),
      });
      sessions.authenticate = (token) => rtc.authenticate(token);
      log.info(
        {
          http: `${config.http.ip}:${http.port}`,
          sip: sip.ports,
          workers: workers.size,
          rtp: range,
          webrtc: workers.webRtcPorts(),
          join: `http://${config.http.ip}:${http.port}/`,
        },
        'parley started',
      );
      return new App(config, log, workers, threads, sip, rooms, conference, focus, http, rtc, attachments);
    } catch (err) {
      for (const o of opened.reverse()) await o.close();
      throw err;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.rtc.close();
      await this.http.close();
      this.conference.close();
      // Give the BYEs a moment to leave before the transports close.
      await new Promise((r) => setTimeout(r, 200));
      this.rooms.close();
      await this.attachments.close();
      await this.sip.close();
      await this.threads.close();
      this.workers.close();
      this.log.info('parley stopped');
    })();
    return this.closing;
  }
}
