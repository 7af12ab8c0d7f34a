import { TelephoneEventReceiver } from '../dtmf';
import { classifyPacket, PacketKind, rtpPayloadOffset, rtpPayloadType, rtpSsrc } from './packet-kind';

/** Which of the leg's sockets a datagram goes out of. */
export enum RelaySocketName {
  /** Phone-facing RTP socket (the port announced in our SDP; carries RTCP too when the phone muxes). */
  OuterRtp = 'outer-rtp',
  /** Phone-facing RTCP socket (RFC 3605 a=rtcp / port + 1) when the phone does not mux. */
  OuterRtcp = 'outer-rtcp',
  /** Socket facing the mediasoup PlainTransport (rtcpMux on that side). */
  Inner = 'inner',
}

export interface Endpoint {
  ip: string;
  port: number;
}

/** The phone's address from its SDP. `rtcpPort` only matters when the phone does not mux. */
export interface RelayRemote {
  ip: string;
  port: number;
  rtcpPort?: number;
}

export type RelayNotification =
  | { type: 'ssrc'; ssrc: number; payloadType: number }
  | { type: 'latched'; ip: string; port: number }
  | { type: 'inactive' }
  | { type: 'dtmf'; digit: string; durationMs: number };

/** RFC 4733 telephone-event on the phone's RTP: only for plain RTP (under SRTP the payload is ciphertext). */
export interface RelayDtmf {
  payloadType: number;
  /** RTP clock rate of the telephone-event format (8000 normally). */
  clockRate?: number;
}

export interface RelayCounters {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Epoch ms of the last packet accepted from the phone. */
  lastPacketAt: number | null;
  ssrc: number | null;
  latched: Endpoint | null;
  /** Datagrams dropped: not RTP/RTCP, from a foreign source while latched, or with nowhere to go. */
  packetsDropped: number;
  /** SRTP/SRTCP packets that failed authentication or the replay check (dropped). */
  srtpFailures: number;
}

/**
 * SDES-SRTP terminated in the thread (RFC 3711, keys from RFC 4568 a=crypto): `inbound` holds the phone's key
 * and unprotects what it sends, `outbound` ours and protects what we send. Unprotect returns null when
 * authentication or the replay check fails.
 */
export interface RelaySrtp {
  unprotectRtp(buf: Buffer): Buffer | null;
  unprotectRtcp(buf: Buffer): Buffer | null;
  protectRtp(buf: Buffer): Buffer;
  protectRtcp(buf: Buffer): Buffer;
  close(): void;
}

/** Where the phone's clear RTP goes when the leg is mixed in this thread (instead of, or besides, mediasoup). */
export type RelaySink = (rtp: Buffer, now: number) => void;
/** Where the phone's clear RTCP goes when the leg is mixed in this thread (its sender reports: round trip). */
export type RelayRtcpSink = (rtcp: Buffer, now: number) => void;

export interface RtpRelayOptions {
  /** True when the phone has its own RTCP socket (no a=rtcp-mux): RTCP back to it leaves by OuterRtcp. */
  separateRtcp: boolean;
  remote: RelayRemote | null;
  latch: boolean;
  send: (via: RelaySocketName, buf: Buffer, ip: string, port: number) => void;
  notify: (n: RelayNotification) => void;
  /** Epoch ms at creation (start of the inactivity window). */
  now: number;
  dtmf?: RelayDtmf | null;
}

/** A latched source is replaced only after it has been silent this long (anti-hijack, anti-flapping). */
export const RELATCH_SILENCE_MS = 1000;

/** 0.0.0.0 / :: or port 0 in an SDP means "no address" (RFC 3264 §8.4 hold, or not yet known). */
export function usableRemote(r: RelayRemote | null | undefined): RelayRemote | null {
  if (!r || !r.ip || r.port <= 0 || r.port > 65535) return null;
  if (r.ip === '0.0.0.0' || r.ip === '::' || r.ip === '0:0:0:0:0:0:0:0') return null;
  return r;
}

/**
 * The RTP packet without its header extension (RFC 3550 §5.3.1): X cleared, the extension block cut out. The
 * packet itself when it has none; null when the extension overruns the packet.
 */
export function withoutHeaderExtension(buf: Buffer): Buffer | null {
  if ((buf[0]! & 0x10) === 0) return buf;
  const head = 12 + (buf[0]! & 0x0f) * 4;
  if (buf.length < head + 4) return null;
  const end = head + 4 + buf.readUInt16BE(head + 2) * 4;
  if (end > buf.length) return null;
  const out = Buffer.allocUnsafe(buf.length - (end - head));
  buf.copy(out, 0, 0, head);
  buf.copy(out, head, end);
  out[0] = buf[0]! & ~0x10;
  return out;
}

function sameEndpoint(a: Endpoint | null, ip: string, port: number): boolean {
  return a !== null && a.port === port && a.ip === ip;
}

/**
 * The pure core of one phone leg's relay: phone ⇄ outer socket(s) ⇄ inner socket ⇄ mediasoup PlainTransport.
 * It owns no socket and no timer: the host feeds datagrams in with `fromOuterRtp/fromOuterRtcp/fromInner`, calls
 * `tick(now)` periodically, and carries out `send`. SRTP/SRTCP pass through untouched: only the clear header is
 * read (RFC 3711 §3.1).
 *
 * Symmetric RTP (RFC 4961) with latching: until RTP arrives we send to the SDP address; with `latch` on, the source
 * of the first valid RTP packet becomes the destination, and another source takes over only after the latched one
 * has been silent for more than RELATCH_SILENCE_MS. While latched, packets from other sources are dropped.
 */
export class RtpRelay {
  private readonly separateRtcp: boolean;
  private readonly send: RtpRelayOptions['send'];
  private readonly notify: RtpRelayOptions['notify'];

  private sdpRemote: RelayRemote | null;
  private latch: boolean;
  private latchedRtp: Endpoint | null = null;
  private latchedRtcp: Endpoint | null = null;
  private lastFromLatchedAt = 0;
  private inner: Endpoint | null = null;

  private currentSsrc: number | null = null;
  private inactivityMs = 0;
  private inactivityArmedAt: number;
  private inactiveFired = false;
  private closed = false;
  private dtmfPt = -1;
  private ptMap: Map<number, number> | null = null;
  private dtmf: TelephoneEventReceiver | null = null;
  private srtp: RelaySrtp | null = null;
  private sink: RelaySink | null = null;
  private rtcpSink: RelayRtcpSink | null = null;
  private sinkOwner: unknown = null;
  /** Hold (RFC 3264 §8.4): what the phone sends is not passed on / nothing is sent to it. */
  private phoneSends = true;
  private phoneReceives = true;

  private readonly c: RelayCounters = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    lastPacketAt: null,
    ssrc: null,
    latched: null,
    packetsDropped: 0,
    srtpFailures: 0,
  };

  constructor(opts: RtpRelayOptions) {
    this.separateRtcp = opts.separateRtcp;
    this.send = opts.send;
    this.notify = opts.notify;
    this.sdpRemote = usableRemote(opts.remote);
    this.latch = opts.latch;
    this.inactivityArmedAt = opts.now;
    this.setDtmf(opts.dtmf ?? null);
  }

  /**
   * Decode RFC 4733 digits from the phone's RTP (mediasoup 3.19 consumers do not forward telephone-event, so
   * this is where DTMF of plain-RTP phones is seen). Never for SRTP legs: the payload is encrypted there.
   */
  /**
   * mediasoup consumers always send the router's payload type; a phone that negotiated another number for the same
   * codec (RFC 3264 §6.1: it receives the PTs of its own SDP) gets them rewritten here. Plain RTP only: SRTP
   * authenticates the header.
   */
  setPayloadTypeMap(map: Array<[number, number]> | null): void {
    this.ptMap = map && map.length ? new Map(map) : null;
  }

  setDtmf(dtmf: RelayDtmf | null): void {
    this.dtmfPt = dtmf ? dtmf.payloadType : -1;
    this.dtmf = dtmf ? new TelephoneEventReceiver(dtmf.clockRate ?? 8000) : null;
  }

  /**
   * Terminate SDES-SRTP here (null: the packets pass through untouched, e.g. to a mediasoup SRTP transport).
   * Replaces (and closes) the previous contexts: a re-key by re-INVITE or UPDATE.
   */
  setSrtp(srtp: RelaySrtp | null): void {
    if (this.srtp && this.srtp !== srtp) this.srtp.close();
    this.srtp = srtp;
  }

  /** The phone's clear RTP goes to `sink` (a mixer participant); `owner` lets only its owner clear it. */
  setSink(sink: RelaySink, owner: unknown, rtcpSink: RelayRtcpSink | null = null): void {
    this.sink = sink;
    this.rtcpSink = rtcpSink;
    this.sinkOwner = owner;
  }

  clearSink(owner: unknown): void {
    if (this.sinkOwner !== owner) return;
    this.sink = null;
    this.rtcpSink = null;
    this.sinkOwner = null;
  }

  /**
   * Our RTCP (sender report of the mix) to the phone: protected as SRTCP when SRTP ends here, out of the RTCP
   * socket when the phone does not mux. Sent on hold too (RFC 3264 §5.1: RTCP continues).
   */
  sendRtcpToPhone(rtcp: Buffer): void {
    if (this.closed) return;
    const target = this.rtcpTarget;
    if (!target) return;
    const out = this.srtp ? this.srtp.protectRtcp(rtcp) : rtcp;
    this.c.packetsOut++;
    this.c.bytesOut += out.length;
    this.send(
      this.separateRtcp ? RelaySocketName.OuterRtcp : RelaySocketName.OuterRtp,
      out,
      target.ip,
      target.port,
    );
  }

  /** RFC 3264 §6.1 directions: a held phone is neither heard (music on hold) nor sent to. */
  setDirection(phoneSends: boolean, phoneReceives: boolean): void {
    this.phoneSends = phoneSends;
    this.phoneReceives = phoneReceives;
  }

  /** RTP built in this thread (the phone's mix) to the phone, protected when SRTP is terminated here. */
  sendRtpToPhone(rtp: Buffer): void {
    if (this.closed || !this.phoneReceives) return;
    const target = this.rtpTarget;
    if (!target) return this.drop();
    const out = this.srtp ? this.srtp.protectRtp(rtp) : rtp;
    this.c.packetsOut++;
    this.c.bytesOut += out.length;
    this.send(RelaySocketName.OuterRtp, out, target.ip, target.port);
  }

  /** Where RTP to the phone goes now (latched source, else the SDP address), or null. */
  get rtpTarget(): Endpoint | null {
    if (this.latchedRtp) return this.latchedRtp;
    return this.sdpRemote ? { ip: this.sdpRemote.ip, port: this.sdpRemote.port } : null;
  }

  /** Where RTCP to the phone goes now. Muxed phones: the RTP target. */
  get rtcpTarget(): Endpoint | null {
    if (!this.separateRtcp) return this.rtpTarget;
    if (this.latchedRtcp) return this.latchedRtcp;
    const sdp = this.sdpRemote;
    if (this.latchedRtp && !(sdp && this.latchedRtp.ip === sdp.ip && this.latchedRtp.port === sdp.port)) {
      // RTP came from somewhere else than the SDP said (NAT): best guess until the phone's RTCP shows up.
      return { ip: this.latchedRtp.ip, port: this.latchedRtp.port + 1 };
    }
    // RFC 3605 §2.1: without a=rtcp, RTCP is on the RTP port + 1.
    return sdp ? { ip: sdp.ip, port: sdp.rtcpPort ?? sdp.port + 1 } : null;
  }

  get innerTarget(): Endpoint | null {
    return this.inner;
  }

  connectInner(ip: string, port: number): void {
    this.inner = { ip, port };
  }

  disconnectInner(): void {
    this.inner = null;
  }

  /** A re-INVITE: a new SDP address resets latching (the phone may have moved); the same one keeps it. */
  updateRemote(remote: RelayRemote | null, latch: boolean): void {
    const next = usableRemote(remote);
    const prev = this.sdpRemote;
    const same =
      (next === null && prev === null) ||
      (next !== null &&
        prev !== null &&
        next.ip === prev.ip &&
        next.port === prev.port &&
        next.rtcpPort === prev.rtcpPort);
    this.sdpRemote = next;
    if (!same || (this.latch && !latch)) {
      this.latchedRtp = null;
      this.latchedRtcp = null;
      this.c.latched = null;
    }
    this.latch = latch;
  }

  setInactivityTimeout(ms: number, now: number): void {
    this.inactivityMs = Math.max(0, ms);
    this.inactivityArmedAt = now;
    this.inactiveFired = false;
  }

  /** Datagram from the phone on the RTP socket (RTP, or RTCP when the phone muxes). */
  fromOuterRtp(buf: Buffer, ip: string, port: number, now: number): void {
    if (this.closed) return;
    const kind = classifyPacket(buf);
    if (kind === PacketKind.Invalid) return this.drop();
    if (kind === PacketKind.Rtcp) {
      // Muxed RTCP never latches; while latched only the latched source may send it.
      if (this.latch && this.latchedRtp && !sameEndpoint(this.latchedRtp, ip, port)) return this.drop();
      return this.rtcpIn(buf, now);
    }
    let rtp = buf;
    if (this.srtp) {
      // RFC 3711 §3.3: authenticate before anything acts on the packet (latching included)
      const clear = this.srtp.unprotectRtp(buf);
      if (!clear) {
        this.c.srtpFailures++;
        return this.drop();
      }
      rtp = clear;
    }
    if (this.latch) {
      if (!this.latchedRtp) {
        this.latchTo(ip, port);
      } else if (!sameEndpoint(this.latchedRtp, ip, port)) {
        if (now - this.lastFromLatchedAt <= RELATCH_SILENCE_MS) return this.drop();
        this.latchTo(ip, port);
      }
      this.lastFromLatchedAt = now;
    }
    const ssrc = rtpSsrc(rtp);
    if (ssrc !== this.currentSsrc) {
      this.currentSsrc = ssrc;
      this.c.ssrc = ssrc;
      this.notify({ type: 'ssrc', ssrc, payloadType: rtpPayloadType(rtp) });
    }
    if (this.dtmf && rtpPayloadType(rtp) === this.dtmfPt) this.onDtmf(rtp);
    this.c.packetsIn++;
    this.c.bytesIn += buf.length;
    this.c.lastPacketAt = now;
    if (this.sink && this.phoneSends) this.sink(rtp, now);
    const inner = this.inner;
    if (inner) this.send(RelaySocketName.Inner, rtp, inner.ip, inner.port);
  }

  /** Datagram from the phone on its separate RTCP socket. */
  fromOuterRtcp(buf: Buffer, ip: string, port: number, now: number): void {
    if (this.closed) return;
    if (classifyPacket(buf) !== PacketKind.Rtcp) return this.drop();
    if (this.latch) {
      // Only from the host RTP is latched to (any port: NATs map RTCP to their own port).
      if (this.latchedRtp && this.latchedRtp.ip !== ip) return this.drop();
      if (!sameEndpoint(this.latchedRtcp, ip, port)) this.latchedRtcp = { ip, port };
    }
    this.rtcpIn(buf, now);
  }

  /** Datagram from mediasoup: demultiplexed by RFC 5761 §4 to the phone's RTP or RTCP address. */
  fromInner(buf: Buffer, ip: string, port: number): void {
    if (this.closed) return;
    if (!sameEndpoint(this.inner, ip, port)) return this.drop();
    const kind = classifyPacket(buf);
    if (kind === PacketKind.Invalid) return this.drop();
    const rtcp = kind === PacketKind.Rtcp;
    // A leg mixed in this thread answers RTCP itself (the mixer's reports); mediasoup's, about the tap, stay here.
    if (rtcp && this.sink) return;
    const target = rtcp ? this.rtcpTarget : this.rtpTarget;
    if (!target) return this.drop();
    let pkt = buf;
    if (!rtcp) {
      // Nothing unnegotiated reaches a phone: mediasoup puts its MID extension on every packet it routes, and we
      // never negotiate a=extmap with phones (RFC 8285 §4.1: only negotiated extensions may be sent).
      const stripped = withoutHeaderExtension(buf);
      if (!stripped) return this.drop();
      pkt = stripped;
      if (this.ptMap) {
        const to = this.ptMap.get(pkt[1]! & 0x7f);
        if (to !== undefined) pkt[1] = (pkt[1]! & 0x80) | to;
      }
    }
    const out = this.srtp ? (rtcp ? this.srtp.protectRtcp(pkt) : this.srtp.protectRtp(pkt)) : pkt;
    this.c.packetsOut++;
    this.c.bytesOut += out.length;
    this.send(
      rtcp && this.separateRtcp ? RelaySocketName.OuterRtcp : RelaySocketName.OuterRtp,
      out,
      target.ip,
      target.port,
    );
  }

  tick(now: number): void {
    if (this.closed || this.inactivityMs <= 0 || this.inactiveFired) return;
    const since = Math.max(this.c.lastPacketAt ?? 0, this.inactivityArmedAt);
    if (now - since > this.inactivityMs) {
      this.inactiveFired = true;
      this.notify({ type: 'inactive' });
    }
  }

  counters(): RelayCounters {
    return { ...this.c, latched: this.c.latched ? { ...this.c.latched } : null };
  }

  close(): void {
    this.closed = true;
    this.sink = null;
    this.srtp?.close();
    this.srtp = null;
  }

  private onDtmf(buf: Buffer): void {
    const off = rtpPayloadOffset(buf);
    if (off < 0) return;
    const ts = buf.readUInt32BE(4);
    // RFC 4733 §2.5.1.4: the end packet is sent three times; the receiver reports the digit once
    for (const d of this.dtmf!.push(ts, buf.subarray(off))) {
      this.notify({ type: 'dtmf', digit: d.digit, durationMs: d.durationMs });
    }
  }

  private latchTo(ip: string, port: number): void {
    this.latchedRtp = { ip, port };
    this.c.latched = { ip, port };
    this.notify({ type: 'latched', ip, port });
  }

  /** RTCP from the phone: to the mixer and/or mediasoup (SRTCP unprotected first when SRTP ends here). */
  private rtcpIn(buf: Buffer, now: number): void {
    this.c.packetsIn++;
    this.c.bytesIn += buf.length;
    this.c.lastPacketAt = now;
    const inner = this.inner;
    if (!inner && !this.rtcpSink) return;
    let out: Buffer | null = buf;
    if (this.srtp) {
      out = this.srtp.unprotectRtcp(buf);
      if (!out) {
        this.c.srtpFailures++;
        return this.drop();
      }
    }
    this.rtcpSink?.(out, now);
    if (inner) this.send(RelaySocketName.Inner, out, inner.ip, inner.port);
  }

  private drop(): void {
    this.c.packetsDropped++;
  }
}
