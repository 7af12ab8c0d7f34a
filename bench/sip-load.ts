/**
 * SIP stack load: the highest OPTIONS and INVITE→200→ACK→BYE rates with zero failed transactions, Parley's stack
 * (bench/sip-uas-app) next to SIPp's own UAS measured in the same run. SIPp's CPU is recorded: when SIPp nears a
 * full core, the figure is SIPp's limit, not the server's.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { findMaxRate, startSippServer, type LoadResult } from './lib/sipp-load';
import { printTable } from './lib/proc';

const SCEN = path.resolve(__dirname, '../../bench/scenarios');

export interface Row extends Record<string, string | number> {
  workload: string;
  server: string;
  'max rate (/s)': number;
  'achieved (/s)': number;
  failed: number;
  'server CPU %': number;
  'SIPp CPU %': number;
  note: string;
}

async function startParleyUas(port: number): Promise<{ pid: number; kill(): void }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'sip-uas-app.js'), String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (c) => reject(new Error(`sip-uas-app exited ${c}`)));
  });
  return { pid: child.pid!, kill: () => child.kill('SIGTERM') };
}

function row(
  workload: string,
  server: string,
  r: { best: LoadResult | null; serverCpuPct: number; sippBound: boolean },
): Row {
  return {
    workload,
    server,
    'max rate (/s)': r.best?.rate ?? 0,
    'achieved (/s)': r.best ? Math.round(r.best.achievedRate) : 0,
    failed: r.best?.failed ?? NaN,
    'server CPU %': Math.round(r.serverCpuPct),
    'SIPp CPU %': Math.round(r.best?.sippCpuPct ?? NaN),
    note: r.sippBound ? 'SIPp-bound (client near 100% CPU)' : '',
  };
}

export async function run(opts: { probeSeconds?: number; confirmSeconds?: number } = {}): Promise<Row[]> {
  const probe = opts.probeSeconds ?? 8;
  const confirm = opts.confirmSeconds ?? 60;
  const ladder = [50, 100, 200, 400, 700, 1000, 1500, 2000, 3000, 4000, 6000];
  const rows: Row[] = [];
  const workloads: Array<{ name: string; client: string; refServer: string }> = [
    {
      name: 'OPTIONS',
      client: path.join(SCEN, 'uac-options.xml'),
      refServer: path.join(SCEN, 'uas-options.xml'),
    },
    { name: 'INVITE→200→ACK→BYE', client: 'uac', refServer: 'uas' },
  ];
  let port = 25060;
  for (const w of workloads) {
    const ref = startSippServer(w.refServer, ++port);
    await new Promise((r) => setTimeout(r, 500));
    const refRes = await findMaxRate(
      { scenario: w.client, remote: `127.0.0.1:${port}`, localPort: ++port },
      ladder,
      probe,
      confirm,
      ref.pid!,
    );
    ref.kill('SIGKILL');
    const parley = await startParleyUas(++port);
    const ours = await findMaxRate(
      { scenario: w.client, remote: `127.0.0.1:${port}`, localPort: ++port },
      ladder,
      probe,
      confirm,
      parley.pid,
    );
    parley.kill();
    const r1 = row(w.name, 'Parley SIP stack', ours);
    const r0 = row(w.name, 'SIPp UAS (reference)', refRes);
    r1.note = [
      r1.note,
      `ratio vs SIPp UAS: ${(r1['max rate (/s)'] / Math.max(1, r0['max rate (/s)'])).toFixed(2)}`,
    ]
      .filter(Boolean)
      .join('; ');
    rows.push(r1, r0);
  }
  return rows;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  void run(quick ? { probeSeconds: 4, confirmSeconds: 10 } : {}).then((rows) => {
    printTable(`SIP load (UDP, loopback, ${new Date().toISOString().slice(0, 10)})`, rows);
  });
}
