import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import type { SessionDialog } from '../../src/sip/dialog/session-dialog';
import { SipStack } from '../../src/sip/ua/sip-stack';
import { createEncoder, type AudioEncoder } from '../../workers/mixer/codec';
import { serializeRtp } from '../../workers/mixer/rtp';
import { ToneSource } from './tone-analysis';

export interface VideoPhoneOptions {
  /** sip:room@127.0.0.1:port */
  target: string;
  user: string;
  /** The tone this phone "says" (Hz; not a whole number of cycles per 20 ms), or null for silence. */
  tone: number | null;
  /** What the phone offers for its video. */
  direction: 'sendrecv' | 'recvonly' | 'sendonly';
  /** The H.264 payload type it offers (a dynamic one of its own choosing, RFC 3264 §6.1). */
  videoPt?: number;
  /** The profile-level-id it offers (default 42e01f: constrained baseline, level 3.1). */
  profileLevelId?: string;
  /** When it sends video: ffmpeg's libx264 encoding this lavfi source (e.g. `testsrc=size=320x240:rate=15`). */
  camera?: string;
}

/** One RTP packet the phone received on its video port. */
export interface ReceivedRtp {
  at: number;
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  ssrc: number;
  /** The X bit: a header extension nobody negotiated would show here. */
  extension: boolean;
  payload: Buffer;
}

/** An RTP packet (RTCP aside, RFC 5761 §4) as the video helpers read it; its payload copied. */
export function receivedRtp(m: Buffer, at: number): ReceivedRtp | undefined {
  if (m.length < 12 || m[0] >> 6 !== 2 || (m[1] >= 192 && m[1] <= 223)) return undefined;
  let off = 12 + 4 * (m[0] & 0x0f);
  if (m[0] & 0x10) off += 4 + 4 * m.readUInt16BE(off + 2);
  return {
    at,
    pt: m[1] & 0x7f,
    marker: (m[1] & 0x80) !== 0,
    seq: m.readUInt16BE(2),
    ts: m.readUInt32BE(4),
    ssrc: m.readUInt32BE(8),
    extension: (m[0] & 0x10) !== 0,
    payload: Buffer.from(m.subarray(off)),
  };
}

/**
 * A SIP video phone for e2e tests, on Parley's own SIP stack: it offers PCMU audio (a paced tone, so the room's
 * VAD sees it speak) and H.264 video (RFC 6184: constrained baseline 42e01f, packetization-mode 1). Its camera is
 * ffmpeg (libx264, SPS/PPS in front of every IDR, a keyframe every second) writing RTP to a socket of ours, which
 * the phone sends on from its own video port (symmetric RTP, as a phone does). Every RTP packet that arrives on the
 * video port is kept in `video`, RTCP aside.
 */
export class VideoPhone {
  readonly video: ReceivedRtp[] = [];
  /** Keyframe requests received on the video port: RTCP PSFB PLI or FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1). */
  keyframeRequests = 0;
  /** The 200 OK's SDP. */
  answer = '';
  dialog!: SessionDialog;
  private timer?: NodeJS.Timeout;
  private ffmpeg?: ChildProcess;
  private readonly encoder: AudioEncoder = createEncoder('PCMU', 48000);
  private readonly source: ToneSource;
  private seq = Math.floor(Math.random() * 30000);
  private ts = Math.floor(Math.random() * 1e9) >>> 0;
  private readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  private remoteAudio?: { ip: string; port: number };
  private remoteVideo?: { ip: string; port: number };

  private constructor(
    readonly opts: VideoPhoneOptions,
    private readonly stack: SipStack,
    private readonly audioSock: dgram.Socket,
    private readonly videoSock: dgram.Socket,
    private readonly cameraSock: dgram.Socket,
  ) {
    this.source = new ToneSource(opts.tone, this.encoder.sampleRate, 0.25);
    videoSock.on('message', (m) => {
      if (m.length < 12 || m[0] >> 6 !== 2) return;
      if (m[1] >= 192 && m[1] <= 223) {
        // RTCP (RFC 5761 §4): a compound packet; count the keyframe requests in it.
        for (let i = 0; i + 4 <= m.length; i += 4 * (m.readUInt16BE(i + 2) + 1))
          if (m[i + 1] === 206 && ((m[i] & 0x1f) === 1 || (m[i] & 0x1f) === 4)) this.keyframeRequests++;
        return;
      }
      const p = receivedRtp(m, Date.now());
      if (p) this.video.push(p);
    });
    // The camera's RTP goes out from the phone's video port.
    cameraSock.on('message', (m) => {
      if (this.remoteVideo) this.videoSock.send(m, this.remoteVideo.port, this.remoteVideo.ip);
    });
  }

  static async call(opts: VideoPhoneOptions): Promise<VideoPhone> {
    const stack = await SipStack.create({
      listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
    });
    const socks = await Promise.all([udp(), udp(), udp()]);
    const phone = new VideoPhone(opts, stack, socks[0], socks[1], socks[2]);
    try {
      await phone.dial();
    } catch (err) {
      await phone.close();
      throw err;
    }
    return phone;
  }

  get videoPt(): number {
    return this.opts.videoPt ?? 97;
  }

  private async dial(): Promise<void> {
    const pt = this.videoPt;
    const sdp = [
      'v=0',
      `o=${this.opts.user} 1 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port(this.audioSock)} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      'a=ptime:20',
      'a=sendrecv',
      `m=video ${port(this.videoSock)} RTP/AVP ${pt}`,
      `a=rtpmap:${pt} H264/90000`,
      `a=fmtp:${pt} profile-level-id=${this.opts.profileLevelId ?? '42e01f'};packetization-mode=1`,
      `a=${this.opts.direction}`,
      // RTCP on the RTP port (RFC 5761): the keyframe requests arrive where the phone listens.
      'a=rtcp-mux',
      '',
    ].join('\r\n');
    this.dialog = await this.stack.invite(this.opts.target, {
      sdp,
      from: `"${this.opts.user}" <sip:${this.opts.user}@127.0.0.1>`,
      timeoutMs: 10000,
    });
    this.answer = this.dialog.remoteSdp?.toString() ?? '';
    this.remoteAudio = mediaAddress(this.answer, 'audio');
    this.remoteVideo = mediaAddress(this.answer, 'video');
    this.startAudio();
    if (this.opts.camera && this.opts.direction !== 'recvonly') this.startCamera(this.opts.camera);
  }

  /** Changes the tone (null: silence) from the next frame on. */
  setTone(freq: number | null): void {
    this.source.freq = freq;
  }

  /** Received video packets since `from` (an index into `video`). */
  since(from: number): ReceivedRtp[] {
    return this.video.slice(from);
  }

  private startAudio(): void {
    const startedAt = Date.now();
    let sent = 0;
    // Paced by the wall clock: every frame that is due, none ahead.
    this.timer = setInterval(() => {
      const due = Math.floor((Date.now() - startedAt) / 20) + 1;
      if (due - sent > 10) sent = due - 1; // stalled: skip rather than burst
      while (sent < due) {
        sent++;
        const payload = this.encoder.encode(this.source.next(this.encoder.frameSamples));
        const r = this.remoteAudio;
        if (r)
          this.audioSock.send(
            serializeRtp(
              { payloadType: 0, seq: this.seq++ & 0xffff, timestamp: this.ts, ssrc: this.ssrc },
              payload,
            ),
            r.port,
            r.ip,
          );
        this.ts = (this.ts + 160) >>> 0;
      }
    }, 10);
  }

  private startCamera(lavfi: string): void {
    const pt = this.videoPt;
    this.ffmpeg = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', lavfi],
        ...['-c:v', 'libx264', '-profile:v', 'baseline', '-level', '3.1', '-pix_fmt', 'yuv420p'],
        ...['-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-bf', '0'],
        ...[
          '-payload_type',
          String(pt),
          '-f',
          'rtp',
          `rtp://127.0.0.1:${port(this.cameraSock)}?pkt_size=1200`,
        ],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.ffmpeg.stderr?.on('data', () => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.ffmpeg && this.ffmpeg.exitCode === null) {
      const done = new Promise((r) => this.ffmpeg!.once('exit', r));
      this.ffmpeg.kill('SIGTERM');
      await done;
    }
    if (this.dialog && !this.dialog.terminated) await this.dialog.bye().catch(() => undefined);
    for (const s of [this.audioSock, this.videoSock, this.cameraSock]) s.close();
    await this.stack.close();
  }
}

async function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address: '127.0.0.1', port: 0 }, () => resolve());
  });
  return s;
}

function port(s: dgram.Socket): number {
  return s.address().port;
}

/** The address of the answer's `kind` m-line (session-level c= unless the media has its own). */
function mediaAddress(sdp: string, kind: 'audio' | 'video'): { ip: string; port: number } | undefined {
  const lines = sdp.split(/\r?\n/);
  let ip = lines.find((l) => l.startsWith('c='))?.split(' ')[2] ?? '127.0.0.1';
  let found: { ip: string; port: number } | undefined;
  let inKind = false;
  for (const l of lines) {
    if (l.startsWith('m=')) {
      inKind = l.startsWith(`m=${kind} `);
      if (inKind) found = { ip, port: Number(l.split(' ')[1]) };
    } else if (inKind && l.startsWith('c=') && found) {
      ip = l.split(' ')[2] ?? ip;
      found.ip = ip;
    }
  }
  return found && found.port > 0 ? found : undefined;
}
