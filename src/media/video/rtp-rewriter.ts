import { isKeyframeStart, type VideoCodecName } from './keyframe';

export interface RtpRewriterOptions {
  codec: VideoCodecName;
  /** The one SSRC the viewers see, whoever is shown. */
  ssrc: number;
  /** Written into every packet (the output Producer's payload type). */
  payloadType: number;
  /** First sequence number and timestamp sent (random in production, RFC 3550 §5.1). */
  initialSequence: number;
  initialTimestamp: number;
  /** RTP clock rate of the codec: 90 kHz for video (RFC 6184 §8.2.1, RFC 7741 §6.1). */
  clockRate?: number;
  /** Wall clock in milliseconds (injectable for tests). */
  now?: () => number;
}

/** What `rewrite` did with a packet. */
export type RewriteResult =
  { kind: 'forward'; packet: Buffer; switched: boolean } | { kind: 'drop'; reason: DropReason };

export enum DropReason {
  /** Not an RTP packet. */
  Malformed = 'malformed',
  /**
   * Only padding (a sender's bandwidth probe): nothing to show. The shown source's later sequence numbers close
   * up behind it, so the viewer sees no gap that is not real loss.
   */
  Padding = 'padding',
  /** From a source that is neither shown nor about to be. */
  NotSelected = 'not-selected',
  /** The selected source has not sent the start of a keyframe yet. */
  WaitingForKeyframe = 'waiting-for-keyframe',
  /** Older than the first packet forwarded from this source (reordered across the switch). */
  BeforeSwitch = 'before-switch',
  /** A picture above what the viewers negotiated (a simulcast layer over their H.264 level): `skip`. */
  AboveLevel = 'above-level',
}

interface SourceMap {
  id: string;
  /** Added (mod 2^16) to the source's sequence numbers. */
  seqOffset: number;
  /** Added (mod 2^32) to the source's timestamps. */
  tsOffset: number;
  /**
   * The source's first forwarded sequence number: anything older predates the switch. Checked only for the
   * first `REORDER_WINDOW` packets (reordering is short), so the half-range comparison never misfires after a wrap.
   */
  firstSeq: number;
  forwarded: number;
  /** The source's highest sequence number seen (padding included). */
  highestIn: number;
}

interface RtpView {
  marker: boolean;
  seq: number;
  ts: number;
  payload: Buffer;
}

const SEQ_MOD = 0x10000;
const TS_MOD = 0x100000000;
const REORDER_WINDOW = 1000;

/**
 * Makes one continuous RTP stream out of whichever video source is shown (RFC 3550 §5.1: the SSRC identifies one
 * synchronisation source; a viewer that sees a new SSRC, or a sequence or timestamp jump, may drop or mis-order
 * packets, and many desk phones only set up their decoder for the first SSRC).
 *
 * - One SSRC and payload type, whoever sends.
 * - `select(id)` asks for a switch. The shown source keeps going until the selected one sends the start of a
 *   keyframe (an H.264 IDR/SPS, a VP8 key frame): nothing before it could be decoded, and a frozen picture is
 *   better than a broken one. From that packet on the new source is shown and the old one dropped.
 * - On a switch the sequence number continues at last + 1, and the timestamp advances by the wall time since the
 *   last packet sent (at the clock rate, at least one tick), so the viewer's jitter buffer sees a stream that
 *   merely paused. Within a source, reordering and loss are passed through unchanged (offsets are constant).
 * - CSRCs, header extensions and padding are stripped: the viewers negotiated none of the senders' extensions.
 *
 * Pure: the caller passes each packet with the id of the source it came from and sends what comes back.
 */
export class RtpRewriter {
  private readonly clockRate: number;
  private readonly now: () => number;
  private shown?: SourceMap;
  private selected?: string;
  private lastSeq: number;
  private lastTs: number;
  private lastSentAt?: number;
  private sentAny = false;

  constructor(private readonly opts: RtpRewriterOptions) {
    this.clockRate = opts.clockRate ?? 90000;
    this.now = opts.now ?? Date.now;
    // The "previous" packet, so the first one sent carries the initial values.
    this.lastSeq = (opts.initialSequence - 1 + SEQ_MOD) % SEQ_MOD;
    this.lastTs = opts.initialTimestamp >>> 0;
  }

  /** The source whose packets are forwarded now (undefined: none yet). */
  get current(): string | undefined {
    return this.shown?.id;
  }

  /** The source asked for (it becomes current at its first keyframe); undefined: keep what is shown. */
  get pending(): string | undefined {
    return this.selected;
  }

  /** Show `id` from its next keyframe on; null shows nothing (the stream pauses). */
  select(id: string | null): void {
    if (id === null) {
      this.shown = undefined;
      this.selected = undefined;
      return;
    }
    if (id === this.shown?.id) {
      this.selected = undefined;
      return;
    }
    this.selected = id;
  }

  /** Rewrites one packet of source `id` for the viewers, or says why it is dropped. */
  rewrite(id: string, packet: Uint8Array): RewriteResult {
    const rtp = parse(packet);
    if (!rtp) return { kind: 'drop', reason: DropReason.Malformed };
    if (rtp.payload.length === 0) {
      this.closeUpBehind(id, rtp.seq);
      return { kind: 'drop', reason: DropReason.Padding };
    }
    let switched = false;
    if (id === this.selected) {
      if (!isKeyframeStart(this.opts.codec, rtp.payload))
        return { kind: 'drop', reason: DropReason.WaitingForKeyframe };
      this.shown = this.mapFrom(id, rtp);
      this.selected = undefined;
      switched = true;
    } else if (id !== this.shown?.id) {
      return { kind: 'drop', reason: DropReason.NotSelected };
    }
    const map = this.shown!;
    if (map.forwarded < REORDER_WINDOW && seqBefore(rtp.seq, map.firstSeq))
      return { kind: 'drop', reason: DropReason.BeforeSwitch };
    map.forwarded++;
    if (seqBefore(map.highestIn, rtp.seq)) map.highestIn = rtp.seq;
    const seq = (rtp.seq + map.seqOffset) % SEQ_MOD;
    const ts = (rtp.ts + map.tsOffset) % TS_MOD;
    if (!this.sentAny || seqBefore(this.lastSeq, seq)) {
      this.lastSeq = seq;
      this.lastTs = ts;
    }
    this.sentAny = true;
    this.lastSentAt = this.now();
    return { kind: 'forward', packet: this.build(rtp, seq, ts), switched };
  }

  /**
   * A packet of source `id` the viewers must not get (a picture above their level): dropped, and the shown source's
   * later sequence numbers close up behind it, so the viewer sees no gap that is not real loss.
   */
  skip(id: string, packet: Uint8Array): RewriteResult {
    const rtp = parse(packet);
    if (!rtp) return { kind: 'drop', reason: DropReason.Malformed };
    this.closeUpBehind(id, rtp.seq);
    return { kind: 'drop', reason: DropReason.AboveLevel };
  }

  /** In order (the next one after the highest seen) from the shown source: its later packets move down by one. */
  private closeUpBehind(id: string, seq: number): void {
    const map = this.shown;
    if (map && id === map.id && (seq - map.highestIn + SEQ_MOD) % SEQ_MOD === 1) {
      map.seqOffset = (map.seqOffset - 1 + SEQ_MOD) % SEQ_MOD;
      map.highestIn = seq;
    }
  }

  /** Offsets that continue the output stream from this source's packet `first`. */
  private mapFrom(id: string, first: RtpView): SourceMap {
    const seq = (this.lastSeq + 1) % SEQ_MOD;
    let ts = this.lastTs;
    if (this.sentAny) {
      const elapsed = Math.max(0, this.now() - (this.lastSentAt ?? this.now()));
      ts = (this.lastTs + Math.max(1, Math.round((elapsed * this.clockRate) / 1000))) % TS_MOD;
    }
    return {
      id,
      seqOffset: (seq - first.seq + SEQ_MOD) % SEQ_MOD,
      tsOffset: (ts - first.ts + TS_MOD) % TS_MOD,
      firstSeq: first.seq,
      forwarded: 0,
      highestIn: first.seq,
    };
  }

  private build(rtp: RtpView, seq: number, ts: number): Buffer {
    const out = Buffer.allocUnsafe(12 + rtp.payload.length);
    out[0] = 0x80; // V=2, no padding, no extension, no CSRC
    out[1] = (rtp.marker ? 0x80 : 0) | (this.opts.payloadType & 0x7f);
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(ts >>> 0, 4);
    out.writeUInt32BE(this.opts.ssrc >>> 0, 8);
    rtp.payload.copy(out, 12);
    return out;
  }
}

/** The payload of an RTP packet (after CSRCs, extension, without padding); undefined when it is none. */
export function rtpPayload(packet: Uint8Array): Buffer | undefined {
  return parse(packet)?.payload;
}

/** `a` comes before `b` in 16-bit sequence space (RFC 3550 Appendix A.1's half-range rule). */
function seqBefore(a: number, b: number): boolean {
  const d = (b - a + SEQ_MOD) % SEQ_MOD;
  return d !== 0 && d < SEQ_MOD / 2;
}

/** RFC 3550 §5.1, §5.3.1: the fixed header, CSRCs, an extension and padding around the payload. */
function parse(packet: Uint8Array): RtpView | undefined {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return undefined;
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  let offset = 12 + 4 * (buf[0] & 0x0f);
  if (buf[0] & 0x10) {
    if (offset + 4 > buf.length) return undefined;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (buf[0] & 0x20) {
    const pad = buf[buf.length - 1];
    if (pad === 0) return undefined;
    end -= pad;
  }
  if (end < offset) return undefined;
  return {
    marker: (buf[1] & 0x80) !== 0,
    seq: buf.readUInt16BE(2),
    ts: buf.readUInt32BE(4),
    payload: buf.subarray(offset, end),
  };
}
