/**
 * Dial-out through the REST API (POST /api/rooms/:id/dial {"target"}), against the built server with real peers:
 * - SIPp as the callee (test/fixtures/sipp/conference/uas-answer-tone.xml): rings, answers with PCMU and streams a
 *   613 Hz u-law tone (SIPp's rtp_stream). The API answers 201 once it is in the room, where it is listed with kind
 *   'sip'; a Node phone in the room (407 Hz) hears its tone and the mixer sends the callee its mix; a REST kick
 *   ends the call with a BYE carrying a Reason header.
 * - SIPp answering 486 Busy Here (uas-busy.xml): the API answers the catalogue's CONF_DIAL_FAILED (HTTP 502: the far
 *   end refused, not the client) naming the 486, and nobody is left in the room; a locked room dials nobody
 *   (CONF_ROOM_LOCKED).
 * Needs `npx tsc -p tsconfig.build.json` (dist/) and sox.
 */
import { receivedMessage, startFocusSipp, type FocusSippRun } from '../support/focus-sipp';
import { startE2eParley, sleep, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { freePort } from '../support/sipp';
import {
  expectCatalogue,
  expectHears,
  hearNext,
  stopAndReport,
  dialTonePhone,
  writeSippTone,
} from './conference-helpers';

jest.setTimeout(180_000);

/** The room's phone says 407 Hz, the callee 613 Hz (8.14 and 12.26 cycles per 20 ms). */
const TONE = { phone: 407, callee: 613 } as const;
const FREQS = [TONE.phone, TONE.callee];

type Party = ApiParticipant & { kind: string; muted: boolean };
interface MediaView {
  mixer: { participants: Array<{ participantId: string; packetsIn: number; packetsOut: number }> } | null;
}

let parley: E2eParley;
const phones: SipPhone[] = [];
const sipps: FocusSippRun[] = [];

beforeAll(async () => {
  parley = await startE2eParley({ conference: { joinTones: false } });
  // SIPp's rtp_stream plays raw codec bytes (no header parsed): one minute of 613 Hz at −12 dBFS, G.711 u-law.
  writeSippTone(parley, TONE.callee);
});

afterAll(async () => {
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
  await Promise.all(sipps.map((s) => s.done));
});

/** Polls `pred` every 100 ms until it holds; throws after `timeoutMs`. */
async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function dialIn(room: string, user: string, tone: number | null): Promise<SipPhone> {
  return dialTonePhone(parley, phones, room, user, tone);
}

/** A SIPp callee on its own SIP port (its RTP from a free port on 127.0.0.1). */
async function callee(scenario: string): Promise<FocusSippRun> {
  const run = await startFocusSipp(parley, {
    scenario: `../conference/${scenario}`,
    room: 'unused', // a UAS: the Request-URI is ours
    timeoutSec: 90,
    extraArgs: ['-mi', '127.0.0.1', '-mp', String(await freePort())],
  });
  sipps.push(run);
  await sleep(300); // SIPp binds its port
  return run;
}

test('a SIPp callee answers, is listed with kind sip, its tone is mixed and it gets the mix; a kick ends it with a Reason', async () => {
  const room = 'dial';
  const phone = await dialIn(room, 'phone', TONE.phone);
  await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
  const sipp = await callee('uas-answer-tone.xml');

  const target = `sip:callee@127.0.0.1:${sipp.port}`;
  const dialled = await parley.post<{ roomId: string; participant: Party }>(`/api/rooms/${room}/dial`, {
    target,
  });
  expect(dialled.status).toBe(201);
  expect(dialled.body.roomId).toBe(room);
  expect(dialled.body.participant).toMatchObject({
    kind: 'sip',
    displayName: 'callee',
    uri: target,
    transport: 'UDP',
    codec: 'PCMU',
    state: 'joined',
    muted: false,
  });
  const calleeId = dialled.body.participant.id;
  // SIPp got our offer (PCMU among its formats) and streams once ACKed.
  const [, offerPort, ...offerPts] = await sipp.waitEvent('invite', 5000);
  expect(Number(offerPort)).toBeGreaterThan(0);
  expect(offerPts).toContain('0');
  await sipp.waitEvent('streaming', 5000);
  const list = (await parley.waitParticipants(room, (l) => l.length === 2, 5000)) as Party[];
  expect(list.map((p) => [p.displayName, p.kind, p.state]).sort()).toEqual([
    ['callee', 'sip', 'joined'],
    ['phone', 'sip', 'joined'],
  ]);

  // The callee's tone reaches the phone through the mix (and the phone does not hear itself).
  const heard = await hearNext(phone);
  expectHears(heard, phone.rate, FREQS, [TONE.callee], [TONE.phone], 'the phone in the room');
  // The mixer reads the callee's RTP and sends it the room's mix.
  const figures = async (): Promise<{ packetsIn: number; packetsOut: number }> =>
    (await parley.api<MediaView>(`/api/rooms/${room}/media`)).body.mixer!.participants.find(
      (p) => p.participantId === calleeId,
    )!;
  const first = await figures();
  await until('50 more packets each way with the callee', async () => {
    const now = await figures();
    return now.packetsIn >= first.packetsIn + 50 && now.packetsOut >= first.packetsOut + 50;
  });

  // A REST kick ends the dialled call: BYE with an RFC 3326 Reason, SIPp answers and finishes cleanly.
  const kick = await parley.post(`/api/rooms/${room}/participants/${calleeId}/kick`, {});
  expect(kick.status).toBe(200);
  const [, ...reason] = await sipp.waitEvent('bye', 10000);
  expect(reason.join(' ')).toMatch(/^SIP;cause=\d{3};text="[^"]+"$/);
  const done = await sipp.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  // Our INVITE said we are a focus, its Contact the conference URI (RFC 4579 §4.5).
  expect(receivedMessage(done.messages, 'INVITE')).toMatch(
    new RegExp(`^Contact: <sip:${room}@127\\.0\\.0\\.1:${parley.sipPort}>;isfocus`, 'm'),
  );
  const left = await parley.waitParticipants(room, (l) => l.length === 1, 5000);
  expect(left.map((p) => p.displayName)).toEqual(['phone']);
  expect(phone.terminated).toBe(false);
});

test('a callee answering 486: CONF_DIAL_FAILED naming the 486, nobody left in the room; a locked room dials nobody', async () => {
  const room = 'busy';
  const phone = await dialIn(room, 'phone', TONE.phone);
  await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
  const sipp = await callee('uas-busy.xml');

  const r = await parley.post(`/api/rooms/${room}/dial`, { target: `sip:busy@127.0.0.1:${sipp.port}` });
  expectCatalogue(r, 'CONF_DIAL_FAILED', 'dial a busy callee');
  expect((r.body as { message: string }).message).toMatch(/\b486\b/);
  await sipp.waitEvent('ack', 5000);
  const done = await sipp.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  // Nobody left behind: not now, and not a moment later (no late admission).
  expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['phone']);
  await sleep(1000);
  expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['phone']);
  await parley.run.waitForLog((l) => l.msg === 'participant left' && l.reason === 'not-answered', 5000);

  // A locked room admits nobody, dialled or not: refused before any INVITE is sent.
  expect((await parley.post(`/api/rooms/${room}/lock`, { locked: true })).status).toBe(200);
  const lockedPort = await freePort();
  expectCatalogue(
    await parley.post(`/api/rooms/${room}/dial`, { target: `sip:nobody@127.0.0.1:${lockedPort}` }),
    'CONF_ROOM_LOCKED',
    'dial into a locked room',
  );
  expect(parley.logs('dialling out').filter((l) => String(l.target).includes(String(lockedPort)))).toEqual(
    [],
  );
  expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['phone']);
  expect(phone.terminated).toBe(false);
});
