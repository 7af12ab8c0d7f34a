/**
 * Conference mixer (MCU) pure core — design
 * =========================================
 * Driven from outside, one call per 20 ms tick: `mixOnce(inputs)` takes each participant's decoded frame
 * at the mix rate (or nothing) and returns, per output format, encoded payloads and who gets which. No
 * timers, no sockets, plain data in and out: a worker_threads loop owns the tick, the jitter buffers and RTP.
 *
 * Mix rate: 16 kHz (wideband). Every SIP codec we serve is ≤ 7 kHz audio bandwidth (G.711 3.4 kHz, G.722
 * 7 kHz, Opus from desk phones is speech), so 48 kHz would triple the cost of accumulation, limiting,
 * mix-minus and resampling for no audible gain; G.722 runs natively at 16 kHz and Opus is opened at 16 kHz
 * (libopus resamples inside), so G.722/Opus callers keep wideband among themselves, and G.711 legs need
 * only a 2:1 polyphase resampler per *format*, not per listener. WebRTC users get full band from the SFU.
 *
 * Per tick:
 *  1. Input gain, int32 frame; smoothed energy (fast attack, slow release) and VAD (speaking events).
 *     Muted / input-less participants contribute nothing, from this very tick.
 *  2. Talker selection: the `maxTalkers` (default 3) loudest by smoothed energy; a newcomer must reach
 *     `talkerStartDb` (or be speaking per VAD), a talker is released below `talkerFloorDb`. A selected
 *     talker is only replaced by someone `switchMarginDb` louder, and only after it was held
 *     `minHoldFrames` — hysteresis so the set doesn't flap between similar voices.
 *  3. total = Σ selected talkers (int32). Every non-talker listener of a format shares ONE payload:
 *     softClip(total) encoded once per format. Each selected talker with an output gets its own
 *     mix-minus softClip(total − self) encode (nobody hears themselves). A participant with a queued
 *     prompt/tone gets a private frame (its normal mix + the clip). Cost therefore grows with talkers and
 *     formats, not with listeners (listeners only cost a name in a list).
 *  4. Soft clip (linear to −2.5 dBFS, tanh above) instead of wrap-around or hard clipping.
 *
 * Known trade-off: stateful encoders (G.722, Opus) are per stream, so a participant moving between the
 * shared stream and its own mix-minus stream (starts/stops talking) hears one frame of predictor
 * discontinuity; G.711 is stateless and seamless.
 */
import { allocPcm, createEncoder as defaultCreateEncoder } from './codec';
import type { AudioEncoder, CodecName } from './codec';
import { ClipQueue } from './clip-queue';
import { Resampler } from './resampler';
import { softClipInto } from './soft-clip';
import { Vad, energyToDb } from './vad';
import type { VadOptions } from './vad';

/**
 * 8000 is for rooms whose participants are all narrowband (G.711): then nothing is resampled at all, in or out.
 * The host picks it (and rebuilds at 16000 when a wideband participant joins); the core only needs it consistent.
 */
export type MixRate = 8000 | 16000 | 48000;

export interface MixerOptions {
  /** Internal mix rate (default 16000, see the design note). */
  sampleRate?: MixRate;
  /** How many loudest talkers are mixed (default 3). */
  maxTalkers?: number;
  /** Smoothed level (dBFS) below which a selected talker is released (default −50). */
  talkerFloorDb?: number;
  /**
   * Smoothed level (dBFS) a newcomer must reach to be mixed, unless its VAD already says it is speaking
   * (default −40): steady background noise of a quiet line is not mixed even when talker slots are free.
   */
  talkerStartDb?: number;
  /** How much louder (dB) a newcomer must be than the weakest selected talker to replace it (default 3). */
  switchMarginDb?: number;
  /** Frames a talker stays selected at least before it can be replaced (default 10 = 200 ms). */
  minHoldFrames?: number;
  vad?: VadOptions;
  /** Encoder factory (tests inject fakes); receives the PCM rate it must accept. */
  createEncoder?: (format: CodecName, mixRate: MixRate) => AudioEncoder;
  /** Also return the PCM (at the mix rate) of every output, for tests and recording. */
  keepPcm?: boolean;
}

export interface ParticipantOptions {
  /** Codec this participant receives, or null for input-only (e.g. WebRTC users heard through the SFU). */
  output?: CodecName | null;
  /** Whether the participant's audio may be mixed (false = listen-only). Default true. */
  input?: boolean;
  /** Linear input gain (default 1). */
  gain?: number;
  muted?: boolean;
}

export interface MixInput {
  id: string;
  /** One frame at the mix rate (frameSamples long), or null for "nothing this tick". */
  pcm: Int16Array | null;
}

export type MixOutputKind = 'shared' | 'mix-minus' | 'private';

export interface MixOutput {
  format: CodecName;
  kind: MixOutputKind;
  payload: Buffer;
  /**
   * Who receives this payload (each sends it with its own SSRC/seq/ts). Read-only: a shared group's list is reused
   * from tick to tick while the room's membership, the talker set and the prompts do not change.
   */
  participants: string[];
  pcm?: Int16Array;
}

export interface SpeakingEvent {
  id: string;
  speaking: boolean;
}

export interface MixResult {
  outputs: MixOutput[];
  /** Participants mixed this tick, loudest first. */
  talkers: string[];
  events: SpeakingEvent[];
}

/** Encoder plus the resampler from the mix rate to the encoder's rate (null when they match). */
class EncodeChain {
  private readonly resampler: Resampler | null;
  /** The resampler's output, reused every tick (encoders copy what they are given into their payload). */
  private readonly scratch: Int16Array;
  constructor(
    readonly encoder: AudioEncoder,
    mixRate: number,
  ) {
    this.resampler = encoder.sampleRate === mixRate ? null : new Resampler(mixRate, encoder.sampleRate);
    this.scratch = new Int16Array(this.resampler ? encoder.frameSamples : 0);
  }
  encode(pcm: Int16Array): Buffer {
    if (!this.resampler) return this.encoder.encode(pcm);
    const need = this.resampler.outputLength(pcm.length);
    const buf = need <= this.scratch.length ? this.scratch : new Int16Array(need);
    const n = this.resampler.processInto(pcm, buf);
    return this.encoder.encode(n === buf.length ? buf : buf.subarray(0, n));
  }
  close(): void {
    this.encoder.close();
  }
}

class Party {
  output: CodecName | null;
  input: boolean;
  gain: number;
  muted: boolean;
  readonly vad: Vad;
  /** Smoothed mean-square energy per sample. */
  level = 0;
  /** This tick's mean-square energy (0 without a frame). */
  energy = 0;
  /** This tick's gain-applied frame, or null. */
  frame: Int32Array | null = null;
  private readonly buf: Int32Array;
  selectedAt = -1;
  /** In the mixer's talker set. */
  selected = false;
  /** In the mixer's set of participants whose level/VAD still change without input (see `Mixer.live`). */
  live = false;
  /** Own encoder for mix-minus / private frames; closed when unused for a while. */
  chain: EncodeChain | null = null;
  chainFormat: CodecName | null = null;
  chainLastUsed = 0;
  readonly prompts = new ClipQueue();

  constructor(
    readonly id: string,
    /** Join order: outputs and events are listed in it. */
    readonly ordinal: number,
    opts: ParticipantOptions,
    frameSamples: number,
    vadOpts: VadOptions | undefined,
  ) {
    this.output = opts.output ?? null;
    this.input = opts.input ?? true;
    this.gain = opts.gain ?? 1;
    this.muted = opts.muted ?? false;
    this.vad = new Vad(vadOpts);
    this.buf = new Int32Array(frameSamples);
  }

  /** Apply gain into the int32 frame; returns mean-square energy. */
  take(pcm: Int16Array): number {
    const b = this.buf;
    let e = 0;
    if (this.gain === 1) {
      for (let i = 0; i < b.length; i++) {
        const v = pcm[i];
        b[i] = v;
        e += v * v;
      }
    } else {
      const g = this.gain;
      for (let i = 0; i < b.length; i++) {
        const v = Math.round(pcm[i] * g);
        b[i] = v;
        e += v * v;
      }
    }
    this.frame = b;
    return e / b.length;
  }

  hasPrompt(): boolean {
    return !this.prompts.isEmpty;
  }

  /** Next frame of the queued prompt(s) into `out` (zero-padded at the end of the queue). */
  nextPrompt(out: Int16Array): Int16Array {
    return this.prompts.next(out);
  }
}

const CHAIN_IDLE_TICKS = 250; // 5 s
/** A smoothed level below this (≈ −123 dBFS, shown as −120) is 0: the participant's state is at rest. */
const LEVEL_AT_REST = 1e-3;

interface SharedGroup {
  format: CodecName;
  ids: string[];
}

export class Mixer {
  readonly sampleRate: MixRate;
  readonly frameSamples: number;
  readonly maxTalkers: number;
  private readonly floorDb: number;
  private readonly startDb: number;
  private readonly marginDb: number;
  private readonly minHold: number;
  private readonly vadOpts: VadOptions | undefined;
  private readonly makeEncoder: (format: CodecName, mixRate: MixRate) => AudioEncoder;
  private readonly keepPcm: boolean;
  private readonly parties = new Map<string, Party>();
  private readonly shared = new Map<CodecName, EncodeChain>();
  private selected: Party[] = [];
  private tick = 0;
  private readonly total: Int32Array;
  private closed = false;
  private nextOrdinal = 0;
  /**
   * Participants whose smoothed level or VAD state can still change: those with input this tick, a level above rest
   * or a VAD that is counting or speaking. Everyone else (most listeners) is at rest and costs nothing per tick.
   */
  private readonly live = new Set<Party>();
  /** Participants that got a frame this tick (their `frame` is cleared at the start of the next). */
  private framed: Party[] = [];
  /** Participants with queued prompts. */
  private readonly prompted = new Set<Party>();
  /** Participants owning a mix-minus/private encoder (reaped when idle). */
  private readonly chained = new Set<Party>();
  /** Bumped whenever who receives which format may change (join, leave, output change). */
  private membership = 0;
  /** Shared listener groups as last built, valid while `membership` and the individually served set stay. */
  private groups: { membership: number; individual: Party[]; list: SharedGroup[] } | null = null;
  private readonly individual: Party[] = [];
  // per-tick work buffers (not handed out unless `keepPcm` is off, then fresh arrays are used)
  private readonly mixBuf: Int16Array;
  private readonly ownBuf: Int16Array;
  private readonly accBuf: Int32Array;
  private readonly promptBuf: Int16Array;

  constructor(opts: MixerOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 16000;
    this.frameSamples = this.sampleRate / 50;
    this.maxTalkers = opts.maxTalkers ?? 3;
    this.floorDb = opts.talkerFloorDb ?? -50;
    this.startDb = Math.max(this.floorDb, opts.talkerStartDb ?? -40);
    this.marginDb = opts.switchMarginDb ?? 3;
    this.minHold = opts.minHoldFrames ?? 10;
    this.vadOpts = opts.vad;
    this.makeEncoder = opts.createEncoder ?? ((f, rate) => defaultCreateEncoder(f, rate));
    this.keepPcm = opts.keepPcm ?? false;
    this.total = new Int32Array(this.frameSamples);
    this.mixBuf = new Int16Array(this.frameSamples);
    this.ownBuf = new Int16Array(this.frameSamples);
    this.accBuf = new Int32Array(this.frameSamples);
    this.promptBuf = new Int16Array(this.frameSamples);
  }

  addParticipant(id: string, opts: ParticipantOptions = {}): void {
    if (this.parties.has(id)) throw new Error(`mixer: participant ${id} already exists`);
    this.parties.set(id, new Party(id, this.nextOrdinal++, opts, this.frameSamples, this.vadOpts));
    this.membership++;
  }

  removeParticipant(id: string): void {
    const p = this.parties.get(id);
    if (!p) return;
    p.chain?.close();
    p.chain = null;
    this.parties.delete(id);
    this.live.delete(p);
    this.prompted.delete(p);
    this.chained.delete(p);
    if (p.selected) {
      p.selected = false;
      this.selected = this.selected.filter((s) => s !== p);
    }
    this.membership++;
  }

  has(id: string): boolean {
    return this.parties.has(id);
  }

  get size(): number {
    return this.parties.size;
  }

  setMuted(id: string, muted: boolean): void {
    this.party(id).muted = muted;
  }

  setGain(id: string, gain: number): void {
    if (!(gain >= 0)) throw new RangeError('mixer: gain must be >= 0');
    this.party(id).gain = gain;
  }

  setOutput(id: string, output: CodecName | null): void {
    this.party(id).output = output;
    this.membership++;
  }

  setInput(id: string, input: boolean): void {
    this.party(id).input = input;
  }

  /** Queue a PCM clip (mix rate) to be heard by this participant only (join tone, spoken prompt). */
  playPrompt(id: string, pcm: Int16Array): void {
    const p = this.party(id);
    p.prompts.push(pcm);
    this.prompted.add(p);
  }

  cancelPrompts(id: string): void {
    const p = this.party(id);
    p.prompts.clear();
    this.prompted.delete(p);
  }

  isPlayingPrompt(id: string): boolean {
    return this.party(id).hasPrompt();
  }

  mixOnce(inputs: Iterable<MixInput> = []): MixResult {
    if (this.closed) throw new Error('mixer: closed');
    this.tick++;
    const n = this.frameSamples;

    // 1. inputs, levels, VAD
    for (const p of this.framed) {
      p.frame = null;
      p.energy = 0;
    }
    this.framed.length = 0;
    for (const { id, pcm } of inputs) {
      const p = this.parties.get(id);
      if (!p || !pcm || !p.input || p.muted) continue;
      if (pcm.length !== n)
        throw new RangeError(`mixer: frame for ${id} has ${pcm.length} samples, not ${n}`);
      if (p.frame === null) this.framed.push(p);
      p.energy = p.take(pcm);
      if (!p.live) {
        p.live = true;
        this.live.add(p);
      }
    }
    let raised: Array<{ p: Party; speaking: boolean }> | null = null;
    for (const p of this.live) {
      const e = p.energy;
      // fast attack, slow release (≈ −10 dB in 440 ms) — doubles as the talker hold time
      let level = e > p.level ? 0.5 * p.level + 0.5 * e : 0.9 * p.level + 0.1 * e;
      if (level < LEVEL_AT_REST) level = 0;
      p.level = level;
      const ev = p.muted || !p.input ? p.vad.reset() : p.vad.processLevel(p.frame ? energyToDb(e) : null);
      if (ev) (raised ??= []).push({ p, speaking: ev === 'start' });
      if (p.frame === null && level === 0 && p.vad.atRest) {
        p.live = false;
        this.live.delete(p);
      }
    }
    const events: SpeakingEvent[] = [];
    if (raised) {
      raised.sort((a, b) => a.p.ordinal - b.p.ordinal);
      for (const r of raised) events.push({ id: r.p.id, speaking: r.speaking });
    }

    // 2. talker selection with hysteresis
    this.selectTalkers();

    // 3. mix
    const total = this.total;
    total.fill(0);
    for (const t of this.selected) {
      const f = t.frame;
      if (f) for (let i = 0; i < n; i++) total[i] += f[i];
    }
    const outputs: MixOutput[] = [];
    // talkers and prompt listeners get their own frame; in join order, like the shared groups
    const individual = this.individual;
    individual.length = 0;
    for (const t of this.selected) if (t.output) individual.push(t);
    for (const p of this.prompted) if (p.output && !p.selected) individual.push(p);
    if (individual.length > 1) individual.sort((a, b) => a.ordinal - b.ordinal);
    const groups = this.sharedGroups(individual);
    for (const p of individual) {
      const format = p.output as CodecName;
      let pcm: Int16Array;
      let kind: MixOutputKind;
      const out = this.keepPcm ? allocPcm(n) : this.ownBuf;
      if (p.hasPrompt()) {
        const acc = this.accBuf;
        const own = p.selected ? p.frame : null;
        const prompt = p.nextPrompt(this.promptBuf);
        if (own) for (let i = 0; i < n; i++) acc[i] = total[i] - own[i] + prompt[i];
        else for (let i = 0; i < n; i++) acc[i] = total[i] + prompt[i];
        if (!p.hasPrompt()) this.prompted.delete(p);
        pcm = softClipInto(out, acc);
        kind = 'private';
      } else {
        pcm = p.frame ? softClipInto(out, total, p.frame, -1) : softClipInto(out, total);
        kind = 'mix-minus';
      }
      outputs.push(this.out(format, kind, this.ownChain(p, format).encode(pcm), [p.id], pcm));
    }
    if (groups.length > 0) {
      const mix = softClipInto(this.keepPcm ? allocPcm(n) : this.mixBuf, total);
      for (const { format, ids } of groups) {
        let chain = this.shared.get(format);
        if (!chain)
          this.shared.set(
            format,
            (chain = new EncodeChain(this.makeEncoder(format, this.sampleRate), this.sampleRate)),
          );
        outputs.push(this.out(format, 'shared', chain.encode(mix), ids, mix));
      }
    }
    this.reapChains();
    const talkers =
      this.selected.length === 0 ? [] : [...this.selected].sort((a, b) => b.level - a.level).map((t) => t.id);
    return { outputs, talkers, events };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.shared.values()) c.close();
    this.shared.clear();
    for (const p of this.parties.values()) p.chain?.close();
    this.parties.clear();
    this.live.clear();
    this.prompted.clear();
    this.chained.clear();
    this.framed = [];
    this.selected = [];
    this.groups = null;
  }

  /**
   * Everyone with an output who is not served individually, grouped by format (formats in join order of their first
   * listener, ids in join order). Rebuilt only when membership or the individually served set changed.
   */
  private sharedGroups(individual: Party[]): SharedGroup[] {
    const g = this.groups;
    if (g && g.membership === this.membership && g.individual.length === individual.length) {
      let same = true;
      for (let i = 0; i < individual.length; i++)
        if (g.individual[i] !== individual[i]) {
          same = false;
          break;
        }
      if (same) return g.list;
    }
    const skip = new Set(individual);
    const byFormat = new Map<CodecName, string[]>();
    for (const p of this.parties.values()) {
      if (!p.output || skip.has(p)) continue;
      let ids = byFormat.get(p.output);
      if (!ids) byFormat.set(p.output, (ids = []));
      ids.push(p.id);
    }
    const list: SharedGroup[] = [];
    for (const [format, ids] of byFormat) list.push({ format, ids });
    this.groups = { membership: this.membership, individual: individual.slice(), list };
    return list;
  }

  private out(
    format: CodecName,
    kind: MixOutputKind,
    payload: Buffer,
    ids: string[],
    pcm: Int16Array,
  ): MixOutput {
    const o: MixOutput = { format, kind, payload, participants: ids };
    if (this.keepPcm) o.pcm = pcm;
    return o;
  }

  private party(id: string): Party {
    const p = this.parties.get(id);
    if (!p) throw new Error(`mixer: unknown participant ${id}`);
    return p;
  }

  private db(p: Party): number {
    return energyToDb(p.level);
  }

  private selectTalkers(): void {
    // drop talkers that are muted / listen-only (at once) or whose smoothed level faded below the floor;
    // a talker with no frame this tick (pause between words, gated input) stays selected while it decays
    let kept = 0;
    for (const t of this.selected) {
      if (!t.muted && t.input && this.db(t) >= this.floorDb) this.selected[kept++] = t;
      else t.selected = false;
    }
    this.selected.length = kept;
    // candidates: only participants with a frame this tick can be
    let candidates: Party[] | null = null;
    for (const p of this.framed) {
      if (p.selected) continue;
      const db = this.db(p);
      if (p.vad.speaking ? db >= this.floorDb : db >= this.startDb) (candidates ??= []).push(p);
    }
    if (!candidates) return;
    candidates.sort((a, b) => b.level - a.level || a.ordinal - b.ordinal);
    for (const c of candidates) {
      if (this.selected.length < this.maxTalkers) {
        c.selectedAt = this.tick;
        c.selected = true;
        this.selected.push(c);
        continue;
      }
      let weakest = this.selected[0];
      for (const t of this.selected) if (t.level < weakest.level) weakest = t;
      if (this.db(c) > this.db(weakest) + this.marginDb && this.tick - weakest.selectedAt >= this.minHold) {
        c.selectedAt = this.tick;
        c.selected = true;
        weakest.selected = false;
        this.selected[this.selected.indexOf(weakest)] = c;
      } else {
        break; // candidates are sorted: nobody quieter can qualify either
      }
    }
  }

  private ownChain(p: Party, format: CodecName): EncodeChain {
    if (!p.chain || p.chainFormat !== format) {
      p.chain?.close();
      p.chain = new EncodeChain(this.makeEncoder(format, this.sampleRate), this.sampleRate);
      p.chainFormat = format;
      this.chained.add(p);
    }
    p.chainLastUsed = this.tick;
    return p.chain;
  }

  private reapChains(): void {
    if (this.tick % 50 !== 0) return;
    for (const p of this.chained) {
      if (p.chain && this.tick - p.chainLastUsed > CHAIN_IDLE_TICKS) {
        p.chain.close();
        p.chain = null;
        p.chainFormat = null;
        this.chained.delete(p);
      }
    }
  }
}
