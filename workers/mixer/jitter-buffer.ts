/**
 * Adaptive jitter buffer for one RTP input, pull model: `push()` on every packet (arrival time passed in,
 * no clock inside), `pop()` exactly once per 20 ms mixer tick → one decoded frame at the decoder's rate, or
 * null when there is nothing to play (not started, starving, or silence after concealment ran out).
 *
 * - Reorders by 16-bit sequence number extended across wrap-around (RFC 3550 §A.1).
 * - Target depth 20–200 ms from the interarrival jitter estimate J (RFC 3550 §6.4.1: J += (|D| − J)/16),
 *   target = 20 ms + 3·J rounded up to whole frames; when more than target+2 frames are queued the oldest
 *   are dropped (catch up after a stall).
 * - SSRC change → full reset; sequence jump > 1000 or timestamp jump (back > 1 s / forward > 60 s) → resync
 *   (queue cleared, re-buffer from the new packet).
 * - Duplicates and packets older than the playout point are dropped and counted.
 * - Loss (a gap while later packets are queued) → FEC from the next packet if the decoder offers it, else the
 *   decoder's `plc()` (libopus PLC; fade/repeat for G.711/G.722) for up to `maxConcealFrames`, then silence;
 *   a gap longer than the maximum depth is jumped over instead of played out. Starvation (queue empty: a late
 *   packet, or DTX: the sender stops while its timestamps run on) → PLC that stretches the playout (the awaited
 *   packet is not skipped, so the buffer deepens by what it lacked and a lost packet can still be recovered from
 *   its successor's FEC), at most `maxConcealFrames` (60 ms), then null/silence and re-buffering; a timestamp
 *   gap between consecutive sequence numbers (DTX resume with the gap still inside the queue) is played as
 *   silence, not PLC.
 * - Packets of other durations than 20 ms (10/30/60 ms ptime) are decoded into a PCM FIFO and cut into 20 ms.
 */
import { allocPcm, FRAME_MS } from './codec/codec';
import type { AudioDecoder } from './codec/codec';

export interface RtpAudioPacket {
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

export enum JitterBufferState {
  Buffering = 'buffering',
  Playing = 'playing',
}

export type PushResult = 'queued' | 'duplicate' | 'late' | 'reset' | 'resync';

export interface JitterBufferOptions {
  decoder: AudioDecoder;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Concealment frames on starvation before going silent (default 3 = 60 ms). */
  maxConcealFrames?: number;
}

export interface JitterBufferStats {
  received: number;
  duplicates: number;
  late: number;
  concealed: number;
  fecRecovered: number;
  dropped: number;
  underruns: number;
  resets: number;
  resyncs: number;
  decodeErrors: number;
  /** Sequence numbers jumped over (gap longer than the buffer). */
  skipped: number;
}

// Slots, a power of two: 64 packets are 640 ms of 10 ms packets (1.28 s of 20 ms ones), far more than the 200 ms
// the buffer may hold; a packet further ahead is a jump the buffer resyncs on. 512 cost 14 KB per participant.
const RING = 64;
const RING_MASK = RING - 1;

/** Packets by extended sequence number in a ring of slots (no Map, no per-packet objects). */
class PacketRing {
  private readonly exts = new Float64Array(RING).fill(-1);
  private readonly tss = new Uint32Array(RING);
  private readonly payloads: Array<Buffer | undefined> = new Array<Buffer | undefined>(RING).fill(undefined);
  size = 0;

  has(ext: number): boolean {
    return this.exts[ext & RING_MASK] === ext;
  }

  ts(ext: number): number {
    return this.tss[ext & RING_MASK];
  }

  payload(ext: number): Buffer {
    return this.payloads[ext & RING_MASK] as Buffer;
  }

  /** Store; returns true when an older packet RING+ numbers behind had to be evicted from the slot. */
  set(ext: number, ts: number, payload: Buffer): boolean {
    const i = ext & RING_MASK;
    const evicted = this.exts[i] !== -1;
    if (!evicted) this.size++;
    this.exts[i] = ext;
    this.tss[i] = ts;
    this.payloads[i] = payload;
    return evicted;
  }

  delete(ext: number): void {
    const i = ext & RING_MASK;
    if (this.exts[i] !== ext) return;
    this.exts[i] = -1;
    this.payloads[i] = undefined;
    this.size--;
  }

  /** Smallest queued number (Infinity when empty); a scan, used only off the steady-state path. */
  min(): number {
    let m = Infinity;
    if (this.size === 0) return m;
    for (let i = 0; i < RING; i++) {
      const e = this.exts[i];
      if (e !== -1 && e < m) m = e;
    }
    return m;
  }

  clear(): void {
    if (this.size === 0) return;
    this.exts.fill(-1);
    this.payloads.fill(undefined);
    this.size = 0;
  }
}

const SEQ_BASE = 1 << 20; // extended numbers start high so early wrap-backs stay positive

export class JitterBuffer {
  readonly stats: JitterBufferStats = {
    received: 0,
    duplicates: 0,
    late: 0,
    concealed: 0,
    fecRecovered: 0,
    dropped: 0,
    underruns: 0,
    resets: 0,
    resyncs: 0,
    decodeErrors: 0,
    skipped: 0,
  };
  private readonly decoder: AudioDecoder;
  private readonly minFrames: number;
  private readonly maxFrames: number;
  private readonly maxConceal: number;
  /** RTP ticks per 20 ms frame. */
  private readonly frameTicks: number;
  /** RTP ticks per packet as last decoded (ptime may be 10/30/60 ms); 20 ms until known. */
  private packetTicks: number;
  private readonly frameSamples: number;

  private _state = JitterBufferState.Buffering;
  private ssrc: number | null = null;
  private readonly queue = new PacketRing();
  private highestExt = -1;
  private highestTs = 0;
  /** Next extended sequence number to play; everything below it is late. */
  private nextExt = -1;
  /** RTP timestamp expected for `nextExt` (for DTX gap detection). */
  private nextTs = 0;
  /** Starvation concealment frames in a row. */
  private concealRun = 0;
  /** Loss concealment frames in a row. */
  private lossRun = 0;
  private fifo: Int16Array;
  private fifoLen = 0;
  // RFC 3550 jitter estimate, in RTP ticks
  private jitter = 0;
  private lastTransit: number | null = null;

  constructor(opts: JitterBufferOptions) {
    this.decoder = opts.decoder;
    this.minFrames = Math.max(1, Math.round((opts.minDelayMs ?? 20) / FRAME_MS));
    this.maxFrames = Math.max(this.minFrames, Math.round((opts.maxDelayMs ?? 200) / FRAME_MS));
    this.maxConceal = opts.maxConcealFrames ?? 3;
    this.frameTicks = (this.decoder.rtpClockRate * FRAME_MS) / 1000;
    this.packetTicks = this.frameTicks;
    this.frameSamples = this.decoder.frameSamples;
    this.fifo = new Int16Array(this.frameSamples * 8);
  }

  get state(): JitterBufferState {
    return this._state;
  }

  /** Current interarrival jitter estimate in ms. */
  get jitterMs(): number {
    return (this.jitter * 1000) / this.decoder.rtpClockRate;
  }

  /** Current target depth in frames (each 20 ms). */
  get targetFrames(): number {
    const frames = Math.ceil((FRAME_MS + 3 * this.jitterMs) / FRAME_MS);
    return Math.min(this.maxFrames, Math.max(this.minFrames, frames));
  }

  get queuedPackets(): number {
    return this.queue.size;
  }

  /** Queued audio in 20 ms frames (packets × the last seen packet duration). */
  get queuedFrames(): number {
    return (this.queue.size * this.packetTicks) / this.frameTicks;
  }

  push(pkt: RtpAudioPacket, arrivalMs: number): PushResult {
    this.stats.received++;
    let result: PushResult = 'queued';
    if (this.ssrc !== null && pkt.ssrc !== this.ssrc) {
      this.reset();
      this.stats.resets++;
      result = 'reset';
    }
    this.ssrc = pkt.ssrc;
    const seq = pkt.seq & 0xffff;
    const ts = pkt.timestamp >>> 0;
    if (this.highestExt < 0) {
      this.anchor(seq, ts);
    } else {
      const ext = this.extend(seq);
      const seqJump = ext - this.highestExt;
      const tsDiff = ((ts - this.highestTs - seqJump * this.frameTicks) | 0) / this.decoder.rtpClockRate;
      if (Math.abs(seqJump) > 1000 || tsDiff < -1 || tsDiff > 60) {
        // RFC 3550 §A.1: a large jump means the source restarted; re-buffer from here
        this.resync(seq, ts);
        this.stats.resyncs++;
        if (result === 'queued') result = 'resync';
      }
    }
    const ext = this.extend(seq);
    if (this.nextExt >= 0 && ext < this.nextExt) {
      this.stats.late++;
      return 'late';
    }
    if (this.queue.has(ext)) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    this.updateJitter(ts, arrivalMs);
    if (this.queue.set(ext, ts, pkt.payload)) this.stats.dropped++;
    if (ext > this.highestExt) {
      // shorter packets than assumed (10 ms ptime) are seen from consecutive timestamps before the first
      // decode; only ever lower the estimate here (DTX gaps look like long packets), decode sets it exactly
      const dt = (ts - this.highestTs) | 0;
      if (ext === this.highestExt + 1 && dt > 0 && dt < this.packetTicks) this.packetTicks = dt;
      this.highestExt = ext;
      this.highestTs = ts;
    }
    return result;
  }

  pop(): Int16Array | null {
    if (this._state === JitterBufferState.Buffering) {
      if (this.queuedFrames < this.targetFrames) return null;
      const first = this.queue.min();
      this.nextExt = first;
      this.nextTs = this.queue.ts(first);
      this.concealRun = 0;
      this._state = JitterBufferState.Playing;
    }
    // catch up: too much queued (the network delivered a burst after a stall, or jitter went down)
    while (this.queuedFrames > this.targetFrames + 2 && this.fifoLen === 0) {
      this.queue.delete(this.nextExt);
      this.nextExt++;
      this.nextTs = (this.nextTs + this.packetTicks) >>> 0;
      this.stats.dropped++;
      if (this.queue.has(this.nextExt)) this.nextTs = this.queue.ts(this.nextExt);
    }
    while (this.fifoLen < this.frameSamples) {
      if (this.queue.has(this.nextExt)) {
        const qTs = this.queue.ts(this.nextExt);
        const payload = this.queue.payload(this.nextExt);
        this.queue.delete(this.nextExt);
        const gap = (qTs - this.nextTs) | 0;
        if (gap >= this.frameTicks && gap <= this.maxFrames * this.frameTicks) {
          // DTX: timestamps ran on without packets → silence for the gap
          this.appendSilence(Math.round((gap * this.decoder.sampleRate) / this.decoder.rtpClockRate));
        }
        const pcm = this.safeDecode(payload);
        const ticks = Math.round((pcm.length * this.decoder.rtpClockRate) / this.decoder.sampleRate);
        if (ticks > 0) this.packetTicks = ticks;
        this.nextExt++;
        this.nextTs = (qTs + ticks) >>> 0;
        this.concealRun = 0;
        this.lossRun = 0;
        // fast path: exactly one 20 ms frame and nothing pending — hand it out without copying
        if (this.fifoLen === 0 && pcm.length === this.frameSamples) return pcm;
        this.append(pcm);
        continue;
      }
      if (this.queue.size > 0) {
        // loss: later packets are here, this one is not
        const minExt = this.queue.min();
        if (((minExt - this.nextExt) * this.packetTicks) / this.frameTicks > this.maxFrames) {
          // a gap longer than the whole buffer (sender paused, e.g. while we ignored a muted input):
          // concealing it frame by frame would only add delay — jump to the next packet
          this.stats.skipped += minExt - this.nextExt;
          this.nextExt = minExt;
          this.nextTs = this.queue.ts(minExt);
          continue;
        }
        if (this.queue.has(this.nextExt + 1) && this.appendFec()) {
          this.stats.fecRecovered++;
        } else if (this.lossRun < this.maxConceal) {
          this.appendConcealment(() => this.decoder.plc());
          this.stats.concealed++;
        } else {
          this.appendSilence(this.packetSamples()); // burst loss: PLC would only buzz, keep time with silence
        }
        this.lossRun++;
        this.nextExt++;
        this.nextTs = (this.nextTs + this.packetTicks) >>> 0;
        continue;
      }
      // starving: conceal, but do not give up on `nextExt` — it is late rather than lost until a later packet
      // shows otherwise. The playout point moves back by the concealed frame, so the buffer grows by what it
      // lacked (bounded by the catch-up above), and a packet that really was lost is met in the loss branch once
      // its successor is here: recovered from that successor's FEC instead of concealed blind.
      this.stats.underruns++;
      if (this.concealRun < this.maxConceal) {
        this.concealRun++;
        this.appendConcealment(() => this.decoder.plc());
        this.stats.concealed++;
        continue;
      }
      // concealment exhausted (DTX or the sender went away): silence, re-buffer when packets come back
      this.concealRun = 0;
      this._state = JitterBufferState.Buffering;
      this.fifoLen = 0;
      return null;
    }
    const out = allocPcm(this.frameSamples);
    out.set(this.fifo.subarray(0, this.frameSamples));
    this.fifo.copyWithin(0, this.frameSamples, this.fifoLen);
    this.fifoLen -= this.frameSamples;
    return out;
  }

  reset(): void {
    this.queue.clear();
    this.highestExt = -1;
    this.nextExt = -1;
    this.fifoLen = 0;
    this.lastTransit = null;
    this.concealRun = 0;
    this.lossRun = 0;
    this._state = JitterBufferState.Buffering;
  }

  private resync(seq: number, ts: number): void {
    this.reset();
    this.anchor(seq, ts);
  }

  private anchor(seq: number, ts: number): void {
    this.highestExt = SEQ_BASE + seq;
    this.highestTs = ts;
  }

  /** Extend a 16-bit sequence number to the one nearest the highest seen (RFC 3550 §A.1). */
  private extend(seq: number): number {
    const delta = (((seq - (this.highestExt & 0xffff)) << 16) >> 16) | 0;
    return this.highestExt + delta;
  }

  private updateJitter(ts: number, arrivalMs: number): void {
    // RFC 3550 §6.4.1 / §A.8: D(i−1,i) = (R_i − R_{i−1}) − (S_i − S_{i−1}); J += (|D| − J)/16
    const transit = (arrivalMs * this.decoder.rtpClockRate) / 1000 - ts;
    if (this.lastTransit !== null) {
      let d = transit - this.lastTransit;
      // timestamps are mod 2^32
      if (d > 2 ** 31) d -= 2 ** 32;
      else if (d < -(2 ** 31)) d += 2 ** 32;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  private safeDecode(payload: Buffer): Int16Array {
    try {
      return this.decoder.decode(payload);
    } catch {
      this.stats.decodeErrors++;
      return this.decoder.plc();
    }
  }

  /** Samples (decoder rate) one packet of the current duration covers. */
  private packetSamples(): number {
    return Math.round((this.packetTicks * this.decoder.sampleRate) / this.decoder.rtpClockRate);
  }

  /**
   * Recover the lost packet `nextExt` from the FEC in packet `nextExt + 1`; false if the codec has no FEC or that
   * packet is corrupt (the caller conceals instead).
   */
  private appendFec(): boolean {
    const decodeFec = this.decoder.decodeFec;
    if (!decodeFec) return false;
    const need = this.packetSamples();
    let pcm: Int16Array;
    try {
      pcm = decodeFec.call(this.decoder, this.queue.payload(this.nextExt + 1), need);
    } catch {
      return false;
    }
    if (pcm.length >= need) this.append(pcm.length === need ? pcm : pcm.subarray(0, need));
    else {
      this.append(pcm);
      this.appendSilence(need - pcm.length);
    }
    return true;
  }

  /** Conceal exactly one packet's duration (PLC/FEC give 20 ms frames; packets may be 10/30/60 ms). */
  private appendConcealment(source: () => Int16Array): void {
    let need = this.packetSamples();
    while (need > 0) {
      const f = source();
      if (f.length === 0) break;
      const n = Math.min(need, f.length);
      this.append(n === f.length ? f : f.subarray(0, n));
      need -= n;
    }
  }

  private appendSilence(n: number): void {
    this.ensure(n);
    this.fifo.fill(0, this.fifoLen, this.fifoLen + n);
    this.fifoLen += n;
  }

  private append(pcm: Int16Array): void {
    this.ensure(pcm.length);
    this.fifo.set(pcm, this.fifoLen);
    this.fifoLen += pcm.length;
  }

  private ensure(n: number): void {
    if (this.fifoLen + n <= this.fifo.length) return;
    const bigger = new Int16Array((this.fifoLen + n) * 2);
    bigger.set(this.fifo.subarray(0, this.fifoLen));
    this.fifo = bigger;
  }
}
