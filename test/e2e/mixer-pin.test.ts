/**
 * PIN-protected rooms and spoken prompts through the MCU, end to end: callers wait in a lobby that plays "please
 * enter the conference PIN", the moderator PIN (RFC 4733 digits) makes a moderator, the participant PIN (SIP INFO
 * application/dtmf-relay) joins the room and both hear each other (tone check), three wrong PINs end in "goodbye"
 * and a BYE with `Reason: SIP;cause=403`, and a caller alone in a room hears "you are the only participant".
 * Phones: Node phones on Parley's own SIP stack (test/support/sip-phone.ts) with the mixer's codecs.
 * Needs `npm run build` (dist/) and the rendered prompts (`bash scripts/render-prompts.sh`).
 */
import { startFocusSipp } from '../support/focus-sipp';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { freePort } from '../support/sipp';
import { rmsDb, toneDb, toneLevels } from '../support/tone-analysis';

jest.setTimeout(120_000);

type Party = ApiParticipant & { muted: boolean; speaking: boolean; role: string };

let parley: E2eParley;
const phones: SipPhone[] = [];
/** Clean-ups of the running test (a failed one included). */
const afterThis: Array<() => void> = [];

afterEach(() => {
  for (const f of afterThis.splice(0)) f();
});

beforeAll(async () => {
  parley = await startE2eParley({
    conference: { rooms: [{ name: 'secure', pin: '1234', moderatorPin: '9999' }] },
  });
});

afterAll(async () => {
  for (const p of phones) await p.close();
  await parley?.stop();
});

async function dial(
  room: string,
  user: string,
  codec: 'PCMU' | 'G722' | 'opus',
  tone: number | null,
): Promise<SipPhone> {
  const phone = await SipPhone.call({ target: `sip:${room}@127.0.0.1:${parley.sipPort}`, user, codec, tone });
  phones.push(phone);
  return phone;
}

const MOD_TONE = 600;
const PART_TONE = 900;
/** Speech prompts are rendered at about −21 dBFS RMS. */
const PROMPT_DB = -35;
const SILENCE_DB = -55;

describe('room "secure" (pin 1234, moderator pin 9999)', () => {
  let moderator: SipPhone;

  test('the lobby plays the PIN prompt; the moderator PIN (RFC 4733) joins as moderator', async () => {
    moderator = await dial('secure', 'mod', 'PCMU', MOD_TONE);
    const t0 = moderator.mark();
    // In the lobby: listed, never joined, not muted-by-default.
    const lobby = (await parley.waitParticipants('secure', (l) =>
      l.some((p) => p.displayName === 'mod'),
    )) as Party[];
    expect(lobby.find((p) => p.displayName === 'mod')!.state).not.toBe('joined');
    await sleep(3000);
    // "Please enter the conference PIN" (4.2 s): speech from the start.
    const prompt = moderator.heard(t0 + 200, t0 + 3000);
    expect(prompt.length).toBeGreaterThan(moderator.rate * 2);
    expect(rmsDb(prompt)).toBeGreaterThan(PROMPT_DB);
    await moderator.rfc4733('9999#');
    const joined = (await parley.waitParticipants('secure', (l) =>
      l.some((p) => p.displayName === 'mod' && p.state === 'joined'),
    )) as Party[];
    expect(joined.find((p) => p.displayName === 'mod')).toMatchObject({
      role: 'moderator',
      codec: 'PCMU',
      muted: false,
    });
  });

  test('three wrong PINs: goodbye, BYE with Reason cause=403, never joined; the lobby hears no room audio', async () => {
    const intruder = await dial('secure', 'intruder', 'PCMU', 1500);
    const t0 = intruder.mark();
    // Watch the API for the whole call: the intruder must never show up as joined.
    const states = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const p of await parley.participants('secure').catch(() => []))
          if (p.displayName === 'intruder') states.add(p.state);
        await sleep(100);
      }
    })();
    afterThis.push(() => (watching = false));
    // The whole PIN prompt, then the lobby's silence.
    await sleep(5200);
    const prompt = intruder.heard(t0 + 200, t0 + 4000);
    const quiet = intruder.heard(t0 + 4500, t0 + 5200);
    expect(rmsDb(prompt)).toBeGreaterThan(PROMPT_DB);
    expect(rmsDb(quiet)).toBeLessThan(SILENCE_DB);
    // The moderator talks in the room (600 Hz) all along: the lobby never mixes it in.
    expect(toneDb(intruder.heard(t0), intruder.rate, MOD_TONE)).toBeLessThan(-40);
    // Three wrong PINs, the 2nd and 3rd typed over the "wrong PIN" prompt (barge-in; nothing typed is lost).
    await intruder.rfc4733('1111#');
    await sleep(800);
    await intruder.rfc4733('4321#');
    await sleep(800);
    await intruder.rfc4733('12345#');
    const typed = intruder.mark();
    await intruder.waitTerminated(10000);
    watching = false;
    await watcher;
    expect(intruder.byeFromServer?.method).toBe('BYE');
    expect(intruder.byeFromServer?.headers.get('Reason')).toMatch(/^SIP;cause=403\b/);
    expect(states.size).toBeGreaterThan(0); // it was listed (in the lobby) ...
    expect(states.has('joined')).toBe(false); // ... but never joined
    expect((await parley.participants('secure')).some((p) => p.displayName === 'intruder')).toBe(false);
    // The leave reason is the PIN failure (not the dialog's generic local-bye).
    await parley.run.waitForLog((l) => l.msg === 'participant left' && l.reason === 'pin-failed', 5000);
    expect(parley.logs('participant left').filter((l) => l.reason === 'pin-failed')).toHaveLength(1);
    expect(parley.logs('wrong PIN').map((l) => l.attempt)).toEqual([1, 2, 3]);
    // "Goodbye" (1 s) between the last try and the BYE.
    expect(rmsDb(intruder.heard(typed))).toBeGreaterThan(PROMPT_DB);
  });

  test('the participant PIN by SIP INFO joins the room; moderator and participant hear each other', async () => {
    const part = await dial('secure', 'part', 'G722', PART_TONE);
    await sleep(500);
    expect(await part.info('1234#')).toEqual([200, 200, 200, 200, 200]);
    const l = (await parley.waitParticipants('secure', (x) =>
      x.some((p) => p.displayName === 'part' && p.state === 'joined'),
    )) as Party[];
    expect(l.find((p) => p.displayName === 'part')).toMatchObject({ role: 'participant', codec: 'G722' });
    expect(l.find((p) => p.displayName === 'mod')).toMatchObject({ role: 'moderator' });
    const from = Date.now() + 1000; // past the join chime
    await sleep(3500);
    const modHeard = toneLevels(moderator.heard(from), moderator.rate, [MOD_TONE, PART_TONE]);
    const partHeard = toneLevels(part.heard(from), part.rate, [MOD_TONE, PART_TONE]);
    expect({
      modHeard,
      ok: modHeard[PART_TONE]! > -25 && modHeard[MOD_TONE]! < modHeard[PART_TONE]! - 20,
    }).toMatchObject({
      ok: true,
    });
    expect({
      partHeard,
      ok: partHeard[MOD_TONE]! > -25 && partHeard[PART_TONE]! < partHeard[MOD_TONE]! - 20,
    }).toMatchObject({
      ok: true,
    });
    await part.close();
  });

  test('SIPp enters the PIN with RFC 4733 packets replayed from its pcaps and joins', async () => {
    const mediaPort = await freePort();
    const sipp = await startFocusSipp(parley, {
      scenario: '../mixer/uac-pin-pcap.xml',
      room: 'secure',
      pauseMs: 3000,
      extraArgs: ['-mp', String(mediaPort)],
    });
    const [, , pt] = await sipp.waitEvent('answer');
    expect(pt).toBe('0');
    await sipp.waitEvent('digits-sent', 15000);
    const l = (await parley.waitParticipants(
      'secure',
      (x) => x.some((p) => p.displayName === 'sipp' && p.state === 'joined'),
      5000,
    )) as Party[];
    expect(l.find((p) => p.displayName === 'sipp')).toMatchObject({ role: 'participant', codec: 'PCMU' });
    const r = await sipp.done;
    expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
    await parley.waitParticipants('secure', (x) => !x.some((p) => p.displayName === 'sipp'));
  });
});

test('a caller alone in a room hears "you are the only participant", then silence', async () => {
  const lone = await dial('alone', 'lone', 'PCMU', null);
  const t0 = lone.mark();
  await parley.waitParticipants('alone', (l) => l.some((p) => p.state === 'joined'));
  await sleep(5500);
  const prompt = lone.heard(t0 + 200, t0 + 3000);
  expect(prompt.length).toBeGreaterThan(lone.rate * 2); // the prompt came as RTP ...
  expect(rmsDb(prompt)).toBeGreaterThan(PROMPT_DB); // ... and it is speech-loud
  const after = lone.heard(t0 + 4000, t0 + 5500);
  expect(rmsDb(after)).toBeLessThan(SILENCE_DB); // then nothing but silence
  const me = (await parley.participants('alone')) as Party[];
  expect(me).toHaveLength(1);
  expect(me[0]).toMatchObject({ speaking: false, muted: false }); // a silent phone is not "speaking"
  await lone.close();
});
