/**
 * Transfers into a room, against the built server with real peers and real audio:
 * - Blind transfer arrival (RFC 3892): SIPp's INVITE carries Referred-By (test/e2e/sipp/transfer-referred-by.xml);
 *   the participant is listed with `referredBy`, and the server logs it.
 * - Attended transfer (RFC 3891): phone A (Node, 407 Hz) talks in a room with listener C; SIPp B
 *   (test/e2e/sipp/transfer-replaces.xml, 613 Hz by rtp_stream) INVITEs the focus's Contact with Replaces naming
 *   A's dialog (its Call-ID, our tag as to-tag, A's as from-tag). A gets BYE; the roster keeps ONE entry with A's
 *   id, role and mute state; C hears B's tone (once unmuted) and no longer A's. Replaces naming no dialog → 481,
 *   `early-only` for an answered call → 486.
 * - A real softphone's blind transfer (RFC 5589 §6): baresip calls an "operator" (our own SIP stack), which REFERs it
 *   to the room; baresip calls the room itself, reports 200 by NOTIFY sipfrag, and listener C hears its tone.
 * - Moves by REFER (two media threads, so a move needs signalling): baresip, a real softphone, is moved from "one"
 *   to "two": the focus REFERs it to sip:two@… (one-time token), baresip calls there itself, its new INVITE takes
 *   over the participant (same id) and its old call gets BYE; C in "two" hears it. A Node phone that answers the
 *   REFER 603 is moved by re-INVITE instead.
 * Needs `npx tsc -p tsconfig.build.json` (dist/), SIPp, baresip and sox.
 */
import path from 'node:path';
import { startBaresipTonePhone } from '../support/baresip-tone-phone';
import { FOCUS_SCENARIOS, startFocusSipp, type FocusSippRun } from '../support/focus-sipp';
import { sleep, startE2eParley, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { SipPhone as Phone } from '../support/sip-phone';
import { freePort } from '../support/sipp';
import { dialTonePhone, expectHearing, stopAndReport, writeSippTone } from './conference-helpers';
import type { InDialogRequest, SessionDialog } from '../../src/sip/dialog/session-dialog';
import { SipStack } from '../../src/sip/ua/sip-stack';
import { io as connect } from 'socket.io-client';
import type { DashboardSnapshot } from '../../src/protocol/dashboard-protocol';

jest.setTimeout(240_000);

/** A (and baresip) 407 Hz, B 613 Hz, C 887 Hz: 8.14, 12.26 and 17.74 cycles per 20 ms. */
const TONE = { a: 407, b: 613, c: 887 } as const;
const FREQS = [TONE.a, TONE.b, TONE.c];
const scenario = (name: string): string => path.relative(FOCUS_SCENARIOS, path.join(__dirname, 'sipp', name));

type Party = ApiParticipant & { referredBy?: string; muted: boolean; role: string };

describe('transfers into a room (one media thread)', () => {
  let parley: E2eParley;
  const phones: SipPhone[] = [];
  const sipps: FocusSippRun[] = [];

  beforeAll(async () => {
    parley = await startE2eParley({ conference: { joinTones: false } });
    // B's rtp_stream: one minute of 613 Hz, G.711 u-law (raw).
    writeSippTone(parley, TONE.b);
  });
  afterAll(async () => {
    for (const p of phones) await p.close();
    await stopAndReport(parley, __filename);
    await Promise.all(sipps.map((s) => s.done));
  });

  async function transferee(replaces: string): Promise<FocusSippRun> {
    const run = await startFocusSipp(parley, {
      scenario: scenario('transfer-replaces.xml'),
      room: 'unused', // the INVITE goes to sip:parley@…: the Replaces decides the room
      keys: { replaces },
      timeoutSec: 120,
      extraArgs: ['-mi', '127.0.0.1', '-mp', String(await freePort())],
    });
    sipps.push(run);
    return run;
  }

  test('blind transfer: an INVITE with Referred-By joins, and the referrer is on the participant', async () => {
    const run = await startFocusSipp(parley, {
      scenario: scenario('transfer-referred-by.xml'),
      room: 'blind',
      keys: { rtp_port: await freePort(), referrer: 'sip:operator@pbx.example.com' },
      timeoutSec: 90,
    });
    sipps.push(run);
    await run.waitEvent('answered', 15000);
    const [p] = (await parley.waitParticipants('blind', (l) => l.length === 1, 10000)) as Party[];
    expect(p).toMatchObject({ displayName: 'Transferee', referredBy: 'sip:operator@pbx.example.com' });
    expect(parley.logs('caller transferred here (Referred-By)').map((l) => l.referredBy)).toEqual([
      'sip:operator@pbx.example.com',
    ]);
    // the moderator dashboard shows it too (its snapshot, over socket.io with the API token)
    const dash = connect(`${parley.http}/dashboard`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: parley.token },
    });
    try {
      const snap = await new Promise<DashboardSnapshot>((resolve, reject) => {
        dash.once('snapshot', resolve);
        dash.once('connect_error', reject);
      });
      expect(snap.participants.find((x) => x.id === p!.id)).toMatchObject({
        referredBy: 'sip:operator@pbx.example.com',
      });
    } finally {
      dash.disconnect();
    }
    expect((await parley.post(`/api/rooms/blind/participants/${p!.id}/kick`, {})).status).toBe(200);
    await run.waitEvent('bye', 10000);
    const done = await run.done;
    expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  });

  test('attended transfer: INVITE with Replaces takes over A (same id, mute state), A gets BYE, C hears B', async () => {
    const room = 'att';
    const a = await dialTonePhone(parley, phones, room, 'a', TONE.a);
    const c = await dialTonePhone(parley, phones, room, 'c', null);
    const before = (await parley.waitParticipants(
      room,
      (l) => l.length === 2 && l.every((p) => p.state === 'joined'),
      10000,
    )) as Party[];
    const aId = before.find((p) => p.displayName === 'a')!.id;
    await expectHearing(FREQS, [[c, [TONE.a], [TONE.b, TONE.c], 'c hears a before the transfer']]);

    // Muted first: the mute must survive the transfer.
    expect((await parley.post(`/api/rooms/${room}/participants/${aId}/mute`, { muted: true })).status).toBe(
      200,
    );
    const d = a.dialog;
    // RFC 3891 §3: to-tag is the recipient's (our) tag, from-tag the peer's.
    const b = await transferee(`${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag}`);
    const [, port] = await b.waitEvent('answered', 15000);
    expect(Number(port)).toBeGreaterThan(0);
    // A's dialog is ended by the focus, with a Reason (RFC 3326).
    const end = Date.now() + 10000;
    while (!a.terminated && Date.now() < end) await sleep(50);
    expect(a.terminated).toBe(true);
    expect(a.byeFromServer?.headers.get('Reason')).toBe('SIP;cause=200;text="Replaced (call transferred)"');
    // One roster entry for the transferred participant: A's id, now B's call; still muted.
    const after = (await parley.participants(room)) as Party[];
    expect(after.map((p) => p.id).sort()).toEqual(before.map((p) => p.id).sort());
    expect(after.find((p) => p.id === aId)).toMatchObject({
      muted: true,
      role: 'participant',
      state: 'joined',
    });
    expect(parley.logs('dialog replaced').map((l) => [l.participantId, l.oldCallId])).toEqual([
      [aId, d.callId],
    ]);
    await expectHearing(FREQS, [[c, [], FREQS, 'c while the transferred participant is muted']]);
    expect((await parley.post(`/api/rooms/${room}/participants/${aId}/mute`, { muted: false })).status).toBe(
      200,
    );
    await expectHearing(FREQS, [[c, [TONE.b], [TONE.a, TONE.c], 'c hears b after the transfer']]);

    // Ending the participant ends B's call (its dialog is the participant's now).
    expect((await parley.post(`/api/rooms/${room}/participants/${aId}/kick`, {})).status).toBe(200);
    const [, ...reason] = await b.waitEvent('bye', 10000);
    expect(reason.join(' ')).toMatch(/^SIP;cause=403;/);
    const done = await b.done;
    expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
    expect(c.terminated).toBe(false);
  });

  test('a real softphone performs a blind transfer into the room: baresip, REFERred by its "operator", calls the room', async () => {
    const room = 'xfer';
    const c = await dialTonePhone(parley, phones, room, 'c', null);
    await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
    // The operator (the transferor): our own SIP stack answers baresip, then REFERs it to the room (RFC 5589 §6).
    const operator = await SipStack.create({
      listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
    });
    const notifies: string[] = [];
    let transferred!: () => void;
    const done = new Promise<void>((r) => (transferred = r));
    let referStatus = 0;
    let opDialog: SessionDialog | undefined;
    operator.onInvite(async (inv) => {
      const d = await inv.accept({
        sdp: [
          'v=0',
          'o=op 1 1 IN IP4 127.0.0.1',
          's=-',
          'c=IN IP4 127.0.0.1',
          't=0 0',
          `m=audio ${await freePort()} RTP/AVP 0`,
          'a=rtpmap:0 PCMU/8000',
          'a=sendrecv',
          '',
        ].join('\r\n'),
      });
      opDialog = d;
      d.on('notify', (n: InDialogRequest) => {
        const frag = n.body.toString().split('\r\n')[0]!;
        notifies.push(frag);
        n.reply(200);
        if (/^SIP\/2\.0 2\d\d/.test(frag)) transferred();
      });
      await sleep(500); // baresip settles its call before it is transferred
      const res = await d.refer(`<sip:${room}@127.0.0.1:${parley.sipPort}>`, {
        headers: { 'Referred-By': `<sip:operator@127.0.0.1:${operator.ports.udp}>` },
      });
      referStatus = res.status;
    });
    const a = await startBaresipTonePhone({
      dir: parley.dir,
      user: 'transferee',
      target: `sip:operator@127.0.0.1:${operator.ports.udp}`,
      codec: 'PCMU',
      tone: TONE.a,
      quitAfterSec: 90, // a bound: stop() hangs up
    });
    try {
      await Promise.race([
        done,
        sleep(30000).then(() => {
          throw new Error(
            `no transfer: REFER ${referStatus}, NOTIFYs ${JSON.stringify(notifies)}\n${a.output().slice(-3000)}`,
          );
        }),
      ]);
      expect(referStatus).toBe(202);
      expect(notifies[notifies.length - 1]).toMatch(/^SIP\/2\.0 200\b/);
      // The transferor hangs up its own call once the transfer succeeded (RFC 5589 §6).
      await opDialog?.bye();
      const list = await parley.waitParticipants(
        room,
        (l) => l.length === 2 && l.every((p) => p.state === 'joined'),
        10000,
      );
      expect(list.map((p) => p.displayName).sort()).toEqual(['c', 'transferee']);
      await expectHearing(FREQS, [[c, [TONE.a], [TONE.b, TONE.c], 'c hears the transferred softphone']]);
      expect(a.output()).toMatch(/transfer/i);
    } finally {
      await a.stop();
      await operator.close();
    }
  });

  test('Replaces naming no call of ours: 481; early-only for an answered call: 486 (RFC 3891 §3)', async () => {
    const room = 'att2';
    const a = await dialTonePhone(parley, phones, room, 'a2', TONE.a);
    await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined', 10000);
    const d = a.dialog;
    const unknown = await transferee(`${d.callId};to-tag=nosuchtag;from-tag=${d.localTag}`);
    expect(await unknown.waitEvent('rejected', 15000)).toEqual(['rejected', '481']);
    const early = await transferee(`${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag};early-only`);
    expect(await early.waitEvent('rejected', 15000)).toEqual(['rejected', '486']);
    for (const r of [unknown, early]) {
      const done = await r.done;
      expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
    }
    expect(a.terminated).toBe(false);
    expect((await parley.participants(room)).map((p) => p.displayName)).toEqual(['a2']);
  });
});

describe('moves by REFER (two media threads)', () => {
  let parley: E2eParley;
  const phones: SipPhone[] = [];

  beforeAll(async () => {
    parley = await startE2eParley({
      conference: { joinTones: false },
      env: { PARLEY_RTC_NUM_WORKERS: '2' },
    });
  });
  afterAll(async () => {
    for (const p of phones) await p.close();
    await stopAndReport(parley, __filename);
  });

  async function joined(room: string, n: number): Promise<ApiParticipant[]> {
    return parley.waitParticipants(
      room,
      (l) => l.length === n && l.every((p) => p.state === 'joined'),
      15000,
    );
  }

  test('baresip is REFERred to the new room, calls it itself and keeps its participant; C hears it there', async () => {
    const c = await dialTonePhone(parley, phones, 'two', 'c', TONE.c);
    await joined('two', 1);
    const a = await startBaresipTonePhone({
      dir: parley.dir,
      user: 'softphone',
      target: `sip:one@127.0.0.1:${parley.sipPort}`,
      codec: 'PCMU',
      tone: TONE.a,
      quitAfterSec: 90, // a bound: stop() hangs up
    });
    try {
      const inOne = await joined('one', 1).catch((err: Error) => {
        throw new Error(`${err.message}\n${a.output().slice(-2000)}`);
      });
      const aId = inOne[0]!.id;
      const moved = await parley.post(`/api/rooms/one/participants/${aId}/move`, { room: 'two' });
      expect({ moved, out: moved.status === 200 ? '' : a.output().slice(-3000) }).toEqual({
        moved: { status: 200, body: { roomId: 'two', participantId: aId, from: 'one' } },
        out: '',
      });
      // The phone's own INVITE to "two" took over the participant (no re-INVITE was needed).
      const replaced = parley.logs('dialog replaced').filter((l) => l.participantId === aId);
      expect(replaced.map((l) => l.why)).toEqual(['Moved to another conference']);
      expect(parley.logs('move by REFER refused: re-INVITE instead')).toEqual([]);
      const two = await joined('two', 2);
      expect(two.map((p) => p.id).sort()).toEqual([aId, two.find((p) => p.displayName === 'c')!.id].sort());
      expect(await parley.participants('one')).toEqual([]);
      await expectHearing(FREQS, [[c, [TONE.a], [TONE.b, TONE.c], 'c hears baresip in "two"']]);
      expect(a.output()).toMatch(/transfer/i);
    } finally {
      await a.stop();
    }
    await parley.waitParticipants('two', (l) => l.length === 1, 10000);
    expect(c.terminated).toBe(false);
    await c.close();
    await parley.waitParticipants('two', (l) => l.length === 0, 10000);
  });

  test('a phone that answers the REFER 603 is moved by re-INVITE instead', async () => {
    const open = async (room: string, user: string, tone: number): Promise<SipPhone> => {
      const p = await Phone.call({
        target: `sip:${room}@127.0.0.1:${parley.sipPort}`,
        user,
        codec: 'PCMU',
        tone,
        followReinvites: true,
      });
      phones.push(p);
      return p;
    };
    const c = await open('four', 'c', TONE.c);
    await joined('four', 1);
    const a = await open('three', 'a', TONE.a);
    const [p] = await joined('three', 1);
    const moved = await parley.post(`/api/rooms/three/participants/${p!.id}/move`, { room: 'four' });
    expect(moved.status).toBe(200);
    // Our stack answers a REFER nobody handles with 603 Declined: the focus then re-INVITEs.
    expect(parley.logs('move by REFER refused: re-INVITE instead').map((l) => l.status)).toEqual([603]);
    const log = await parley.run.waitForLog(
      (l) => l.msg === 'participant moved' && l.participantId === p!.id,
      5000,
    );
    expect(log.renegotiated).toBe(true);
    expect(a.reinvites).toHaveLength(1);
    await expectHearing(FREQS, [
      [c, [TONE.a], [TONE.b, TONE.c], 'c hears a in "four"'],
      [a, [TONE.c], [TONE.a, TONE.b], 'a hears c in "four"'],
    ]);
    expect(a.terminated || c.terminated).toBe(false);
  });
});
