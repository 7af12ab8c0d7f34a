/**
 * G.722 level against a real G.722 phone: linphone's console client (Debian `linphone-cli`, mediastreamer2's G.722)
 * and a Node phone on PCMU in one room. Each sends a 407 Hz tone at −12 dBFS; each must hear the other's at −12 dBFS
 * (±1 dB). Before the 'itu' G.722 mapping, Parley (FFmpeg's convention, x14 = x16/2) played linphone 6 dB too quiet
 * (−18) and sent it the PCMU caller 6 dB too loud (−6).
 *
 * linphonec runs headless: `soundcard use files`, `play` a WAV as its microphone, `record` what it decodes into a
 * WAV; every codec but G.722 disabled. Needs `npm run build` (dist/) and `linphonec` (apt: linphone-cli).
 */
import path from 'node:path';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { Linphone } from '../support/linphone';
import { readWav, slice, toneDb, writeToneWav } from '../support/tone-analysis';

jest.setTimeout(120_000);

const TONE_HZ = 407; // not a whole number of cycles per 20 ms frame
const LEVEL_DBFS = -12;
const AMPLITUDE = 10 ** (LEVEL_DBFS / 20); // 0.251 of full scale

let parley: E2eParley;
let linphone: Linphone | undefined;
let pcmu: SipPhone | undefined;

beforeAll(async () => {
  parley = await startE2eParley({ conference: {} });
});

afterAll(async () => {
  await linphone?.stop();
  await pcmu?.close();
  await parley?.stop();
});

test('a G.722 linphone and a PCMU phone hear each other’s −12 dBFS tone at −12 dBFS (±1 dB)', async () => {
  const room = 'g722level';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  // The PCMU phone joins first: the "you are the only participant" prompt (3.1 s) is its own, not linphone's.
  pcmu = await SipPhone.call({ target, user: 'pcmu', codec: 'PCMU', tone: TONE_HZ, amplitude: AMPLITUDE });

  const dir = path.join(parley.dir, 'linphone');
  linphone = await Linphone.start({ dir });
  const toneWav = path.join(dir, 'tone.wav');
  const recWav = path.join(dir, 'heard.wav');
  writeToneWav(toneWav, TONE_HZ, 60, 16000, AMPLITUDE);
  await linphone.onlyCodec('G722');
  await linphone.command(`play ${toneWav}`, /linphonec> /);
  await linphone.command(`record ${recWav}`, /linphonec> /);
  await linphone.call(target);
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
  await linphone.hangup();
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
