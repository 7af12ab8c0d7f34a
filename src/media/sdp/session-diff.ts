import type { AcceptedMedia, NegotiatedMedia, NegotiatedSession } from './negotiated-session';
import { SdpDirection } from './sdp-types';

/** What changed on one m-line between two negotiations (e.g. the first INVITE and a re-INVITE). */
export interface MediaChange {
  index: number;
  kind: string;
  /** Served now, not before / served before, not now. */
  added: boolean;
  removed: boolean;
  directionChanged: boolean;
  /** The phone stopped receiving (sendonly/inactive, or c=0.0.0.0) / started again. */
  hold?: 'held' | 'resumed';
  codecChanged: boolean;
  telephoneEventChanged: boolean;
  remoteAddressChanged: boolean;
  /** New SDES key or suite, or SRTP switched on/off (RFC 4568 §7.1.4: a re-offer may re-key). */
  srtpChanged: boolean;
  rtcpMuxChanged: boolean;
  ssrcChanged: boolean;
  /** ICE restart (new ufrag/pwd, RFC 8839 §4.4.1.1.1), a new DTLS fingerprint or role, or ICE/DTLS on or off. */
  webRtcChanged: boolean;
  /** What the caller must do with the mediasoup objects of this leg. */
  actions: {
    /** connect() is once per PlainTransport: new address, key or mux → new transport (new local port). */
    recreateTransport: boolean;
    /** The Producer's RtpParameters are fixed at produce(): new codec, DTMF PT or SSRC → new Producer. */
    recreateProducer: boolean;
    recreateConsumer: boolean;
    /** Pause/resume Producer (phoneSends) and Consumer (phoneReceives) per the new direction. */
    updateDirection: boolean;
  };
}

const phoneReceives = (d: SdpDirection): boolean =>
  d === SdpDirection.SendRecv || d === SdpDirection.RecvOnly;

function sameCodec(a: AcceptedMedia['codec'] | undefined, b: AcceptedMedia['codec'] | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.mimeType.toLowerCase() === b.mimeType.toLowerCase() &&
    a.clockRate === b.clockRate &&
    a.channels === b.channels &&
    a.payloadType === b.payloadType &&
    JSON.stringify(a.parameters) === JSON.stringify(b.parameters)
  );
}

/** What a WebRtcTransport is built and connected with: the far end's ICE credentials and DTLS parameters. */
export function webRtcKey(m: AcceptedMedia): string {
  const w = m.webRtc;
  if (!w) return '';
  return JSON.stringify([w.remoteIce, w.dtlsParameters]);
}

const unspecified = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';

function diffOne(index: number, a: NegotiatedMedia | undefined, b: NegotiatedMedia | undefined): MediaChange {
  const kind = (b ?? a)?.kind ?? 'unknown';
  const change: MediaChange = {
    index,
    kind,
    added: false,
    removed: false,
    directionChanged: false,
    codecChanged: false,
    telephoneEventChanged: false,
    remoteAddressChanged: false,
    srtpChanged: false,
    rtcpMuxChanged: false,
    ssrcChanged: false,
    webRtcChanged: false,
    actions: {
      recreateTransport: false,
      recreateProducer: false,
      recreateConsumer: false,
      updateDirection: false,
    },
  };
  const prev = a?.accepted ? a : undefined;
  const next = b?.accepted ? b : undefined;
  if (!prev && !next) return change;
  if (!prev || !next) {
    change.added = !prev;
    change.removed = !next;
    change.actions = {
      recreateTransport: true,
      recreateProducer: true,
      recreateConsumer: true,
      updateDirection: false,
    };
    return change;
  }
  change.directionChanged =
    prev.direction !== next.direction || prev.remoteDirection !== next.remoteDirection;
  const wasReceiving = phoneReceives(prev.remoteDirection);
  const isReceiving = phoneReceives(next.remoteDirection);
  if (wasReceiving && !isReceiving) change.hold = 'held';
  else if (!wasReceiving && isReceiving) change.hold = 'resumed';

  change.codecChanged = !sameCodec(prev.codec, next.codec);
  change.telephoneEventChanged = !sameCodec(prev.telephoneEvent, next.telephoneEvent);
  // Old-style hold (c=0.0.0.0) is a direction, not a move: compare only real addresses.
  const addrMoved =
    !unspecified(prev.remote.address) &&
    !unspecified(next.remote.address) &&
    prev.remote.address !== next.remote.address;
  change.remoteAddressChanged =
    addrMoved || prev.remote.port !== next.remote.port || prev.remote.rtcpPort !== next.remote.rtcpPort;
  change.srtpChanged =
    prev.srtp?.suite !== next.srtp?.suite ||
    prev.srtp?.remoteKeyBase64 !== next.srtp?.remoteKeyBase64 ||
    prev.transportOptions.enableSrtp !== next.transportOptions.enableSrtp;
  change.rtcpMuxChanged = prev.transportOptions.rtcpMux !== next.transportOptions.rtcpMux;
  change.ssrcChanged = next.remote.ssrc !== undefined && prev.remote.ssrc !== next.remote.ssrc;

  change.webRtcChanged = webRtcKey(prev) !== webRtcKey(next);
  // ICE/DTLS: the address is the candidates' business (a=candidate, not c=/m=): only credentials count.
  if (next.webRtc && prev.webRtc) change.remoteAddressChanged = false;
  const recreateTransport =
    change.remoteAddressChanged || change.srtpChanged || change.rtcpMuxChanged || change.webRtcChanged;
  const recreateProducer =
    recreateTransport || change.codecChanged || change.telephoneEventChanged || change.ssrcChanged;
  change.actions = {
    recreateTransport,
    recreateProducer,
    recreateConsumer: recreateTransport || change.codecChanged || change.telephoneEventChanged,
    updateDirection: change.directionChanged,
  };
  return change;
}

/**
 * Compares the negotiation in force with a new one (re-INVITE / UPDATE, RFC 3264 §8) m-line by m-line.
 * Unchanged m-lines give a change with every flag false.
 */
export function diffNegotiations(prev: NegotiatedSession, next: NegotiatedSession): MediaChange[] {
  const n = Math.max(prev.media.length, next.media.length);
  const out: MediaChange[] = [];
  for (let i = 0; i < n; i++) out.push(diffOne(i, prev.media[i], next.media[i]));
  return out;
}

/** True when nothing in the diff asks for work (a session refresh re-INVITE). */
export function isNoChange(changes: readonly MediaChange[]): boolean {
  return changes.every(
    (c) =>
      !c.added &&
      !c.removed &&
      !c.actions.recreateTransport &&
      !c.actions.recreateProducer &&
      !c.actions.recreateConsumer &&
      !c.actions.updateDirection,
  );
}
