import { isIP } from 'node:net';

import type { types } from 'mediasoup';

import {
  channelsOf,
  findLocalCodec,
  isServedCodecName,
  isTelephoneEvent,
  parseH264ProfileLevelId,
  toMediasoupParameters,
} from './codec-matching';
import type {
  AcceptedMedia,
  LocalCapabilities,
  NegotiateOptions,
  NegotiatedCodec,
  NegotiatedMedia,
  NegotiatedSession,
  RejectedMedia,
  WebRtcMedia,
} from './negotiated-session';
import { isDtlsSrtpProto, isPlainRtpProto, isSrtpProto, parseSdp } from './parse-sdp';
import { selectCrypto, SUPPORTED_CRYPTO_SUITES } from './sdes-crypto';
import type { SelectedCrypto } from './sdes-crypto';
import { SdpNegotiationError } from './sdp-negotiation-error';
import { SdpDirection } from './sdp-types';
import type { SdpMediaDescription, SdpPayloadFormat, SdpSessionDescription } from './sdp-types';

/** RFC 1918, RFC 6598 (CGNAT), link-local, RFC 4193 ULA and IPv6 link-local: addresses not routable from outside. */
export function isPrivateAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) {
    const [a, b] = ip.split('.').map(Number);
    return (
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254)
    );
  }
  if (v === 6) {
    const l = ip.toLowerCase();
    if (l.startsWith('::ffff:')) return isPrivateAddress(l.slice(7));
    return /^f[cd]/.test(l) || /^fe[89ab]/.test(l);
  }
  return false;
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::' || isIP(ip) === 0;
}

function decideComedia(address: string, opts: NegotiateOptions): { comedia: boolean; reason?: string } {
  const mode = opts.comedia ?? 'auto';
  if (mode === 'always') return { comedia: true, reason: 'forced' };
  if (mode === 'never') return { comedia: false };
  if (isUnspecified(address)) return { comedia: true, reason: `unusable SDP address ${address}` };
  const src = opts.signallingSourceIp;
  if (src !== undefined) {
    if (src !== address)
      return { comedia: true, reason: `SDP address ${address} differs from signalling source ${src}` };
    return { comedia: false };
  }
  if (isPrivateAddress(address)) return { comedia: true, reason: `private SDP address ${address}` };
  return { comedia: false };
}

const sends = (d: SdpDirection): boolean => d === SdpDirection.SendRecv || d === SdpDirection.SendOnly;
const receives = (d: SdpDirection): boolean => d === SdpDirection.SendRecv || d === SdpDirection.RecvOnly;

function directionOf(send: boolean, recv: boolean): SdpDirection {
  if (send && recv) return SdpDirection.SendRecv;
  if (send) return SdpDirection.SendOnly;
  if (recv) return SdpDirection.RecvOnly;
  return SdpDirection.Inactive;
}

/**
 * RFC 3264 §6.1: sendonly offer → recvonly answer, recvonly → sendonly, inactive → inactive, sendrecv → any;
 * intersected with what Parley wants on this leg.
 */
export function answerDirection(
  offered: SdpDirection,
  local: SdpDirection = SdpDirection.SendRecv,
): SdpDirection {
  return directionOf(receives(offered) && sends(local), sends(offered) && receives(local));
}

function reject(m: SdpMediaDescription, reason: string): RejectedMedia {
  return {
    index: m.index,
    accepted: false,
    kind: m.kind,
    proto: m.proto,
    ...(m.mid !== undefined ? { mid: m.mid } : {}),
    // RFC 3264 §6: the rejected stream keeps its m-line; one format from the offer is enough.
    formats: m.formats.length > 0 ? [m.formats[0]] : ['0'],
    reason,
  };
}

function negotiatedCodec(
  kind: types.MediaKind,
  fmt: SdpPayloadFormat,
  local: types.RtpCodecCapability,
  avpf = false,
  webRtc?: WebRtcMedia,
): NegotiatedCodec {
  const parameters = toMediasoupParameters(fmt.fmtp);
  let fmtp: string | undefined;
  const name = fmt.encodingName;
  const lname = name.toLowerCase();
  if (lname === 'h264') {
    // RFC 6184 §8.2.2: answer the offered profile at a level not above either side's.
    const offered = parseH264ProfileLevelId(fmt.fmtp['profile-level-id']);
    const ours = parseH264ProfileLevelId(local.parameters?.['profile-level-id'] as string | undefined);
    const plid = (fmt.fmtp['profile-level-id'] ?? '420010').toLowerCase();
    const level = Math.min(offered?.level ?? 0x1f, ours?.level ?? 0x1f);
    const levelHex = level.toString(16).padStart(2, '0');
    // Our SDP keeps the offered profile (RFC 6184 §8.2.2); mediasoup gets the router's, which it matches strictly.
    fmtp = `profile-level-id=${plid.slice(0, 4)}${levelHex};packetization-mode=1;level-asymmetry-allowed=1`;
    const localPlid = String(local.parameters?.['profile-level-id'] ?? '42e01f').toLowerCase();
    parameters['profile-level-id'] = localPlid.slice(0, 4) + levelHex;
    parameters['packetization-mode'] = 1;
  } else if (lname === 'opus') {
    fmtp = 'useinbandfec=1';
  } else if (isTelephoneEvent(name)) {
    fmtp = fmt.fmtp && Object.keys(fmt.fmtp).length > 0 ? (fmt.fmtpRaw ?? '0-16') : '0-16';
  }
  let rtcpFeedback: types.RtcpFeedback[] = fmt.rtcpFeedback.map((f) =>
    f.parameter ? { type: f.type, parameter: f.parameter } : { type: f.type },
  );
  if (webRtc) rtcpFeedback = rtcpFeedback.filter((f) => webRtcFeedbackServed(f, webRtc));
  else if (kind === 'video' && !avpf) {
    // Keyframe requests keep an SFU usable when a consumer joins; AVP phones ignore RTCP-FB they do not know.
    // Under AVPF the phone listed what it supports (RFC 4585 §4.2) and we keep to that list.
    if (!rtcpFeedback.some((f) => f.type === 'nack' && f.parameter === 'pli'))
      rtcpFeedback.push({ type: 'nack', parameter: 'pli' });
    if (!rtcpFeedback.some((f) => f.type === 'ccm' && f.parameter === 'fir'))
      rtcpFeedback.push({ type: 'ccm', parameter: 'fir' });
  }
  return {
    kind,
    mimeType: local.mimeType,
    encodingName: name,
    clockRate: fmt.clockRate,
    channels: channelsOf(kind, fmt),
    payloadType: fmt.payloadType,
    routerPayloadType: local.preferredPayloadType,
    parameters,
    rtcpFeedback,
    fmtp,
  };
}

interface Candidate {
  fmt: SdpPayloadFormat;
  local: types.RtpCodecCapability;
}

/**
 * `router-pt-only`: ICE/DTLS m-lines end on a WebRtcTransport with no relay to rewrite payload types, and mediasoup
 * consumers always send the router's PT; the browser decodes only the PTs of its offer (RFC 3264 §5.1). So only
 * codecs the offer numbers as the router does are eligible (Chrome: opus 111; Firefox: opus is 109, G.722 9 is).
 */
type CodecChoice = NegotiateOptions['codecPreference'] | 'router-pt-only';

function chooseCodec(
  kind: types.MediaKind,
  formats: readonly SdpPayloadFormat[],
  caps: LocalCapabilities,
  preference: CodecChoice,
): Candidate | undefined {
  const candidates: Candidate[] = [];
  for (const fmt of formats) {
    if (!isServedCodecName(kind, fmt.encodingName)) continue;
    const local = findLocalCodec(kind, fmt, caps.codecs);
    if (local) candidates.push({ fmt, local });
  }
  if (preference === 'router-pt-only')
    return candidates.find((c) => c.fmt.payloadType === c.local.preferredPayloadType);
  if (preference === 'prefer-router-pt') {
    const same = candidates.find((c) => c.fmt.payloadType === c.local.preferredPayloadType);
    if (same) return same;
  }
  return candidates[0];
}

/**
 * telephone-event at the main codec's clock rate (RFC 4733 §2.1); else any offered rate the router has. With
 * `router-pt-only` (ICE/DTLS m-lines) only a format the offer numbers as the router does is eligible: Chrome offers
 * /48000 at 110 (the router's) and /8000 at 126 (the router's is 101), so /48000 is answered and /8000 is not.
 */
function chooseTelephoneEvent(
  formats: readonly SdpPayloadFormat[],
  clockRate: number,
  caps: LocalCapabilities,
  preference?: CodecChoice,
): Candidate | undefined {
  const tes = formats
    .filter((f) => isTelephoneEvent(f.encodingName))
    .map((fmt) => ({ fmt, local: findLocalCodec('audio', fmt, caps.codecs) }))
    .filter((c): c is Candidate => c.local !== undefined)
    .filter((c) => preference !== 'router-pt-only' || c.fmt.payloadType === c.local.preferredPayloadType);
  return tes.find((c) => c.fmt.clockRate === clockRate) ?? tes[0];
}

/**
 * RTP parameters for `transport.produce()`: the phone's PTs (mediasoup maps them to the router's), one encoding
 * with the phone's SSRC. Without an SSRC the encodings are left empty, which mediasoup 3.19 rejects for a
 * PlainTransport without MID: learn the SSRC first (see `AcceptedMedia.needsSsrcLatch`).
 */
export function buildProducerRtpParameters(
  media: Pick<AcceptedMedia, 'codec' | 'telephoneEvent' | 'mid' | 'remote' | 'webRtc'>,
  ssrc: number | undefined = media.remote.ssrc,
): types.RtpParameters {
  const toParams = (c: NegotiatedCodec): types.RtpCodecParameters => ({
    mimeType: c.mimeType,
    payloadType: c.payloadType,
    clockRate: c.clockRate,
    ...(c.channels !== undefined ? { channels: c.channels } : {}),
    parameters: { ...c.parameters },
    rtcpFeedback: c.rtcpFeedback.map((f) => ({ ...f })),
  });
  const codecs = [toParams(media.codec)];
  if (media.telephoneEvent) codecs.push(toParams(media.telephoneEvent));
  const w = media.webRtc;
  // WebRTC: mediasoup's RtpListener also matches by the MID header extension (RFC 8843 §15), so a stream whose
  // SSRC was not announced (or changes) still reaches the Producer.
  const byMid =
    w !== undefined && media.mid !== undefined && w.headerExtensions.some((e) => e.uri === MID_URI);
  return {
    codecs,
    headerExtensions: w
      ? w.headerExtensions.map((e) => ({ uri: e.uri as types.RtpHeaderExtensionUri, id: e.id }))
      : [],
    encodings: ssrc !== undefined ? [{ ssrc }] : byMid ? [{}] : [],
    ...(byMid ? { mid: media.mid } : {}),
    // RFC 5761 / RFC 5506: WebRTC endpoints mux RTCP and accept reduced-size RTCP when they offer a=rtcp-rsize.
    rtcp: media.remote.cname ? { cname: media.remote.cname, reducedSize: false } : { reducedSize: false },
  };
}

const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

/** RTCP feedback we answer on an ICE/DTLS m-line: what mediasoup implements, and only with its extension. */
function webRtcFeedbackServed(f: types.RtcpFeedback, w: WebRtcMedia): boolean {
  const has = (uri: string): boolean => w.headerExtensions.some((e) => e.uri === uri);
  switch (f.type) {
    case 'transport-cc':
      return has(TWCC_URI);
    case 'goog-remb':
      return has(ABS_SEND_TIME_URI);
    case 'nack':
      return f.parameter === undefined || f.parameter === 'pli';
    case 'ccm':
      return f.parameter === 'fir';
    default:
      return false;
  }
}

const DTLS_HASHES = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);

/**
 * The ICE and DTLS half of a WebRTC m-line (JSEP, RFC 8829 §5.3.1), or why it cannot be served. An ICE-lite answerer
 * (RFC 8445 §2.5) needs the offerer's credentials only for the record; DTLS needs a fingerprint we can verify.
 */
function webRtcOf(
  remote: SdpMediaDescription,
  known: readonly types.RtpHeaderExtension[],
  bundle: readonly string[],
): WebRtcMedia | string {
  if (!remote.ice) return 'ICE/DTLS m-line without a=ice-ufrag/a=ice-pwd (RFC 8839 §5.4)';
  // RFC 8842 §5.1: an offer MUST carry a=fingerprint for DTLS-SRTP.
  const fingerprints = (remote.dtls?.fingerprints ?? []).filter((f) => DTLS_HASHES.has(f.algorithm));
  if (fingerprints.length === 0) return 'DTLS-SRTP m-line without a usable a=fingerprint (RFC 8122 §5)';
  // RFC 8834 §5.1.1 / JSEP §5.1.1: WebRTC endpoints multiplex RTP and RTCP; mediasoup's WebRtcTransport only muxes.
  if (!remote.rtcpMux) return 'ICE/DTLS m-line without a=rtcp-mux (RFC 5761)';
  // RFC 4145 §4.1: no a=setup means active. RFC 5763 §5: the answerer to actpass picks a role; holdconn is refused.
  const setup = remote.dtls?.setup ?? 'active';
  if (setup === 'holdconn') return 'a=setup:holdconn (RFC 4145 §4) not served';
  const localSetup = setup === 'passive' ? 'active' : 'passive';
  // An extmap in the answer holds both ways (RFC 8285 §6), and mediasoup sends its consumers' extensions under the
  // router's ids: answer only those the offer numbers the same way. Answering the MID extension under the browser's
  // id 4 while our packets carry none (mediasoup's MID is id 1) makes Chrome drop every packet we send.
  const headerExtensions = remote.extmaps
    .filter((e) => known.some((k) => k.kind === remote.kind && k.uri === e.uri && k.preferredId === e.id))
    .map((e) => ({ id: e.id, uri: e.uri }));
  return {
    remoteIce: { ufrag: remote.ice.ufrag, pwd: remote.ice.pwd },
    dtlsParameters: {
      // mediasoup takes the remote's role: an offerer answered `passive` is the DTLS client.
      role: localSetup === 'passive' ? 'client' : 'server',
      fingerprints: fingerprints.map((f) => ({
        algorithm: f.algorithm as types.FingerprintAlgorithm,
        value: f.value.toUpperCase(),
      })),
    },
    localSetup,
    headerExtensions,
    bundled: remote.mid !== undefined && bundle.includes(remote.mid),
  };
}

/** `rtpCapabilities` for `transport.consume()` with the phone's PTs as preferredPayloadType (informative). */
function consumerCapabilities(
  codec: NegotiatedCodec,
  te: NegotiatedCodec | undefined,
  headerExtensions: types.RtpHeaderExtension[] = [],
): AcceptedMedia['consumer'] {
  const cap = (c: NegotiatedCodec): types.RtpCodecCapability => ({
    kind: c.kind,
    mimeType: c.mimeType,
    preferredPayloadType: c.payloadType,
    clockRate: c.clockRate,
    ...(c.channels !== undefined ? { channels: c.channels } : {}),
    parameters: { ...c.parameters },
    rtcpFeedback: c.rtcpFeedback
      .filter((f) => f.type !== 'transport-cc' && f.type !== 'goog-remb')
      .map((f) => ({ ...f })),
  });
  const mismatches: AcceptedMedia['consumer']['payloadTypeMismatches'] = [];
  const codecs = [cap(codec)];
  if (codec.payloadType !== codec.routerPayloadType) {
    mismatches.push({
      mimeType: codec.mimeType,
      phonePayloadType: codec.payloadType,
      routerPayloadType: codec.routerPayloadType,
    });
  }
  if (te) {
    if (te.payloadType === te.routerPayloadType) codecs.push(cap(te));
    // Otherwise leave DTMF out of the consumer so the phone never gets events under a PT it did not negotiate.
    else
      mismatches.push({
        mimeType: te.mimeType,
        phonePayloadType: te.payloadType,
        routerPayloadType: te.routerPayloadType,
      });
  }
  return { rtpCapabilities: { codecs, headerExtensions }, payloadTypeMismatches: mismatches };
}

/**
 * Header extensions a consumer may put on the wire to a WebRTC endpoint: mediasoup writes the router's ids
 * (ortc.getConsumerRtpParameters keeps an extension only when the capability's preferredId equals the router's),
 * so only those the offer numbers as the router does; the others are simply not sent (RFC 8285 §6 makes sending
 * a negotiated extension optional).
 */
function consumerExtensions(
  w: WebRtcMedia,
  kind: types.MediaKind,
  caps: LocalCapabilities,
): types.RtpHeaderExtension[] {
  return (caps.webRtc?.headerExtensions ?? [])
    .filter(
      (h) => h.kind === kind && w.headerExtensions.some((e) => e.uri === h.uri && e.id === h.preferredId),
    )
    .map((h) => ({ ...h }));
}

interface MediaContext {
  caps: LocalCapabilities;
  opts: NegotiateOptions;
  servedKinds: Set<string>;
  /** The mids of the offer's first BUNDLE group (RFC 8843 §7). */
  bundle: readonly string[];
}

/**
 * Core of the per-m-line decision. `remote` is the phone's m-line (offer or answer); `fmtSource` the formats to
 * choose from; `producerPt` maps a chosen codec to the PT the phone sends with (offerer case: our offered PT).
 */
function negotiateMedia(
  remote: SdpMediaDescription,
  ctx: MediaContext,
  choose: (kind: types.MediaKind) => {
    codec?: Candidate;
    te?: Candidate;
    producerPt?: (c: Candidate) => number;
  },
  crypto: () => { selected?: SelectedCrypto; why?: string },
  ourDirection: (remoteDir: SdpDirection) => SdpDirection,
  rtcpMuxDecision: (remoteMux: boolean) => boolean,
): NegotiatedMedia {
  const { caps, opts } = ctx;
  if (remote.port === 0) return reject(remote, 'stream disabled by the offerer (port 0)');
  if (remote.kind !== 'audio' && remote.kind !== 'video')
    return reject(remote, `${remote.kind} media not served`);
  const kind = remote.kind as types.MediaKind;
  if (kind === 'video' && caps.video === false) return reject(remote, 'video disabled');
  let webRtc: WebRtcMedia | undefined;
  if (isDtlsSrtpProto(remote.proto)) {
    if (!caps.webRtc) return reject(remote, `DTLS-SRTP (${remote.proto}) not served`);
    // One WebRtcTransport per leg: a bundled video m-line would need the audio leg's transport.
    if (kind !== 'audio') return reject(remote, `${kind} over ICE/DTLS-SRTP not served`);
    const w = webRtcOf(remote, caps.webRtc.headerExtensions, ctx.bundle);
    if (typeof w === 'string') return reject(remote, w);
    webRtc = w;
  } else if (!isPlainRtpProto(remote.proto)) {
    return reject(
      remote,
      /UDP\/TLS/i.test(remote.proto)
        ? `DTLS-SRTP (${remote.proto}) not served`
        : `transport ${remote.proto} not served`,
    );
  }
  if (ctx.servedKinds.has(kind)) return reject(remote, `only one ${kind} stream per call`);
  const srtpPolicy = caps.srtp ?? 'optional';
  const srtp = isSrtpProto(remote.proto);
  if (srtp && srtpPolicy === 'disabled') return reject(remote, 'SRTP disabled by policy');
  if (!srtp && !webRtc && srtpPolicy === 'required')
    return reject(remote, 'SRTP required by policy, offer is unencrypted RTP');

  const choice = choose(kind);
  if (!choice.codec) {
    const names = remote.payloads.map((p) => p.encodingName || String(p.payloadType)).join(', ');
    return reject(
      remote,
      webRtc
        ? `no ${kind} codec at the router's payload type (offered: ${names || 'none'})`
        : `no common ${kind} codec (offered: ${names || 'none'})`,
    );
  }
  if (webRtc && choice.producerPt) return reject(remote, 'ICE/DTLS m-lines are served as answerer only');
  if (
    webRtc &&
    remote.ssrcs.length === 0 &&
    !webRtc.headerExtensions.some((e) => e.uri === MID_URI && remote.mid !== undefined)
  )
    return reject(remote, 'neither a=ssrc nor the MID header extension: the stream cannot be matched');

  let selected: SelectedCrypto | undefined;
  if (srtp) {
    // RFC 4568 §7.1.2: an RTP/SAVP stream without an acceptable crypto attribute is rejected.
    const c = crypto();
    if (!c.selected) return reject(remote, `no acceptable a=crypto (${c.why ?? 'none offered'})`);
    selected = c.selected;
  }
  // RFC 4568 §5: a=crypto under RTP/AVP means nothing; such lines are ignored (no best-effort SRTP).

  const codec = negotiatedCodec(
    kind,
    choice.codec.fmt,
    choice.codec.local,
    /AVPF$/i.test(remote.proto),
    webRtc,
  );
  // On ICE/DTLS m-lines RFC 4733 events end in the Producer and are read by the room's mixer from its consumer of
  // it: answered only where the router's consumers forward telephone-event (stock mediasoup forwards media codecs
  // only, Consumer.cpp); otherwise such callers send DTMF by SIP INFO (RFC 6086). `choose` already kept only a
  // format at the router's PT, so the Producer accepts the events and nothing unnegotiated is ever sent back.
  const teServed = !webRtc || caps.webRtc?.telephoneEvent === true;
  const te = choice.te && teServed ? negotiatedCodec('audio', choice.te.fmt, choice.te.local) : undefined;
  const producerCodec = {
    ...codec,
    payloadType: choice.producerPt ? choice.producerPt(choice.codec) : codec.payloadType,
  };
  const producerTe =
    te && choice.te
      ? { ...te, payloadType: choice.producerPt ? choice.producerPt(choice.te) : te.payloadType }
      : undefined;

  const address = remote.connection?.address ?? '0.0.0.0';
  const ipVersion = remote.connection?.ipVersion ?? 4;
  const rtcpMux = webRtc ? true : rtcpMuxDecision(remote.rtcpMux);
  // ICE (RFC 8445) finds the path; comedia and connect() addresses belong to PlainTransports only.
  const { comedia, reason } = webRtc ? { comedia: false, reason: undefined } : decideComedia(address, opts);
  const direction = ourDirection(remote.direction);
  const srtpParameters: types.SrtpParameters | undefined = selected
    ? { cryptoSuite: selected.suite, keyBase64: selected.remoteKeyBase64 }
    : undefined;
  const ssrc = remote.ssrcs[0];
  const remoteInfo: AcceptedMedia['remote'] = {
    address,
    ipVersion,
    port: remote.port,
    ...(rtcpMux ? {} : { rtcpPort: remote.rtcpPort }),
    ...(ssrc !== undefined ? { ssrc } : {}),
    ...(remote.cname ? { cname: remote.cname } : {}),
  };
  // comedia without SRTP: nothing to connect (and connect({}) before the first packet aborts a worker built
  // without NDEBUG: flatbuffers asserts on the missing ConnectResponse.tuple).
  const connectParams: AcceptedMedia['connectParams'] = webRtc
    ? undefined
    : comedia
      ? srtpParameters
        ? { srtpParameters }
        : undefined
      : {
          ip: address,
          port: remote.port,
          ...(rtcpMux ? {} : { rtcpPort: remote.rtcpPort }),
          ...(srtpParameters ? { srtpParameters } : {}),
        };

  ctx.servedKinds.add(kind);
  const media: AcceptedMedia = {
    index: remote.index,
    accepted: true,
    kind,
    proto: remote.proto,
    ...(remote.mid !== undefined ? { mid: remote.mid } : {}),
    direction,
    remoteDirection: remote.direction,
    phoneSends: receives(direction),
    phoneReceives: sends(direction),
    codec,
    ...(te ? { telephoneEvent: te } : {}),
    ...(remote.ptime !== undefined ? { ptime: remote.ptime } : {}),
    ...(remote.maxptime !== undefined ? { maxptime: remote.maxptime } : {}),
    remote: remoteInfo,
    transportOptions: {
      rtcpMux,
      comedia,
      enableSrtp: selected !== undefined,
      ...(selected ? { srtpCryptoSuite: selected.suite } : {}),
    },
    ...(reason ? { comediaReason: reason } : {}),
    ...(connectParams ? { connectParams } : {}),
    ...(selected ? { srtp: selected } : {}),
    ...(webRtc ? { webRtc } : {}),
    producer: {
      kind,
      rtpParameters: buildProducerRtpParameters({
        codec: producerCodec,
        telephoneEvent: producerTe,
        remote: remoteInfo,
        ...(remote.mid !== undefined ? { mid: remote.mid } : {}),
        ...(webRtc ? { webRtc } : {}),
      }),
    },
    needsSsrcLatch: ssrc === undefined && !webRtc,
    consumer: consumerCapabilities(codec, te, webRtc ? consumerExtensions(webRtc, kind, caps) : []),
  };
  return media;
}

function allRejected(media: NegotiatedMedia[]): string {
  if (media.length === 0) return 'SDP has no media';
  return media.map((m) => `m-line ${m.index} ${m.kind}: ${m.accepted ? 'ok' : m.reason}`).join('; ');
}

/**
 * RFC 3264 §6 answerer side: decides, for each m-line of the phone's offer, whether and how Parley serves it.
 * Throws `SdpNegotiationError` 400 on unparseable SDP and 488 when no m-line can be served.
 */
export function negotiate(
  offer: string | SdpSessionDescription,
  caps: LocalCapabilities,
  opts: NegotiateOptions = {},
): NegotiatedSession {
  const parsed = typeof offer === 'string' ? parseSdp(offer) : offer;
  const bundle = parsed.groups.find((g) => g.semantics === 'BUNDLE')?.mids ?? [];
  const ctx: MediaContext = { caps, opts, servedKinds: new Set(), bundle };
  const suites = caps.cryptoSuites ?? SUPPORTED_CRYPTO_SUITES;
  const media = parsed.media.map((m) =>
    negotiateMedia(
      m,
      ctx,
      (kind) => {
        const preference = isDtlsSrtpProto(m.proto) ? 'router-pt-only' : opts.codecPreference;
        const codec = chooseCodec(kind, m.payloads, caps, preference);
        const te =
          codec && kind === 'audio'
            ? chooseTelephoneEvent(m.payloads, codec.fmt.clockRate, caps, preference)
            : undefined;
        return { codec, te };
      },
      () => {
        const r = selectCrypto(m.crypto, suites);
        return { selected: r.selected, why: r.rejected.join(', ') || undefined };
      },
      (remoteDir) => answerDirection(remoteDir, opts.localDirection),
      // RFC 5761 §5.1.1: the answerer multiplexes only when the offer has a=rtcp-mux.
      (remoteMux) => remoteMux,
    ),
  );
  if (!media.some((m) => m.accepted)) throw new SdpNegotiationError(488, allRejected(media));
  return { role: 'answerer', remoteOrigin: parsed.origin, media };
}

/**
 * RFC 3264 §7 offerer side: applies the phone's answer to the offer Parley made (`buildOffer`). The phone sends
 * with the PTs of our offer (RFC 3264 §5.1) and receives with those of its answer.
 * Throws `SdpNegotiationError` 400 on unparseable SDP or an answer that does not mirror the offer's m-lines
 * (RFC 3264 §6), 488 when every stream was rejected.
 */
export function applyAnswer(
  offerWeMade: string | SdpSessionDescription,
  answer: string | SdpSessionDescription,
  caps: LocalCapabilities,
  opts: NegotiateOptions = {},
): NegotiatedSession {
  const ours = typeof offerWeMade === 'string' ? parseSdp(offerWeMade) : offerWeMade;
  const theirs = typeof answer === 'string' ? parseSdp(answer) : answer;
  if (theirs.media.length !== ours.media.length) {
    throw new SdpNegotiationError(
      400,
      `answer has ${theirs.media.length} m-lines, offer had ${ours.media.length} (RFC 3264 §6)`,
    );
  }
  const ctx: MediaContext = { caps, opts, servedKinds: new Set(), bundle: [] };
  const media = theirs.media.map((m, i) => {
    const offered = ours.media[i];
    if (m.kind !== offered.kind)
      throw new SdpNegotiationError(400, `answer m-line ${i} is ${m.kind}, offer was ${offered.kind}`);
    if (offered.port === 0) return reject(m, 'stream disabled in our offer');
    if (m.proto.toUpperCase() !== offered.proto.toUpperCase()) {
      return reject(m, `answer changed the transport from ${offered.proto} to ${m.proto}`);
    }
    const ourFormat = (f: SdpPayloadFormat): SdpPayloadFormat | undefined =>
      offered.payloads.find(
        (o) =>
          o.encodingName.toLowerCase() === f.encodingName.toLowerCase() &&
          o.clockRate === f.clockRate &&
          channelsOf(m.kind, o) === channelsOf(m.kind, f),
      );
    // Only codecs we offered count; the answer's order is the answerer's preference (RFC 3264 §6.1).
    const answerFormats = m.payloads.filter((f) => ourFormat(f) !== undefined);
    return negotiateMedia(
      m,
      ctx,
      (kind) => {
        const codec = chooseCodec(kind, answerFormats, caps, 'offerer');
        const te =
          codec && kind === 'audio'
            ? chooseTelephoneEvent(answerFormats, codec.fmt.clockRate, caps)
            : undefined;
        return { codec, te, producerPt: (c) => ourFormat(c.fmt)?.payloadType ?? c.fmt.payloadType };
      },
      () => {
        // RFC 4568 §7.1.3: the answer's crypto tag names the offered attribute it accepted.
        const ans = m.crypto[0];
        if (!ans) return { why: 'answer has no a=crypto' };
        const off = offered.crypto.find((c) => c.tag === ans.tag);
        if (!off) return { why: `answer crypto tag ${ans.tag} was not offered` };
        if (off.suite !== ans.suite) return { why: `answer changed suite of tag ${ans.tag}` };
        const r = selectCrypto([ans], caps.cryptoSuites ?? SUPPORTED_CRYPTO_SUITES);
        return { selected: r.selected, why: r.rejected.join(', ') || undefined };
      },
      // The answer's direction is the phone's; ours is what we offered, narrowed by the answer.
      (remoteDir) =>
        directionOf(
          sends(offered.direction) && receives(remoteDir),
          receives(offered.direction) && sends(remoteDir),
        ),
      // RFC 5761 §5.1.1: muxed when both offered and answered. An offer with a=rtcp-mux and no separate RTCP port
      // (a=rtcp = RTP port) came from a muxed transport, which stays muxed whatever the answer says.
      (remoteMux) => offered.rtcpMux && (remoteMux || offered.rtcpPort === offered.port),
    );
  });
  if (!media.some((m) => m.accepted)) throw new SdpNegotiationError(488, allRejected(media));
  // The consumer PT rule still applies: the phone receives with the PTs of its answer.
  return { role: 'offerer', remoteOrigin: theirs.origin, media };
}
