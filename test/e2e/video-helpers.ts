/**
 * Reading what a SIP video phone received (test/support/video-phone.ts): the H.264 SPSs in the RTP and the picture
 * size each one announces, RFC 6184 depacketization into Annex B, and decoding with ffprobe.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { VideoPhone, type ReceivedRtp } from '../support/video-phone';
import { sleep } from '../support/parley-e2e';
import { spsOf as spsOfPayload, spsPictureSize } from '../../src/media/video/h264-sps';

const run = promisify(execFile);

/** The SPS (NAL type 7) in a packet: a single NAL unit or inside a STAP-A; undefined otherwise. */
export function spsOf(payload: Buffer): Buffer | undefined {
  const sps = spsOfPayload(payload);
  return sps ? Buffer.from(sps) : undefined;
}

/** The picture size an SPS announces, in whole macroblocks (`640x368` for a 640x360 picture): `WxH`. */
export function spsSize(sps: Buffer): string {
  const size = spsPictureSize(sps);
  if (!size) throw new Error(`unreadable SPS ${sps.toString('hex')}`);
  return `${size.width}x${size.height}`;
}

/** The picture sizes the phone was sent, one entry per change of SPS size (a switch of source, or of layer). */
export function sizeRuns(pkts: readonly ReceivedRtp[]): string[] {
  const runs: string[] = [];
  for (const p of pkts) {
    const sps = spsOf(p.payload);
    if (!sps) continue;
    const size = spsSize(sps);
    if (runs[runs.length - 1] !== size) runs.push(size);
  }
  return runs;
}

/** RFC 6184 depacketization into an Annex B byte stream (single NAL units, STAP-A, FU-A). */
export function annexB(pkts: readonly ReceivedRtp[]): Buffer {
  const start = Buffer.from([0, 0, 0, 1]);
  const out: Buffer[] = [];
  for (const { payload } of pkts) {
    const type = payload[0] & 0x1f;
    if (type >= 1 && type <= 23) out.push(start, payload);
    else if (type === 24) {
      for (let i = 1; i + 2 < payload.length;) {
        const size = payload.readUInt16BE(i);
        out.push(start, payload.subarray(i + 2, i + 2 + size));
        i += 2 + size;
      }
    } else if (type === 28) {
      if (payload[1] & 0x80) out.push(start, Buffer.from([(payload[0] & 0xe0) | (payload[1] & 0x1f)]));
      out.push(payload.subarray(2));
    }
  }
  return Buffer.concat(out);
}

/** Decodes an Annex B file with ffprobe: the size of every decoded frame, in order, collapsed into runs. */
export async function decodedRuns(file: string): Promise<Array<{ size: string; frames: number }>> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-f', 'h264', '-i', file, '-select_streams', 'v:0'],
    ...['-show_entries', 'frame=width,height', '-of', 'csv=p=0'],
  ]);
  const runs: Array<{ size: string; frames: number }> = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const size = line.trim().replace(',', 'x');
    const last = runs[runs.length - 1];
    if (last?.size === size) last.frames++;
    else runs.push({ size, frames: 1 });
  }
  return runs;
}

/** One stream: one SSRC, sequence numbers +1 throughout, timestamps never going back. */
export function continuity(pkts: readonly ReceivedRtp[]): {
  ssrcs: number;
  seqSteps: number[];
  tsBack: number;
} {
  const steps = new Set<number>();
  let tsBack = 0;
  for (let i = 1; i < pkts.length; i++) {
    steps.add((pkts[i].seq - pkts[i - 1].seq + 0x10000) % 0x10000);
    if ((pkts[i].ts - pkts[i - 1].ts + 2 ** 32) % 2 ** 32 >= 2 ** 31) tsBack++;
  }
  return { ssrcs: new Set(pkts.map((p) => p.ssrc)).size, seqSteps: [...steps], tsBack };
}

/**
 * Sequence-number holes in what a viewer received that are NOT mediasoup's own resync at a browser's simulcast
 * layer change. When the browser's layer changes (1280x720 → 640x360, Chromium adapting) mediasoup's
 * SimulcastConsumer resyncs and may leave one number out (SimulcastConsumer.cpp: `Sync(seq - (lastSentPacketHasMarker
 * ? 1 : 2))` when a frame was cut short; seen after a complete frame too). Such a hole is allowed only as exactly
 * that: one number, right before the SPS of another layer of the same browser (`classify` names a picture size's
 * owner); anything else — a hole at a speaker switch, a larger one, one not followed by a new layer — is returned.
 */
export function unexplainedHoles(
  pkts: readonly ReceivedRtp[],
  classify: (size: string) => string,
): Array<{ step: number; endedFrame: boolean; layerChange: string[] }> {
  return pkts.flatMap((p, i) => {
    const step = i > 0 ? (p.seq - pkts[i - 1].seq + 0x10000) % 0x10000 : 1;
    if (step === 1) return [];
    const before = sizeRuns(pkts.slice(0, i)).at(-1);
    const sps = spsOf(p.payload);
    const after = sps ? spsSize(sps) : undefined;
    const owners = [before, after].map((sz) => (sz ? classify(sz) : 'no SPS'));
    const resync = step === 2 && before !== after && owners[0] === 'browser' && owners[1] === 'browser';
    return resync ? [] : [{ step, endedFrame: pkts[i - 1].marker, layerChange: owners }];
  });
}

export async function until(what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What ffmpeg's decoder complains about while decoding an Annex B file (concealment, missing references...). */
export async function decodeErrors(file: string): Promise<string[]> {
  const r = await run('ffmpeg', ['-v', 'error', '-f', 'h264', '-i', file, '-f', 'null', '-']).catch(
    (err: { stderr?: string }) => ({ stderr: err.stderr ?? String(err) }),
  );
  // A raw Annex B stream has no timestamps: the null muxer's complaints about them are not the decoder's.
  return r.stderr.split('\n').filter((l) => l && !/non monotonically increasing dts/.test(l));
}

/** The desk phone of the browser video tests: a 176x144 libx264 camera, silent (it talks once muted). */
export const PHONE = '176x144';

/** Calls the desk phone into `target` (the room URI). */
export async function callDeskPhone(target: string): Promise<VideoPhone> {
  return VideoPhone.call({
    target,
    user: 'desk',
    tone: null, // talks once muted: a muted participant must not take the floor
    direction: 'sendrecv',
    videoPt: 96,
    camera: `testsrc=size=${PHONE}:rate=15`,
  });
}

/** Runs of picture sizes, each classed as the desk phone's camera or the browser's (its simulcast layer may vary). */
export function whose(runs: string[]): string[] {
  return runs.map((s) => (s === PHONE ? 'phone' : 'browser')).filter((w, i, a) => i === 0 || a[i - 1] !== w);
}
