import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';

export interface SippRun {
  /** a built-in scenario (-sn uac / uas / ...) or an XML file path (-sf) */
  scenario: string;
  /** host:port of the peer (omit for a UAS) */
  remote?: string;
  /** SIPp -t: u1 (UDP), t1 (TCP), l1 (TLS) */
  transport?: 'u1' | 't1' | 'l1' | 'un' | 'tn';
  localPort: number;
  localIp?: string;
  /** -m: number of calls */
  calls?: number;
  /** -r: calls per second */
  rate?: number;
  /** -l: max simultaneous calls */
  limit?: number;
  /** -timeout in seconds (SIPp quits); the helper kills it 5 s later at the latest */
  timeoutSec?: number;
  /** -s: Request-URI user */
  service?: string;
  extraArgs?: string[];
  cwd?: string;
}

export interface SippResult {
  /** SIPp exit code: 0 all calls succeeded, 1 some failed, 97/99 others, -1/-2 fatal; null if killed */
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
  /** "Successful call" / "Failed call" counters from the final screen, when found */
  successful?: number;
  failed?: number;
}

/** Runs SIPp to completion (bounded by -m and -timeout; killed if it overstays). */
export function runSipp(run: SippRun): Promise<SippResult> {
  const args: string[] = [];
  if (run.scenario.endsWith('.xml')) args.push('-sf', run.scenario);
  else args.push('-sn', run.scenario);
  if (run.remote) args.push(run.remote);
  args.push('-i', run.localIp ?? '127.0.0.1', '-p', String(run.localPort));
  args.push('-t', run.transport ?? 'u1');
  args.push('-m', String(run.calls ?? 1));
  if (run.rate !== undefined) args.push('-r', String(run.rate));
  if (run.limit !== undefined) args.push('-l', String(run.limit));
  const timeoutSec = run.timeoutSec ?? 20;
  args.push('-timeout', `${timeoutSec}s`, '-timeout_error', '-nostdin');
  if (run.service) args.push('-s', run.service);
  args.push(...(run.extraArgs ?? []));
  return new Promise((resolve) => {
    const child = spawn('sipp', args, { cwd: run.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.length > 1_000_000) stdout = stdout.slice(-200_000);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(
      () => {
        killed = true;
        child.kill('SIGKILL');
      },
      (timeoutSec + 5) * 1000,
    );
    child.on('close', (code) => {
      clearTimeout(killer);
      const num = (label: string): number | undefined => {
        const re = new RegExp(`${label}\\s*\\|\\s*(\\d+)\\s*\\|\\s*(\\d+)`, 'g');
        let m: RegExpExecArray | null;
        let last: RegExpExecArray | null = null;
        while ((m = re.exec(stdout))) last = m;
        return last ? Number(last[2]) : undefined;
      };
      resolve({
        code,
        stdout,
        stderr,
        killed,
        successful: num('Successful call'),
        failed: num('Failed call'),
      });
    });
  });
}

/** A port free on 127.0.0.1 for both UDP and TCP right now (SIPp needs explicit ports). */
/**
 * A port free on both TCP and UDP. `span` > 1 also requires the next ports to be free: baresip binds
 * TLS on sip_listen + 1 besides UDP and TCP on sip_listen, and fails to start when that one is taken.
 * Those ports are drawn from 12000–19999, below the kernel's ephemeral range (32768–60999), so an
 * outgoing connection elsewhere in the suite cannot take one between this check and the peer's bind.
 */
export async function freePort(ip = '127.0.0.1', span = 1): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port =
      span > 1
        ? 12000 + Math.floor(Math.random() * (8000 - span))
        : await new Promise<number>((resolve, reject) => {
            const srv = net.createServer();
            srv.once('error', reject);
            srv.listen({ host: ip, port: 0 }, () => {
              const p = (srv.address() as net.AddressInfo).port;
              srv.close(() => resolve(p));
            });
          });
    let ok = port + span - 1 <= 65535;
    for (let p = port; ok && p < port + span; p++) {
      ok = (await udpFree(ip, p)) && (await tcpFree(ip, p));
    }
    if (ok) return port;
  }
  throw new Error('no free port');
}

function udpFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => resolve(false));
    s.bind({ address: ip, port }, () => s.close(() => resolve(true)));
  });
}

function tcpFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: ip, port }, () => srv.close(() => resolve(true)));
  });
}
