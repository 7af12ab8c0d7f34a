/**
 * Synthetic SFU clients for the fan-out benchmarks (bench/audience.ts, bench/sfu-consumers.ts): a presenter
 * sending Opus-sized audio and VP8-sized video RTP into a PlainTransport, paced by the wall clock; viewers' sinks:
 * Node UDP sockets that count what arrives (sampled viewers), and one socket of a child process that never reads
 * (the others: the kernel drops the overflow, so no receiver competes with the workers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import type { types } from 'mediasoup';

export const AUDIO_SSRC = 0x11110001;
export const VIDEO_SSRC = 0x22220002;
/** Opus 20 ms frames (50 packets/s of ~110 bytes) and a 30 fps VP8 stream of 2 × 1100-byte packets (~530 kbit/s). */
export const AUDIO_PPS = 50;
export const VIDEO_FPS = 30;
export const VIDEO_PACKETS_PER_FRAME = 2;

export interface Presenter {
  audio: types.Producer;
  video: types.Producer;
  /** Packets sent so far (audio + video). */
  readonly sent: number;
  /** Stops sending (its consumers then cost the worker nothing) until `resume()`. */
  pause(): void;
  /** Sends again from where it paused (no burst to catch up: its timeline leaves out the pause). */
  resume(): void;
  stop(): void;
}

function rtp(pt: number, seq: number, ts: number, ssrc: number, size: number, marker: boolean): Buffer {
  const b = Buffer.alloc(size, 0x5a);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

/**
 * A presenter on `router`: a comedia PlainTransport with an Opus and a VP8 producer, fed from this process on the
 * wall clock (audio every 20 ms, a video frame every 33.3 ms; a late loop catches up, never drifts).
 */
export async function startPresenter(router: types.Router): Promise<Presenter> {
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: true,
  });
  const audio = await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc: AUDIO_SSRC }],
    },
  });
  const video = await transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [{ ssrc: VIDEO_SSRC }],
    },
  });
  const tx = dgram.createSocket('udp4');
  const port = transport.tuple.localPort;
  let running = true;
  let pausedAt: number | undefined;
  let sent = 0;
  let start = performance.now();
  let aSeq = 0;
  let vSeq = 0;
  let aNext = 0;
  let vNext = 0;
  const pump = (): void => {
    if (!running) return;
    if (pausedAt !== undefined) {
      setTimeout(pump, 5);
      return;
    }
    const now = performance.now() - start;
    while (aNext <= now) {
      tx.send(rtp(111, aSeq, aSeq * 960, AUDIO_SSRC, 110, false), port, '127.0.0.1');
      aSeq++;
      sent++;
      aNext += 1000 / AUDIO_PPS;
    }
    while (vNext <= now) {
      const ts = Math.round((vNext / 1000) * 90000);
      for (let i = 0; i < VIDEO_PACKETS_PER_FRAME; i++) {
        const last = i === VIDEO_PACKETS_PER_FRAME - 1;
        const p = rtp(96, vSeq++, ts, VIDEO_SSRC, 1100, last);
        // VP8 payload descriptor (RFC 7741 §4.2): S=1 on the frame's first packet; payload header P=0 (a key frame),
        // so a consumer never waits for one.
        p[12] = i === 0 ? 0x10 : 0x00;
        p[13] = 0x00;
        tx.send(p, port, '127.0.0.1');
        sent++;
      }
      vNext += 1000 / VIDEO_FPS;
    }
    setTimeout(pump, 5);
  };
  pump();
  return {
    audio,
    video,
    get sent() {
      return sent;
    },
    pause() {
      pausedAt ??= performance.now();
    },
    resume() {
      if (pausedAt === undefined) return;
      start += performance.now() - pausedAt;
      pausedAt = undefined;
    },
    stop() {
      running = false;
      tx.close();
      transport.close();
    },
  };
}

/** A UDP socket of a child process that never reads: where unsampled viewers' media goes. */
export async function nonReadingSink(): Promise<{ port: number; close(): void }> {
  const proc: ChildProcess = spawn('python3', [
    '-c',
    "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',0))\n" +
      'print(s.getsockname()[1],flush=True)\nsys.stdin.read()',
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('error', reject);
  });
  return { port, close: () => proc.kill() };
}

/** A viewer's socket that counts the RTP packets it receives (SRTP keeps the RTP header in the clear). */
export class CountingSocket {
  received = 0;

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {
    sock.on('message', (m) => {
      // RTCP (PT 200–207 read as 72–79 under the marker bit's mask, RFC 5761 §4) is not media.
      const pt = m.length > 12 ? m[1]! & 0x7f : 0;
      if (pt < 72 || pt > 79) this.received++;
    });
  }

  static async open(): Promise<CountingSocket> {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 22 });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    return new CountingSocket(sock, sock.address().port);
  }

  close(): void {
    this.sock.close();
  }
}
