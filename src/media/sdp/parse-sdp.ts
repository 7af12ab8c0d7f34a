import * as sdpTransform from 'sdp-transform';

import { SdpNegotiationError } from './sdp-negotiation-error';
import { SdpDirection } from './sdp-types';
import type {
  DtlsSetup,
  IpVersion,
  SdesCrypto,
  SdpDtls,
  SdpIce,
  SdesKeyParam,
  SdpAddress,
  SdpMediaDescription,
  SdpPayloadFormat,
  SdpSessionDescription,
} from './sdp-types';

/** RFC 3551 §6 static payload types: valid in an m-line without any `a=rtpmap` (RFC 4566 §6). */
const STATIC_PAYLOAD_TYPES: Record<number, { name: string; clockRate: number; channels?: number }> = {
  0: { name: 'PCMU', clockRate: 8000 },
  3: { name: 'GSM', clockRate: 8000 },
  4: { name: 'G723', clockRate: 8000 },
  5: { name: 'DVI4', clockRate: 8000 },
  6: { name: 'DVI4', clockRate: 16000 },
  7: { name: 'LPC', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 },
  // G.722's RTP clock rate is 8000 although it samples at 16 kHz (RFC 3551 §4.5.2).
  9: { name: 'G722', clockRate: 8000 },
  10: { name: 'L16', clockRate: 44100, channels: 2 },
  11: { name: 'L16', clockRate: 44100 },
  12: { name: 'QCELP', clockRate: 8000 },
  13: { name: 'CN', clockRate: 8000 },
  14: { name: 'MPA', clockRate: 90000 },
  15: { name: 'G728', clockRate: 8000 },
  16: { name: 'DVI4', clockRate: 11025 },
  17: { name: 'DVI4', clockRate: 22050 },
  18: { name: 'G729', clockRate: 8000 },
  25: { name: 'CelB', clockRate: 90000 },
  26: { name: 'JPEG', clockRate: 90000 },
  28: { name: 'nv', clockRate: 90000 },
  31: { name: 'H261', clockRate: 90000 },
  32: { name: 'MPV', clockRate: 90000 },
  33: { name: 'MP2T', clockRate: 90000 },
  34: { name: 'H263', clockRate: 90000 },
};

const DIRECTIONS = new Set<string>(Object.values(SdpDirection));

/** True for the RTP-based transport protocols (RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, TCP/RTP/AVP...). */
export function isRtpProto(proto: string): boolean {
  return /(^|\/)RTP\//i.test(proto);
}

/** True for a protocol Parley can serve on a PlainTransport: plain RTP or SDES-SRTP over UDP. */
export function isPlainRtpProto(proto: string): boolean {
  return /^RTP\/S?AVPF?$/i.test(proto);
}

export function isSrtpProto(proto: string): boolean {
  return /^RTP\/SAVPF?$/i.test(proto);
}

/** DTLS-SRTP profiles (RFC 5764 §8, RFC 8842): `UDP/TLS/RTP/SAVPF` of WebRTC (JSEP §5.1.2), and TCP/DTLS variants. */
export function isDtlsSrtpProto(proto: string): boolean {
  return /^(UDP|TCP)(\/DTLS|\/TLS)+\/RTP\/SAVPF?$/i.test(proto);
}

const SETUP_ROLES = new Set<string>(['actpass', 'active', 'passive', 'holdconn']);

function bad(reason: string): never {
  throw new SdpNegotiationError(400, reason);
}

function parseAddress(conn: { version: number; ip: string } | undefined): SdpAddress | undefined {
  if (!conn) return undefined;
  // c=IN IP4 224.2.1.1/127/3: drop TTL / number of addresses (RFC 4566 §5.7). sdp-transform hands a
  // numeric-looking address ("c=IN IP4 1") over as a number: read it as the text it was.
  const address = String(conn.ip).split('/')[0];
  if (!address) return undefined;
  const ipVersion: IpVersion = conn.version === 6 || address.includes(':') ? 6 : 4;
  return { address, ipVersion };
}

/** Split an fmtp config into name/value pairs, keeping values as strings (`profile-level-id=42e01f`). */
export function parseFmtp(config: string): Record<string, string> {
  const out: Record<string, string> = {};
  // String(): sdp-transform hands a numeric config ("a=fmtp:101 0") over as a number.
  for (const part of String(config).split(';')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      // telephone-event's `0-15` or other value-only configs.
      out[item] = '';
    } else {
      out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
    }
  }
  return out;
}

/** RFC 4568 §9.1: `inline:<key||salt>["|" lifetime]["|" MKI ":" length]`, several separated by `;`. */
export function parseSdesKeyParams(config: string): SdesKeyParam[] {
  const out: SdesKeyParam[] = [];
  for (const raw of config.split(';')) {
    const param = raw.trim();
    if (!param.toLowerCase().startsWith('inline:')) continue;
    const [key, ...rest] = param.slice('inline:'.length).split('|');
    const kp: SdesKeyParam = { keySaltBase64: key ?? '' };
    for (const r of rest) {
      if (r.includes(':')) {
        const [v, l] = r.split(':');
        kp.mki = { value: Number(v), length: Number(l) };
      } else if (r) {
        kp.lifetime = r;
      }
    }
    out.push(kp);
  }
  return out;
}

/**
 * a=crypto lines of each m-section, read from the raw text: sdp-transform keeps only the first session
 * parameter of a line, and RFC 4568 §9.1 allows several.
 */
function rawCryptoBySection(sdp: string): SdesCrypto[][] {
  const sections: SdesCrypto[][] = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push([]);
    const m = /^a=crypto:(\d+)\s+(\S+)\s+(\S+)(?:\s+(.*\S))?\s*$/.exec(line);
    if (m && sections.length > 0) {
      sections[sections.length - 1].push({
        tag: Number(m[1]),
        suite: m[2],
        keyParams: parseSdesKeyParams(m[3]),
        sessionParams: m[4] ? m[4].split(/\s+/) : [],
      });
    }
  }
  return sections;
}

/**
 * a=fingerprint lines (RFC 8122 §5) of the session (index 0) and of each m-section (index 1..n), read from the raw
 * text: sdp-transform keeps one per level, and RFC 8122 §5 allows several (one per certificate or hash function).
 */
function rawFingerprintsByLevel(sdp: string): { algorithm: string; value: string }[][] {
  const levels: { algorithm: string; value: string }[][] = [[]];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) levels.push([]);
    const m = /^a=fingerprint:\s*(\S+)\s+([0-9A-Fa-f:]+)\s*$/.exec(line);
    if (m) levels[levels.length - 1].push({ algorithm: m[1].toLowerCase(), value: m[2] });
  }
  return levels;
}

/** Checks the handful of lines sdp-transform silently skips, so that garbage gives a 400, not an empty model. */
function checkSyntax(sdp: string): void {
  const lines = sdp.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) bad('empty SDP body');
  if (!/^v=0\s*$/.test(lines[0] ?? '')) bad('SDP must start with v=0 (RFC 4566 §5)');
  let origin = false;
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) bad(`malformed SDP line: ${JSON.stringify(line.slice(0, 60))}`);
    if (line.startsWith('o=')) {
      if (line.slice(2).trim().split(/\s+/).length !== 6) bad('malformed o= line');
      origin = true;
    } else if (line.startsWith('m=')) {
      if (!/^m=[a-zA-Z0-9_-]+ \d+(\/\d+)? \S+( \S+)*\s*$/.test(line)) bad(`malformed m= line: ${line}`);
    } else if (line.startsWith('c=')) {
      if (!/^c=IN IP[46] \S+\s*$/.test(line)) bad(`malformed c= line: ${line}`);
    }
  }
  if (!origin) bad('SDP without o= line');
}

/**
 * Parses an SDP body (offer or answer) into the normalized model. Throws `SdpNegotiationError` 400 when the body
 * is not SDP or lacks what RFC 4566 requires (v=, o=, a connection address for each active RTP m-line, PTs 0-127).
 */
export function parseSdp(sdp: string): SdpSessionDescription {
  if (typeof sdp !== 'string') bad('SDP body is not text');
  checkSyntax(sdp);
  let parsed: sdpTransform.SessionDescription;
  try {
    parsed = sdpTransform.parse(sdp);
  } catch (err) {
    bad(`unparseable SDP: ${(err as Error).message}`);
  }
  const cryptoBySection = rawCryptoBySection(sdp);
  const fingerprints = rawFingerprintsByLevel(sdp);
  const sessionLite = parsed.icelite === 'ice-lite';
  const splitOptions = (o: string | undefined): string[] => (o ? o.split(/\s+/).filter(Boolean) : []);
  const sessionConnection = parseAddress(parsed.connection);
  const sessionDirection =
    parsed.direction && DIRECTIONS.has(parsed.direction) ? (parsed.direction as SdpDirection) : undefined;

  const media = (parsed.media ?? []).map((m, index): SdpMediaDescription => {
    const kind = String(m.type).toLowerCase();
    const proto = String(m.protocol);
    const formats =
      m.payloads !== undefined && m.payloads !== null ? String(m.payloads).split(/\s+/).filter(Boolean) : [];
    const connection = parseAddress(m.connection) ?? sessionConnection;
    const rtp = isRtpProto(proto);
    if (rtp && m.port !== 0 && !connection) bad(`m-line ${index} (${kind}) has no connection address`);

    const payloads: SdpPayloadFormat[] = [];
    if (rtp) {
      for (const f of formats) {
        if (!/^\d+$/.test(f) || Number(f) > 127)
          bad(`invalid RTP payload type ${JSON.stringify(f)} in m-line ${index}`);
        const pt = Number(f);
        const rtpmap = (m.rtp ?? []).find((r) => r.payload === pt);
        const fmtpLine = (m.fmtp ?? []).find((x) => x.payload === pt);
        const fb = (m.rtcpFb ?? [])
          .filter((x) => x.payload === pt || x.payload === '*' || String(x.payload) === String(pt))
          .map((x) => (x.subtype ? { type: x.type, parameter: x.subtype } : { type: x.type }));
        let fmt: SdpPayloadFormat | undefined;
        if (rtpmap) {
          fmt = {
            payloadType: pt,
            encodingName: rtpmap.codec,
            clockRate: Number(rtpmap.rate ?? 0),
            channels: rtpmap.encoding !== undefined ? Number(rtpmap.encoding) : undefined,
            fmtp: {},
            rtcpFeedback: fb,
            hasRtpmap: true,
          };
        } else if (STATIC_PAYLOAD_TYPES[pt]) {
          const s = STATIC_PAYLOAD_TYPES[pt];
          fmt = {
            payloadType: pt,
            encodingName: s.name,
            clockRate: s.clockRate,
            channels: s.channels,
            fmtp: {},
            rtcpFeedback: fb,
            hasRtpmap: false,
          };
        } else {
          // A dynamic PT without rtpmap cannot be interpreted; keep it as unknown so it is never selected.
          fmt = {
            payloadType: pt,
            encodingName: '',
            clockRate: 0,
            fmtp: {},
            rtcpFeedback: fb,
            hasRtpmap: false,
          };
        }
        if (fmtpLine) {
          fmt.fmtp = parseFmtp(fmtpLine.config);
          fmt.fmtpRaw = fmtpLine.config;
        }
        payloads.push(fmt);
      }
    }

    let direction =
      m.direction && DIRECTIONS.has(m.direction)
        ? (m.direction as SdpDirection)
        : (sessionDirection ?? SdpDirection.SendRecv);
    // ICE (RFC 8839 §4.2, JSEP §5.2.1): the candidates say where media goes; c=IN IP4 0.0.0.0 (port 9) is only a
    // placeholder before gathering, never a hold.
    const ufrag = m.iceUfrag ?? parsed.iceUfrag;
    const pwd = m.icePwd ?? parsed.icePwd;
    const candidates = (m.candidates ?? []).length;
    const hasIce = Boolean(ufrag ?? candidates > 0);
    // RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 way of "do not send to me"; fold it into the direction.
    const oldStyleHold = connection?.address === '0.0.0.0' && !hasIce;
    if (oldStyleHold) {
      if (direction === SdpDirection.SendRecv) direction = SdpDirection.SendOnly;
      else if (direction === SdpDirection.RecvOnly) direction = SdpDirection.Inactive;
    }

    const rtcpMux = m.rtcpMux === 'rtcp-mux';
    // RFC 3605: a=rtcp gives the RTCP port (and address); otherwise RTCP is on port+1 (RFC 3550 §11).
    const rtcpPort = m.rtcp?.port !== undefined ? Number(m.rtcp.port) : m.port === 0 ? 0 : m.port + 1;
    const rtcpAddress = m.rtcp?.address
      ? { address: m.rtcp.address, ipVersion: (m.rtcp.ipVer === 6 ? 6 : 4) as IpVersion }
      : undefined;

    const ssrcs: number[] = [];
    let cname: string | undefined;
    for (const s of m.ssrcs ?? []) {
      const id = Number(s.id);
      if (!ssrcs.includes(id)) ssrcs.push(id);
      if (s.attribute === 'cname' && cname === undefined) cname = s.value;
    }

    return {
      index,
      kind,
      port: Number(m.port),
      proto,
      formats,
      payloads,
      connection,
      rtcpPort,
      rtcpAddress,
      rtcpMux,
      direction,
      oldStyleHold,
      ptime: m.ptime !== undefined ? Number(m.ptime) : undefined,
      maxptime: m.maxptime !== undefined ? Number(m.maxptime) : undefined,
      crypto: cryptoBySection[index] ?? [],
      mid: m.mid !== undefined ? String(m.mid) : undefined,
      ssrcs,
      cname,
      hasFingerprint: Boolean(m.fingerprint ?? parsed.fingerprint),
      hasIce,
      ...(ufrag !== undefined && pwd !== undefined
        ? {
            ice: {
              ufrag: String(ufrag),
              pwd: String(pwd),
              options: splitOptions(m.iceOptions ?? parsed.iceOptions),
              lite: sessionLite,
            } satisfies SdpIce,
          }
        : {}),
      ...dtlsOf(fingerprints[index + 1], fingerprints[0], m.setup ?? parsed.setup),
      extmaps: (m.ext ?? []).map((e) => ({
        id: Number(e.value),
        uri: e.uri,
        ...(e.direction ? { direction: e.direction } : {}),
      })),
      candidates,
      bundleOnly: m.bundleOnly === 'bundle-only',
      ...(m.msid ? { msid: String(m.msid) } : {}),
    };
  });

  return {
    origin: {
      username: String(parsed.origin?.username ?? '-'),
      sessionId: String(parsed.origin?.sessionId ?? '0'),
      sessionVersion: String(parsed.origin?.sessionVersion ?? '0'),
      address: String(parsed.origin?.address ?? ''),
    },
    sessionName: String(parsed.name ?? ''),
    connection: sessionConnection,
    direction: sessionDirection,
    groups: (parsed.groups ?? []).map((g) => ({
      semantics: String(g.type).toUpperCase(),
      mids: String(g.mids).split(/\s+/).filter(Boolean),
    })),
    media,
  };
}

/** The m-section's DTLS parameters: its own fingerprints, else the session's (RFC 8122 §5). */
function dtlsOf(
  media: { algorithm: string; value: string }[] | undefined,
  session: { algorithm: string; value: string }[] | undefined,
  setup: string | undefined,
): { dtls?: SdpDtls } {
  const fps = media && media.length > 0 ? media : (session ?? []);
  if (fps.length === 0) return {};
  const role = setup?.toLowerCase();
  return {
    dtls: {
      fingerprints: fps,
      ...(role && SETUP_ROLES.has(role) ? { setup: role as DtlsSetup } : {}),
    },
  };
}

/** Parses the SDP offer of an INVITE / re-INVITE / UPDATE. Same as `parseSdp`, named for the call sites. */
export const parseOffer = parseSdp;
