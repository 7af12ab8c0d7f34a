import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { TypedEmitter } from '../util/typed-emitter';
import type { RestartPolicy } from './restart-policy';

export interface FfmpegSupervisorEvents {
  /** A run started (its process id). */
  spawned: [pid: number];
  /** The run produces output (first progress report with frames): the stream is live. */
  encoding: [pid: number];
  /** A run ended on its own; `restartInMs` null: the policy gave up (see `gaveUp`). */
  exited: [code: number | null, signal: NodeJS.Signals | null, restartInMs: number | null];
  /** Too many failed runs: nothing is restarted any more. */
  gaveUp: [lastError: string];
}

export type SpawnFn = (command: string, args: readonly string[]) => ChildProcess;

export interface FfmpegSupervisorOptions {
  ffmpegPath: string;
  /** Called before each run (the args may change: camera on or off, a new recording part). */
  prepare: () => Promise<string[]>;
  policy: RestartPolicy;
  log: Logger;
  /** After SIGTERM, how long ffmpeg may take to finish its files before SIGKILL. */
  killGraceMs?: number;
  spawn?: SpawnFn;
  now?: () => number;
}

/**
 * Runs ffmpeg and keeps it running: an exit nobody asked for is restarted after the policy's back-off (exponential,
 * reset by a healthy run) until the policy gives up. `restart()` is a planned restart (the picture changes mode)
 * and does not count as a failure. `stop()` sends SIGTERM (ffmpeg closes its outputs: the MP4 index, the HLS
 * playlist), then SIGKILL after the grace, and resolves once the process has exited: nothing is left running.
 */
export class FfmpegSupervisor extends TypedEmitter<FfmpegSupervisorEvents> {
  private child?: ChildProcess;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private planned = false;
  private stderrTail: string[] = [];
  private exitWaiters: Array<() => void> = [];
  private runs = 0;

  constructor(private readonly opts: FfmpegSupervisorOptions) {
    super(opts.log);
  }

  /** The running process's id (undefined between runs). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Runs so far (the first included). */
  get runCount(): number {
    return this.runs;
  }

  /** The last line ffmpeg wrote to stderr (its error), if any. */
  get lastError(): string | undefined {
    return this.stderrTail.at(-1);
  }

  async start(): Promise<void> {
    await this.run();
  }

  /** Ends the current run and starts a new one at once (not a failure). */
  async restart(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.child) {
      this.planned = true;
      await this.kill();
      this.planned = false;
    }
    if (!this.stopped) await this.run();
  }

  /** Idempotent; resolves once no ffmpeg of this supervisor runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.kill();
  }

  private async run(): Promise<void> {
    if (this.stopped || this.child) return;
    const args = await this.opts.prepare();
    if (this.stopped) return;
    const spawn = this.opts.spawn ?? ((cmd, a) => nodeSpawn(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const child = spawn(this.opts.ffmpegPath, args);
    this.child = child;
    this.runs++;
    this.startedAt = (this.opts.now ?? Date.now)();
    this.stderrTail = [];
    let encoding = false;
    let progress = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      progress += chunk;
      const lines = progress.split('\n');
      progress = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^frame=(\d+)/.exec(line);
        if (!encoding && m && Number(m[1]) > 0 && child.pid !== undefined) {
          encoding = true;
          this.safeEmit('encoding', child.pid);
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const l = line.trim();
        if (!l) continue;
        this.stderrTail.push(l.slice(0, 500));
        if (this.stderrTail.length > 20) this.stderrTail.shift();
        this.opts.log.debug({ ffmpeg: l }, 'ffmpeg');
      }
    });
    child.once('error', (err) => {
      this.stderrTail.push(err.message);
      this.opts.log.error({ err }, 'ffmpeg could not be started');
      // Not started at all (ENOENT): no 'exit' may follow.
      if (child.pid === undefined) this.onExit(child, null, null);
    });
    // 'exit', not 'close': a grandchild holding our pipes must not delay the restart or stop().
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    if (child.pid !== undefined) {
      this.opts.log.info({ pid: child.pid, run: this.runs }, 'ffmpeg started');
      this.safeEmit('spawned', child.pid);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    for (const w of this.exitWaiters.splice(0)) w();
    if (this.stopped || this.planned) return;
    this.afterFailure(code, signal);
  }

  private afterFailure(code: number | null, signal: NodeJS.Signals | null): void {
    const decision = this.opts.policy.onExit(this.startedAt, (this.opts.now ?? Date.now)());
    this.opts.log.warn(
      { code, signal, lastError: this.lastError, attempt: decision.attempt },
      decision.restart ? 'ffmpeg exited: restarting' : 'ffmpeg exited: giving up',
    );
    this.safeEmit('exited', code, signal, decision.restart ? decision.delayMs : null);
    if (!decision.restart) {
      this.stopped = true;
      this.safeEmit('gaveUp', this.lastError ?? `ffmpeg exited (${code ?? signal})`);
      return;
    }
    this.timer = setTimeout(() => {
      this.run().catch((err: unknown) => {
        this.opts.log.error({ err }, 'ffmpeg restart failed');
        this.stderrTail.push(String(err));
        if (!this.stopped && !this.child) this.afterFailure(null, null);
      });
    }, decision.delayMs);
  }

  private kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.child = undefined;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.exitWaiters.push(resolve);
      child.kill('SIGTERM');
      const hard = setTimeout(() => child.kill('SIGKILL'), this.opts.killGraceMs ?? 3000);
      this.exitWaiters.push(() => clearTimeout(hard));
    });
  }
}
