/**
 * Fuzz properties shared by the bounded CI tests (`test/unit/fuzz/*.test.ts`) and the long run (`bench/fuzz.ts`).
 * Each property takes its case count and seed from the caller; nothing here depends on jest.
 *
 * What is claimed (issue 14): the SIP parser throws nothing but SipParseError; the transport layer's receive path
 * answers a well-formed 4xx/5xx or drops, never throws, and every reply parses back; the SDP offer mapping throws
 * only the catalogue's SdpNegotiationError or returns an answer that parses; every zod schema of `src/protocol`
 * never throws through `safeParse`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { types } from 'mediasoup';
import type { ZodTypeAny } from 'zod';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import { buildAnswer, negotiate, SdpNegotiationError, SdpSession } from '../../../src/media/sdp';
import type { LocalCapabilities } from '../../../src/media/sdp';
import * as dashboardProtocol from '../../../src/protocol/dashboard-protocol';
import * as rtcProtocol from '../../../src/protocol/rtc-protocol';
import { SipParseError } from '../../../src/sip/errors';
import { SipRequest, SipResponse } from '../../../src/sip/message/sip-message';
import { parseMessage } from '../../../src/sip/parser/message-parser';
import { StreamFramer } from '../../../src/sip/parser/stream-framer';
import { validateRequest, validateResponse } from '../../../src/sip/parser/validate';
import { TransportLayer } from '../../../src/sip/transport/transport-layer';
import type { Flow, Target } from '../../../src/sip/transport/transport';
import { silentLogger } from '../../../src/logging/logger';

/** The repository root (from test/unit/fuzz under ts-jest, or dist/test/unit/fuzz when bench/fuzz runs built). */
const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'test/fixtures/sip')) && path.dirname(dir) !== dir)
    dir = path.dirname(dir);
  return dir;
})();

// ---------------------------------------------------------------- seeds: our fixtures and messages we build

function filesIn(dir: string, ext: string): Buffer[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => readFileSync(path.join(dir, f)));
}

/** Valid and invalid torture-test fixtures (RFC 4475 style) plus requests as the stack builds them. */
export function sipSeeds(): Buffer[] {
  const dir = path.join(ROOT, 'test/fixtures/sip');
  const built = ['INVITE', 'OPTIONS', 'BYE', 'REGISTER'].map((m) => {
    const h = [
      `${m} sip:room@127.0.0.1 SIP/2.0`,
      'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-seed;rport',
      'Max-Forwards: 70',
      '"Alice \\"A\\"" <sip:alice@127.0.0.1>;tag=a1',
      'To: <sip:room@127.0.0.1>',
      'Call-ID: seed@127.0.0.1',
      `CSeq: 7 ${m}`,
      'Contact: <sip:alice@127.0.0.1:5070;transport=udp>',
      'User-Agent: fuzz',
    ];
    h[3] = 'From: ' + h[3];
    const body =
      m === 'INVITE'
        ? 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n'
        : '';
    if (body) h.push('Content-Type: application/sdp');
    return Buffer.from(h.join('\r\n') + `\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  return [
    ...filesIn(path.join(dir, 'valid'), '.sip'),
    ...filesIn(path.join(dir, 'invalid'), '.sip'),
    ...built,
  ];
}

/** Vendor and browser SDP offers from the fixtures, CRLF line ends. */
export function sdpSeeds(): string[] {
  const dir = path.join(ROOT, 'test/fixtures/sdp');
  const out: string[] = [];
  for (const sub of ['vendors', 'webrtc']) {
    const d = path.join(dir, sub);
    for (const b of filesIn(d, '.sdp')) out.push(b.toString('utf8').replace(/\r?\n/g, '\r\n'));
  }
  return out;
}

// ---------------------------------------------------------------- mutations

const HEADER_NAMES = [
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Content-Length',
  'Max-Forwards',
  'Contact',
  'v',
  'l',
];
const NASTY = [
  ';',
  ',',
  '"',
  '\\',
  '<',
  '>',
  ':',
  '@',
  '%',
  ' ',
  '\t',
  '\r\n',
  '\r\n ',
  '\n',
  '\0',
  '\xff',
  'é',
];

type Mutation = (s: string) => string;

/** One mutation of a message's text (latin1, byte for byte): every kind the issue lists. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // byte flips
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, b]): Mutation => (s) => {
    const i = s.length ? at % s.length : 0;
    return s.slice(0, i) + String.fromCharCode(b) + s.slice(i + 1);
  }),
  // truncations
  fc.nat().map(
    (at): Mutation =>
      (s) =>
        s.slice(0, s.length ? at % (s.length + 1) : 0),
  ),
  // random insertions (bytes or grammar-significant characters)
  fc
    .tuple(fc.nat(), fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 12, unit: 'binary' })))
    .map(([at, ins]): Mutation => (s) => {
      const i = s.length ? at % (s.length + 1) : 0;
      return s.slice(0, i) + ins + s.slice(i);
    }),
  // header duplication
  fc.nat().map((k): Mutation => (s) => {
    const lines = s.split('\r\n');
    const end = Math.max(1, lines.indexOf(''));
    const i = 1 + (k % Math.max(1, end - 1));
    lines.splice(i, 0, lines[i] ?? '');
    return lines.join('\r\n');
  }),
  // header removal (a named mandatory one, or any line)
  fc.oneof(
    fc.constantFrom(...HEADER_NAMES).map(
      (name): Mutation =>
        (s) =>
          s.replace(new RegExp(`\\r\\n${name}[ \\t]*:[^\\r\\n]*`, 'i'), ''),
    ),
    fc.nat().map((k): Mutation => (s) => {
      const lines = s.split('\r\n');
      lines.splice(k % lines.length, 1);
      return lines.join('\r\n');
    }),
  ),
  // huge values
  fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.integer({ min: 1000, max: 70000 })).map(
    ([name, n]): Mutation =>
      (s) =>
        s.replace(new RegExp(`(\\r\\n${name}[ \\t]*:)`, 'i'), `$1 ${'9'.repeat(n)}`),
  ),
);

/** A seed mutated 1–4 times, or plain random bytes. */
export function mutatedMessages(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }))
        .map(([seed, ms]) =>
          Buffer.from(
            ms.reduce((s, m) => m(s), seed.toString('latin1')),
            'latin1',
          ),
        ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)) },
  );
}

/** A textual mutation of an SDP seed. */
export function mutatedSdp(seeds: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }))
        .map(([seed, ms]) => ms.reduce((s, m) => m(s), seed)),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 600, unit: 'binary' }) },
  );
}

// ---------------------------------------------------------------- properties

export interface FuzzProperty {
  name: string;
  /** runs the property; resolves to the number of failures (0) or rejects with fast-check's report */
  run(numRuns: number, seed: number): Promise<void>;
}

function exercise(m: SipRequest | SipResponse): void {
  if (m instanceof SipRequest) validateRequest(m);
  else validateResponse(m);
  void m.vias.map(String);
  void m.from.toString();
  void m.to.tag;
  void m.cseq;
  void m.callId;
  if (!m.isContactStar) void m.contact.map(String);
  void m.maxForwards;
  void m.toBuffer();
}

/** Anything thrown must be the parser's own error. */
function onlyParseErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
}

/** A reply the transport sent: a 4xx/5xx status line, and it parses back (up to the headers it could not echo). */
export function checkReply(buf: Buffer): void {
  const text = buf.toString('latin1');
  if (!/^SIP\/2\.0 [45]\d\d [\x20-\x7e]+\r\n/.test(text))
    throw new Error(`bad reply status line: ${text.slice(0, 80)}`);
  try {
    const m = parseMessage(buf);
    if (!(m instanceof SipResponse)) throw new Error('reply is not a response');
    validateResponse(m);
  } catch (e) {
    // a request without a readable From/To/Call-ID/CSeq cannot have it echoed: then exactly that may be missing
    const missing = ['From', 'To', 'Call-ID', 'CSeq'].filter(
      (h) => !new RegExp(`\\r\\n${h}:`, 'i').test(text),
    );
    const ok = e instanceof SipParseError && missing.some((h) => e.reason === `Missing ${h} header`);
    if (!ok) throw new Error(`reply does not parse back (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
}

function parserProperty(seeds: Buffer[]): FuzzProperty {
  return {
    name: 'sip parser: mutated fixtures and random bytes',
    async run(numRuns, seed) {
      fc.assert(
        fc.property(mutatedMessages(seeds), (buf) => {
          let parsed: SipRequest | SipResponse | undefined;
          onlyParseErrors(() => {
            parsed = parseMessage(buf);
          });
          if (parsed) {
            const m = parsed;
            onlyParseErrors(() => exercise(m));
          }
          // the stream framer: same bytes, fed in two pieces
          onlyParseErrors(() => {
            const f = new StreamFramer();
            const cut = buf.length >> 1;
            f.push(buf.subarray(0, cut));
            f.push(buf.subarray(cut));
          });
        }),
        { numRuns, seed },
      );
    },
  };
}

/**
 * The transport layer's receive path, for real: a TransportLayer on loopback UDP and TCP whose send() is watched
 * (replies are captured, not sent) and whose receiver is a transaction layer stand-in that reads every header.
 */
function transportProperty(seeds: Buffer[]): FuzzProperty {
  return {
    name: 'transport layer receive path: answer 4xx/5xx or drop, never throw',
    async run(numRuns, seed) {
      const layer = await TransportLayer.create({ ip: '127.0.0.1', udp: 0, logger: silentLogger() });
      const replies: Buffer[] = [];
      layer.send = (data: Buffer, _target: Target): void => void replies.push(data);
      layer.setReceiver({
        receiveRequest: (req) => exercise(req),
        receiveResponse: (res) => exercise(res),
      });
      const flows: Flow[] = [
        { protocol: 'UDP', address: '127.0.0.9', port: 5099, localAddress: '127.0.0.1', localPort: 5060 },
        {
          protocol: 'TCP',
          address: '127.0.0.9',
          port: 5099,
          connectionId: 1,
          localAddress: '127.0.0.1',
          localPort: 5060,
        },
      ];
      // reach the private receive path the transports call (what a datagram or a framed message goes through)
      const onData = (layer as unknown as { onData(d: Buffer, f: Flow): void }).onData.bind(layer);
      try {
        fc.assert(
          fc.property(mutatedMessages(seeds), fc.constantFrom(...flows), (buf, flow) => {
            replies.length = 0;
            onData(buf, flow);
            if (replies.length > 1) throw new Error(`${replies.length} replies to one message`);
            for (const r of replies) checkReply(r);
          }),
          { numRuns, seed },
        );
      } finally {
        await layer.close();
      }
    },
  };
}

/** The room router's codecs as the focus sees them (payload types as mediasoup assigns the dynamic ones). */
function localCaps(): LocalCapabilities {
  const ortcPath = path.join(path.dirname(require.resolve('mediasoup')), 'ortc.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ortc = require(ortcPath) as { generateRouterRtpCapabilities(c: unknown[]): types.RtpCapabilities };
  const caps = ortc.generateRouterRtpCapabilities(JSON.parse(JSON.stringify(ROOM_MEDIA_CODECS)) as unknown[]);
  return { codecs: caps.codecs ?? [] };
}

function sdpProperty(seeds: string[]): FuzzProperty {
  return {
    name: 'sdp offers: SdpNegotiationError or an answer that parses',
    async run(numRuns, seed) {
      const caps = localCaps();
      fc.assert(
        fc.property(mutatedSdp(seeds), (offer) => {
          let negotiated;
          try {
            negotiated = negotiate(offer, caps);
          } catch (e) {
            if (e instanceof SdpNegotiationError) return;
            throw e;
          }
          const local = {
            ip: '127.0.0.1',
            media: negotiated.media.map((_, i) => ({ port: 40000 + 2 * i, rtcpPort: 40001 + 2 * i })),
          };
          let answer: string;
          try {
            answer = buildAnswer(negotiated, local, new SdpSession({ address: '127.0.0.1' }));
          } catch (e) {
            // an accepted m-line whose local parts the caller did not supply (SRTP key, WebRTC endpoint):
            // the focus supplies them; anything else is a bug
            if (e instanceof Error && /no local (key|endpoint)|does not fit/.test(e.message)) return;
            throw e;
          }
          // the answer we would send parses as SDP and keeps the offer's m-line count (RFC 3264 §6)
          let again;
          try {
            again = negotiate(answer.replace(/a=(sendonly|recvonly|inactive)\r\n/g, ''), caps, {});
          } catch (e) {
            throw new Error(`our own answer does not parse: ${(e as Error).message}\n${answer}`);
          }
          if (again.media.length !== negotiated.media.length)
            throw new Error('answer changed the m-line count');
        }),
        { numRuns, seed },
      );
    },
  };
}

/** Every exported zod schema of src/protocol. */
export function protocolSchemas(): Array<[string, ZodTypeAny]> {
  const out: Array<[string, ZodTypeAny]> = [];
  for (const [mod, ns] of [
    ['rtc', rtcProtocol],
    ['dashboard', dashboardProtocol],
  ] as const) {
    for (const [name, v] of Object.entries(ns)) {
      if (v && typeof v === 'object' && typeof (v as { safeParse?: unknown }).safeParse === 'function')
        out.push([`${mod}.${name}`, v as ZodTypeAny]);
    }
  }
  return out;
}

function protocolProperty(): FuzzProperty {
  const schemas = protocolSchemas();
  // socket payloads: any JSON, plus objects shaped like the schemas' keys with hostile values
  const hostile = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.constantFrom('__proto__', 'constructor', '', '\u0000', 'x'.repeat(5000)),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.anything(), { maxLength: 4 }),
  );
  const keys = fc.constantFrom(
    'roomId',
    'participantId',
    'muted',
    'locked',
    'target',
    'name',
    'pin',
    'displayName',
    'text',
    'transportId',
    'kind',
    'rtpParameters',
    'dtlsParameters',
    'messageId',
    'from',
    'to',
    'limit',
    'offset',
    '__proto__',
  );
  const payload = fc.oneof(
    fc.jsonValue(),
    fc.anything(),
    fc.dictionary(keys, hostile, { maxKeys: 6 }),
    fc.string({ unit: 'binary' }).map((s) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return s;
      }
    }),
  );
  return {
    name: `protocol schemas (${schemas.length}): safeParse never throws`,
    async run(numRuns, seed) {
      fc.assert(
        fc.property(fc.constantFrom(...schemas), payload, ([name, schema], p) => {
          const r = schema.safeParse(p);
          if (!r.success && r.error.name !== 'ZodError') throw new Error(`${name}: not a ZodError`);
        }),
        { numRuns, seed },
      );
    },
  };
}

/** All properties, in the order the bench prints them. */
export function fuzzProperties(): FuzzProperty[] {
  const sip = sipSeeds();
  return [parserProperty(sip), transportProperty(sip), sdpProperty(sdpSeeds()), protocolProperty()];
}
