/**
 * CPU of a process tree between two snapshots, split by thread: the main thread (tid = pid), the busiest N other
 * threads (a Node server's media worker threads: Node gives its threads no names, so they are told apart by their
 * load), the remaining threads (V8/GC/libuv helpers), and the descendant processes (mediasoup workers...). Read
 * from /proc, so it measures a black box.
 */
import { descendantPids, threadCpuSnapshot } from './parley-server';
import { cpuSeconds } from './proc';

export interface CpuSnap {
  /** performance.now() */
  at: number;
  /** CPU seconds of the process (all its threads, ended ones included) */
  proc: number;
  threads: Map<number, number>;
  /** descendant pid → CPU seconds */
  children: Map<number, number>;
}

export interface CpuSplit {
  /** % of one core, process + descendants */
  totalPct: number;
  mainPct: number;
  /** the busiest `mediaThreads` threads other than main */
  mediaPct: number;
  mediaThreads: number;
  /** the rest of the process's threads */
  otherPct: number;
  childrenPct: number;
  nChildren: number;
  /** the busiest single thread (of the process) or descendant process */
  maxThreadPct: number;
  threads: number;
}

export function snapTree(pid: number, withChildren = true): CpuSnap {
  const children = new Map<number, number>();
  if (withChildren) for (const c of descendantPids(pid)) children.set(c, cpuSeconds(c));
  return { at: performance.now(), proc: cpuSeconds(pid), threads: threadCpuSnapshot(pid), children };
}

export function cpuBetween(pid: number, a: CpuSnap, b: CpuSnap, mediaThreads: number): CpuSplit {
  const wallS = Math.max(1e-3, (b.at - a.at) / 1000);
  const pct = (s: number): number => (100 * s) / wallS;
  const delta = (m0: Map<number, number>, m1: Map<number, number>): Map<number, number> =>
    new Map([...m1].map(([k, v]) => [k, Math.max(0, v - (m0.get(k) ?? 0))]));
  const threads = delta(a.threads, b.threads);
  const children = delta(a.children, b.children);
  const main = threads.get(pid) ?? 0;
  const others = [...threads]
    .filter(([t]) => t !== pid)
    .map(([, v]) => v)
    .sort((x, y) => y - x);
  const media = others.slice(0, mediaThreads).reduce((s, v) => s + v, 0);
  const procD = Math.max(0, b.proc - a.proc);
  const childD = [...children.values()].reduce((s, v) => s + v, 0);
  return {
    totalPct: pct(procD + childD),
    mainPct: pct(main),
    mediaPct: pct(media),
    mediaThreads,
    // the process total minus main and media (threads that ended inside the window included)
    otherPct: pct(Math.max(0, procD - main - media)),
    childrenPct: pct(childD),
    nChildren: children.size,
    maxThreadPct: pct(Math.max(0, ...threads.values(), ...children.values())),
    threads: b.threads.size,
  };
}
