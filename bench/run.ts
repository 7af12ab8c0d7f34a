/**
 * One command for every benchmark: `npm run bench` (or `node dist/bench/run.js [--quick] [name...]`).
 * Each benchmark runs as its own process, one after another (they would disturb each other's CPU figures), prints its
 * tables with the reference run it compares against, and this runner prints the machine and date first.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ALL = ['sip-parse', 'sip-load', 'focus-load', 'mixer-core', 'relay', 'mixer-load'] as const;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const picked = args.filter((a) => !a.startsWith('--'));
const names = picked.length ? ALL.filter((n) => picked.includes(n)) : [...ALL];

console.log(`# Parley benchmarks — ${new Date().toISOString()}`);
console.log(
  `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
let failed = 0;
for (const name of names) {
  console.log(`\n## ${name}\n`);
  const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`), ...(quick ? ['--quick'] : [])], {
    stdio: 'inherit',
    timeout: 20 * 60_000,
  });
  if (r.status !== 0) {
    failed++;
    console.log(`(${name} exited with ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed ? 1 : 0;
