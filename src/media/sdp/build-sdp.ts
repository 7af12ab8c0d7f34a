import type { types } from 'mediasoup';
import type * as sdpTransform from 'sdp-transform';

import { AUDIO_CODEC_NAMES, isTelephoneEvent } from './codec-matching';
import type {
  AcceptedMedia,
  LocalCapabilities,
  NegotiatedCodec,
  NegotiatedSession,
} from './negotiated-session';
import { base64KeyLength, SRTP_MASTER_LENGTH } from './sdes-crypto';
import type { SdpSession } from './sdp-session';
import { SdpDirection } from './sdp-types';

type MediaDescription = sdpTransform.MediaDescription;

/** Our transport for one served m-line: `transport.tuple.localPort`, `transport.rtcpTuple?.localPort`, SRTP key. */
export interface LocalMediaEndpoint {
  port: number;
  /** Required when the m-line is not rtcp-muxed: the PlainTransport's separate RTCP port (RFC 3605 a=rtcp). */
  rtcpPort?: number;
  /** Our SRTP master key||salt: `transport.srtpParameters.keyBase64`, read AFTER `connect()`. */
  srtpKeyBase64?: string;
  /** ICE + DTLS-SRTP m-lines: the WebRtcTransport's ICE-lite credentials, candidates and certificate fingerprints. */
  webRtc?: LocalWebRtcEndpoint;
}

/** Our side of an ICE + DTLS-SRTP m-line, as a mediasoup WebRtcTransport describes it. */
export interface LocalWebRtcEndpoint {
  iceParameters: types.IceParameters;
  iceCandidates: readonly types.IceCandidate[];
  fingerprints: readonly types.DtlsFingerprint[];
  /** a=msid (RFC 8830 §2): `<stream id> <track id>` of what we send, so the browser groups it as one stream. */
  msid?: string;
}

export interface LocalEndpoints {
  /** Address for c= and o= (`rtc.announcedIp`); IPv6 gives `IN IP6`. */
  ip: string;
  /** Indexed by m-line index; only served m-lines need an entry. */
  media: readonly (LocalMediaEndpoint | undefined)[];
}

function ipVer(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

function rtpmap(c: NegotiatedCodec): MediaDescription['rtp'][number] {
  return {
    payload: c.payloadType,
    codec: c.encodingName,
    rate: c.clockRate,
    ...(c.channels !== undefined && c.channels > 1 ? { encoding: c.channels } : {}),
  };
}

/**
 * Builds our SDP answer for `negotiate()`'s result (RFC 3264 §6): same m-lines in the same order, rejected ones
 * with port 0, served ones with the offerer's payload type numbers (§6.1), the answered direction, a=rtcp or
 * a=rtcp-mux, echoed ptime/maxptime and our a=crypto under the tag we accepted (RFC 4568 §7.1.2).
 */
export function buildAnswer(
  negotiated: NegotiatedSession,
  local: LocalEndpoints,
  session: SdpSession,
): string {
  const media: MediaDescription[] = negotiated.media.map((m) => {
    if (!m.accepted) {
      return {
        type: m.kind,
        port: 0,
        // An offered proto nobody could read is still answered with a valid m-line (RFC 4566 §5.14).
        protocol: m.proto || 'RTP/AVP',
        payloads: m.formats.join(' '),
        rtp: [],
        fmtp: [],
        ...(m.mid !== undefined ? { mid: m.mid } : {}),
      };
    }
    const ep = local.media[m.index];
    if (!ep) throw new Error(`buildAnswer: no local endpoint for served m-line ${m.index}`);
    const codecs = [m.codec, ...(m.telephoneEvent ? [m.telephoneEvent] : [])];
    const desc: MediaDescription = {
      type: m.kind,
      port: ep.port,
      protocol: m.proto,
      payloads: codecs.map((c) => c.payloadType).join(' '),
      rtp: codecs.map(rtpmap),
      fmtp: codecs
        .filter((c) => c.fmtp !== undefined)
        .map((c) => ({ payload: c.payloadType, config: c.fmtp as string })),
    };
    if (m.webRtc) {
      if (!ep.webRtc)
        throw new Error(`buildAnswer: m-line ${m.index} is ICE/DTLS but no WebRTC endpoint was given`);
      writeWebRtc(desc, m, ep.webRtc, offeredHash(negotiated, m.index));
    } else if (/AVPF$/i.test(m.proto)) {
      // RFC 4585 §4.2: answer only feedback the offer listed for the codec.
      const fb = m.codec.rtcpFeedback.filter(
        (f) => ['nack', 'ccm'].includes(f.type) && (f.type !== 'ccm' || f.parameter === 'fir'),
      );
      if (fb.length > 0)
        desc.rtcpFb = fb.map((f) => ({
          payload: m.codec.payloadType,
          type: f.type,
          ...(f.parameter ? { subtype: f.parameter } : {}),
        }));
    }
    if (m.webRtc) {
      // writeWebRtc: a=rtcp-mux (RFC 8843 bundles mux RTCP too).
    } else if (m.transportOptions.rtcpMux) {
      desc.rtcpMux = 'rtcp-mux';
    } else {
      if (ep.rtcpPort === undefined)
        throw new Error(`buildAnswer: m-line ${m.index} is not rtcp-muxed but has no rtcpPort`);
      desc.rtcp = { port: ep.rtcpPort, netType: 'IN', ipVer: ipVer(local.ip), address: local.ip };
    }
    if (m.ptime !== undefined) desc.ptime = m.ptime;
    if (m.maxptime !== undefined) desc.maxptime = m.maxptime;
    if (m.mid !== undefined) desc.mid = m.mid;
    if (m.srtp) {
      const key = ep.srtpKeyBase64;
      if (!key) throw new Error(`buildAnswer: m-line ${m.index} negotiated SRTP but no local key was given`);
      if (base64KeyLength(key) !== SRTP_MASTER_LENGTH[m.srtp.suite]) {
        throw new Error(
          `buildAnswer: local key length does not fit ${m.srtp.suite} (read it after connect())`,
        );
      }
      desc.crypto = [{ id: m.srtp.tag, suite: m.srtp.suite, config: `inline:${key}` }];
    }
    desc.direction = m.direction;
    return desc;
  });
  // RFC 8843 §7.3: the answer's BUNDLE group holds the accepted m-lines of the offer's group, tagged m-line first.
  const bundled = negotiated.media
    .filter((m): m is AcceptedMedia => m.accepted && m.webRtc?.bundled === true && m.mid !== undefined)
    .map((m) => m.mid as string);
  const webRtc = negotiated.media.some((m) => m.accepted && m.webRtc);
  return session.render({
    connection: { version: ipVer(local.ip), ip: local.ip },
    timing: { start: 0, stop: 0 },
    // RFC 8445 §2.5 / RFC 8839 §5.3: a mediasoup WebRtcTransport is an ICE-lite agent.
    ...(webRtc ? { icelite: 'ice-lite' as const } : {}),
    ...(bundled.length > 0 ? { groups: [{ type: 'BUNDLE', mids: bundled.join(' ') }] } : {}),
    media,
  });
}

/** The hash function of the offer's first fingerprint (RFC 8122 §5: answer with one the offerer used, if we can). */
function offeredHash(negotiated: NegotiatedSession, index: number): string | undefined {
  const m = negotiated.media[index];
  return m?.accepted ? m.webRtc?.dtlsParameters.fingerprints[0]?.algorithm : undefined;
}

/**
 * The ICE and DTLS lines of an answered WebRTC m-line (JSEP §5.3.1): our ICE-lite credentials and candidates
 * (RFC 8839 §5.1, all of them at once: a=end-of-candidates, RFC 8840 §4.1), one fingerprint (RFC 8122), our a=setup
 * (RFC 5763 §5), a=rtcp-mux, the negotiated header extensions with the offer's ids (RFC 8285 §6), and a=msid.
 */
function writeWebRtc(
  desc: MediaDescription,
  m: AcceptedMedia,
  ep: LocalWebRtcEndpoint,
  hash: string | undefined,
): void {
  const w = m.webRtc!;
  const fp =
    ep.fingerprints.find((f) => f.algorithm === hash) ??
    ep.fingerprints.find((f) => f.algorithm === 'sha-256') ??
    ep.fingerprints[0];
  if (!fp) throw new Error(`buildAnswer: m-line ${m.index} has no local DTLS fingerprint`);
  const candidates = [...ep.iceCandidates].sort(
    (a, b) => Number(a.protocol !== 'udp') - Number(b.protocol !== 'udp') || b.priority - a.priority,
  );
  // JSEP §5.3.1: m= port and c= carry the default candidate (the best UDP one).
  const def = candidates[0];
  if (def) {
    desc.port = def.port;
    desc.connection = { version: ipVer(def.address), ip: def.address };
  } else {
    desc.port = 9;
  }
  desc.iceUfrag = ep.iceParameters.usernameFragment;
  desc.icePwd = ep.iceParameters.password;
  desc.fingerprint = { type: fp.algorithm, hash: fp.value };
  desc.setup = w.localSetup;
  desc.rtcpMux = 'rtcp-mux';
  if (w.headerExtensions.length > 0) desc.ext = w.headerExtensions.map((e) => ({ value: e.id, uri: e.uri }));
  const fb = m.codec.rtcpFeedback;
  if (fb.length > 0)
    desc.rtcpFb = fb.map((f) => ({
      payload: m.codec.payloadType,
      type: f.type,
      ...(f.parameter ? { subtype: f.parameter } : {}),
    }));
  if (ep.msid) desc.msid = ep.msid;
  desc.candidates = candidates.map((c) => ({
    foundation: c.foundation,
    component: 1,
    transport: c.protocol,
    priority: c.priority,
    ip: c.address,
    port: c.port,
    type: c.type,
    ...(c.tcpType ? { tcptype: c.tcpType } : {}),
  }));
  desc.endOfCandidates = 'end-of-candidates';
}

export interface OfferMediaEndpoint {
  kind: types.MediaKind;
  port: number;
  /** Separate RTCP port (transport created with rtcpMux: false); omitted → we offer a=rtcp-mux only. */
  rtcpPort?: number;
  /**
   * SDES: the transport's own suite and key (`transport.srtpParameters`). Offer ONE suite: mediasoup regenerates
   * its key at connect() when the remote picks another suite, which would invalidate a second offered key.
   */
  srtp?: { suite: types.SrtpCryptoSuite; keyBase64: string; tag?: number };
  direction?: SdpDirection;
}

export interface BuildOfferOptions {
  /** Audio codec order (default PCMU, PCMA, G722, opus); codecs absent from the router are skipped. */
  audioCodecs?: readonly string[];
  ptime?: number;
}

/**
 * Our offer for a delayed-offer INVITE (RFC 3261 §13.2.1: INVITE without SDP, the 2xx carries our offer and the
 * ACK the answer). Uses the router's payload type numbers so the phone's answer (which SHOULD reuse them,
 * RFC 3264 §6.1) lets consumers send the PTs the phone expects.
 */
export function buildOffer(
  local: { ip: string; media: readonly OfferMediaEndpoint[] },
  caps: LocalCapabilities,
  session: SdpSession,
  opts: BuildOfferOptions = {},
): string {
  const order = (opts.audioCodecs ?? AUDIO_CODEC_NAMES).map((n) => n.toLowerCase());
  const media: MediaDescription[] = local.media.map((ep) => {
    let codecs: types.RtpCodecCapability[];
    if (ep.kind === 'audio') {
      const main = order
        .map((n) => caps.codecs.find((c) => c.kind === 'audio' && c.mimeType.toLowerCase() === `audio/${n}`))
        .filter((c): c is types.RtpCodecCapability => c !== undefined);
      const tes = caps.codecs.filter((c) => c.kind === 'audio' && isTelephoneEvent(c.mimeType.slice(6)));
      codecs = [...main, ...tes];
    } else {
      codecs = caps.codecs.filter(
        (c) =>
          c.kind === 'video' &&
          c.mimeType.toLowerCase() === 'video/h264' &&
          Number(c.parameters?.['packetization-mode']) === 1,
      );
    }
    if (codecs.length === 0) throw new Error(`buildOffer: the router has no ${ep.kind} codec Parley offers`);
    const desc: MediaDescription = {
      type: ep.kind,
      port: ep.port,
      protocol: ep.srtp ? 'RTP/SAVP' : 'RTP/AVP',
      payloads: codecs.map((c) => c.preferredPayloadType).join(' '),
      rtp: codecs.map((c) => {
        const name = c.mimeType.split('/')[1];
        const channels = name.toLowerCase() === 'opus' ? 2 : c.channels;
        return {
          payload: c.preferredPayloadType,
          codec: name,
          rate: c.clockRate,
          ...(channels !== undefined && channels > 1 ? { encoding: channels } : {}),
        };
      }),
      fmtp: codecs.flatMap((c) => {
        const name = c.mimeType.split('/')[1].toLowerCase();
        if (name === 'telephone-event') return [{ payload: c.preferredPayloadType, config: '0-16' }];
        if (name === 'opus') return [{ payload: c.preferredPayloadType, config: 'useinbandfec=1' }];
        if (name === 'h264') {
          const p = c.parameters ?? {};
          return [
            {
              payload: c.preferredPayloadType,
              config: `profile-level-id=${String(p['profile-level-id'] ?? '42e01f')};packetization-mode=1;level-asymmetry-allowed=1`,
            },
          ];
        }
        return [];
      }),
    };
    if (ep.rtcpPort !== undefined) {
      desc.rtcp = { port: ep.rtcpPort, netType: 'IN', ipVer: ipVer(local.ip), address: local.ip };
    } else {
      // RFC 5761 §5.1.3: offering only muxed RTCP, a=rtcp names the RTP port for answerers that do not mux.
      desc.rtcpMux = 'rtcp-mux';
      desc.rtcp = { port: ep.port };
    }
    if (ep.kind === 'audio' && opts.ptime !== undefined) desc.ptime = opts.ptime;
    if (ep.srtp) {
      desc.crypto = [{ id: ep.srtp.tag ?? 1, suite: ep.srtp.suite, config: `inline:${ep.srtp.keyBase64}` }];
    }
    desc.direction = ep.direction ?? SdpDirection.SendRecv;
    return desc;
  });
  return session.render({
    connection: { version: ipVer(local.ip), ip: local.ip },
    timing: { start: 0, stop: 0 },
    media,
  });
}
