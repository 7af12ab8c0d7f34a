/**
 * linphonec (Debian `linphone-cli`, liblinphone 5) as a scriptable SIP phone for e2e tests: registration with
 * digest, calls out and in (auto-answer optional), SIP MESSAGE chat. Driven over its stdin, with a private HOME
 * and linphonerc in `dir`, SIP and RTP bound to 127.0.0.1 (linphone's core does not start its SIP socket when
 * `$HOME/.local/share/linphone` is missing, and its SDP may name another address unless RTP is bound).
 *
 * ```ts
 * const phone = await Linphone.start({ dir, autoAnswer: true });
 * await phone.register({ user: 'alice', password: 'secret', registrar: `127.0.0.1:${sipPort}` });
 * await phone.call('sip:room@127.0.0.1:5060');   // resolves once media streams are established
 * await phone.sendChat('sip:room@127.0.0.1:5060', 'hello');
 * await phone.waitChat(/hi there/);               // a MESSAGE received, as { from, text }
 * await phone.hangup(); await phone.stop();
 * ```
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './sipp';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface LinphoneOptions {
  /** Its HOME, linphonerc, logs and any WAV files: created when missing. */
  dir: string;
  /** Answer incoming calls by itself (linphonec -a). */
  autoAnswer?: boolean;
  /** Its SIP UDP port (default: a free one). */
  sipPort?: number;
  /** Extra linphonerc lines (appended: e.g. `[sound]` settings). */
  extraConfig?: string[];
}

export interface ReceivedChat {
  from: string;
  text: string;
}

export class Linphone {
  private out = '';

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly dir: string,
    /** Its SIP UDP port on 127.0.0.1. */
    readonly sipPort: number,
  ) {
    proc.stdout.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  static async start(o: LinphoneOptions): Promise<Linphone> {
    fs.mkdirSync(path.join(o.dir, '.local', 'share', 'linphone'), { recursive: true });
    const rc = path.join(o.dir, 'linphonerc');
    const sipPort = o.sipPort ?? (await freePort());
    const rtpPort = 20000 + Math.floor(Math.random() * 4000) * 2;
    fs.writeFileSync(
      rc,
      [
        '[sip]',
        `sip_port=${sipPort}`,
        'sip_tcp_port=0',
        'sip_tls_port=0',
        'use_ipv6=0',
        'ipv6_migration_done=1', // else linphone 5 turns IPv6 back on at start
        'bind_address=127.0.0.1',
        // no call is refused because a "sound card" is busy: tests run several phones
        'inc_timeout=60',
        '[rtp]',
        `audio_rtp_port=${rtpPort}`,
        'bind_address=127.0.0.1',
        '[sound]',
        'echocancellation=0',
        ...(o.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    const args = ['-c', rc, ...(o.autoAnswer ? ['-a'] : [])];
    // Under a pseudo-terminal (script -qfec): with a pipe as stdout linphonec buffers its printf output (the
    // registration and call state lines arrive late or never).
    const cmd = ['linphonec', ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const proc = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, HOME: o.dir },
      cwd: o.dir,
    });
    const l = new Linphone(proc, o.dir, sipPort);
    await l.waitFor(/linphonec> /, 15000);
    await l.command('soundcard use files', /linphonec> /);
    return l;
  }

  /** Everything it printed so far. */
  output(): string {
    return this.out;
  }

  /** Sends one console command. */
  send(cmd: string): void {
    this.proc.stdin.write(`${cmd}\n`);
  }

  /** Sends `cmd` and waits until the output printed after it matches `re`; returns the match. */
  async command(cmd: string, re: RegExp, timeoutMs = 10000): Promise<string> {
    const from = this.out.length;
    this.send(cmd);
    return this.waitFor(re, timeoutMs, from);
  }

  /** Waits until the output (from offset `from`) matches `re`; returns the match. */
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

  /**
   * Registers `sip:<user>@<domain>` at `registrar` (host:port) with digest credentials; resolves when linphone
   * says it is registered, rejects after 15 s otherwise.
   */
  async register(o: { user: string; password: string; registrar: string; domain?: string }): Promise<void> {
    const domain = o.domain ?? o.registrar.replace(/:\d+$/, '');
    await this.command(`register sip:${o.user}@${domain} sip:${o.registrar} ${o.password}`, /linphonec> /);
    // linphonec 5 prints no registration state line: ask for it ("registered, identity=... duration=N")
    const end = Date.now() + 15000;
    while (Date.now() < end) {
      const s = await this.command('status register', /(registered|unregistered|registration)[^\n]*\n/i);
      if (/^registered,/i.test(s.trim())) return;
      await sleep(200);
    }
    throw new Error(`linphonec: not registered within 15 s; output:\n${this.out.slice(-3000)}`);
  }

  /** Unregisters (REGISTER with Expires: 0). */
  async unregister(): Promise<void> {
    await this.command('unregister', /linphonec> /);
  }

  /** Calls `uri`; resolves once the call's media streams are established. */
  async call(uri: string, timeoutMs = 15000): Promise<void> {
    await this.command(`call ${uri}`, /Media streams established/, timeoutMs);
  }

  /** Answers the ringing call (without auto-answer). */
  async answer(timeoutMs = 15000): Promise<void> {
    await this.command('answer', /Media streams established/, timeoutMs);
  }

  /** Waits for an incoming call to be answered and its media up (with auto-answer). */
  async waitAnswered(timeoutMs = 15000): Promise<void> {
    await this.waitFor(/Media streams established/, timeoutMs);
  }

  /** Enables `name` (e.g. `G722`) and disables every other audio codec (indices as `codec list` prints them). */
  async onlyCodec(name: string): Promise<void> {
    const list = await this.command(
      'codec list',
      // under the pseudo-terminal lines end in \r\n
      /(\d+: \S+ \(\d+\) (enabled|disabled)\s*)+[^]*?linphonec> /,
    );
    const codecs = [...list.matchAll(/(\d+): (\S+) \((\d+)\) (enabled|disabled)/g)].map((m) => ({
      index: Number(m[1]),
      name: m[2],
    }));
    if (!codecs.some((c) => c.name === name)) throw new Error(`linphonec has no ${name} codec:\n${list}`);
    for (const c of codecs) this.send(`codec ${c.name === name ? 'enable' : 'disable'} ${c.index}`);
    const after = await this.command('codec list', new RegExp(`${name} \\(\\d+\\) (enabled|disabled)`));
    if (!after.includes('enabled')) throw new Error(`linphonec: ${name} not enabled:\n${after}`);
  }

  /** Ends the current call. */
  async hangup(): Promise<void> {
    await this.command('terminate', /linphonec> /);
  }

  /**
   * Sends a SIP MESSAGE (RFC 3428) with `text` to `uri`. Seen with linphonec 5.1: once a MESSAGE was received from
   * `user@host` it keeps a chat room for that peer WITHOUT the port, and `chat sip:user@host:port ...` reuses it:
   * the reply goes to port 5060 of that host (or through its registrar proxy when it is registered). Received
   * MESSAGEs print as `Message received from sip:room@127.0.0.1: hello` (see `receivedChats`).
   */
  async sendChat(uri: string, text: string): Promise<void> {
    await this.command(`chat ${uri} ${text}`, /linphonec> /);
  }

  /** The MESSAGEs received so far, in order. */
  receivedChats(): ReceivedChat[] {
    return [...this.out.matchAll(/Message received from (\S+): ?(.*)/g)].map((m) => ({
      from: m[1]!,
      text: m[2]!.trim(),
    }));
  }

  /** Waits for a received MESSAGE whose text matches `re`. */
  async waitChat(re: RegExp, timeoutMs = 10000): Promise<ReceivedChat> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const c = this.receivedChats().find((x) => re.test(x.text));
      if (c) return c;
      await sleep(50);
    }
    throw new Error(`linphonec: no chat matching ${String(re)}; output:\n${this.out.slice(-3000)}`);
  }

  /** Quits (hanging up a call in progress); killed if it lingers. Idempotent. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.send('terminate');
      this.send('quit');
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.proc.once('exit', () => resolve());
        timer = setTimeout(resolve, 5000);
      });
      clearTimeout(timer);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    this.proc.stdin.destroy();
    this.proc.stdout.destroy();
    this.proc.stderr.destroy();
  }
}
