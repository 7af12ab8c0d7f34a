/**
 * Moving a phone to another room through the REST API (POST /api/rooms/:id/participants/:pid/move), against the
 * built server with real SIP phones and real audio. Phone A (407 Hz) talks in room "one" with B (887 Hz); C
 * (613 Hz) is in room "two". After A's move, C hears A and B no longer does, A hears C and no longer B, and the API
 * lists A (same id) in "two". Ending room "one" afterwards leaves A alone.
 * - One media thread (PARLEY_RTC_NUM_WORKERS=1): both rooms' audio lives in the same thread, so A's audio is
 *   re-attached to the other room's mix where it is: no re-INVITE, the phone keeps its media address. Moves into a
 *   locked room or of a caller still in the PIN lobby are refused with the catalogue's code.
 * - Two media threads (PARLEY_RTC_NUM_WORKERS=2): a room is placed on the thread with the fewest rooms, so "one"
 *   and "two", opened one after the other with every room empty, land on different threads (and routers): the
 *   move builds new legs in "two" and offers them in a re-INVITE; the phone answers it (new address in the offer)
 *   and the audio flows on the new legs. Proven with a Node phone (which records the re-INVITE) and with baresip (a
 *   real softphone, which records what it decodes). A phone that refuses the re-INVITE (SIPp answering 488) stays
 *   where it was, on its old legs, and the API says CONF_MOVE_FAILED.
 * Phones: Node phones on Parley's own SIP stack (test/support/sip-phone.ts, `followReinvites`) with the mixer's
 * PCMU codec; baresip (test/support/baresip-tone-phone.ts); SIPp (test/fixtures/sipp/conference/
 * uac-refuse-reinvite.xml) with a Node RTP sender. Needs `npx tsc -p tsconfig.build.json` (dist/), sox, baresip.
 */
import { startBaresipTonePhone } from '../support/baresip-tone-phone';
import { receivedMessage, startFocusSipp } from '../support/focus-sipp';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import { RtpPeer } from '../support/rtp-peer';
import { SipPhone } from '../support/sip-phone';
import { slice } from '../support/tone-analysis';
import {
  expectCatalogue,
  expectHearing,
  expectHears as expectLevels,
  stopAndReport,
  toneMedians,
} from './conference-helpers';

jest.setTimeout(180_000);

/** Tones (Hz): 8.14, 12.26 and 17.74 cycles per 20 ms; no low-order product of two lands on the third. */
const TONE = { a: 407, c: 613, b: 887 } as const;
const FREQS = [TONE.a, TONE.b, TONE.c];

/** Polls `pred` every 100 ms until it holds; throws after `timeoutMs`. */
async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function harness(parley: () => E2eParley): {
  dial(room: string, user: string, tone: number | null): Promise<SipPhone>;
  joined(room: string, n: number): Promise<ApiParticipant[]>;
  closeAll(): Promise<void>;
} {
  const phones: SipPhone[] = [];
  return {
    async dial(room, user, tone) {
      const phone = await SipPhone.call({
        target: `sip:${room}@127.0.0.1:${parley().sipPort}`,
        user,
        codec: 'PCMU',
        tone,
        followReinvites: true,
      });
      phones.push(phone);
      return phone;
    },
    joined: (room, n) =>
      parley().waitParticipants(room, (l) => l.length === n && l.every((p) => p.state === 'joined'), 15000),
    /** Hangs up every phone and waits until no room has anyone (their media released, thread placements too). */
    async closeAll() {
      for (const p of phones.splice(0)) await p.close();
      const end = Date.now() + 10000;
      for (;;) {
        const r = await parley().api<{ rooms: Array<{ participants: number }> }>('/api/rooms');
        if (r.body.rooms.every((x) => x.participants === 0)) break;
        if (Date.now() > end) throw new Error(`rooms not empty: ${JSON.stringify(r.body)}`);
        await sleep(100);
      }
    },
  };
}

/**
 * A (407 Hz) and B (887 Hz) in "one", C (613 Hz) in "two"; A moves to "two". Checks the API, the audio before and
 * after, and whether the move renegotiated (re-INVITE with a new address) or re-attached (nothing signalled).
 */
async function moveAndListen(parley: E2eParley, h: ReturnType<typeof harness>, renegotiated: boolean) {
  const a = await h.dial('one', 'a', TONE.a);
  const b = await h.dial('one', 'b', TONE.b);
  const c = await h.dial('two', 'c', TONE.c);
  const inOne = await h.joined('one', 2);
  await h.joined('two', 1);
  const aId = inOne.find((p) => p.displayName === 'a')!.id;

  await expectHearing(FREQS, [
    [a, [TONE.b], [TONE.a, TONE.c], 'a in "one", before the move'],
    [b, [TONE.a], [TONE.b, TONE.c], 'b in "one", before the move'],
    [c, [], FREQS, 'c alone in "two", before the move'],
  ]);
  const addressBefore = { ...a.remote };

  const moved = await parley.post(`/api/rooms/one/participants/${aId}/move`, { room: 'two' });
  expect(moved).toEqual({ status: 200, body: { roomId: 'two', participantId: aId, from: 'one' } });

  // The API: A (same id, joined) in "two" with C; B alone in "one".
  const two = await parley.waitParticipants('two', (l) => l.length === 2, 5000);
  expect(two.map((p) => [p.displayName, p.state]).sort()).toEqual([
    ['a', 'joined'],
    ['c', 'joined'],
  ]);
  expect(two.find((p) => p.displayName === 'a')!.id).toBe(aId);
  expect((await parley.participants('one')).map((p) => p.displayName)).toEqual(['b']);
  const rooms = await parley.api<{ rooms: Array<{ id: string; participants: number }> }>('/api/rooms');
  expect(
    Object.fromEntries(
      rooms.body.rooms.filter((r) => ['one', 'two'].includes(r.id)).map((r) => [r.id, r.participants]),
    ),
  ).toEqual({ one: 1, two: 2 });
  const log = await parley.run.waitForLog(
    (l) => l.msg === 'participant moved' && l.participantId === aId,
    5000,
  );
  expect({ from: log.from, to: log.to, renegotiated: log.renegotiated }).toEqual({
    from: 'one',
    to: 'two',
    renegotiated,
  });

  if (renegotiated) {
    // One re-INVITE, offering new legs (another port) in the same codec; the phone now sends there.
    expect(a.reinvites).toHaveLength(1);
    const offer = a.reinvites[0]!.sdp;
    expect(offer).toMatch(/^m=audio \d+ RTP\/AVP 0\b/m);
    // a target refresh naming the new conference URI as the focus's Contact (RFC 4579 §4.5)
    expect(a.reinvites[0]!.contact).toMatch(/^<sip:two@127\.0\.0\.1:\d+>;isfocus$/);
    expect(a.remote.port).not.toBe(addressBefore.port);
    expect(offer).toContain(`m=audio ${a.remote.port} `);
  } else {
    // Re-attached where it is: nothing signalled, the same address.
    expect(a.reinvites).toEqual([]);
    expect(a.remote).toEqual(addressBefore);
  }

  // The audio: C and A hear each other and not B; B, alone now, hears neither.
  await expectHearing(FREQS, [
    [c, [TONE.a], [TONE.b, TONE.c], 'c in "two", after the move'],
    [a, [TONE.c], [TONE.a, TONE.b], 'a in "two", after the move'],
    [b, [], FREQS, 'b alone in "one", after the move'],
  ]);
  const media = await parley.api<{
    mixer: { participants: Array<{ participantId: string; packetsIn: number }> } | null;
  }>('/api/rooms/two/media');
  expect(media.body.mixer?.participants.map((p) => p.participantId).sort()).toEqual(
    two.map((p) => p.id).sort(),
  );

  // Room "one" ends (its router and media go): A, now in "two", is not affected.
  expect((await parley.del('/api/rooms/one')).status).toBe(200);
  await b.waitTerminated(10000);
  await expectHearing(FREQS, [
    [c, [TONE.a], [TONE.b], 'c in "two", after "one" ended'],
    [a, [TONE.c], [TONE.b], 'a in "two", after "one" ended'],
  ]);
  expect(a.terminated || c.terminated).toBe(false);
  expect(a.errors).toEqual([]);
  await h.closeAll();
  await parley.waitParticipants('two', (l) => l.length === 0, 10000);
}

describe('one media thread: the audio is re-attached', () => {
  let parley: E2eParley;
  const h = harness(() => parley);

  beforeAll(async () => {
    parley = await startE2eParley({
      conference: { joinTones: false, rooms: [{ name: 'pin', pin: '4321' }] },
      env: { PARLEY_RTC_NUM_WORKERS: '1' },
    });
  });
  afterEach(() => h.closeAll());
  afterAll(async () => {
    await stopAndReport(parley, __filename);
  });

  test('A moves from "one" to "two": C hears A, B no longer does; no re-INVITE', async () => {
    await moveAndListen(parley, h, false);
  });

  test('refused moves: into a locked room (423), of a caller still in the PIN lobby (409); nothing moves', async () => {
    const a = await h.dial('open', 'a', TONE.a);
    const b = await h.dial('open', 'b', TONE.b);
    const list = await h.joined('open', 2);
    const aId = list.find((p) => p.displayName === 'a')!.id;
    const c = await h.dial('closed', 'c', TONE.c);
    await h.joined('closed', 1);
    expect((await parley.post('/api/rooms/closed/lock', { locked: true })).status).toBe(200);
    expectCatalogue(
      await parley.post(`/api/rooms/open/participants/${aId}/move`, { room: 'closed' }),
      'CONF_ROOM_LOCKED',
      'move into a locked room',
    );
    const waiting = await h.dial('pin', 'waiting', null);
    const [w] = await parley.waitParticipants('pin', (l) => l.length === 1, 10000);
    expect(w!.state).not.toBe('joined');
    expectCatalogue(
      await parley.post(`/api/rooms/pin/participants/${w!.id}/move`, { room: 'open' }),
      'NOT_JOINED',
      'move a caller in the PIN lobby',
    );
    // Nothing moved: A and B still hear each other in "open", C is alone in "closed".
    expect((await parley.participants('open')).map((p) => p.displayName).sort()).toEqual(['a', 'b']);
    expect((await parley.participants('closed')).map((p) => p.displayName)).toEqual(['c']);
    expect((await parley.participants('pin')).map((p) => p.displayName)).toEqual(['waiting']);
    await expectHearing(FREQS, [
      [a, [TONE.b], [TONE.a, TONE.c], 'a after the refused move'],
      [c, [], FREQS, 'c alone in the locked room'],
    ]);
    expect([a, b, c, waiting].some((p) => p.terminated)).toBe(false);
    await h.closeAll();
  });
});

describe('two media threads: the move renegotiates (re-INVITE)', () => {
  let parley: E2eParley;
  const h = harness(() => parley);

  beforeAll(async () => {
    // The re-INVITE path itself: moves by REFER (the default, test/e2e/focus-transfer.test.ts) are off here, so
    // that baresip, which would follow a REFER, is moved by re-INVITE.
    parley = await startE2eParley({
      conference: { joinTones: false, moveByRefer: false },
      env: { PARLEY_RTC_NUM_WORKERS: '2' },
    });
  });
  afterEach(() => h.closeAll());
  afterAll(async () => {
    await stopAndReport(parley, __filename);
  });

  test('A moves from "one" to "two" by re-INVITE: new address, C hears A, B no longer does', async () => {
    await moveAndListen(parley, h, true);
  });

  test('a muted phone stays muted in its new room (re-INVITE path), and is heard there once unmuted', async () => {
    const a = await h.dial('one', 'a', TONE.a);
    const b = await h.dial('one', 'b', TONE.b);
    const aId = (await h.joined('one', 2)).find((p) => p.displayName === 'a')!.id;
    const c = await h.dial('two', 'c', TONE.c);
    await h.joined('two', 1);
    expect((await parley.post(`/api/rooms/one/participants/${aId}/mute`, { muted: true })).status).toBe(200);
    await expectHearing(FREQS, [[b, [], [TONE.a], 'b, a muted']]);

    expect((await parley.post(`/api/rooms/one/participants/${aId}/move`, { room: 'two' })).status).toBe(200);
    expect(a.reinvites).toHaveLength(1);
    const two = await parley.waitParticipants('two', (l) => l.length === 2, 5000);
    expect(two.find((p) => p.id === aId)).toMatchObject({ displayName: 'a', muted: true, state: 'joined' });
    // Muted: C does not hear A; A (muted, not deaf) hears C.
    await expectHearing(FREQS, [
      [c, [], [TONE.a, TONE.b], 'c, a moved in muted'],
      [a, [TONE.c], [TONE.b], 'a, moved in muted'],
    ]);
    expect((await parley.post(`/api/rooms/two/participants/${aId}/mute`, { muted: false })).status).toBe(200);
    await expectHearing(FREQS, [[c, [TONE.a], [TONE.b], 'c, a unmuted in "two"']], 2200);
    expect([a, b, c].some((p) => p.terminated)).toBe(false);
  });

  test('a phone that refuses the re-INVITE (488) stays where it was: CONF_MOVE_FAILED', async () => {
    // Every room is empty (afterEach): "left" goes to one thread, then "right" to the other, the least loaded.
    const listener = await h.dial('left', 'listener', null);
    await h.joined('left', 1);
    const c = await h.dial('right', 'c', TONE.c);
    await h.joined('right', 1);
    const rtp = await RtpPeer.open();
    try {
      const sipp = await startFocusSipp(parley, {
        scenario: '../conference/uac-refuse-reinvite.xml',
        room: 'left',
        keys: { rtp_port: rtp.port },
        timeoutSec: 60,
      });
      const [, port] = await sipp.waitEvent('answer', 15000);
      rtp.send('127.0.0.1', Number(port), 0);
      const list = await h.joined('left', 2);
      const sippId = list.find((p) => p.displayName !== 'listener')!.id;

      const r = await parley.post(`/api/rooms/left/participants/${sippId}/move`, { room: 'right' });
      expectCatalogue(r, 'CONF_MOVE_FAILED', 'move refused by the phone');
      expect((r.body as { message: string }).message).toMatch(/488/);
      await sipp.waitEvent('refused', 5000);
      // Still in "left", joined, on its old legs.
      expect((await parley.participants('left')).map((p) => [p.id, p.state]).sort()).toContainEqual([
        sippId,
        'joined',
      ]);
      expect((await parley.participants('right')).map((p) => p.displayName)).toEqual(['c']);
      // Its RTP still reaches the mixer there, and the mix still reaches it.
      const inOf = async (): Promise<number> =>
        (
          await parley.api<{
            mixer: { participants: Array<{ participantId: string; packetsIn: number }> };
          }>('/api/rooms/left/media')
        ).body.mixer.participants.find((p) => p.participantId === sippId)!.packetsIn;
      const inBefore = await inOf();
      rtp.reset();
      await until('50 more packets from the SIPp phone', async () => (await inOf()) >= inBefore + 50);
      await until('50 packets of mix at the SIPp phone', () => Promise.resolve(rtp.received.count >= 50));
      expect(parley.logs('participant moved').filter((l) => l.participantId === sippId)).toEqual([]);
      expect(listener.terminated || c.terminated).toBe(false);
      // Done: a kick ends its call.
      expect((await parley.post(`/api/rooms/left/participants/${sippId}/kick`, {})).status).toBe(200);
      await sipp.waitEvent('bye', 10000);

      const done = await sipp.done;
      expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
      // The re-INVITE SIPp refused offered another port than the one it was using.
      const reinvite = receivedMessage(done.messages, 'INVITE');
      expect(reinvite).toMatch(/^m=audio (\d+) RTP\/AVP 0\b/m);
      expect(/^m=audio (\d+)/m.exec(reinvite!)![1]).not.toBe(port);
    } finally {
      rtp.close();
    }
  });

  test('a real softphone (baresip) follows the re-INVITE of a move: C hears it, it hears C, B no longer hears it', async () => {
    const b = await h.dial('one', 'b', TONE.b);
    await h.joined('one', 1);
    const c = await h.dial('two', 'c', TONE.c);
    await h.joined('two', 1);
    const a = await startBaresipTonePhone({
      dir: parley.dir,
      user: 'softphone',
      target: `sip:one@127.0.0.1:${parley.sipPort}`,
      codec: 'PCMU',
      tone: TONE.a,
      quitAfterSec: 90, // a bound: stop() hangs up
    });
    try {
      const inOne = await h.joined('one', 2).catch((err: Error) => {
        throw new Error(`${err.message}\n${a.output().slice(-2000)}`);
      });
      const aId = inOne.find((p) => p.displayName === 'softphone')!.id;
      await expectHearing(FREQS, [
        [b, [TONE.a], [TONE.b, TONE.c], 'b in "one" with baresip'],
        [c, [], FREQS, 'c alone in "two"'],
      ]);

      const moved = await parley.post(`/api/rooms/one/participants/${aId}/move`, { room: 'two' });
      expect(moved).toEqual({ status: 200, body: { roomId: 'two', participantId: aId, from: 'one' } });
      const movedAt = Date.now();
      const log = await parley.run.waitForLog(
        (l) => l.msg === 'participant moved' && l.participantId === aId,
        5000,
      );
      expect(log.renegotiated).toBe(true);
      expect((await parley.participants('two')).map((p) => p.displayName).sort()).toEqual(['c', 'softphone']);
      await expectHearing(FREQS, [
        [c, [TONE.a], [TONE.b, TONE.c], 'c in "two" after baresip moved in'],
        [b, [], FREQS, 'b alone in "one" after baresip moved out'],
      ]);
      // Two more seconds in "two", then hang up: the recording's last seconds were all decoded after the move
      // (at least 4 s ago by now), whatever baresip's own clock did under load.
      await sleep(2000);
      const run = await a.stop();
      expect(run.output).toMatch(/Call established/);
      expect(run.killed).toBe(false);
      expect(Date.now() - movedAt).toBeGreaterThan(4000);
      // What baresip decoded last (the final half second aside: the hang-up): C's tone, not B's, not its own.
      const wav = a.recording();
      const secs = wav.pcm.length / wav.rate;
      if (process.env.CONFERENCE_E2E_DEBUG)
        for (let t = 0; t + 1 <= secs; t += 1)
          console.log(
            `baresip second ${t}: ${JSON.stringify(toneMedians(slice(wav.pcm, wav.rate, t, t + 1), wav.rate, FREQS))}`,
          );
      const after = slice(wav.pcm, wav.rate, secs - 3, secs - 0.5);
      expectLevels(after, wav.rate, FREQS, [TONE.c], [TONE.a, TONE.b], 'baresip in "two"');
      // And its first seconds, in "one": B's tone, not C's.
      const before = slice(wav.pcm, wav.rate, 0.5, 2.5);
      expectLevels(before, wav.rate, FREQS, [TONE.b], [TONE.a, TONE.c], 'baresip in "one"');
    } finally {
      await a.stop();
    }
  });
});
