/**
 * The process-wide safety net: an uncaught exception or an unhandled rejection is logged and contained (the process
 * keeps running); more than `maxExceptions` uncaught exceptions within the window give up once with exit code 70.
 * Driven on an emitter standing in for `process` with a fake clock, then on a real Node child process (whose
 * default would be to exit on the first throw).
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { SAFETY_NET_EXIT_CODE, SafetyNet, type ProcessEvents } from '../../src/safety-net';

interface Logged {
  level: 'fatal' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function setup(max = 3, windowMs = 1000) {
  const logged: Logged[] = [];
  const gaveUp: number[] = [];
  let now = 0;
  const proc = new EventEmitter();
  const net = new SafetyNet({
    log: {
      fatal: ((obj: Record<string, unknown>, msg: string) =>
        logged.push({ level: 'fatal', obj, msg })) as never,
      error: ((obj: Record<string, unknown>, msg: string) =>
        logged.push({ level: 'error', obj, msg })) as never,
    },
    giveUp: (code) => gaveUp.push(code),
    maxExceptions: max,
    windowMs,
    now: () => now,
  }).install(proc as unknown as ProcessEvents);
  return { logged, gaveUp, proc, net, advance: (ms: number) => (now += ms) };
}

describe('SafetyNet', () => {
  it('logs an uncaught exception at fatal with its origin and keeps running', () => {
    const { logged, gaveUp, proc } = setup();
    const err = new Error('one call broke');
    proc.emit('uncaughtException', err, 'uncaughtException');
    expect(gaveUp).toEqual([]);
    expect(logged).toEqual([
      {
        level: 'fatal',
        obj: { err, origin: 'uncaughtException', recent: 1, max: 3 },
        msg: 'uncaught exception: contained, the server keeps running',
      },
    ]);
  });

  it('logs an unhandled rejection at error and never gives up on them', () => {
    const { logged, gaveUp, proc } = setup(1);
    for (let i = 0; i < 20; i++) proc.emit('unhandledRejection', new Error(`lost ${i}`), Promise.resolve());
    expect(gaveUp).toEqual([]);
    expect(logged).toHaveLength(20);
    expect(logged.every((l) => l.level === 'error')).toBe(true);
    expect(logged[0]!.msg).toBe('unhandled promise rejection: ignored, the server keeps running');
  });

  it('gives up once, with EX_SOFTWARE (70), when exceptions exceed the limit within the window', () => {
    const { logged, gaveUp, proc, net } = setup(3, 1000);
    for (let i = 0; i < 3; i++) proc.emit('uncaughtException', new Error('x'), 'uncaughtException');
    expect(gaveUp).toEqual([]);
    expect(net.recentExceptions).toBe(3);
    proc.emit('uncaughtException', new Error('x'), 'uncaughtException');
    expect(gaveUp).toEqual([SAFETY_NET_EXIT_CODE]);
    expect(SAFETY_NET_EXIT_CODE).toBe(70);
    expect(logged.at(-1)!.msg).toBe('uncaught exceptions keep coming: state presumed corrupt, stopping');
    proc.emit('uncaughtException', new Error('x'), 'uncaughtException'); // while stopping: logged, no second stop
    expect(gaveUp).toEqual([SAFETY_NET_EXIT_CODE]);
  });

  it('forgets exceptions older than the window: a rare bug never stops the server', () => {
    const { gaveUp, proc, net, advance } = setup(3, 1000);
    for (let i = 0; i < 30; i++) {
      proc.emit('uncaughtException', new Error('rare'), 'uncaughtException');
      advance(400); // at most three within any 1000 ms
    }
    expect(gaveUp).toEqual([]);
    expect(net.recentExceptions).toBeLessThanOrEqual(3);
  });

  it('close() removes its listeners (idempotent); install() twice listens once', () => {
    const { proc, net } = setup();
    net.install(proc as unknown as ProcessEvents);
    expect(proc.listenerCount('uncaughtException')).toBe(1);
    expect(proc.listenerCount('unhandledRejection')).toBe(1);
    net.close();
    net.close();
    expect(proc.listenerCount('uncaughtException')).toBe(0);
    expect(proc.listenerCount('unhandledRejection')).toBe(0);
  });

  it('keeps a real Node process running through a throw in a callback and a lost rejection', async () => {
    // The child loads the compiled module (`npx tsc -p tsconfig.build.json`); without a build this case has
    // nothing to run, and the emitter cases above cover the policy.
    const built = path.resolve(__dirname, '../../dist/src/safety-net.js');
    if (!fs.existsSync(built)) return;
    const script = `
      const { SafetyNet } = require(${JSON.stringify(built)});
      const log = { fatal: (o, m) => console.log('fatal', m), error: (o, m) => console.log('error', m) };
      new SafetyNet({ log, giveUp: (code) => { console.log('giveUp', code); process.exit(code); }, maxExceptions: 2 }).install();
      setTimeout(() => { throw new Error('one call broke'); }, 10);
      setTimeout(() => { Promise.reject(new Error('nobody awaited')); }, 20);
      setTimeout(() => { console.log('still running'); throw new Error('again'); }, 30);
      setTimeout(() => { throw new Error('third: a storm'); }, 40);
      setTimeout(() => { console.log('never'); }, 5000);
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(out.trim().split('\n')).toEqual([
      'fatal uncaught exception: contained, the server keeps running',
      'error unhandled promise rejection: ignored, the server keeps running',
      'still running',
      'fatal uncaught exception: contained, the server keeps running',
      'fatal uncaught exceptions keep coming: state presumed corrupt, stopping',
      'giveUp 70',
    ]);
    expect(code).toBe(70);
  });
});
