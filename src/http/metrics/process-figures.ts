import fs from 'node:fs';

/** CPU and memory of one process (a mediasoup worker), as the kernel accounts them. */
export interface ProcessFigures {
  /** Resident set size. */
  residentBytes: number;
  /** User + system CPU time since the process started. */
  cpuSeconds: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;
const PAGE_BYTES = 4096;

/**
 * Reads `/proc/<pid>/stat` (utime and stime, fields 14 and 15) and `/proc/<pid>/statm` (resident pages). Used for
 * the mediasoup workers, which are child processes: reading the kernel's figures costs no request to the worker,
 * and answers even for a worker too busy to answer one. null where /proc is absent (not Linux) or the process
 * has gone.
 */
export function readProcessFigures(pid: number): ProcessFigures | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const resident = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    if (![utime, stime, resident].every(Number.isFinite)) return null;
    return { residentBytes: resident * PAGE_BYTES, cpuSeconds: (utime + stime) / USER_HZ };
  } catch {
    return null;
  }
}
