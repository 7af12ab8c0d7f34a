/**
 * Shared by the livestream e2e tests: poll a room's livestream state, decode what a stream carries with Debian's
 * ffmpeg (audio as PCM for the FFT, video frames counted by ffprobe), and check that a process is gone.
 */
import { execFile } from 'node:child_process';
import type { E2eParley } from '../support/parley-e2e';
import { sleep } from '../support/parley-e2e';
import type { LivestreamView } from '../../src/livestream/livestream';

/** What GET /api/rooms/:id/livestream answers (the server's own type). */
export type StreamView = LivestreamView;

/** Polls GET /api/rooms/:room/livestream until `pred` holds. */
export async function waitStream(
  parley: E2eParley,
  room: string,
  pred: (v: StreamView) => boolean,
  timeoutMs = 30000,
): Promise<StreamView> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    const r = await parley.api<StreamView>(`/api/rooms/${room}/livestream`);
    last = r.body;
    if (r.status === 200 && pred(r.body)) return r.body;
    await sleep(200);
  }
  throw new Error(`livestream of ${room}: condition not met; last ${JSON.stringify(last)}`);
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err && stdout.length === 0)
          reject(new Error(`${cmd} failed: ${err.message}\n${stderr.toString().slice(-2000)}`));
        else resolve(stdout);
      },
    );
  });
}

/** `seconds` of the input's audio, decoded by ffmpeg to mono 16-bit PCM at `rate`. */
export async function decodeAudio(input: string, seconds: number, rate = 16000): Promise<Int16Array> {
  const out = await run(
    '/usr/bin/ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      input,
      '-t',
      String(seconds),
      '-vn',
      '-ac',
      '1',
      '-ar',
      String(rate),
      '-f',
      's16le',
      'pipe:1',
    ],
    60000,
  );
  return new Int16Array(out.buffer, out.byteOffset, Math.floor(out.length / 2));
}

/** Video frames ffprobe decodes in the first `seconds` of the input. */
export async function countVideoFrames(input: string, seconds: number): Promise<number> {
  const out = await run(
    '/usr/bin/ffprobe',
    [
      '-v',
      'error',
      '-read_intervals',
      `%+${seconds}`,
      '-select_streams',
      'v:0',
      '-count_frames',
      '-show_entries',
      'stream=nb_read_frames,codec_name,width,height',
      '-of',
      'json',
      input,
    ],
    60000,
  );
  const j = JSON.parse(out.toString()) as { streams?: Array<{ nb_read_frames?: string }> };
  return Number(j.streams?.[0]?.nb_read_frames ?? 0);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Segment names listed in an HLS playlist. */
export function segments(playlist: string): string[] {
  return playlist.split('\n').filter((l) => /^seg-\d+\.ts$/.test(l.trim()));
}
