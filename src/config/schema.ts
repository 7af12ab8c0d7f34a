import fs from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { checkWebinarRoom, WebinarSchema } from '../protocol/webinar-protocol';

/**
 * The configuration schema: every key, its type and its default. `config/default.yaml` documents the same keys
 * with comments; a test keeps the two in step. Unknown keys are errors (a typo must not be silently ignored).
 */
const port = z.number().int().min(0).max(65535);
const ip = z.string().ip({ message: 'must be an IPv4 or IPv6 address' });
/** An IPv4 or IPv6 address or network (`192.0.2.0/24`, `2001:db8::/32`); `src/sip/security/cidr.ts` reads it. */
function readableFile(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.R_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

const cidr = z.string().refine(
  (v) => {
    const [addr = '', bits, extra] = v.split('/');
    const family = isIP(addr);
    if (family === 0 || extra !== undefined) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  },
  { message: 'must be an IPv4 or IPv6 address or CIDR network' },
);

/**
 * A dial-out allow-list pattern (`security.dialOut.allow`): a glob `user@host` (`*` = any run of characters) or a
 * regular expression written `/.../` (flag `i` allowed). `src/conference/focus/dial-policy.ts` documents and reads
 * it; this only refuses patterns it could not compile, so that a bad one stops the start naming its key.
 */
const dialPattern = z.string().superRefine((v, ctx) => {
  const problem = ((): string | undefined => {
    if (v.trim() === '' || v !== v.trim()) return 'empty or surrounded by spaces';
    const re = /^\/(.+)\/([i]*)$/s.exec(v);
    if (re) {
      try {
        new RegExp(re[1]!, re[2]);
        return undefined;
      } catch (err) {
        return `not a valid regular expression: ${(err as Error).message}`;
      }
    }
    if (v.startsWith('/')) return 'a regular expression is written /.../ (flag i allowed)';
    if (/[\s;?<>"]/.test(v)) return 'a pattern is user@host only (no spaces, parameters or headers)';
    if (v.endsWith('@')) return 'no host after @';
    return undefined;
  })();
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `dial-out pattern ${problem}` });
});

export const roomSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._~-]+$/, 'room names are URI user parts: A-Z a-z 0-9 . _ ~ -'),
    displayName: z.string().optional(),
    pin: z
      .string()
      .regex(/^[0-9]{1,16}$/, 'PINs are 1-16 digits')
      .optional(),
    moderatorPin: z
      .string()
      .regex(/^[0-9]{1,16}$/, 'PINs are 1-16 digits')
      .optional(),
    maxParticipants: z.number().int().min(1).max(10000).optional(),
    /** Refuse phones whose offer has no SRTP (SDES or DTLS) with 488 (also when `security.requireSrtp` is false). */
    requireSrtp: z.boolean().optional(),
    /** Webinar roles, role PINs, lobby and mute policies (src/protocol/webinar-protocol.ts). */
    webinar: WebinarSchema.optional(),
  })
  .strict()
  .superRefine(checkWebinarRoom);

export const iceServerSchema = z
  .object({
    urls: z
      .array(z.string().regex(/^(stun|stuns|turn|turns):/, 'ICE server URLs start with stun: or turn:'))
      .min(1),
    username: z.string().optional(),
    credential: z.string().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({}),
    sip: z
      .object({
        listen: z
          .object({
            ip: ip.default('127.0.0.1'),
            udp: port.nullable().default(5060),
            tcp: port.nullable().default(5060),
            tls: port.nullable().default(5061),
            ws: port.nullable().default(8088),
          })
          .strict()
          .default({}),
        publicHost: z.string().nullable().default(null),
        tls: z
          .object({
            cert: z.string().nullable().default(null),
            key: z.string().nullable().default(null),
          })
          .strict()
          .default({}),
        userAgent: z.string().default('Parley'),
        /** append "/<version>" to userAgent in Server/User-Agent; off by default (scanners fingerprint versions) */
        advertiseVersion: z.boolean().default(false),
        realm: z.string().min(1).default('parley'),
        /** Digest algorithms challenged, strongest first (RFC 8760 §2.4): one challenge each per 401. */
        digestAlgorithms: z
          .array(z.enum(['SHA-256', 'MD5']))
          .min(1)
          .default(['SHA-256', 'MD5'])
          .refine((a) => new Set(a).size === a.length, { message: 'no algorithm twice' }),
        /** SIP-only accounts (REGISTER, REFER digest), beside the database accounts; names unique. */
        accounts: z
          .array(
            z
              .object({
                username: z
                  .string()
                  .regex(/^[A-Za-z0-9._~+-]{1,64}$/, 'usernames are 1-64 of A-Z a-z 0-9 . _ ~ + -'),
                password: z.string().min(8, 'at least 8 characters'),
              })
              .strict(),
          )
          .default([])
          .refine((as) => new Set(as.map((a) => a.username)).size === as.length, {
            message: 'usernames must be unique',
          }),
        /** The registrar (RFC 3261 §10.3) for users of this domain. */
        registrar: z
          .object({
            minExpiresSeconds: z.number().int().min(1).max(86400).default(60),
            maxExpiresSeconds: z.number().int().min(1).max(604800).default(3600),
            defaultExpiresSeconds: z.number().int().min(1).max(604800).default(3600),
            maxContactsPerUser: z.number().int().min(1).max(100).default(10),
            keepAliveSeconds: z.number().int().min(0).max(3600).default(30),
          })
          .strict()
          .default({})
          .refine((r) => r.minExpiresSeconds <= r.maxExpiresSeconds, {
            message: 'minExpiresSeconds must not exceed maxExpiresSeconds',
            path: ['minExpiresSeconds'],
          }),
        /** Dial-out (REST, dashboard, REFER): ring timeout and trunks (outbound proxy, digest credentials, From). */
        dialOut: z
          .object({
            ringTimeoutSeconds: z.number().int().min(1).max(600).default(60),
            trunks: z
              .array(
                z
                  .object({
                    name: z
                      .string()
                      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'trunk names are 1-64 of A-Z a-z 0-9 . _ -'),
                    match: z.array(dialPattern).min(1),
                    proxy: z
                      .string()
                      .regex(/^sips?:[^\s<>"?]+$/, 'a sip: or sips: URI without spaces or header fields')
                      .nullable()
                      .default(null),
                    username: z.string().min(1).nullable().default(null),
                    password: z.string().min(1).nullable().default(null),
                    fromUser: z.string().min(1).max(128).nullable().default(null),
                    fromDomain: z.string().min(1).max(255).nullable().default(null),
                    ringTimeoutSeconds: z.number().int().min(1).max(600).nullable().default(null),
                  })
                  .strict()
                  .refine((t) => (t.username === null) === (t.password === null), {
                    message: 'username and password go together',
                    path: ['password'],
                  }),
              )
              .default([])
              .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, {
                message: 'trunk names must be unique',
              }),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    http: z
      .object({
        ip: ip.default('127.0.0.1'),
        port: port.default(8080),
      })
      .strict()
      .default({}),
    rtc: z
      .object({
        listenIp: ip.default('127.0.0.1'),
        announcedIp: z.string().nullable().default(null),
        minPort: z.number().int().min(1024).max(65535).default(40000),
        maxPort: z.number().int().min(1024).max(65535).default(49999),
        numWorkers: z.number().int().min(0).max(64).default(0),
        workerLogLevel: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
        /** Large audiences: receive-only browsers (webinar attendees) spread over a room's routers on every worker. */
        fanout: z
          .object({
            enabled: z.boolean().default(true),
            /** Viewers kept on the room's own router before any goes to another worker's (piped) router. */
            viewersPerRouterBeforeSpill: z.number().int().min(0).max(100000).default(100),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({})
      .refine((r) => r.minPort <= r.maxPort, {
        message: 'minPort must not exceed maxPort',
        path: ['minPort'],
      }),
    webrtc: z
      .object({
        port: port.default(7882),
        listen: z
          .array(
            z
              .object({
                ip,
                announcedAddress: z.string().min(1).nullable().default(null),
              })
              .strict(),
          )
          .min(1)
          .default([{ ip: '127.0.0.1', announcedAddress: null }]),
        iceServers: z.array(iceServerSchema).default([]),
        turn: z
          .object({
            urls: z.array(z.string().regex(/^turns?:/, 'TURN URLs start with turn: or turns:')).default([]),
            secret: z.string().min(8).nullable().default(null),
            ttlSeconds: z.number().int().min(60).max(86400).default(3600),
          })
          .strict()
          .default({})
          .refine((t) => t.urls.length === 0 || t.secret !== null, {
            message: 'TURN URLs need a shared secret (coturn use-auth-secret / static-auth-secret)',
            path: ['secret'],
          }),
        reconnectGraceSeconds: z.number().min(0).max(600).default(20),
      })
      .strict()
      .default({}),
    chat: z
      .object({
        historySize: z.number().int().min(1).max(100000).default(200),
        attachmentMaxBytes: z
          .number()
          .int()
          .min(1)
          .max(1024 * 1024 * 1024)
          .default(10 * 1024 * 1024),
      })
      .strict()
      .default({}),
    dataDir: z.string().min(1).default('data'),
    /** Moderator accounts, sessions and API tokens (the dashboard and the REST API). */
    auth: z
      .object({
        /** The initial admin's password (env PARLEY_ADMIN_PASSWORD); unset: generated at first start, printed once. */
        adminPassword: z.string().min(8).max(256).optional(),
        /** An API token for automation (env PARLEY_API_TOKEN), admin rights; stored hashed. */
        apiToken: z.string().min(16).max(256).optional(),
        sessionTtlHours: z
          .number()
          .min(0.1)
          .max(24 * 90)
          .default(12),
        /** Failed sign-ins allowed per source address and per account within `loginWindowSeconds`. */
        loginMaxAttempts: z.number().int().min(1).max(1000).default(5),
        loginWindowSeconds: z.number().int().min(1).max(86400).default(300),
        /** Set the session cookie's Secure flag (on behind TLS; `auto` = when the request came over HTTPS). */
        secureCookie: z.union([z.boolean(), z.literal('auto')]).default('auto'),
      })
      .strict()
      .default({}),
    /** Where accounts, the audit log and call detail records live. */
    storage: z
      .object({
        driver: z.enum(['sqlite']).default('sqlite'),
        /** The SQLite file; relative paths are under `dataDir`. */
        file: z.string().min(1).default('parley.db'),
        auditRetentionDays: z.number().int().min(1).max(36500).default(365),
        cdrRetentionDays: z.number().int().min(1).max(36500).default(365),
      })
      .strict()
      .default({}),
    /** Signed (HMAC-SHA256) JSON POSTs of room and participant events. */
    webhooks: z
      .array(
        z
          .object({
            url: z
              .string()
              .url()
              .refine((u) => /^https?:/.test(u), 'http(s) URLs only'),
            secret: z.string().min(16).max(256),
            /** Event names to send (default: all). */
            events: z.array(z.string().min(1)).optional(),
          })
          .strict(),
      )
      .default([]),
    /** Draining (SIGTERM or POST /api/admin/drain): new calls refused with 503 + Retry-After, calls kept a while. */
    drain: z
      .object({
        /** How long existing calls may go on after a drain began; then they get BYE (Reason: 503). */
        deadlineSeconds: z.number().int().min(0).max(86400).default(300),
        /** The Retry-After of the 503 answers while draining (RFC 3261 §20.33). */
        retryAfterSeconds: z.number().int().min(1).max(86400).default(30),
      })
      .strict()
      .default({}),
    /** Prometheus metrics at GET /metrics. */
    metrics: z
      .object({
        /**
         * false: /metrics needs an admin/moderator sign-in or an API token (Authorization: Bearer). true: anyone
         * who reaches the HTTP port may scrape (a scraper on a private network).
         */
        public: z.boolean().default(false),
      })
      .strict()
      .default({}),
    /** Abuse limits: per-source request rate and bans, scanners, per-source call caps, PIN lockout (issue 14). */
    security: z
      .object({
        requestsPerSecond: z.number().positive().max(100000).default(20),
        burst: z.number().int().min(1).max(100000).default(60),
        banAfterSeconds: z.number().positive().max(3600).default(5),
        banSeconds: z.number().positive().max(604800).default(600),
        allow: z.array(cidr).default([]),
        deny: z.array(cidr).default([]),
        scannerUserAgents: z
          .array(z.string().min(1))
          .default([
            'friendly-scanner',
            'sipvicious',
            'sipcli',
            'VaxSIPUserAgent',
            'sip-scan',
            'iWar',
            'sundayddr',
            'pplsip',
          ]),
        maxCallsPerSource: z.number().int().min(1).max(100000).default(30),
        maxSetupsPerSource: z.number().int().min(1).max(100000).default(10),
        maxRoomsPerSourcePerMinute: z.number().int().min(1).max(100000).default(10),
        maxOnDemandRooms: z.number().int().min(1).max(1000000).default(500),
        pinFailuresPerSource: z.number().int().min(1).max(10000).default(10),
        pinFailuresPerRoom: z.number().int().min(1).max(100000).default(50),
        pinFailureWindowSeconds: z.number().positive().max(86400).default(600),
        pinLockoutSeconds: z.number().positive().max(604800).default(900),
        /** Toll-fraud guard: the only destinations dial-out may call (default: this machine's loopback only). */
        dialOut: z
          .object({
            allow: z.array(dialPattern).default(['*@127.0.0.1', '*@localhost', '*@[::1]']),
          })
          .strict()
          .default({}),
        /** Every room refuses phones without SRTP (488); rooms may also ask for it one by one. */
        requireSrtp: z.boolean().default(false),
        /** Browser signalling (`/rtc`): connections per source address, refused at the handshake beyond. */
        maxBrowserConnectionsPerSource: z.number().int().min(1).max(100000).default(20),
        /** Browser signalling: requests per second per connection, sustained and at once (a join takes dozens). */
        browserRequestsPerSecond: z.number().positive().max(100000).default(50),
        browserRequestBurst: z.number().int().min(1).max(100000).default(300),
      })
      .strict()
      .default({}),
    /** Livestreams of rooms (RTMP/RTMPS, HLS served at /live/<room>, recordings): ffmpeg per stream. */
    livestream: z
      .object({
        /** The ffmpeg binary (Debian's). */
        ffmpegPath: z.string().min(1).default('/usr/bin/ffmpeg'),
        /** HLS segment length (seconds); also the keyframe interval of the encoded video. */
        hlsSegmentSeconds: z.number().int().min(1).max(30).default(2),
        /** Segments listed in the live HLS playlist (older ones are deleted). */
        hlsListSize: z.number().int().min(2).max(100).default(6),
        /** Where recordings are written; empty: <dataDir>/recordings. */
        recordingsDir: z.string().default(''),
        /** First restart delay after ffmpeg exits; doubled per consecutive failure up to restartMaxMs. */
        restartInitialMs: z.number().int().min(10).max(600000).default(1000),
        restartMaxMs: z.number().int().min(10).max(3600000).default(30000),
        /** Consecutive failed runs (each shorter than a minute) after which the stream is given up: failed. */
        maxRestarts: z.number().int().min(0).max(1000).default(5),
        /** Streams running at once on this server (each is one ffmpeg encode). */
        maxConcurrent: z.number().int().min(1).max(1000).default(4),
        /** The composite's size, frame rate and bitrates. */
        width: z.number().int().min(160).max(3840).default(1280),
        height: z.number().int().min(120).max(2160).default(720),
        frameRate: z.number().int().min(1).max(60).default(25),
        videoBitrateKbps: z.number().int().min(100).max(50000).default(2500),
        audioBitrateKbps: z.number().int().min(32).max(512).default(128),
        /** rtmps:// outputs check the ingest's certificate and name (a stream key goes to nobody else). */
        rtmpsVerify: z.boolean().default(true),
        /** PEM file of the CAs an RTMPS ingest's certificate must chain to; empty: the system's trust store. */
        rtmpsCaFile: z
          .string()
          .default('')
          .refine((f) => f === '' || readableFile(f), { message: 'must be a readable PEM file' })
          .refine((f) => !/[|[\]\\:'\s]/.test(f), { message: "must not contain | [ ] \\ : ' or spaces" }),
      })
      .strict()
      .default({}),
    /** The SIP call ladders kept in memory for the dashboard. */
    ladder: z
      .object({
        /** Calls kept (live ones and the most recent ended ones). */
        maxCalls: z.number().int().min(0).max(100000).default(500),
        maxMessagesPerCall: z.number().int().min(1).max(10000).default(200),
      })
      .strict()
      .default({}),
    conference: z
      .object({
        unknownRooms: z.enum(['create', 'reject']).default('create'),
        audio: z.enum(['mixer', 'forward']).default('mixer'),
        joinTones: z.boolean().default(true),
        maxParticipants: z.number().int().min(1).max(10000).default(100),
        fullRoomStatus: z.union([z.literal(486), z.literal(503)]).default(486),
        emptyRoomGraceSeconds: z.number().min(0).default(30),
        rtpTimeoutSeconds: z.number().min(0).default(60),
        sessionExpiresSeconds: z.number().int().min(90).default(1800),
        /** How long a participant must speak without a break to become the active speaker (video, livestream). */
        activeSpeakerHoldMs: z.number().int().min(0).max(10000).default(1200),
        moveByRefer: z.boolean().default(true),
        moveByReferTimeoutSeconds: z.number().min(1).max(60).default(10),
        rooms: z.array(roomSchema).default([]),
      })
      .strict()
      .default({}),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RoomConfig = z.output<typeof roomSchema>;
