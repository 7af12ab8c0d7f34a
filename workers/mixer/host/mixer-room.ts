import type { CodecName } from '../codec';
import { TelephoneEventReceiver } from '../dtmf';
import { ClipQueue } from '../clip-queue';
import { InputPipeline } from '../input-pipeline';
import { Mixer } from '../mixer';
import type { MixRate } from '../mixer';
import type { AddMixerParticipantParams, MixerReceiveStats, MixerRoomStats, Notification } from '../protocol';
import { classifyPacket, PacketKind } from '../relay/packet-kind';
import { Resampler } from '../resampler';
import { buildSenderReport, ReceptionStats, reportAbout, senderReportNtp, type RemoteReport } from '../rtcp';
import { parseRtp, RtpOutputStream } from '../rtp';

export class MixerRoomError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'MixerRoomError';
  }
}

/** RTP ticks per 20 ms frame (RFC 3551 §4.5: G.722 counts at 8000; RFC 7587 §4.1: Opus at 48000). */
function ticksPerFrame(codec: CodecName): number {
  return codec === 'opus' ? 960 : 160;
}

function receiveStats(pipeline: InputPipeline): MixerReceiveStats {
  const jb = pipeline.jitterBuffer;
  const st = jb.stats;
  return {
    received: st.received,
    duplicates: st.duplicates,
    late: st.late,
    concealed: st.concealed,
    fecRecovered: st.fecRecovered,
    underruns: st.underruns,
    decodeErrors: st.decodeErrors,
    jitterMs: Math.round(jb.jitterMs * 10) / 10,
    targetDelayMs: jb.targetFrames * 20,
  };
}

interface Play {
  playId: string;
  /** Cumulative sample position (mix rate) where this clip ends in the participant's prompt queue. */
  endAt: number;
}

class RoomParticipant {
  packetsIn = 0;
  dtmfPacketsIn = 0;
  packetsOut = 0;
  /** Payload octets sent (RTCP SR, RFC 3550 §6.4.1). */
  octetsOut = 0;
  /** What arrives from a directly attached participant (RTCP report block). */
  rx: ReceptionStats | null = null;
  /** Tick at which its next RTCP report is due. */
  rtcpDue = 0;
  /** What the participant's last RTCP report block says of the mix we send it (loss, jitter, round trip). */
  remote: RemoteReport | null = null;
  speaking = false;
  muted: boolean;
  readonly plays: Play[] = [];
  queuedSamples = 0;
  playedSamples = 0;
  inputSsrc: number | null = null;
  inputPayloadType: number | null = null;
  dtmfPayloadType: number | null = null;
  pipeline: InputPipeline | null = null;
  dtmf: TelephoneEventReceiver | null = null;
  output: RtpOutputStream | null = null;
  /** Set for a participant attached to a leg of this thread (no SSRC demux, no output socket). */
  direct: DirectIo | null = null;
  inputCodec: CodecName | null = null;
  outputCodec: CodecName | null = null;
  gain = 1;
  /** What `input` / `output` were built from, to tell a real change from a repeated registration. */
  inputKey = '';
  outputKey = '';

  constructor(
    readonly id: string,
    muted: boolean,
  ) {
    this.muted = muted;
  }
}

type ParticipantParams = Omit<AddMixerParticipantParams, 'roomId'>;

/**
 * A participant whose RTP does not come through the room's input socket: a phone leg of this thread. Its packets
 * arrive by `pushInput` and its mix leaves by `send` (the leg protects it if SRTP and sends it to the phone).
 */
export interface DirectIo {
  send(pkt: Buffer): void;
  /** Our RTCP for this participant (RFC 3550 §6: SR of its mix, a report on what it sends, CNAME). */
  sendRtcp?(pkt: Buffer): void;
}

/** RFC 3550 §6.2: 5 s minimum interval; each participant's reports are spread over [0.5, 1.5] of it (§6.3.1). */
const RTCP_INTERVAL_TICKS = 250;

export interface MixerRoomOptions {
  roomId: string;
  /**
   * Mix rate, or `auto` (FreeSWITCH's conference `rate: auto` in spirit): 8 kHz while every participant is on
   * G.711 (narrowband end to end: no resampling at all), 16 kHz as soon as a wideband codec (G.722, Opus) is in.
   */
  rate: MixRate | 'auto';
  /** Send one RTP packet to the mixer-output PlainTransport. */
  send: (pkt: Buffer) => void;
  notify: (n: Notification) => void;
}

/**
 * One room's mix, in a media thread, without sockets or timers (the thread host owns both): `onInput(packet)`
 * for every datagram from the mixer-input PlainTransport (demultiplexed by the SSRC of each participant's
 * consumer), `tick()` every 20 ms → every participant's output RTP (own SSRC, seq, timestamp) through `send`.
 * Decoding, jitter buffering, VAD, talker selection, mix-minus and encoding are the pure mixer core's
 * (InputPipeline, Mixer); this class is the routing around it: SSRC → participant, RFC 4733 events → DTMF
 * notifications, speaking / prompt-finished notifications, per-participant counters.
 */
const NARROWBAND = new Set<CodecName>(['PCMU', 'PCMA']);

/** The mixer input that carries room-wide announcements (never a participant id: those are UUIDs). */
const ANNOUNCER = '~announce';
/** At most this much announcement audio is queued (a burst of joins does not build a minute of chimes). */
const MAX_ANNOUNCE_SAMPLES_S = 2;

export class MixerRoom {
  readonly roomId: string;
  private readonly autoRate: boolean;
  private currentRate: MixRate;
  private mixer: Mixer;
  private rateChanges = 0;
  /** Room-wide clips (at the mix rate), mixed in as one more voice while any is queued. */
  private readonly announcements = new ClipQueue();
  private announcerIn = false;
  private readonly participants = new Map<string, RoomParticipant>();
  private readonly bySsrc = new Map<number, RoomParticipant>();
  private readonly send: (pkt: Buffer) => void;
  private readonly notify: (n: Notification) => void;
  private ticks = 0;
  private tickUsTotal = 0;
  private tickUsMax = 0;
  private unknownSsrc = 0;
  private closed = false;

  constructor(opts: MixerRoomOptions) {
    this.roomId = opts.roomId;
    this.autoRate = opts.rate === 'auto';
    this.currentRate = opts.rate === 'auto' ? 8000 : opts.rate;
    this.send = opts.send;
    this.notify = opts.notify;
    this.mixer = new Mixer({ sampleRate: this.currentRate });
  }

  /** The mix rate now (changes with membership when created with `auto`). */
  get rate(): MixRate {
    return this.currentRate;
  }

  /**
   * `auto` rate: after a membership or codec change, mix at 8 kHz if everyone is narrowband, else 16 kHz. A change
   * rebuilds the mix core and every input's pipeline (jitter buffers restart: one frame of silence for the room)
   * and ends prompts in progress (their playDone says stopped).
   */
  private fitRate(): void {
    if (!this.autoRate || this.closed) return;
    let wide = false;
    for (const p of this.participants.values()) {
      if (
        (p.inputCodec && !NARROWBAND.has(p.inputCodec)) ||
        (p.outputCodec && !NARROWBAND.has(p.outputCodec))
      )
        wide = true;
    }
    const rate: MixRate = wide ? 16000 : 8000;
    if (rate === this.currentRate) return;
    this.currentRate = rate;
    this.rateChanges++;
    this.mixer.close();
    this.mixer = new Mixer({ sampleRate: rate });
    this.announcements.clear();
    this.announcerIn = false;
    for (const p of this.participants.values()) {
      this.finishPlays(p, true);
      this.mixer.addParticipant(p.id, {
        output: p.outputCodec,
        input: p.pipeline !== null,
        gain: p.gain,
        muted: p.muted,
      });
      if (p.pipeline && p.inputCodec) {
        p.pipeline.close();
        p.pipeline = new InputPipeline({ codec: p.inputCodec, mixRate: rate });
      }
    }
  }

  get size(): number {
    return this.participants.size;
  }

  addParticipant(p: ParticipantParams, direct: DirectIo | null = null): void {
    if (this.participants.has(p.participantId)) {
      throw new MixerRoomError(`participant ${p.participantId} exists`, 'EEXIST');
    }
    this.checkInputSsrc(p, direct);
    const party = new RoomParticipant(p.participantId, p.muted ?? false);
    party.direct = direct;
    this.mixer.addParticipant(p.participantId, {
      output: p.output?.codec ?? null,
      input: p.input !== undefined,
      gain: p.gain ?? 1,
      muted: p.muted ?? false,
    });
    party.gain = p.gain ?? 1;
    this.participants.set(p.participantId, party);
    this.applyInput(party, p.input);
    this.applyOutput(party, p.output);
    this.fitRate();
  }

  /**
   * Re-describe a participant in place (its phone's SSRC or codec changed, its producer appeared, its output codec
   * changed). Unlike remove + add, queued prompts and their `playDone` promises, counters, gain and speaking state
   * survive; only a changed input restarts its jitter buffer and only a changed output starts a new RTP stream.
   */
  updateParticipant(p: ParticipantParams, direct: DirectIo | null = null): void {
    const party = this.party(p.participantId);
    this.checkInputSsrc(p, direct);
    if (party.direct !== direct) {
      party.direct = direct;
      party.inputKey = '\u0000changed'; // the input moved (another leg, or to/from the socket): rebuild it
    }
    this.applyInput(party, p.input);
    this.applyOutput(party, p.output);
    if (p.gain !== undefined) this.setGain(party.id, p.gain);
    if (p.muted !== undefined) this.setMuted(party.id, p.muted);
    this.fitRate();
  }

  private checkInputSsrc(p: ParticipantParams, direct: DirectIo | null): void {
    if (!p.input || direct) return;
    if (p.input.ssrc === undefined)
      throw new MixerRoomError(`participant ${p.participantId}: input without SSRC or leg`, 'EINVAL');
    const owner = this.bySsrc.get(p.input.ssrc >>> 0);
    if (owner && owner.id !== p.participantId) {
      throw new MixerRoomError(
        `input SSRC ${p.input.ssrc >>> 0} already used in room ${this.roomId}`,
        'EEXIST',
      );
    }
  }

  private applyInput(party: RoomParticipant, input: ParticipantParams['input']): void {
    const ssrc = party.direct || input?.ssrc === undefined ? null : input.ssrc >>> 0;
    const key = input ? JSON.stringify([ssrc, input.payloadType, input.codec, input.dtmfPayloadType]) : '';
    if (key === party.inputKey) return;
    party.inputKey = key;
    if (party.inputSsrc !== null) this.bySsrc.delete(party.inputSsrc);
    party.pipeline?.close();
    party.inputSsrc = input ? ssrc : null;
    party.inputPayloadType = input?.payloadType ?? null;
    party.dtmfPayloadType = input?.dtmfPayloadType ?? null;
    party.inputCodec = input?.codec ?? null;
    party.rx = input && party.direct ? new ReceptionStats(input.codec === 'opus' ? 48000 : 8000) : null;
    party.rtcpDue = this.ticks + Math.round(RTCP_INTERVAL_TICKS * (0.5 + Math.random()));
    party.pipeline = input ? new InputPipeline({ codec: input.codec, mixRate: this.currentRate }) : null;
    party.dtmf =
      input?.dtmfPayloadType !== undefined ? new TelephoneEventReceiver(input.dtmfClockRate ?? 8000) : null;
    if (party.inputSsrc !== null) this.bySsrc.set(party.inputSsrc, party);
    this.mixer.setInput(party.id, input !== undefined);
  }

  private applyOutput(party: RoomParticipant, output: ParticipantParams['output']): void {
    const key = output ? JSON.stringify([output.ssrc >>> 0, output.payloadType, output.codec]) : '';
    if (key === party.outputKey) return;
    party.outputKey = key;
    party.outputCodec = output?.codec ?? null;
    party.output = output
      ? new RtpOutputStream({
          ssrc: output.ssrc,
          payloadType: output.payloadType,
          ticksPerFrame: ticksPerFrame(output.codec),
        })
      : null;
    this.mixer.setOutput(party.id, output?.codec ?? null);
  }

  removeParticipant(id: string): void {
    const p = this.participants.get(id);
    if (!p) return;
    this.finishPlays(p, true);
    this.participants.delete(id);
    if (p.inputSsrc !== null) this.bySsrc.delete(p.inputSsrc);
    p.pipeline?.close();
    this.mixer.removeParticipant(id);
    this.fitRate();
  }

  setMuted(id: string, muted: boolean): void {
    const p = this.party(id);
    p.muted = muted;
    this.mixer.setMuted(id, muted);
  }

  setGain(id: string, gain: number): void {
    this.party(id);
    if (!(gain >= 0) || !Number.isFinite(gain))
      throw new MixerRoomError('gain must be a finite number >= 0', 'EINVAL');
    this.party(id).gain = gain;
    this.mixer.setGain(id, gain);
  }

  /** Queue mono PCM (at `rate`) for this participant only; `mixer.playDone` follows when it has been played. */
  play(id: string, playId: string, pcm: Int16Array, rate: number): void {
    const p = this.party(id);
    if (!p.output) throw new MixerRoomError(`participant ${id} has no output to play to`, 'EINVAL');
    let clip = pcm;
    if (rate !== this.rate) {
      if (![8000, 16000, 48000].includes(rate))
        throw new MixerRoomError(`unsupported prompt rate ${rate}`, 'EINVAL');
      clip = new Resampler(rate, this.rate).process(pcm);
    }
    if (clip.length === 0) {
      this.notify({
        kind: 'notification',
        event: 'mixer.playDone',
        roomId: this.roomId,
        participantId: id,
        playId,
        stopped: false,
      });
      return;
    }
    p.queuedSamples += clip.length;
    p.plays.push({ playId, endAt: p.queuedSamples });
    this.mixer.playPrompt(id, clip);
  }

  /** Queue mono PCM (at `rate`) for everyone in the room, mixed into the shared frame. */
  announce(pcm: Int16Array, rate: number): void {
    if (this.closed) return;
    let clip = pcm;
    if (rate !== this.rate) {
      if (![8000, 16000, 48000].includes(rate))
        throw new MixerRoomError(`unsupported prompt rate ${rate}`, 'EINVAL');
      clip = new Resampler(rate, this.rate).process(pcm);
    }
    if (
      clip.length === 0 ||
      this.announcements.queuedSamples + clip.length > MAX_ANNOUNCE_SAMPLES_S * this.rate
    )
      return;
    if (!this.announcerIn) {
      this.mixer.addParticipant(ANNOUNCER, { output: null, input: true });
      this.announcerIn = true;
    }
    this.announcements.push(clip);
  }

  stopPlay(id: string): void {
    const p = this.party(id);
    this.mixer.cancelPrompts(id);
    this.finishPlays(p, true);
  }

  /** A datagram from the mixer-input PlainTransport. Never throws. */
  onInput(buf: Buffer, nowMs: number): void {
    if (this.closed || classifyPacket(buf) !== PacketKind.Rtp) return; // RTCP from mediasoup: not needed
    const ssrc = buf.readUInt32BE(8);
    const p = this.bySsrc.get(ssrc);
    if (!p) {
      this.unknownSsrc++;
      return;
    }
    this.input(p, buf, nowMs);
  }

  /** Clear RTP of a directly attached participant (from its leg, any SSRC: phones change it). Never throws. */
  pushInput(participantId: string, buf: Buffer, nowMs: number): void {
    if (this.closed) return;
    const p = this.participants.get(participantId);
    if (p?.direct) this.input(p, buf, nowMs);
  }

  /** Clear RTCP from a directly attached participant: its sender reports (for LSR/DLSR in ours). */
  pushRtcp(participantId: string, buf: Buffer, nowMs: number): void {
    const p = this.participants.get(participantId);
    if (this.closed || !p) return;
    const sr = p.rx ? senderReportNtp(buf) : null;
    if (sr && sr.ssrc === p.rx!.ssrc) p.rx!.onSenderReport(sr.ntpSec, sr.ntpFrac, nowMs);
    // Its report on our mix: loss and jitter as it receives us, and the round trip from our SR's echo (LSR/DLSR).
    const report = p.output ? reportAbout(buf, p.output.ssrc, nowMs) : null;
    if (report) p.remote = report;
  }

  private input(p: RoomParticipant, buf: Buffer, nowMs: number): void {
    let pkt;
    try {
      pkt = parseRtp(buf);
    } catch {
      return;
    }
    p.rx?.onPacket(pkt.ssrc, pkt.seq, pkt.timestamp, nowMs);
    if (p.dtmf && pkt.payloadType === p.dtmfPayloadType) {
      p.dtmfPacketsIn++;
      // RFC 4733 §2.5.1.4: the receiver reports the digit once although the end packet comes three times
      for (const d of p.dtmf.push(pkt.timestamp, pkt.payload)) {
        this.notify({
          kind: 'notification',
          event: 'mixer.dtmf',
          roomId: this.roomId,
          participantId: p.id,
          digit: d.digit,
          durationMs: d.durationMs,
        });
      }
      return;
    }
    if (!p.pipeline || pkt.payloadType !== p.inputPayloadType) return; // CN and other payload types: ignored
    p.packetsIn++;
    p.pipeline.push({ seq: pkt.seq, timestamp: pkt.timestamp, ssrc: pkt.ssrc, payload: pkt.payload }, nowMs);
  }

  /** One 20 ms frame: pull every input, mix, encode, send every output. */
  tick(): void {
    if (this.closed) return;
    const t0 = process.hrtime.bigint();
    const inputs: { id: string; pcm: Int16Array | null }[] = [];
    for (const p of this.participants.values()) {
      // pulled even when muted, so the jitter buffer keeps pace and unmute starts from fresh audio
      if (p.pipeline) inputs.push({ id: p.id, pcm: p.pipeline.pull() });
    }
    const playing: RoomParticipant[] = [];
    for (const p of this.participants.values()) if (p.plays.length > 0) playing.push(p);

    if (this.announcerIn) {
      const pcm = this.announcements.isEmpty
        ? null
        : this.announcements.next(new Int16Array(this.mixer.frameSamples));
      inputs.push({ id: ANNOUNCER, pcm });
    }
    const result = this.mixer.mixOnce(inputs);

    for (const out of result.outputs) {
      for (const id of out.participants) {
        const p = this.participants.get(id);
        if (!p?.output) continue;
        const pkt = p.output.next(out.payload);
        if (p.direct) p.direct.send(pkt);
        else this.send(pkt);
        p.packetsOut++;
        p.octetsOut += out.payload.length;
      }
    }
    for (const ev of result.events) {
      if (ev.id === ANNOUNCER) continue;
      const p = this.participants.get(ev.id);
      if (p) p.speaking = ev.speaking;
      this.notify({
        kind: 'notification',
        event: 'mixer.speaking',
        roomId: this.roomId,
        participantId: ev.id,
        speaking: ev.speaking,
      });
    }
    for (const p of playing) {
      p.playedSamples += this.mixer.frameSamples;
      if (!this.mixer.isPlayingPrompt(p.id)) {
        this.finishPlays(p, false);
        continue;
      }
      while (p.plays.length > 0 && p.plays[0]!.endAt <= p.playedSamples) {
        const done = p.plays.shift()!;
        this.notify({
          kind: 'notification',
          event: 'mixer.playDone',
          roomId: this.roomId,
          participantId: p.id,
          playId: done.playId,
          stopped: false,
        });
      }
    }

    const us = Number(process.hrtime.bigint() - t0) / 1000;
    this.ticks++;
    for (const p of this.participants.values()) {
      if (p.direct?.sendRtcp && p.output && this.ticks >= p.rtcpDue) this.sendRtcp(p, p.direct.sendRtcp);
    }
    this.tickUsTotal += us;
    if (us > this.tickUsMax) this.tickUsMax = us;
  }

  private sendRtcp(p: RoomParticipant, send: (pkt: Buffer) => void): void {
    p.rtcpDue = this.ticks + Math.round(RTCP_INTERVAL_TICKS * (0.5 + Math.random()));
    const now = Date.now();
    const report = p.rx?.hasData ? p.rx.block(now) : null;
    const sr = buildSenderReport(
      {
        ssrc: p.output!.ssrc,
        wallMs: now,
        rtpTimestamp: p.output!.nextTimestamp,
        packets: p.packetsOut,
        octets: p.octetsOut,
      },
      report,
      `parley-${p.id}`,
    );
    try {
      send(sr);
    } catch {
      // a closed or failing leg: the next report will try again
    }
  }

  /** A frame interval the thread could not serve in time (stall): inputs drop a frame, outputs' time runs on. */
  skipTick(): void {
    if (this.closed) return;
    for (const p of this.participants.values()) {
      p.pipeline?.pull();
      p.output?.skip();
    }
  }

  stats(clock: { skipped: number; lateMaxMs: number }): MixerRoomStats {
    return {
      roomId: this.roomId,
      mixRate: this.currentRate,
      rateChanges: this.rateChanges,
      ticks: this.ticks,
      tickMeanUs: this.ticks ? this.tickUsTotal / this.ticks : 0,
      tickMaxUs: this.tickUsMax,
      lateMaxMs: clock.lateMaxMs,
      skippedTicks: clock.skipped,
      packetsUnknownSsrc: this.unknownSsrc,
      participants: [...this.participants.values()].map((p) => ({
        participantId: p.id,
        packetsIn: p.packetsIn,
        dtmfPacketsIn: p.dtmfPacketsIn,
        packetsOut: p.packetsOut,
        speaking: p.speaking,
        muted: p.muted,
        ...(p.pipeline ? { receive: receiveStats(p.pipeline) } : {}),
        ...(p.remote
          ? {
              sent: {
                fractionLost: p.remote.fractionLost,
                jitterMs: (p.remote.jitter * 1000) / (p.outputCodec === 'opus' ? 48000 : 8000),
                rttMs: p.remote.rttMs,
              },
            }
          : {}),
      })),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.participants.values()) p.pipeline?.close();
    this.participants.clear();
    this.bySsrc.clear();
    this.mixer.close();
  }

  private party(id: string): RoomParticipant {
    const p = this.participants.get(id);
    if (!p) throw new MixerRoomError(`no participant ${id} in room ${this.roomId}`, 'ENOENT');
    return p;
  }

  private finishPlays(p: RoomParticipant, stopped: boolean): void {
    for (const play of p.plays.splice(0)) {
      this.notify({
        kind: 'notification',
        event: 'mixer.playDone',
        roomId: this.roomId,
        participantId: p.id,
        playId: play.playId,
        stopped,
      });
    }
    p.queuedSamples = 0;
    p.playedSamples = 0;
  }
}
