/**
 * RTP fixed header (RFC 3550 §5.1) parse/serialize with CSRC list, header extension (§5.3.1) and padding,
 * plus the per-output sender state (own SSRC, sequence, timestamp advancing by the frame's RTP ticks).
 */
export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extensionProfile?: number;
  /** Extension body (without the 4-byte profile/length word). */
  extensionData?: Buffer;
}

export interface RtpPacket extends RtpHeader {
  payload: Buffer;
  /** Number of padding bytes removed (0 when none). */
  paddingLength: number;
}

export class RtpParseError extends Error {}

export function parseRtp(buf: Buffer): RtpPacket {
  if (buf.length < 12) throw new RtpParseError('rtp: shorter than the 12-byte fixed header');
  const b0 = buf[0];
  const version = b0 >> 6;
  if (version !== 2) throw new RtpParseError(`rtp: version ${version}`);
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1];
  let off = 12;
  if (buf.length < off + cc * 4) throw new RtpParseError('rtp: truncated CSRC list');
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++, off += 4) csrcs.push(buf.readUInt32BE(off));
  let extensionProfile: number | undefined;
  let extensionData: Buffer | undefined;
  if (extension) {
    if (buf.length < off + 4) throw new RtpParseError('rtp: truncated extension header');
    extensionProfile = buf.readUInt16BE(off);
    const words = buf.readUInt16BE(off + 2);
    off += 4;
    if (buf.length < off + words * 4) throw new RtpParseError('rtp: truncated extension');
    extensionData = buf.subarray(off, off + words * 4);
    off += words * 4;
  }
  let end = buf.length;
  let paddingLength = 0;
  if (padding) {
    // §5.1: the last octet counts the padding octets, itself included
    paddingLength = buf[buf.length - 1];
    if (paddingLength === 0 || end - paddingLength < off) throw new RtpParseError('rtp: bad padding');
    end -= paddingLength;
  }
  return {
    version,
    padding,
    extension,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    seq: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    extensionProfile,
    extensionData,
    payload: buf.subarray(off, end),
    paddingLength,
  };
}

export interface RtpSerializeInput {
  marker?: boolean;
  payloadType: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  csrcs?: number[];
  extensionProfile?: number;
  extensionData?: Buffer;
  /** Pad the packet to a multiple of this many bytes (e.g. 4); default none. */
  padTo?: number;
}

const NO_EXTENSION = Buffer.alloc(0);

export function serializeRtp(h: RtpSerializeInput, payload: Uint8Array): Buffer {
  const csrcs = h.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError('rtp: at most 15 CSRCs');
  const ext = h.extensionProfile !== undefined;
  const extData = h.extensionData ?? NO_EXTENSION;
  if (extData.length % 4 !== 0) throw new RangeError('rtp: extension length must be a multiple of 4');
  const headerLen = 12 + csrcs.length * 4 + (ext ? 4 + extData.length : 0);
  let padLen = 0;
  if (h.padTo && h.padTo > 1) {
    padLen = (h.padTo - ((headerLen + payload.length) % h.padTo)) % h.padTo;
  }
  const buf = Buffer.allocUnsafe(headerLen + payload.length + padLen); // every byte is written below
  buf[0] = 0x80 | (padLen ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  buf[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.seq & 0xffff, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.ssrc >>> 0, 8);
  let off = 12;
  for (const c of csrcs) {
    buf.writeUInt32BE(c >>> 0, off);
    off += 4;
  }
  if (ext) {
    buf.writeUInt16BE((h.extensionProfile as number) & 0xffff, off);
    buf.writeUInt16BE(extData.length / 4, off + 2);
    off += 4;
    buf.set(extData, off);
    off += extData.length;
  }
  buf.set(payload, off);
  if (padLen) {
    buf.fill(0, off + payload.length, buf.length - 1);
    buf[buf.length - 1] = padLen;
  }
  return buf;
}

export interface RtpOutputStreamOptions {
  ssrc: number;
  payloadType: number;
  /** RTP ticks per frame (20 ms: PCMU/PCMA/G722 160, Opus 960). */
  ticksPerFrame: number;
  /** Random initial values (RFC 3550 §5.1 says SHOULD be random); injectable for tests. */
  initialSeq?: number;
  initialTimestamp?: number;
}

/** Sender state of one outgoing stream: each call to `next()` stamps one 20 ms frame. */
export class RtpOutputStream {
  readonly ssrc: number;
  readonly payloadType: number;
  private readonly ticks: number;
  private seq: number;
  private ts: number;
  private first = true;
  private skipped = false;

  constructor(opts: RtpOutputStreamOptions) {
    this.ssrc = opts.ssrc >>> 0;
    this.payloadType = opts.payloadType;
    this.ticks = opts.ticksPerFrame;
    this.seq = (opts.initialSeq ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
    this.ts = (opts.initialTimestamp ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
  }

  get nextSeq(): number {
    return this.seq;
  }

  get nextTimestamp(): number {
    return this.ts;
  }

  /** Build the packet for this frame and advance seq and timestamp. */
  next(payload: Uint8Array): Buffer {
    // the fixed header written in place (no CSRCs, extension or padding): this runs once per listener per tick
    const pkt = Buffer.allocUnsafe(12 + payload.length);
    this.writeHeader(pkt);
    pkt.set(payload, 12);
    return pkt;
  }

  /**
   * Like `next()` but returns only the 12-byte header: for fan-out of one shared payload to many listeners,
   * send `[header, payload]` (dgram accepts a list of buffers) instead of copying the payload per listener.
   */
  nextHeader(): Buffer {
    const h = Buffer.allocUnsafe(12);
    this.writeHeader(h);
    return h;
  }

  /** The 12-byte fixed header of the next packet into `buf` (RFC 3551 §4.1: marker at a talkspurt's start). */
  private writeHeader(buf: Buffer): void {
    const seq = this.seq;
    const ts = this.ts;
    const ssrc = this.ssrc;
    buf[0] = 0x80;
    buf[1] = (this.first || this.skipped ? 0x80 : 0) | (this.payloadType & 0x7f);
    buf[2] = seq >>> 8;
    buf[3] = seq & 0xff;
    buf[4] = ts >>> 24;
    buf[5] = (ts >>> 16) & 0xff;
    buf[6] = (ts >>> 8) & 0xff;
    buf[7] = ts & 0xff;
    buf[8] = ssrc >>> 24;
    buf[9] = (ssrc >>> 16) & 0xff;
    buf[10] = (ssrc >>> 8) & 0xff;
    buf[11] = ssrc & 0xff;
    this.first = false;
    this.skipped = false;
    this.seq = (seq + 1) & 0xffff;
    this.ts = (ts + this.ticks) >>> 0;
  }

  /** A frame interval with nothing sent (DTX/silence suppression): time runs on, sequence does not. */
  skip(): void {
    this.ts = (this.ts + this.ticks) >>> 0;
    this.skipped = true;
  }
}
