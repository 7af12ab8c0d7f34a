/**
 * G.722 level against a real G.722 phone: linphone's console client (Debian `linphone-cli`, mediastreamer2's G.722)
 * and a Node phone on PCMU in one room. Each sends a 407 Hz tone at −12 dBFS; each must hear the other's at −12 dBFS
 * (±1 dB). Before the 'itu' G.722 mapping, Parley (FFmpeg's convention, x14 = x16/2) played linphone 6 dB too quiet
 * (−18) and sent it the PCMU caller 6 dB too loud (−6).
 *
 * linphonec runs headless: `soundcard use files`, `play` a WAV as its microphone, `record` what it decodes into a
 * WAV; every codec but G.722 disabled. Needs `npm run build` (dist/) and `linphonec` (apt: linphone-cli).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { freePort } from '../support/sipp';
import { readWav, slice, toneDb, writeToneWav } from '../support/tone-analysis';

jest.setTimeout(120_000);

const TONE_HZ = 407; // not a whole number of cycles per 20 ms frame
const LEVEL_DBFS = -12;
const AMPLITUDE = 10 ** (LEVEL_DBFS / 20); // 0.251 of full scale

let parley: E2eParley;
let linphone: Linphonec | undefined;
let pcmu: SipPhone | undefined;

beforeAll(async () => {
  parley = await startE2eParley({ conference: {} });
});

afterAll(async () => {
  await linphone?.quit();
  await pcmu?.close();
  await parley?.stop();
});

/** linphonec driven over its stdin, with a private HOME and config (loopback SIP and RTP ports). */
class Linphonec {
  private out = '';
  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly dir: string,
  ) {
    proc.stdout.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  static async start(dir: string): Promise<Linphonec> {
    // linphone's core does not start (no SIP listening point) when it cannot open its database there
    fs.mkdirSync(path.join(dir, '.local', 'share', 'linphone'), { recursive: true });
    const rc = path.join(dir, 'linphonerc');
    const sipPort = await freePort();
    const rtpPort = 20000 + Math.floor(Math.random() * 4000) * 2;
    fs.writeFileSync(
      rc,
      [
        '[sip]',
        `sip_port=${sipPort}`,
        'sip_tcp_port=0',
        'sip_tls_port=0',
        // IPv4 on loopback only: SIP and RTP bound to 127.0.0.1, which is then what the SDP advertises
        'use_ipv6=0',
        'ipv6_migration_done=1', // else linphone 5 turns IPv6 back on at start
        'bind_address=127.0.0.1',
        '[rtp]',
        `audio_rtp_port=${rtpPort}`,
        'bind_address=127.0.0.1',
        '[sound]',
        'echocancellation=0',
        '',
      ].join('\n'),
    );
    const proc = spawn('linphonec', ['-c', rc], {
      env: { ...process.env, HOME: dir },
      cwd: dir,
    });
    const l = new Linphonec(proc, dir);
    await l.waitFor(/linphonec> /, 15000);
    return l;
  }

  output(): string {
    return this.out;
  }

  send(cmd: string): void {
    this.proc.stdin.write(`${cmd}\n`);
  }

  /** Sends `cmd` and waits until the output (from now on) matches `re`. */
  async command(cmd: string, re: RegExp, timeoutMs = 10000): Promise<string> {
    const from = this.out.length;
    this.send(cmd);
    return this.waitFor(re, timeoutMs, from);
  }

  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const m = this.out.slice(from).match(re);
      if (m) return m[0];
      if (this.proc.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`linphonec: no ${String(re)} within ${timeoutMs} ms; output:\n${this.out.slice(-3000)}`);
  }

  /** Disables every audio codec but G.722 (indices as `codec list` prints them). */
  async onlyG722(): Promise<void> {
    const list = await this.command(
      'codec list',
      /(\s*\d+: \S+ \(\d+\) (enabled|disabled)\n)+[^]*?linphonec> /,
    );
    const codecs = [...list.matchAll(/(\d+): (\S+) \((\d+)\) (enabled|disabled)/g)].map((m) => ({
      index: Number(m[1]),
      name: m[2],
    }));
    const g722 = codecs.find((c) => c.name === 'G722');
    if (!g722) throw new Error(`linphonec has no G722 codec:\n${list}`);
    for (const c of codecs) this.send(`codec ${c.name === 'G722' ? 'enable' : 'disable'} ${c.index}`);
    const after = await this.command('codec list', /G722 \(8000\) (enabled|disabled)/);
    expect(after).toContain('enabled');
  }

  async quit(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.send('terminate');
    this.send('quit');
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    await Promise.race([exited, sleep(5000)]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    this.proc.stdin.destroy();
    this.proc.stdout.destroy();
    this.proc.stderr.destroy();
  }
}

test('a G.722 linphone and a PCMU phone hear each other’s −12 dBFS tone at −12 dBFS (±1 dB)', async () => {
  const room = 'g722level';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  // The PCMU phone joins first: the "you are the only participant" prompt (3.1 s) is its own, not linphone's.
  pcmu = await SipPhone.call({ target, user: 'pcmu', codec: 'PCMU', tone: TONE_HZ, amplitude: AMPLITUDE });

  const dir = path.join(parley.dir, 'linphone');
  linphone = await Linphonec.start(dir);
  const toneWav = path.join(dir, 'tone.wav');
  const recWav = path.join(dir, 'heard.wav');
  writeToneWav(toneWav, TONE_HZ, 60, 16000, AMPLITUDE);
  await linphone.onlyG722();
  await linphone.command('soundcard use files', /files/i);
  await linphone.command(`play ${toneWav}`, /linphonec> /);
  await linphone.command(`record ${recWav}`, /linphonec> /);
  await linphone.command(`call ${target}`, /Media streams established/, 15000);
  const joined = await parley.waitParticipants(
    room,
    (l) => l.filter((p) => p.state === 'joined').length === 2,
    15000,
  );
  expect(joined.map((p) => p.codec).sort()).toEqual(['G722', 'PCMU']);
  const callStart = Date.now();

  await sleep(4000); // past join prompts/chimes and both jitter buffers settling
  const from = Date.now();
  await sleep(5000);
  const to = Date.now();

  // What the PCMU phone heard: linphone's tone
  const heardByPcmu = pcmu.heard(from, to);
  expect(heardByPcmu.length).toBeGreaterThan(8000 * 4);
  const pcmuLevel = toneDb(heardByPcmu, 8000, TONE_HZ);

  // What linphone heard (its recording ends when the call does)
  await linphone.command('terminate', /linphonec> /);
  await sleep(1000);
  const wav = readWav(recWav);
  const recordedSec = wav.pcm.length / wav.rate;
  // the recording starts with the call's media: take the same wall-clock window, relative to the call start
  const offset = (from - callStart) / 1000;
  const window = slice(wav.pcm, wav.rate, offset, Math.min(offset + (to - from) / 1000, recordedSec - 0.2));
  expect(window.length).toBeGreaterThan(wav.rate * 3);
  const linphoneLevel = toneDb(window, wav.rate, TONE_HZ);

  const ctx = `PCMU phone heard ${pcmuLevel.toFixed(2)} dBFS, linphone heard ${linphoneLevel.toFixed(2)} dBFS (sent ${LEVEL_DBFS})`;
  expect({ ctx, ok: Math.abs(pcmuLevel - LEVEL_DBFS) <= 1 }).toEqual({ ctx, ok: true });
  expect({ ctx, ok: Math.abs(linphoneLevel - LEVEL_DBFS) <= 1 }).toEqual({ ctx, ok: true });
});
