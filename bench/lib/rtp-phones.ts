/**
 * The media side of many plain-RTP "phones" in one bench process, whatever signalled them (a SIP INVITE to Parley,
 * a Janus AudioBridge `join`): one UDP socket per phone on 127.0.0.1, G.711 PCMU, 20 ms frames sent continuously
 * like a real phone (talkers a tone, listeners low comfort noise, the "mouth" a click train), paced by the wall
 * clock (one shared schedule, phones spread over 4 phase slots of 5 ms: no setInterval drift, no burst of every
 * phone at the same instant). Each phone counts what it receives (per window, by arrival and by RTP sequence
 * number); the "ear" detects the clicks in what it hears.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import { percentile } from './proc';

export const FRAME_MS = 20;
export const SAMPLES = 160; // 20 ms at 8 kHz
const PAYLOAD_PCMU = 0;

// ---------------------------------------------------------------- G.711 μ-law

export function ulaw(v: number): number {
  const s = Math.max(-32635, Math.min(32635, Math.round(v)));
  const sign = s < 0 ? 0x80 : 0;
  let m = Math.abs(s) + 132;
  let e = 7;
  for (let mask = 0x4000; (m & mask) === 0 && e > 0; mask >>= 1) e--;
  m = (m >> (e + 3)) & 0x0f;
  return ~(sign | (e << 4) | m) & 0xff;
}

export const ULAW_DECODE = Int16Array.from({ length: 256 }, (_, b) => {
  const u = ~b & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
});

/** 50 frames (1 s) of samples `f(n)` (n = sample index since the start), μ-law encoded. Integer-Hz tones are
 *  periodic over one second at 8 kHz, so cycling the 50 frames keeps the phase continuous. */
function oneSecond(f: (n: number) => number): Buffer[] {
  return Array.from({ length: 50 }, (_, fr) =>
    Buffer.from(Array.from({ length: SAMPLES }, (_, i) => ulaw(f(fr * SAMPLES + i)))),
  );
}

/** Talker k's voice: a tone of 407 + 13·k Hz (never whole cycles per 20 ms frame), ≈ −27 dBFS RMS. Tones stay
 *  below 600 Hz so that the ear's click detector (a second difference: a high-pass) barely sees them. */
export function talkerFrames(k: number, amplitude = 2000): Buffer[] {
  const f = 407 + 13 * (k % 13);
  return oneSecond((n) => amplitude * Math.sin((2 * Math.PI * f * n) / 8000));
}

/** A listener's comfort noise: low white noise (≈ −67 dBFS), what a phone without DTX sends while its user is
 *  silent. Deterministic (seeded), 1 s long. */
export function comfortNoiseFrames(seed = 1): Buffer[] {
  let x = seed >>> 0 || 1;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 0xffffffff) * 2 - 1;
  };
  return oneSecond(() => 25 * rnd());
}

/** Frames (of the 50) that carry a click: one every 500 ms. */
export const CLICK_FRAMES = new Set([0, 25]);

/** The mouth: a 313 Hz tone a little louder than the talkers (so a mixer that selects its loudest talkers picks
 *  it), and every 500 ms a 10 ms burst of 2 kHz at half scale: the click whose arrival the ear times. */
export function mouthFrames(): Buffer[] {
  return oneSecond((n) => {
    const fr = Math.floor(n / SAMPLES);
    const i = n % SAMPLES;
    const bg = 2500 * Math.sin((2 * Math.PI * 313 * n) / 8000);
    const click =
      CLICK_FRAMES.has(fr) && i < 80 ? 16000 * Math.sin((2 * Math.PI * 2000 * i) / 8000 + Math.PI / 4) : 0;
    return bg + click;
  });
}

// ---------------------------------------------------------------- click detection

/** Second difference of the decoded signal above this marks a click sample (2 kHz burst: gain 2; tones ≤ 600 Hz:
 *  gain ≤ 0.2, so even 12 talkers summed stay far below). */
const CLICK_D2_THRESHOLD = 12000;
/** A click is confirmed when at least this many of the 40 samples (5 ms) from its first one cross the threshold:
 *  the 10 ms burst does (≥ half of its samples), a lone spike (a packet gap, a clipped peak) does not. */
const CLICK_CONFIRM_OF_40 = 8;

export class ClickDetector {
  /** performance.now() time of each click onset heard. */
  readonly onsets: number[] = [];
  private prev1 = 0;
  private prev2 = 0;
  private quietUntil = 0;
  /** A candidate onset being confirmed: its time, samples seen since, crossings among them. */
  private cand: { t: number; seen: number; hits: number } | null = null;

  onPayload(payload: Buffer, at: number): void {
    for (let i = 0; i < payload.length; i++) {
      const x = ULAW_DECODE[payload[i]!]!;
      const d2 = x - 2 * this.prev1 + this.prev2;
      this.prev2 = this.prev1;
      this.prev1 = x;
      // the packet's sample i plays i/8 ms after the packet arrives
      const t = at + i / 8;
      const hit = Math.abs(d2) >= CLICK_D2_THRESHOLD;
      const c = this.cand;
      if (c) {
        c.seen++;
        if (hit) c.hits++;
        if (c.hits >= CLICK_CONFIRM_OF_40) {
          if (this.onsets.length < 100000) this.onsets.push(c.t);
          this.quietUntil = c.t + 200;
          this.cand = null;
        } else if (c.seen >= 40) this.cand = null;
      } else if (hit && t >= this.quietUntil) this.cand = { t, seen: 1, hits: 1 };
    }
  }
}

export interface Latency {
  clicksSent: number;
  clicksHeard: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Each click sent, matched with the first onset heard within `maxMs` after it. */
export function clickLatency(sent: number[], onsets: number[], maxMs = 480): Latency {
  const lat: number[] = [];
  for (const s of sent) {
    const o = onsets.find((t) => t >= s && t - s < maxMs);
    if (o !== undefined) lat.push(o - s);
  }
  lat.sort((a, b) => a - b);
  return {
    clicksSent: sent.length,
    clicksHeard: lat.length,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    maxMs: lat.length ? lat[lat.length - 1]! : NaN,
  };
}

// ---------------------------------------------------------------- phones

export type Role = 'talker' | 'listener' | 'mouth' | 'ear';

export interface WindowCount {
  /** Audio packets received in the window. */
  received: number;
  /** Highest − lowest extended RTP sequence number + 1 over those packets (0 when none). */
  seqSpan: number;
  /** (Highest − lowest RTP timestamp) / 160 + 1 over those packets: the 20 ms frames of the sender's timeline the
   *  window covered (0 when none). */
  tsFrames: number;
}

export class Phone {
  /** Where to send (from the SDP answer or the Janus join); null until signalled. */
  remote: { ip: string; port: number; pt: number } | null = null;
  /** Audio packets received (RTCP and other payload types aside). */
  received = 0;
  /** Packets sent. */
  sent = 0;
  readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  /** For the mouth: performance.now() when each click frame was sent. */
  readonly clicksSent: number[] = [];
  /** For the ear. */
  readonly detector: ClickDetector | null;
  private seq = Math.floor(Math.random() * 30000);
  private readonly tsBase = (Math.random() * 0xffffffff) >>> 0;
  private readonly packet = Buffer.alloc(12 + SAMPLES);
  private lastSeq = -1;
  private cycles = 0;
  private lastTs = -1;
  private tsCycles = 0;
  private win = { received: 0, lo: Infinity, hi: -Infinity, tsLo: Infinity, tsHi: -Infinity };

  private constructor(
    readonly sock: dgram.Socket,
    readonly port: number,
    readonly role: Role,
    private readonly frames: Buffer[],
    /** Phase offset into the 1 s frame cycle (so listeners do not all send the very same bytes). */
    private readonly offset: number,
  ) {
    this.detector = role === 'ear' ? new ClickDetector() : null;
    this.packet[0] = 0x80;
    this.packet.writeUInt32BE(this.ssrc, 8);
    sock.on('message', (m) => this.onMessage(m));
  }

  static async open(role: Role, frames: Buffer[], offset = 0): Promise<Phone> {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new Phone(sock, sock.address().port, role, frames, offset);
  }

  /** Sends frame `n` of the shared schedule (its timestamp follows the wall clock). */
  send(n: number): void {
    const r = this.remote;
    if (!r) return;
    const p = this.packet;
    p[1] = r.pt & 0x7f;
    p.writeUInt16BE(this.seq++ & 0xffff, 2);
    p.writeUInt32BE((this.tsBase + n * SAMPLES) >>> 0, 4);
    const k = (n + this.offset) % this.frames.length;
    this.frames[k]!.copy(p, 12);
    if (this.role === 'mouth' && CLICK_FRAMES.has(k)) this.clicksSent.push(performance.now());
    // the kernel copies the datagram before send() returns to the loop, but libuv may queue it: a fresh copy
    this.sock.send(Buffer.from(p), r.port, r.ip);
    this.sent++;
  }

  /** Starts a counting window (received packets and their RTP sequence span). */
  markWindow(): void {
    this.win = { received: 0, lo: Infinity, hi: -Infinity, tsLo: Infinity, tsHi: -Infinity };
  }

  windowCount(): WindowCount {
    const w = this.win;
    return {
      received: w.received,
      seqSpan: w.received ? w.hi - w.lo + 1 : 0,
      tsFrames: w.received ? Math.round((w.tsHi - w.tsLo) / SAMPLES) + 1 : 0,
    };
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      /* closed already */
    }
  }

  private onMessage(m: Buffer): void {
    const at = performance.now();
    if (m.length <= 12 || m[0]! >> 6 !== 2) return;
    const pt = m[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) return; // RTCP (RFC 5761 §4)
    if (pt !== (this.remote?.pt ?? PAYLOAD_PCMU)) return;
    this.received++;
    const seq = m.readUInt16BE(2);
    if (this.lastSeq >= 0 && seq < this.lastSeq && this.lastSeq - seq > 0x8000) this.cycles++;
    if (this.lastSeq < 0 || seq > this.lastSeq || this.lastSeq - seq > 0x8000) this.lastSeq = seq;
    const ext = this.cycles * 0x10000 + seq;
    const ts = m.readUInt32BE(4);
    if (this.lastTs >= 0 && ts < this.lastTs && this.lastTs - ts > 0x80000000) this.tsCycles++;
    if (this.lastTs < 0 || ts > this.lastTs || this.lastTs - ts > 0x80000000) this.lastTs = ts;
    const extTs = this.tsCycles * 0x100000000 + ts;
    const w = this.win;
    w.received++;
    if (ext < w.lo) w.lo = ext;
    if (ext > w.hi) w.hi = ext;
    if (extTs < w.tsLo) w.tsLo = extTs;
    if (extTs > w.tsHi) w.tsHi = extTs;
    if (this.detector) {
      const cc = m[0]! & 0x0f;
      let off = 12 + 4 * cc;
      if (m[0]! & 0x10 && m.length >= off + 4) off += 4 + 4 * m.readUInt16BE(off + 2);
      if (off < m.length) this.detector.onPayload(m.subarray(off), at);
    }
  }
}

// ---------------------------------------------------------------- pacing

/**
 * One wall-clock schedule for every phone: frame n of a phone in slot s is due at t0 + 20·n + 5·s ms. A late loop
 * catches up at once (no drift); a loop stalled for more than 10 frames skips them (as a phone's sender would)
 * and counts the stall. Bounded by `maxSeconds`.
 */
export class Pacer {
  private readonly slots: Phone[][];
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private added = 0;
  /** Times the loop fell more than 10 frames behind (since the last resetStats). */
  stalls = 0;
  /** Largest lateness of a slot, ms (since the last resetStats). */
  maxLateMs = 0;

  constructor(
    private readonly maxSeconds: number,
    private readonly nSlots = 4,
  ) {
    this.slots = Array.from({ length: nSlots }, () => []);
  }

  resetStats(): void {
    this.stalls = 0;
    this.maxLateMs = 0;
  }

  add(p: Phone): void {
    this.slots[this.added++ % this.nSlots]!.push(p);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const slotMs = FRAME_MS / this.nSlots;
    const maxSteps = Math.ceil((this.maxSeconds * 1000) / slotMs);
    const t0 = performance.now();
    let step = 0;
    while (this.running && step < maxSteps) {
      const late = performance.now() - (t0 + step * slotMs);
      if (late > this.maxLateMs) this.maxLateMs = late;
      if (late > 10 * FRAME_MS) {
        this.stalls++;
        step = Math.floor((performance.now() - t0) / slotMs);
        continue;
      }
      const frame = Math.floor(step / this.nSlots);
      for (const p of this.slots[step % this.nSlots]!) p.send(frame);
      step++;
      const wait = t0 + step * slotMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (step % 8 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    this.running = false;
  }
}

/** Kernel drop counters of local UDP sockets: port → drops (last column of /proc/net/udp). */
export function udpDropsByPort(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local) continue;
      const port = parseInt(local.split(':')[1] ?? '', 16);
      if (Number.isFinite(port)) out.set(port, (out.get(port) ?? 0) + Number(f[f.length - 1]));
    }
  } catch {
    // no procfs
  }
  return out;
}

/** A phone's offer: PCMU + telephone-event at `port` on 127.0.0.1. */
export function pcmuOffer(user: string, port: number): string {
  return [
    'v=0',
    `o=${user} 1 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** Where the answer sends our RTP, and the PCMU payload type it chose. */
export function pcmuAnswerTarget(sdp: string): { ip: string; port: number; pt: number } {
  const ip = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(sdp);
  if (!ip || !m) throw new Error(`no audio in the answer: ${sdp.slice(0, 300)}`);
  const pcmu = /^a=rtpmap:(\d+) PCMU\/8000/im.exec(sdp)?.[1];
  const pt = pcmu !== undefined ? Number(pcmu) : 0;
  if (!m[2]!.split(' ').includes(String(pt))) throw new Error(`PCMU not in the answer: ${m[0]}`);
  return { ip, port: Number(m[1]), pt };
}
