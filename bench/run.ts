/**
 * One command for every benchmark: `npm run bench` (or `node dist/bench/run.js [--quick] [name...]`).
 * Each benchmark runs as its own process, one after another (they would disturb each other's CPU figures), prints its
 * tables with the reference run it compares against, and this runner prints the machine and date first.
 * Other `--flags` are passed on to every benchmark picked (e.g. `node dist/bench/run.js full-path --no-janus`).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ALL = [
  'sip-parse',
  'sip-load',
  'focus-load',
  'mixer-core',
  'srtp',
  'relay',
  'mixer-load',
  'full-path',
  'media-call-rate',
  'sfu-consumers',
  // large audiences: one router vs all workers (pipeToRouter), phone listeners on one shared mix
  'audience',
  'browser-join',
  'dashboard-fanout',
  'fuzz',
  // last: 10 minutes of calls (--quick: 2; --minutes=N), leak checks against the idle server
  'soak',
] as const;

/** Names that run a part of a benchmark, only when asked for by name. */
const ALIASES: Record<string, { file: string; args: string[] }> = {
  // memory per idle participant at 1,000 concurrent calls (also part of focus-load)
  'idle-memory': { file: 'focus-load', args: ['--only=memory'] },
};

/** soak's --minutes of calls (default 10): its time limit follows it. */
const soakMinutes = Number(process.argv.find((a) => a.startsWith('--minutes='))?.slice(10)) || 10;

/** Wall-time limit per benchmark (the long ones search a rate with 60 s confirmations; soak: its calls + drain). */
const TIMEOUT_MIN: Record<string, number> = {
  'full-path': 45,
  'media-call-rate': 45,
  'focus-load': 30,
  soak: soakMinutes + 15,
};

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const picked = args.filter((a) => !a.startsWith('--'));
const unknown = picked.filter((n) => !(ALL as readonly string[]).includes(n) && !(n in ALIASES));
if (unknown.length) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${[...ALL, ...Object.keys(ALIASES)].join(', ')}`,
  );
  process.exit(2);
}
const names: string[] = picked.length ? picked : [...ALL];

console.log(`# Parley benchmarks — ${new Date().toISOString()}`);
console.log(
  `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
let failed = 0;
for (const name of names) {
  const alias = ALIASES[name];
  const file = alias?.file ?? name;
  console.log(`\n## ${name}\n`);
  const r = spawnSync(
    process.execPath,
    [path.join(__dirname, `${file}.js`), ...(alias?.args ?? []), ...flags],
    {
      stdio: 'inherit',
      timeout: (TIMEOUT_MIN[file] ?? 20) * 60_000,
    },
  );
  if (r.status !== 0) {
    failed++;
    console.log(`(${name} exited with ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed ? 1 : 0;
