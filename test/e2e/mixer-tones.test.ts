/**
 * The MCU, end to end with real audio: four phones in one room on three codecs, each "saying" its own sine tone,
 * and a Goertzel check of what each one heard (mix-minus: every other talker, never itself), `*6` self-mute by
 * RFC 4733 (the muted tone leaves everybody's mix; the API says muted), and `speaking` in the API.
 *
 * Endpoints: baresip (a real softphone, one codec each, a sox tone as microphone, sndfile recording what it
 * decodes) on G.722 and on Opus (dynamic PT 96: the relay rewrites the router's 111), and on PCMU with a silent
 * microphone (the listener); a Node phone on Parley's SIP stack with the mixer's own PCMU codec presses *6
 * (baresip 1.0 cannot be told to send DTMF headlessly).
 * Needs `npm run build` (dist/) and the rendered prompts (scripts/render-prompts.sh).
 */
import { startBaresipTonePhone, type BaresipTonePhone } from '../support/baresip-tone-phone';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { slice, toneLevels, type Wav } from '../support/tone-analysis';

jest.setTimeout(120_000);

type Party = ApiParticipant & { muted: boolean; speaking: boolean; role: string };

let parley: E2eParley;
const phones: SipPhone[] = [];
const softphones: BaresipTonePhone[] = [];

beforeAll(async () => {
  parley = await startE2eParley({ conference: {} });
});

afterAll(async () => {
  await Promise.all(softphones.map((s) => s.stop()));
  for (const p of phones) await p.close();
  await parley?.stop();
});

/** Tones (Hz) chosen so that no low-order harmonic or intermodulation product of two lands on a third. */
const TONE = { pcmu: 450, g722: 750, opus: 1150 } as const;
const FREQS = [TONE.pcmu, TONE.g722, TONE.opus];
/** A tone counts as heard above this level (each is sent at −12 dBFS). */
const HEARD_DB = -25;
/** Its own tone (or a muted one) must be this far below the weakest tone it should hear. */
const GONE_MARGIN_DB = 20;

/** What a baresip phone recorded between two wall-clock instants (its WAV ends when it quit, at `endedAt`). */
function baresipWindow(w: Wav, endedAt: number, from: number, to: number): Int16Array {
  const startedAt = endedAt - (w.pcm.length / w.rate) * 1000;
  return slice(w.pcm, w.rate, (from - startedAt) / 1000, (to - startedAt) / 1000);
}

function expectHears(levels: Record<number, number>, hear: number[], notHear: number[], who: string): void {
  const weakest = Math.min(...hear.map((f) => levels[f]!));
  const ctx = `${who} heard ${JSON.stringify(levels)}`;
  for (const f of hear) expect({ ctx, f, heard: levels[f]! > HEARD_DB }).toEqual({ ctx, f, heard: true });
  for (const f of notHear)
    expect({ ctx, f, below: levels[f]! < weakest - GONE_MARGIN_DB }).toEqual({ ctx, f, below: true });
}

test('three codecs: each phone hears every other tone and not its own; *6 takes a tone out of the mix', async () => {
  const room = 'tones';
  const target = `sip:${room}@127.0.0.1:${parley.sipPort}`;
  // The first caller hears "you are the only participant" (3.1 s): phase 1 starts after it.
  const pcmu = await SipPhone.call({ target, user: 'pcmu', codec: 'PCMU', tone: TONE.pcmu });
  phones.push(pcmu);
  const firstJoined = Date.now();
  const quitAfterSec = 90; // a bound: the test hangs them up with stop()
  const softphone = (
    user: string,
    codec: 'G722' | 'opus' | 'PCMU',
    tone: number | null,
  ): Promise<BaresipTonePhone> =>
    startBaresipTonePhone({ dir: parley.dir, user, target, codec, tone, quitAfterSec });
  const g722 = await softphone('g722', 'G722', TONE.g722);
  const opus = await softphone('opus', 'opus', TONE.opus);
  const listener = await softphone('listener', 'PCMU', null);
  softphones.push(g722, opus, listener);
  const baresips = { g722, opus, listener };
  const joined = (await parley
    .waitParticipants(room, (l) => l.filter((p) => p.state === 'joined').length === 4, 15000)
    .catch((err: Error) => {
      const outs = Object.entries(baresips).map(([n, b]) => `${n}: ${b.output().slice(-1500)}`);
      throw new Error(`${err.message}\n${outs.join('\n')}`);
    })) as Party[];
  const byName = (l: Party[], n: string): Party => l.find((p) => p.displayName === n)!;
  expect(Object.fromEntries(joined.map((p) => [p.displayName, p.codec]))).toEqual({
    pcmu: 'PCMU',
    g722: 'G722',
    opus: 'opus',
    listener: 'PCMU',
  });

  // Phase 1: everybody talks but the listener.
  const p1from = Math.max(Date.now() + 1000, firstJoined + 3600);
  await sleep(p1from - Date.now());
  // `speaking` (the mixer's VAD) for the talkers, not for the silent phone.
  const speaking = (await parley.waitParticipants(
    room,
    (l) => (l as Party[]).filter((p) => p.speaking).length === 3,
    5000,
  )) as Party[];
  expect(Object.fromEntries(speaking.map((p) => [p.displayName, p.speaking]))).toEqual({
    pcmu: true,
    g722: true,
    opus: true,
    listener: false,
  });
  expect(speaking.every((p) => !p.muted)).toBe(true);
  await sleep(2500);
  const p1to = Date.now();

  // Phase 2: *6 on the PCMU phone (RFC 4733): muted in the API, its tone leaves every mix.
  await pcmu.rfc4733('*6');
  const muted = (await parley.waitParticipants(
    room,
    (l) => byName(l as Party[], 'pcmu')?.muted === true,
    5000,
  )) as Party[];
  expect(muted.filter((p) => p.muted).map((p) => p.displayName)).toEqual(['pcmu']);
  const p2from = Date.now() + 1500; // "you are muted" (1.2 s) goes to the PCMU phone only
  await sleep(p2from - Date.now() + 2500);
  const p2to = Date.now();
  const afterMute = (await parley.participants(room)) as Party[];
  expect(byName(afterMute, 'pcmu').speaking).toBe(false); // a muted phone is not "speaking"
  expect(byName(afterMute, 'opus').speaking).toBe(true);

  // Phase 3: *6 again: unmuted, its tone is back.
  await pcmu.rfc4733('*6');
  await parley.waitParticipants(room, (l) => byName(l as Party[], 'pcmu')?.muted === false, 5000);
  const p3from = Date.now() + 2000; // past "you are no longer muted" (1.8 s, to the PCMU phone only)
  await sleep(p3from - Date.now() + 2000);
  const p3to = Date.now();
  // Still all there (a softphone that quit early would make the windows meaningless).
  expect((await parley.participants(room)).filter((p) => p.state === 'joined')).toHaveLength(4);
  await sleep(1000); // a tail, so that the recordings' ends (our time reference) lie past phase 3

  const runs = await Promise.all([g722.stop(), opus.stop(), listener.stop()]);
  const endedAt = Date.now();
  for (const r of runs) {
    expect(r.output).toMatch(/Call established/);
    expect(r.killed).toBe(false);
  }
  const wav = { g722: g722.recording(), opus: opus.recording(), listener: listener.recording() };
  // Each decoded at its codec's rate: G.722 wideband 16 kHz, Opus 48 kHz, G.711 8 kHz.
  expect([wav.g722.rate, wav.opus.rate, wav.listener.rate]).toEqual([16000, 48000, 8000]);
  // The recordings must cover phase 3 (they end when baresip quit, after it).
  for (const w of Object.values(wav)) expect(endedAt - (w.pcm.length / w.rate) * 1000).toBeLessThan(p1from);

  const phases: Array<[number, number]> = [
    [p1from, p1to],
    [p2from, p2to],
    [p3from, p3to],
  ];
  const levels = (name: 'pcmu' | keyof typeof wav): Array<Record<number, number>> =>
    phases.map(([from, to]) => {
      if (name === 'pcmu') return toneLevels(pcmu.heard(from, to), pcmu.rate, FREQS);
      const w = wav[name];
      const pcm = baresipWindow(w, endedAt, from, to);
      expect(pcm.length).toBeGreaterThan(w.rate * 1.5); // enough audio to judge
      return toneLevels(pcm, w.rate, FREQS);
    });
  const heard = {
    pcmu: levels('pcmu'),
    g722: levels('g722'),
    opus: levels('opus'),
    listener: levels('listener'),
  };
  if (process.env.MIXER_E2E_DEBUG) console.log(JSON.stringify(heard));
  expect(pcmu.heard(p1from, p1to).length).toBeGreaterThan(pcmu.rate * 2);
  expect(pcmu.errors).toEqual([]);

  // Phase 1: mix-minus.
  expectHears(heard.pcmu[0]!, [TONE.g722, TONE.opus], [TONE.pcmu], 'PCMU phone, phase 1');
  expectHears(heard.g722[0]!, [TONE.pcmu, TONE.opus], [TONE.g722], 'baresip G.722, phase 1');
  expectHears(heard.opus[0]!, [TONE.pcmu, TONE.g722], [TONE.opus], 'baresip Opus, phase 1');
  expectHears(heard.listener[0]!, FREQS, [], 'baresip PCMU listener, phase 1');
  // Phase 2: the PCMU phone is muted: nobody hears 450 Hz any more (and it still hears the others).
  expectHears(heard.pcmu[1]!, [TONE.g722, TONE.opus], [TONE.pcmu], 'PCMU phone (muted), phase 2');
  expectHears(heard.g722[1]!, [TONE.opus], [TONE.pcmu, TONE.g722], 'baresip G.722, phase 2');
  expectHears(heard.opus[1]!, [TONE.g722], [TONE.pcmu, TONE.opus], 'baresip Opus, phase 2');
  expectHears(heard.listener[1]!, [TONE.g722, TONE.opus], [TONE.pcmu], 'baresip PCMU listener, phase 2');
  // Phase 3: unmuted: 450 Hz is back for everyone else.
  expectHears(heard.pcmu[2]!, [TONE.g722, TONE.opus], [TONE.pcmu], 'PCMU phone (unmuted), phase 3');
  expectHears(heard.g722[2]!, [TONE.pcmu, TONE.opus], [TONE.g722], 'baresip G.722, phase 3');
  expectHears(heard.opus[2]!, [TONE.pcmu, TONE.g722], [TONE.opus], 'baresip Opus, phase 3');
  expectHears(heard.listener[2]!, FREQS, [], 'baresip PCMU listener, phase 3');
});
