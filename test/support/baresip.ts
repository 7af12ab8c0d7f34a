import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './sipp';

/**
 * The first lines of a test baresip's config: SIP on a loopback port, `wav` as its microphone, nothing played,
 * and an RTP range of its own derived from the SIP port (so parallel softphones never share ports).
 */
export function baresipConfigHead(sipPort: number, wav: string): string[] {
  const [rtpFirst, rtpLast] = baresipRtpPorts(sipPort);
  return [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    `audio_source aufile,${wav}`,
    'audio_player aubridge,nil',
    'audio_alert aubridge,nil',
    `rtp_ports ${rtpFirst}-${rtpLast}`,
  ];
}

/** The RTP port range a test baresip listening on `sipPort` uses (`baresipConfigHead`). */
export function baresipRtpPorts(sipPort: number): [number, number] {
  const base = 20000 + (sipPort % 50) * 100;
  return [base, base + 99];
}

export interface BaresipRun {
  /** the softphone's console output (its status lines show the audio bit rates, tx/rx) */
  output(): string;
  /** resolves when baresip has quit (after `quitAfterSec`, which hangs up with BYE) */
  done: Promise<{ code: number | null; output: string; killed: boolean }>;
}

/**
 * Runs the baresip softphone (Debian's baresip 1.0) headless: a config directory of its own (`-f`), one account
 * (`user`, UDP or TCP, no registration), G.711, a WAV tone as microphone (aufile) and a null speaker (aubridge),
 * network bound to 127.0.0.1 (-n). It dials `target` at once and quits (hanging up) after
 * `quitAfterSec`; killed 10 s later at the latest.
 */
export async function runBaresip(o: {
  dir: string;
  user: string;
  target: string;
  transport: 'udp' | 'tcp' | 'tls';
  /** TLS: the CA file that verifies the server's certificate (its self-signed certificate). */
  cafile?: string;
  quitAfterSec: number;
}): Promise<BaresipRun> {
  const cfgDir = path.join(o.dir, `baresip-${o.user}`);
  fs.mkdirSync(cfgDir, { recursive: true });
  const wav = path.join(cfgDir, 'tone.wav');
  execFileSync('sox', [
    '-n',
    '-r',
    '8000',
    '-c',
    '1',
    '-b',
    '16',
    wav,
    'synth',
    String(o.quitAfterSec + 5),
    'sine',
    '440',
    'vol',
    '0.3',
  ]);
  const sipPort = await freePort(undefined, 2);
  fs.writeFileSync(
    path.join(cfgDir, 'config'),
    [
      ...baresipConfigHead(sipPort, wav),
      ...(o.cafile ? [`sip_cafile ${o.cafile}`] : []),
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module aubridge.so',
      'module_app account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  const tp = o.transport === 'udp' ? '' : `;transport=${o.transport}`;
  fs.writeFileSync(path.join(cfgDir, 'accounts'), `<sip:${o.user}@127.0.0.1${tp}>;regint=0\n`);
  const run = spawnBaresip(cfgDir, `${o.target}${tp}`, o.quitAfterSec);
  return { output: run.output, done: run.done };
}

/**
 * Starts baresip on a prepared config directory, dialling `target` at once and quitting (with BYE) after
 * `quitAfterSec`; killed 10 s later at the latest. Collects its console output.
 */
export function spawnBaresip(
  cfgDir: string,
  target: string,
  quitAfterSec: number,
): BaresipRun & { child: ChildProcess } {
  const child = spawn(
    'baresip',
    ['-f', cfgDir, '-n', '127.0.0.1', '-e', `/dial ${target}`, '-t', String(quitAfterSec)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let killed = false;
  const killer = setTimeout(
    () => {
      killed = true;
      child.kill('SIGKILL');
    },
    (quitAfterSec + 10) * 1000,
  );
  const done = new Promise<{ code: number | null; output: string; killed: boolean }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output: out, killed });
    }),
  );
  return { child, output: () => out, done };
}

/** The highest receive bit rate among baresip's status lines (`audio=TX/RX (bit/s)`). */
export function maxRxBitrate(output: string): number {
  let max = 0;
  for (const m of output.matchAll(/audio=(\d+)\/(\d+) \(bit\/s\)/g)) max = Math.max(max, Number(m[2]));
  return max;
}
