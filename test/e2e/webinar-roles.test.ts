/**
 * Webinar roles end to end, on the built server with Node tone phones (our SIP stack, PCMU) and socket.io clients
 * speaking the browser protocol:
 * - role PINs by RFC 4733 in the PIN lobby: the host PIN makes a host, the attendee PIN an attendee;
 * - a listen-only attendee's tone (407 Hz) is absent from what the host hears; its `*6` and a moderator's REST
 *   unmute are refused (CONF_ATTENDEE_CANNOT_UNMUTE) and it stays out of the mix; `*1` raises and lowers its hand
 *   (REST shows it); promoted to panelist it is heard (407 Hz present), demoted it is gone again;
 * - a browser attendee (socket.io `/rtc`, PIN up front) cannot unmute itself either (setMuted, resumeProducer).
 * Needs `npx tsc -p tsconfig.build.json` (dist/) and the rendered prompts (`bash scripts/render-prompts.sh`).
 */
import { io as connect, type Socket as Client } from 'socket.io-client';
import { expectCatalogue, expectHearing, stopAndReport } from './conference-helpers';
import type { ApiParticipant, E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { startWebinarParley, webinarHelpers } from './webinar-helpers';

jest.setTimeout(180_000);

const ROOM = 'town-hall';
const HOST_PIN = '1111';
const ATTENDEE_PIN = '2222';
/** Not whole cycles per 20 ms frame (house rule): the host's and the attendee's tones. */
const HOST_TONE = 613;
const ATTENDEE_TONE = 407;
const FREQS = [HOST_TONE, ATTENDEE_TONE];

type Party = ApiParticipant & { muted: boolean; role: string; handRaised: boolean; waiting: string | null };

let parley: E2eParley;
const phones: SipPhone[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  parley = await startWebinarParley(ROOM, {
    hostPin: HOST_PIN,
    attendeePin: ATTENDEE_PIN,
    listenOnly: true,
    joinMuted: true,
  });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
});

const { dialWithPin, party } = webinarHelpers<Party>({ parley: () => parley, room: ROOM, phones });

describe('a listen-only attendee', () => {
  let host: SipPhone;
  let attendee: SipPhone;
  let attendeeId: string;

  test('role PINs: the host PIN makes a host, the attendee PIN a muted attendee', async () => {
    host = await dialWithPin('host', HOST_TONE, HOST_PIN);
    expect(await party('host', (p) => p.state === 'joined')).toMatchObject({ role: 'host', muted: false });
    attendee = await dialWithPin('attendee', ATTENDEE_TONE, ATTENDEE_PIN);
    const a = await party('attendee', (p) => p.state === 'joined');
    expect(a).toMatchObject({ role: 'attendee', muted: true, waiting: null });
    attendeeId = a.id;
  });

  test("the attendee's tone never reaches the host; the attendee hears the host", async () => {
    await expectHearing(FREQS, [
      [host, [], [ATTENDEE_TONE], 'host (attendee listen-only)'],
      [attendee, [HOST_TONE], [], 'attendee'],
    ]);
  });

  test('*6 from the attendee and a REST unmute are refused; still out of the mix', async () => {
    await attendee.rfc4733('*6');
    const r = await parley.post(`/api/rooms/${ROOM}/participants/${attendeeId}/mute`, { muted: false });
    expectCatalogue(r, 'CONF_ATTENDEE_CANNOT_UNMUTE', 'REST unmute of a listen-only attendee');
    expect(await party('attendee', () => true)).toMatchObject({ muted: true, role: 'attendee' });
    await expectHearing(FREQS, [[host, [], [ATTENDEE_TONE], 'host after *6 and the REST unmute']]);
  });

  test('*1 raises the hand (REST shows it), *1 again lowers it', async () => {
    await attendee.rfc4733('*1');
    expect(await party('attendee', (p) => p.handRaised)).toMatchObject({ handRaised: true });
    await attendee.rfc4733('*1');
    expect(await party('attendee', (p) => !p.handRaised)).toMatchObject({ handRaised: false });
    await attendee.rfc4733('*1');
    await party('attendee', (p) => p.handRaised);
  });

  test('promoted to panelist it is heard; demoted it is gone again', async () => {
    const up = await parley.post<{ role: string; muted: boolean }>(
      `/api/rooms/${ROOM}/participants/${attendeeId}/promote`,
      {},
    );
    expect(up).toEqual({ status: 200, body: expect.objectContaining({ role: 'panelist', muted: false }) });
    // Promotion lowers the hand.
    expect(await party('attendee', (p) => p.role === 'panelist')).toMatchObject({
      muted: false,
      handRaised: false,
    });
    await expectHearing(FREQS, [
      [host, [ATTENDEE_TONE], [], 'host after the promotion'],
      [attendee, [HOST_TONE], [], 'panelist'],
    ]);
    // A second promotion is refused: it is no attendee any more.
    expectCatalogue(
      await parley.post(`/api/rooms/${ROOM}/participants/${attendeeId}/promote`, {}),
      'CONF_NOT_ATTENDEE',
      'promote a panelist',
    );
    const down = await parley.post(`/api/rooms/${ROOM}/participants/${attendeeId}/demote`, {});
    expect(down).toEqual({ status: 200, body: expect.objectContaining({ role: 'attendee', muted: true }) });
    await expectHearing(FREQS, [[host, [], [ATTENDEE_TONE], 'host after the demotion']]);
  });
});

describe('a browser attendee (socket.io /rtc)', () => {
  test('joins as an attendee with the attendee PIN and cannot unmute itself', async () => {
    const c = connect(`${parley.http}/rtc`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    clients.push(c);
    const ask = <T>(event: string, payload?: unknown): Promise<T> =>
      new Promise((resolve) => {
        if (payload === undefined) c.emit(event, resolve);
        else c.emit(event, payload, resolve);
      });
    type Ack = { ok: boolean; data?: { role?: string; participantId?: string }; error?: { code: string } };
    // The router's own capabilities, as a page's Device would have loaded them (the mix is then sent in Opus).
    const caps = await ask<{ ok: boolean; data: { routerRtpCapabilities: unknown } }>('capabilities');
    const joined = await ask<Ack>('join', {
      room: ROOM,
      displayName: 'web-attendee',
      pin: ATTENDEE_PIN,
      rtpCapabilities: caps.data.routerRtpCapabilities,
    });
    expect({ ok: joined.ok, error: joined.error, role: joined.data?.role }).toEqual({
      ok: true,
      error: undefined,
      role: 'attendee',
    });
    expect(await party('web-attendee', (p) => p.state === 'joined')).toMatchObject({
      role: 'attendee',
      muted: true,
    });
    const unmute = await ask<Ack>('setMuted', { muted: false });
    expect(unmute).toMatchObject({ ok: false, error: { code: 'CONF_ATTENDEE_CANNOT_UNMUTE' } });
    expect(await party('web-attendee', () => true)).toMatchObject({ muted: true });
    // Self-muting is allowed (nothing changes), and the hand works from the page as from a phone.
    expect(await ask<Ack>('setMuted', { muted: true })).toMatchObject({ ok: true });
    expect(await ask<Ack>('setHand', { raised: true })).toMatchObject({ ok: true });
    expect(await party('web-attendee', (p) => p.handRaised)).toMatchObject({ handRaised: true });
    // A wrong PIN and no PIN are refused as in any PIN room.
    const c2 = connect(`${parley.http}/rtc`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    clients.push(c2);
    const wrong = await new Promise<Ack>((resolve) =>
      c2.emit(
        'join',
        { room: ROOM, displayName: 'x', pin: '9876', rtpCapabilities: { codecs: [], headerExtensions: [] } },
        resolve,
      ),
    );
    expect(wrong).toMatchObject({ ok: false, error: { code: 'RTC_WRONG_PIN' } });
  });
});
