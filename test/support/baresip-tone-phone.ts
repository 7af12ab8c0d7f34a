import { execFileSync } from 'node:child_process';
import { baresipConfigHead, spawnBaresip } from './baresip';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './sipp';
import { readWav, type Wav } from './tone-analysis';

export type BaresipCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus';

const CODEC: Record<BaresipCodec, { module: string; sdpName: string }> = {
  PCMU: { module: 'g711.so', sdpName: 'PCMU/8000/1' },
  PCMA: { module: 'g711.so', sdpName: 'PCMA/8000/1' },
  G722: { module: 'g722.so', sdpName: 'G722/8000/1' },
  opus: { module: 'opus.so', sdpName: 'opus/48000/2' },
};

export interface BaresipTonePhone {
  /** the softphone's console output */
  output(): string;
  /** resolves when baresip has quit (it hangs up with BYE at `stop()` or at `quitAfterSec`) */
  done: Promise<{ code: number | null; output: string; killed: boolean }>;
  /** Hangs up now (SIGINT: baresip sends BYE and quits) and resolves with `done`. */
  stop(): Promise<{ code: number | null; output: string; killed: boolean }>;
  /** What baresip decoded from the call (sndfile's `dump-*-dec.wav`); call after `done`. */
  recording(): Wav;
}

/**
 * A real softphone for the MCU tone tests: baresip 1.0 with ONE codec (`audio_codecs` on the account), a sine tone
 * rendered by sox as its microphone (aufile), and the sndfile module dumping the decoded audio of the call to a
 * WAV — what the phone heard. The player is aubridge (no sound card). It dials `target` at once and hangs up on
 * `stop()`, or after `quitAfterSec` at the latest (a bound, not a schedule); killed 10 s after that.
 */
export async function startBaresipTonePhone(o: {
  dir: string;
  user: string;
  target: string;
  codec: BaresipCodec;
  /** the microphone's sine tone (Hz), or null for a silent microphone */
  tone: number | null;
  quitAfterSec: number;
}): Promise<BaresipTonePhone> {
  const cfgDir = path.join(o.dir, `baresip-${o.user}`);
  const recDir = path.join(cfgDir, 'rec');
  fs.mkdirSync(recDir, { recursive: true });
  const rate = o.codec === 'opus' ? 48000 : o.codec === 'G722' ? 16000 : 8000;
  const wav = path.join(cfgDir, 'tone.wav');
  const secs = String(o.quitAfterSec + 5);
  execFileSync('sox', [
    ...['-n', '-r', String(rate), '-c', '1', '-b', '16', wav],
    ...(o.tone === null ? ['trim', '0', secs] : ['synth', secs, 'sine', String(o.tone), 'vol', '0.25']),
  ]);
  const sipPort = await freePort(undefined, 2);
  fs.writeFileSync(
    path.join(cfgDir, 'config'),
    [
      ...baresipConfigHead(sipPort, wav),
      `snd_path ${recDir}`,
      'opus_stereo no',
      'opus_sprop_stereo no',
      'module_path /usr/lib/baresip/modules',
      `module ${CODEC[o.codec].module}`,
      'module aufile.so',
      'module aubridge.so',
      'module sndfile.so',
      'module_app account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(cfgDir, 'accounts'),
    `<sip:${o.user}@127.0.0.1>;regint=0;audio_codecs=${CODEC[o.codec].sdpName}\n`,
  );
  const { child, output, done } = spawnBaresip(cfgDir, o.target, o.quitAfterSec);
  return {
    output,
    done,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return done;
    },
    recording() {
      const files = fs.readdirSync(recDir).filter((f) => f.endsWith('-dec.wav'));
      if (files.length !== 1)
        throw new Error(
          `baresip ${o.user}: expected one *-dec.wav in ${recDir}, found ${files.join(', ') || 'none'}\n${output().slice(-3000)}`,
        );
      return readWav(path.join(recDir, files[0]!));
    },
  };
}
