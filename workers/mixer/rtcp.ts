/**
 * RTCP for streams the media thread terminates (RFC 3550 §6): what a phone mixed in the thread gets from us
 * instead of mediasoup's RTCP. A sender report for the mix we send, one reception report block for the phone's
 * stream (loss, jitter), and SDES CNAME, in one compound packet (§6.1: SR first, SDES with CNAME always).
 */

/** RFC 3550 Appendix A.1 sequence tracking and A.8 interarrival jitter, for one received stream. */
export class ReceptionStats {
  ssrc = 0;
  private started = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit = 0;
  /** Interarrival jitter in RTP timestamp units (A.8, ×16 kept internally). */
  private jitter16 = 0;
  /** Middle 32 bits of the NTP timestamp of the last SR from the source, and when it arrived (ms). */
  private lastSrNtp = 0;
  private lastSrAt = 0;

  constructor(private readonly clockRate: number) {}

  /** An RTP packet from the source (`arrivalMs` on any monotonic ms clock). */
  onPacket(ssrc: number, seq: number, timestamp: number, arrivalMs: number): void {
    if (!this.started || ssrc !== this.ssrc) {
      // a new source (or an SSRC change: phones do it) starts the statistics afresh (§6.4.1)
      this.started = true;
      this.ssrc = ssrc;
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.cycles = 0;
      this.received = 0;
      this.expectedPrior = 0;
      this.receivedPrior = 0;
      this.jitter16 = 0;
      this.transit = Math.round((arrivalMs * this.clockRate) / 1000) - timestamp;
    }
    const delta = (seq - this.maxSeq) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (seq < this.maxSeq) this.cycles += 0x10000;
      this.maxSeq = seq;
    }
    this.received++;
    const arrival = Math.round((arrivalMs * this.clockRate) / 1000);
    const transit = (arrival - timestamp) | 0;
    let d = (transit - this.transit) | 0;
    this.transit = transit;
    if (d < 0) d = -d;
    // J += (|D| - J) / 16, kept ×16 as in A.8
    this.jitter16 += d - ((this.jitter16 + 8) >> 4);
  }

  /** The source's sender report (its NTP timestamp) arrived at `arrivalMs`. */
  onSenderReport(ntpSec: number, ntpFrac: number, arrivalMs: number): void {
    this.lastSrNtp = (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
    this.lastSrAt = arrivalMs;
  }

  get hasData(): boolean {
    return this.started;
  }

  /** One report block (§6.4.1), advancing the "since last report" interval. */
  block(nowMs: number): ReportBlock {
    const extMax = this.cycles + this.maxSeq;
    const expected = extMax - this.baseSeq + 1;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.received));
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fraction),
      cumulativeLost: lost,
      extHighestSeq: extMax >>> 0,
      jitter: this.jitter16 >> 4,
      lsr: this.lastSrNtp,
      dlsr: this.lastSrAt ? Math.round(((nowMs - this.lastSrAt) * 65536) / 1000) >>> 0 : 0,
    };
  }
}

export interface ReportBlock {
  ssrc: number;
  fractionLost: number;
  cumulativeLost: number;
  extHighestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

export interface SenderInfo {
  ssrc: number;
  /** Wall clock of the report, ms since the Unix epoch (→ NTP timestamp). */
  wallMs: number;
  /** RTP timestamp corresponding to `wallMs` (the stream's clock). */
  rtpTimestamp: number;
  packets: number;
  octets: number;
}

const NTP_UNIX_OFFSET_S = 2208988800;

/** SR (+ at most one report block) + SDES CNAME (§6.4.1, §6.5.1), as one compound packet. */
export function buildSenderReport(s: SenderInfo, report: ReportBlock | null, cname: string): Buffer {
  const rc = report ? 1 : 0;
  const sr = Buffer.alloc(28 + rc * 24);
  sr[0] = 0x80 | rc;
  sr[1] = 200;
  sr.writeUInt16BE(sr.length / 4 - 1, 2);
  sr.writeUInt32BE(s.ssrc >>> 0, 4);
  const sec = Math.floor(s.wallMs / 1000);
  const frac = Math.floor(((s.wallMs % 1000) / 1000) * 0x100000000);
  sr.writeUInt32BE((sec + NTP_UNIX_OFFSET_S) >>> 0, 8);
  sr.writeUInt32BE(frac >>> 0, 12);
  sr.writeUInt32BE(s.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(s.packets >>> 0, 20);
  sr.writeUInt32BE(s.octets >>> 0, 24);
  if (report) {
    sr.writeUInt32BE(report.ssrc >>> 0, 28);
    sr[32] = report.fractionLost & 0xff;
    sr.writeIntBE(report.cumulativeLost, 33, 3);
    sr.writeUInt32BE(report.extHighestSeq >>> 0, 36);
    sr.writeUInt32BE(report.jitter >>> 0, 40);
    sr.writeUInt32BE(report.lsr >>> 0, 44);
    sr.writeUInt32BE(report.dlsr >>> 0, 48);
  }
  const name = Buffer.from(cname.slice(0, 255), 'utf8');
  // SDES chunk: SSRC, CNAME item (type 1, length, text), then a null item and padding to 32 bits (§6.5)
  const chunkLen = 4 + 2 + name.length + 1;
  const padded = Math.ceil(chunkLen / 4) * 4;
  const sdes = Buffer.alloc(4 + padded);
  sdes[0] = 0x81;
  sdes[1] = 202;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(s.ssrc >>> 0, 4);
  sdes[8] = 1;
  sdes[9] = name.length;
  name.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}

/** The sender-info NTP timestamp of an SR in a compound packet from the source, or null. */
export function senderReportNtp(buf: Buffer): { ssrc: number; ntpSec: number; ntpFrac: number } | null {
  let off = 0;
  while (off + 4 <= buf.length) {
    const pt = buf[off + 1]!;
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (buf[off]! >> 6 !== 2 || off + len > buf.length) return null;
    if (pt === 200 && len >= 28) {
      return {
        ssrc: buf.readUInt32BE(off + 4),
        ntpSec: buf.readUInt32BE(off + 8),
        ntpFrac: buf.readUInt32BE(off + 12),
      };
    }
    off += len;
  }
  return null;
}

/** What a receiver of our stream says of it in a report block (RFC 3550 §6.4.1), read back for call quality. */
export interface RemoteReport {
  /** Fraction of our packets lost since its previous report, 0..1. */
  fractionLost: number;
  /** Its interarrival jitter estimate, in RTP timestamp units of our stream. */
  jitter: number;
  /** Round-trip time from LSR/DLSR (§6.4.1: A - LSR - DLSR), ms; null while it has no SR of ours to echo. */
  rttMs: number | null;
}

/** The middle 32 bits of the NTP timestamp of a wall-clock time in ms (the unit of LSR and DLSR: 1/65536 s). */
export function ntpMiddle32(wallMs: number): number {
  const sec = Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET_S;
  const frac16 = Math.floor(((wallMs % 1000) / 1000) * 65536);
  return (((sec & 0xffff) << 16) | frac16) >>> 0;
}

/**
 * The report block about `ssrc` (our stream) in a compound SR/RR packet (§6.4.1, §6.4.2), arrived at wall-clock
 * `arrivalMs`; null when the packet has none. Malformed packets give null, never a throw.
 */
export function reportAbout(buf: Buffer, ssrc: number, arrivalMs: number): RemoteReport | null {
  let off = 0;
  while (off + 4 <= buf.length) {
    const rc = buf[off]! & 0x1f;
    const pt = buf[off + 1]!;
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (buf[off]! >> 6 !== 2 || off + len > buf.length) return null;
    // SR: header (8) + sender info (20) before the blocks; RR: header (8).
    const first = pt === 200 ? off + 28 : pt === 201 ? off + 8 : -1;
    for (let i = 0; first >= 0 && i < rc && first + (i + 1) * 24 <= off + len; i++) {
      const b = first + i * 24;
      if (buf.readUInt32BE(b) >>> 0 !== ssrc >>> 0) continue;
      const lsr = buf.readUInt32BE(b + 16);
      const dlsr = buf.readUInt32BE(b + 20);
      let rttMs: number | null = null;
      if (lsr !== 0) {
        const units = (ntpMiddle32(arrivalMs) - lsr - dlsr) >>> 0;
        // A negative result wraps to a huge value: clock steps or a bogus echo, not a round trip.
        if (units < 0x80000000) rttMs = (units * 1000) / 65536;
      }
      return { fractionLost: buf[b + 4]! / 256, jitter: buf.readUInt32BE(b + 12), rttMs };
    }
    off += len;
  }
  return null;
}
