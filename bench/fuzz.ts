/**
 * Long fuzzing run: the properties of `test/unit/fuzz` (SIP parser, transport receive path, SDP offers, protocol
 * schemas) with 50–100× the CI case counts. Prints the seed (rerun one with `--seed=N`) and a table of cases,
 * failures and time per property. No reference run: a fuzz result is a count of failures, which must be 0.
 *
 *   node dist/bench/fuzz.js [--seed=N] [--scale=N]
 */
import { fuzzProperties } from '../test/unit/fuzz/fuzz-properties';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const seed = Number(arg('seed') ?? Date.now() % 2 ** 31);
const quick = process.argv.includes('--quick');
const scale = Number(arg('scale') ?? (quick ? 5 : 60));
/** the CI case counts of test/unit/fuzz/fuzz.test.ts, in fuzzProperties() order */
const CI_RUNS = [1500, 1500, 600, 2000];

async function main(): Promise<void> {
  console.log(`fuzz seed ${seed}, ${scale}× the CI case counts`);
  const rows: Array<[string, number, number, string, string]> = [];
  let failed = 0;
  const props = fuzzProperties();
  for (let i = 0; i < props.length; i++) {
    const p = props[i]!;
    const cases = CI_RUNS[i]! * scale;
    const t0 = process.hrtime.bigint();
    let failure = '';
    try {
      await p.run(cases, seed);
    } catch (e) {
      failed++;
      failure = (
        (e as Error).message.split('\n').find((l) => l.includes('Counterexample')) ?? String(e)
      ).slice(0, 160);
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rows.push([p.name, cases, failure ? 1 : 0, `${s.toFixed(1)} s`, `${((s * 1e6) / cases).toFixed(0)} µs`]);
    if (failure) console.log(`  ${p.name}: ${failure}`);
  }
  console.log('\n| property | cases | failures | time | per case |\n|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nseed ${seed}${failed ? ` — ${failed} propert${failed > 1 ? 'ies' : 'y'} FAILED` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

void main();
