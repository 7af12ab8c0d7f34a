/**
 * A webinar's waiting room end to end, on the built server with Node tone phones (PCMU, RFC 4733 PINs) and
 * socket.io clients speaking the browser protocol:
 * - "the webinar starts when a host joins": an attendee calling early waits (REST `waiting: host`), hears the
 *   prompt and nothing of the room; once the host is in it waits for admission (`waiting: admission`);
 * - REST admit: it hears "you are now in the conference", then the host's tone; the host never hears it (listen-only);
 * - REST deny: "the host declined", then BYE with `Reason: SIP;cause=403`; never joined;
 * - a browser waits with `lobby` events and its join answered only once admitted; a denied one gets
 *   CONF_LOBBY_DENIED and is disconnected.
 * Needs `npx tsc -p tsconfig.build.json` (dist/) and the rendered prompts (`bash scripts/render-prompts.sh`).
 */
import { io as connect, type Socket as Client } from 'socket.io-client';
import { expectCatalogue, expectHearing, stopAndReport } from './conference-helpers';
import { sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { rmsDb, toneDb } from '../support/tone-analysis';
import { startWebinarParley, webinarHelpers } from './webinar-helpers';

jest.setTimeout(180_000);

const ROOM = 'briefing';
const HOST_PIN = '1111';
const ATTENDEE_PIN = '2222';
const HOST_TONE = 613;
const ATTENDEE_TONE = 407;
const FREQS = [HOST_TONE, ATTENDEE_TONE];
/** Speech prompts are rendered at about −21 dBFS RMS. */
const PROMPT_DB = -35;

type Party = ApiParticipant & { muted: boolean; role: string; waiting: string | null };
type Ack = { ok: boolean; data?: { role?: string }; error?: { code: string } };

let parley: E2eParley;
const phones: SipPhone[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  parley = await startWebinarParley(ROOM, {
    hostPin: HOST_PIN,
    attendeePin: ATTENDEE_PIN,
    lobby: true,
    waitForHost: true,
  });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
});

const { dialWithPin, party } = webinarHelpers<Party>({ parley: () => parley, room: ROOM, phones });

describe('phones', () => {
  let early: SipPhone;
  let earlyId: string;
  let host: SipPhone;

  test('an attendee before the host waits for the host and hears why', async () => {
    early = await dialWithPin('early', ATTENDEE_TONE, ATTENDEE_PIN);
    const typed = early.mark();
    const w = await party('early', (p) => p.waiting === 'host');
    expect(w).toMatchObject({ role: 'attendee', state: 'joining', muted: true });
    earlyId = w.id;
    await sleep(3000);
    // "The webinar will start when the host joins."
    expect(rmsDb(early.heard(typed, typed + 3000))).toBeGreaterThan(PROMPT_DB);
  });

  test('the host joins: the attendee now waits for admission, hears nothing of the room; the host hears nothing of it', async () => {
    host = await dialWithPin('host', HOST_TONE, HOST_PIN);
    expect(await party('host', (p) => p.state === 'joined')).toMatchObject({ role: 'host', waiting: null });
    expect(await party('early', (p) => p.waiting === 'admission')).toMatchObject({ state: 'joining' });
    const from = early.mark();
    await expectHearing(FREQS, [[host, [], [ATTENDEE_TONE], 'host while the attendee waits']]);
    // The host's tone never reaches the waiting room: past its "please wait" prompt (2.9 s), silence.
    while (early.mark() < from + 5000) await sleep(100);
    expect(toneDb(early.heard(from + 3500), early.rate, HOST_TONE)).toBeLessThan(-40);
    expect(rmsDb(early.heard(from + 3500))).toBeLessThan(-50);
  });

  test('admitted: "you are now in the conference", then it hears the host (and stays unheard)', async () => {
    const r = await parley.post(`/api/rooms/${ROOM}/participants/${earlyId}/admit`, {});
    expect(r).toEqual({ status: 200, body: { roomId: ROOM, participantId: earlyId, admitted: true } });
    const admittedAt = early.mark();
    expect(await party('early', (p) => p.state === 'joined')).toMatchObject({
      role: 'attendee',
      waiting: null,
    });
    await sleep(1500);
    expect(rmsDb(early.heard(admittedAt, admittedAt + 1500))).toBeGreaterThan(PROMPT_DB);
    await expectHearing(
      FREQS,
      [
        [early, [HOST_TONE], [], 'admitted attendee'],
        [host, [], [ATTENDEE_TONE], 'host (listen-only attendee)'],
      ],
      2000,
    );
    // Admitting it again: it no longer waits.
    expectCatalogue(
      await parley.post(`/api/rooms/${ROOM}/participants/${earlyId}/admit`, {}),
      'CONF_NOT_WAITING',
      'admit a joined participant',
    );
  });

  test('denied: "the host declined", BYE with Reason cause=403, never joined', async () => {
    const late = await dialWithPin('late', 1500, ATTENDEE_PIN);
    const w = await party('late', (p) => p.waiting === 'admission');
    const r = await parley.post(`/api/rooms/${ROOM}/participants/${w.id}/deny`, {});
    expect(r).toEqual({ status: 200, body: { roomId: ROOM, participantId: w.id, admitted: false } });
    const deniedAt = late.mark();
    await late.waitTerminated(15000);
    expect(late.byeFromServer?.headers.get('Reason')).toMatch(/^SIP;cause=403\b/);
    expect(rmsDb(late.heard(deniedAt))).toBeGreaterThan(PROMPT_DB);
    await parley.waitParticipants(ROOM, (ps) => !ps.some((p) => p.displayName === 'late'));
    expect(parley.logs('participant joined').some((l) => l.participantId === w.id)).toBe(false);
  });
});

describe('browsers (socket.io /rtc)', () => {
  async function browserJoin(name: string): Promise<{ c: Client; lobby: string[]; joined: Promise<Ack> }> {
    const c = connect(`${parley.http}/rtc`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    clients.push(c);
    const lobby: string[] = [];
    c.on('lobby', (e: { state: string }) => lobby.push(e.state));
    const caps = await new Promise<{ data: { routerRtpCapabilities: unknown } }>((resolve) =>
      c.emit('capabilities', resolve),
    );
    const joined = new Promise<Ack>((resolve) =>
      c.emit(
        'join',
        {
          room: ROOM,
          displayName: name,
          pin: ATTENDEE_PIN,
          rtpCapabilities: caps.data.routerRtpCapabilities,
        },
        resolve,
      ),
    );
    return { c, lobby, joined };
  }

  test('a browser waits ("admission" event), is answered once admitted', async () => {
    const b = await browserJoin('web-guest');
    const w = await party('web-guest', (p) => p.waiting === 'admission');
    expect(b.lobby).toEqual(['admission']);
    let answered = false;
    void b.joined.then(() => (answered = true));
    await sleep(300);
    expect(answered).toBe(false);
    await parley.post(`/api/rooms/${ROOM}/participants/${w.id}/admit`, {});
    expect(await b.joined).toMatchObject({ ok: true, data: { role: 'attendee' } });
    expect(b.lobby).toEqual(['admission', 'admitted']);
    expect(await party('web-guest', (p) => p.state === 'joined')).toMatchObject({
      muted: true,
      waiting: null,
    });
  });

  test('a denied browser gets CONF_LOBBY_DENIED and is disconnected', async () => {
    const b = await browserJoin('web-crasher');
    const w = await party('web-crasher', (p) => p.waiting === 'admission');
    const gone = new Promise<string>((resolve) => b.c.once('disconnect', (why) => resolve(why)));
    await parley.post(`/api/rooms/${ROOM}/participants/${w.id}/deny`, {});
    expect(await b.joined).toMatchObject({ ok: false, error: { code: 'CONF_LOBBY_DENIED' } });
    expect(b.lobby).toEqual(['admission', 'denied']);
    expect(await gone).toBe('io server disconnect');
    await parley.waitParticipants(ROOM, (ps) => !ps.some((p) => p.displayName === 'web-crasher'));
  });
});
