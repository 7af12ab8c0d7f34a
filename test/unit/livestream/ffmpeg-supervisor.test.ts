import pino from 'pino';
import { FfmpegSupervisor } from '../../../src/livestream/ffmpeg-supervisor';
import { RestartPolicy } from '../../../src/livestream/restart-policy';

/** Real processes (/bin/sh standing in for ffmpeg): the supervisor's spawn, exit and kill paths are the real ones. */
const log = pino({ level: 'silent' });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function supervisor(script: string, maxRestarts = 2): FfmpegSupervisor {
  return new FfmpegSupervisor({
    ffmpegPath: '/bin/sh',
    prepare: async () => ['-c', script],
    policy: new RestartPolicy({ initialMs: 10, maxMs: 20, maxRestarts, stableMs: 60_000 }),
    log,
    killGraceMs: 300,
  });
}

describe('FfmpegSupervisor', () => {
  it('restarts a process that exits and gives up after the policy says so, with its last error', async () => {
    const s = supervisor('echo "rtmp://x: Connection refused" >&2; exit 1');
    const exits: Array<number | null> = [];
    s.on('exited', (_c, _s, restartIn) => exits.push(restartIn));
    const gaveUp = new Promise<string>((r) => s.once('gaveUp', r));
    await s.start();
    expect(await gaveUp).toBe('rtmp://x: Connection refused');
    expect(exits).toEqual([10, 20, null]);
    expect(s.runCount).toBe(3);
    expect(s.pid).toBeUndefined();
  });

  it('reports encoding once the progress shows frames', async () => {
    const s = supervisor('echo frame=0; echo frame=12; exec sleep 30');
    const encoding = new Promise<number>((r) => s.once('encoding', r));
    await s.start();
    const pid = s.pid!;
    expect(await encoding).toBe(pid);
    await s.stop();
    expect(alive(pid)).toBe(false);
  });

  it('stop() ends a process that ignores SIGTERM with SIGKILL, and nothing restarts it', async () => {
    const s = supervisor("trap '' TERM; while :; do sleep 0.05; done");
    const spawned = new Promise<number>((r) => s.once('spawned', r));
    let exited = false;
    s.on('exited', () => (exited = true));
    await s.start();
    const pid = await spawned;
    await new Promise((r) => setTimeout(r, 100));
    await s.stop();
    expect(alive(pid)).toBe(false);
    await s.stop(); // idempotent
    await new Promise((r) => setTimeout(r, 50));
    expect(exited).toBe(false);
    expect(s.runCount).toBe(1);
  });

  it('restart() replaces the process without counting a failure', async () => {
    const s = supervisor('exec sleep 30', 0);
    await s.start();
    const first = s.pid!;
    await s.restart();
    const second = s.pid!;
    expect(second).not.toBe(first);
    expect(alive(first)).toBe(false);
    expect(alive(second)).toBe(true);
    await s.stop();
    expect(alive(second)).toBe(false);
  });
});
