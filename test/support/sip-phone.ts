import dgram from 'node:dgram';
import type { ModifyRequest, SessionDialog } from '../../src/sip/dialog/session-dialog';
import type { SipRequest } from '../../src/sip/message/sip-message';
import { SipStack } from '../../src/sip/ua/sip-stack';
import {
  createDecoder,
  createEncoder,
  type AudioDecoder,
  type AudioEncoder,
  type CodecName,
} from '../../workers/mixer/codec';
import { OpusAudioEncoder } from '../../workers/mixer/codec/opus';
import { DTMF_EVENTS, serializeTelephoneEvent } from '../../workers/mixer/dtmf';
import { parseRtp, serializeRtp } from '../../workers/mixer/rtp';
import { ToneSource } from './tone-analysis';

/** What the phone offers per codec: payload type, rtpmap, telephone-event clock rate (RFC 4733 §2.1). */
const OFFER: Record<CodecName, { pt: number; rtpmap: string; teRate: number }> = {
  PCMU: { pt: 0, rtpmap: 'PCMU/8000', teRate: 8000 },
  PCMA: { pt: 8, rtpmap: 'PCMA/8000', teRate: 8000 },
  G722: { pt: 9, rtpmap: 'G722/8000', teRate: 8000 },
  opus: { pt: 111, rtpmap: 'opus/48000/2', teRate: 48000 },
};
const TE_PT = 101;

export interface SipPhoneOptions {
  /** sip:room@127.0.0.1:port */
  target: string;
  user: string;
  codec: CodecName;
  /** the tone this phone "says" (Hz), or null for silence */
  tone: number | null;
  /** linear amplitude of the tone (0..1 of full scale) */
  amplitude?: number;
  /** the payload type to offer for `codec` (default: its static PT, or 111 for Opus) */
  pt?: number;
  /** network loss on the way out: every n-th audio packet is not sent (its sequence number is spent) */
  lossEvery?: number;
  /**
   * Answer a re-INVITE's offer as a phone does (RFC 3264 §8): our port, the offered payload types, and send to the
   * offer's address from then on; each offer is kept in `reinvites`. Default off: the stack answers with the first
   * SDP and the phone keeps sending where it did.
   */
  followReinvites?: boolean;
}

interface Chunk {
  t: number;
  pcm: Int16Array;
}

/**
 * A test phone built on Parley's own SIP stack: one UDP SIP stack, one UDP media socket on 127.0.0.1, a real
 * codec (PCMU/PCMA/G.722/Opus from workers/mixer/codec) encoding a sine tone every 20 ms, a decoder recording
 * what it hears (with arrival times), and a keypad: RFC 4733 telephone-events in the RTP or SIP INFO
 * (application/dtmf-relay).
 */
export class SipPhone {
  /** decoded audio as it arrived */
  private readonly chunks: Chunk[] = [];
  private timer?: NodeJS.Timeout;
  private seq = Math.floor(Math.random() * 30000);
  private ts = Math.floor(Math.random() * 1e9) >>> 0;
  private readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  private readonly dtmfQueue: Array<{ event: number; ts: number; n: number }> = [];
  private startedAt = 0;
  private framesSent = 0;
  /** audio packets not sent (`lossEvery`) */
  packetsLost = 0;
  private audioPackets = 0;
  /** payload types received (telephone-event and RTCP aside) and how many packets of each */
  readonly ptsHeard = new Map<number, number>();
  /** errors that stopped the sender (an encoder failure): a test should expect none */
  readonly errors: Error[] = [];
  /** the BYE the server sent (with its Reason header), if any */
  byeFromServer?: SipRequest;
  terminated = false;
  readonly encoder: AudioEncoder;
  readonly decoder: AudioDecoder;
  readonly source: ToneSource;
  /** the answer's payload types */
  remote!: { ip: string; port: number; pt: number; tePt: number | undefined };
  dialog!: SessionDialog;
  /** the re-INVITE offers answered (`followReinvites`), in order, with their arrival time */
  readonly reinvites: Array<{ at: number; sdp: string; contact: string | undefined }> = [];
  private sdpVersion = 1;

  private constructor(
    readonly opts: SipPhoneOptions,
    private readonly stack: SipStack,
    private readonly sock: dgram.Socket,
  ) {
    // a lossy phone plans its Opus in-band FEC for 20 % loss, as a real one would after RTCP reports
    this.encoder =
      opts.codec === 'opus' && opts.lossEvery
        ? new OpusAudioEncoder({ sampleRate: 48000, packetLossPercent: 20 })
        : createEncoder(opts.codec, 48000);
    this.decoder = createDecoder(opts.codec, 48000);
    this.source = new ToneSource(opts.tone, this.encoder.sampleRate, opts.amplitude ?? 0.25);
    sock.on('message', (msg) => this.onRtp(msg));
  }

  /** The PCM rate of `recording()`. */
  get rate(): number {
    return this.decoder.sampleRate;
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** Dials, waits for the 2xx, starts sending. Rejects with the SipError of a failed INVITE. */
  static async call(opts: SipPhoneOptions): Promise<SipPhone> {
    const stack = await SipStack.create({
      listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
    });
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: '127.0.0.1', port: 0 }, () => resolve());
    });
    const phone = new SipPhone(opts, stack, sock);
    try {
      await phone.dial();
    } catch (err) {
      await phone.close();
      throw err;
    }
    return phone;
  }

  private async dial(): Promise<void> {
    const o = { ...OFFER[this.opts.codec], ...(this.opts.pt !== undefined ? { pt: this.opts.pt } : {}) };
    const sdp = this.localSdp(o.pt, TE_PT);
    this.dialog = await this.stack.invite(this.opts.target, {
      sdp,
      from: `"${this.opts.user}" <sip:${this.opts.user}@127.0.0.1>`,
      timeoutMs: 10000,
    });
    this.dialog.on('bye', (req) => (this.byeFromServer = req));
    if (this.opts.followReinvites) this.dialog.on('modify', (m) => this.onModify(m));
    this.dialog.on('terminated', () => {
      this.terminated = true;
      this.stopSending();
    });
    this.remote = parseAnswer(this.dialog.remoteSdp?.toString() ?? '', this.opts.codec);
    this.startSending();
  }

  /** Our SDP (offer or answer): `pt` for the codec, `tePt` for telephone-event (none when undefined). */
  private localSdp(pt: number, tePt: number | undefined): string {
    const o = OFFER[this.opts.codec];
    return [
      'v=0',
      `o=${this.opts.user} 1 ${this.sdpVersion} IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.port} RTP/AVP ${pt}${tePt !== undefined ? ` ${tePt}` : ''}`,
      `a=rtpmap:${pt} ${o.rtpmap}`,
      ...(tePt !== undefined ? [`a=rtpmap:${tePt} telephone-event/${o.teRate}`, `a=fmtp:${tePt} 0-16`] : []),
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  /** A re-INVITE (`followReinvites`): answer its offer with our port and send to its address from now on. */
  private onModify(m: ModifyRequest): void {
    const offer = m.sdp;
    if (!offer) {
      void m.accept().catch(() => undefined);
      return;
    }
    let remote: SipPhone['remote'];
    try {
      remote = parseAnswer(offer, this.opts.codec);
    } catch {
      m.reject(488);
      return;
    }
    this.reinvites.push({ at: Date.now(), sdp: offer, contact: m.request.headers.get('Contact') });
    this.sdpVersion++;
    void m.accept({ sdp: this.localSdp(remote.pt, remote.tePt) }).catch(() => undefined);
    this.remote = remote;
  }

  /** Changes the tone (null = silence) from the next frame on. */
  setTone(freq: number | null): void {
    this.source.freq = freq;
  }

  private startSending(): void {
    this.startedAt = Date.now();
    this.framesSent = 0;
    // Paced by the wall clock, not by setInterval's drift: send every frame that is due.
    this.timer = setInterval(() => {
      const due = Math.floor((Date.now() - this.startedAt) / 20) + 1;
      try {
        while (this.framesSent < due && this.framesSent < due + 10) this.sendFrame();
      } catch (err) {
        this.errors.push(err as Error);
        this.stopSending();
      }
      if (due - this.framesSent > 10) this.framesSent = due; // stalled: skip rather than burst
    }, 10);
  }

  private sendFrame(): void {
    this.framesSent++;
    const tsStep = (this.encoder.rtpClockRate * 20) / 1000;
    const pcm = this.source.next(this.encoder.frameSamples);
    const d = this.dtmfQueue[0];
    if (d && this.remote.tePt !== undefined) {
      // RFC 4733 §2.5.1: one event = one timestamp (its start), growing duration; the end is sent 3 times.
      if (d.n === 0) d.ts = this.ts;
      d.n++;
      const steps = 6; // 6 × 20 ms = 120 ms of key press
      const end = d.n > steps;
      const duration = Math.min(d.n, steps) * tsStep;
      const payload = serializeTelephoneEvent({ event: d.event, end, volume: 10, duration });
      this.sock.send(
        serializeRtp(
          {
            marker: d.n === 1,
            payloadType: this.remote.tePt,
            seq: this.seq++ & 0xffff,
            timestamp: d.ts >>> 0,
            ssrc: this.ssrc,
          },
          payload,
        ),
        this.remote.port,
        this.remote.ip,
      );
      if (d.n >= steps + 3) this.dtmfQueue.shift();
    } else {
      const payload = this.encoder.encode(pcm);
      this.audioPackets++;
      if (this.opts.lossEvery && this.audioPackets % this.opts.lossEvery === 0) {
        this.packetsLost++;
        this.seq++;
        this.ts = (this.ts + tsStep) >>> 0;
        return;
      }
      this.sock.send(
        serializeRtp(
          {
            payloadType: this.remote.pt,
            seq: this.seq++ & 0xffff,
            timestamp: this.ts >>> 0,
            ssrc: this.ssrc,
          },
          payload,
        ),
        this.remote.port,
        this.remote.ip,
      );
    }
    this.ts = (this.ts + tsStep) >>> 0;
  }

  private stopSending(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Presses keys as RFC 4733 telephone-events; resolves once they are sent (with a 60 ms gap after each). */
  async rfc4733(digits: string): Promise<void> {
    if (this.remote.tePt === undefined) throw new Error('no telephone-event in the answer');
    for (const ch of digits) {
      const event = DTMF_EVENTS.indexOf(ch.toUpperCase());
      if (event < 0) throw new Error(`not a DTMF key: ${ch}`);
      this.dtmfQueue.push({ event, ts: 0, n: 0 });
    }
    while (this.dtmfQueue.length > 0) await sleep(20);
    await sleep(60);
  }

  /** Presses keys as SIP INFO application/dtmf-relay, one request per key; resolves with the status codes. */
  async info(digits: string): Promise<number[]> {
    const codes: number[] = [];
    for (const ch of digits) {
      const res = await this.dialog.info({
        body: `Signal=${ch}\r\nDuration=160\r\n`,
        contentType: 'application/dtmf-relay',
      });
      codes.push(res.status);
    }
    return codes;
  }

  private onRtp(msg: Buffer): void {
    if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
    const pt = msg[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) return; // RTCP (RFC 5761 §4)
    this.ptsHeard.set(pt, (this.ptsHeard.get(pt) ?? 0) + 1);
    if (!this.remote || pt !== this.remote.pt) return;
    try {
      const p = parseRtp(msg);
      this.chunks.push({ t: Date.now(), pcm: this.decoder.decode(p.payload) });
    } catch {
      /* not ours to judge here */
    }
  }

  /** Wall-clock "now", to mark the start or end of a phase. */
  mark(): number {
    return Date.now();
  }

  /** What the phone heard between two marks (decoded, at `rate`), and how many packets that was. */
  heard(fromMs: number, toMs = Date.now()): Int16Array {
    const parts = this.chunks.filter((c) => c.t >= fromMs && c.t < toMs);
    const out = new Int16Array(parts.reduce((n, c) => n + c.pcm.length, 0));
    let off = 0;
    for (const c of parts) {
      out.set(c.pcm, off);
      off += c.pcm.length;
    }
    return out;
  }

  /** Packets (20 ms frames) heard since `fromMs`. */
  framesHeard(fromMs: number): number {
    return this.chunks.filter((c) => c.t >= fromMs).length;
  }

  /** Resolves when the call ended (BYE from the server or ours), or rejects after `timeoutMs`. */
  async waitTerminated(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.terminated) {
      if (Date.now() > end) throw new Error(`${this.opts.user}: call still up after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Hangs up (if up) and closes the sockets. Idempotent. */
  async close(): Promise<void> {
    this.stopSending();
    if (this.dialog && !this.terminated) await this.dialog.bye().catch(() => undefined);
    try {
      this.sock.close();
    } catch {
      /* closed already */
    }
    this.encoder.close();
    this.decoder.close();
    await this.stack.close();
  }
}

function parseAnswer(sdp: string, codec: CodecName): SipPhone['remote'] {
  const ip = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(sdp);
  if (!ip || !m) throw new Error(`no audio in the answer:\n${sdp}`);
  const maps = [...sdp.matchAll(/^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/gm)].map((x) => ({
    pt: Number(x[1]),
    name: x[2]!.toLowerCase(),
  }));
  const want = OFFER[codec].rtpmap.split('/')[0]!.toLowerCase();
  const pt =
    maps.find((x) => x.name === want)?.pt ??
    (codec === 'PCMU' ? 0 : codec === 'PCMA' ? 8 : codec === 'G722' ? 9 : undefined);
  if (pt === undefined || !m[2]!.split(' ').includes(String(pt)))
    throw new Error(`${codec} not in the answer:\n${sdp}`);
  const tePt = maps.find((x) => x.name === 'telephone-event')?.pt;
  return { ip, port: Number(m[1]), pt, tePt };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
