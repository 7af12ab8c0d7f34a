/**
 * The records of a real call: an in-process App (real mediasoup worker, media thread and mixer, real SIP stack on
 * 127.0.0.1), two Node test phones sending real PCMU tones (one losing every 5th packet), and the parts of this
 * issue wired to it as the lead wires them: CallLadders on `app.sip.onTrace`, QualityMonitor and CdrRecorder on
 * `app.conference`, a real SQLite file, and the records REST routes on a real HttpServer (the principal is set by
 * a test middleware: sign-in is another part's).
 */
import path from 'node:path';
import { Router } from 'express';
import type { App } from '../../../src/app';
import type { Participant } from '../../../src/conference/participant/participant';
import { HttpServer } from '../../../src/http/http-server';
import { recordsRouter } from '../../../src/http/routes/records';
import { silentLogger } from '../../../src/logging/logger';
import { CdrRecorder } from '../../../src/moderation/cdr/cdr-recorder';
import { CallLadders } from '../../../src/moderation/ladder/call-ladders';
import { ModerationService } from '../../../src/moderation/moderation-service';
import { QualityMonitor, type QualityFigures } from '../../../src/moderation/quality/quality-monitor';
import type { CallLadder, CdrView, Page, Principal } from '../../../src/protocol/dashboard-protocol';
import { SqliteStore } from '../../../src/storage/sqlite/sqlite-store';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';
import { SipPhone } from '../../support/sip-phone';

jest.setTimeout(90_000);

const ADMIN: Principal = { kind: 'account', name: 'admin', role: 'admin', roomGrants: [] };
const PIN_OTHER: Principal = { kind: 'pin', name: 'pin:other', role: 'moderator', roomGrants: ['other'] };
const PIN_DEMO: Principal = { kind: 'pin', name: 'pin:demo', role: 'moderator', roomGrants: ['demo'] };

describe('call ladder, quality and CDRs of real SIP calls (App in-process)', () => {
  let dataDir: string;
  let running: InProcessApp | undefined;
  let app: App;
  let store: SqliteStore;
  let ladders: CallLadders;
  let quality: QualityMonitor;
  let cdrs: CdrRecorder;
  let http: HttpServer;
  const phones: SipPhone[] = [];

  beforeAll(async () => {
    running = await startInProcessApp({
      name: 'records',
      portBase: 41200,
      overrides: { conference: { emptyRoomGraceSeconds: 0 } },
    });
    ({ app, dataDir } = running);
    const { config } = running;
    const log = silentLogger();
    // Its own file: the App keeps its own store in dataDir.
    store = SqliteStore.open({ file: path.join(dataDir, 'records-test.db') });
    ladders = new CallLadders({
      sip: app.sip,
      conference: app.conference,
      maxCalls: config.ladder.maxCalls,
      maxMessagesPerCall: config.ladder.maxMessagesPerCall,
      log,
    });
    quality = new QualityMonitor({ conference: app.conference, intervalMs: 250, log });
    cdrs = new CdrRecorder({ conference: app.conference, cdrs: store.cdrs, quality, log });
    const moderation = new ModerationService({
      conference: app.conference,
      audit: store.audit,
      rooms: store.rooms,
      log,
    });
    const principal = Router().use((req, res, next) => {
      const h = req.header('x-test-principal');
      if (h) res.locals.principal = JSON.parse(h) as Principal;
      next();
    });
    http = await HttpServer.create({
      ip: '127.0.0.1',
      port: 0,
      version: 'test',
      logger: log,
      health: { health: () => ({ ok: true, workers: [] }) },
      api: [principal, recordsRouter({ store, moderation, ladders })],
    });
  });

  afterAll(async () => {
    for (const p of phones) await p.close();
    await http?.close();
    quality?.close();
    ladders?.close();
    cdrs?.close();
    store?.close();
    await running?.close();
  });

  const get = async (url: string, who: Principal = ADMIN): Promise<Response> =>
    fetch(`http://127.0.0.1:${http.port}${url}`, { headers: { 'x-test-principal': JSON.stringify(who) } });

  const participant = (name: string): Participant => {
    const p = app.conference
      .getRoom('demo')
      .participants()
      .find((x) => x.displayName === name);
    if (!p) throw new Error(`${name} is not in the room`);
    return p;
  };

  const left = (p: Participant): Promise<void> =>
    new Promise((resolve) => {
      if (p.hasLeft()) resolve();
      else p.once('left', () => resolve());
    });

  it('measures loss, jitter and a MOS for a call losing every 5th packet', async () => {
    const target = `sip:demo@127.0.0.1:${app.sip.ports.udp}`;
    phones.push(await SipPhone.call({ target, user: 'alice', codec: 'PCMU', tone: 440 }));
    phones.push(await SipPhone.call({ target, user: 'bob', codec: 'PCMU', tone: 660, lossEvery: 5 }));
    const bob = participant('bob');
    // Until the mixer has heard bob's gaps: figures arrive every 250 ms for those that changed.
    const seen = await new Promise<QualityFigures>((resolve) => {
      const onFigures = (list: QualityFigures[]) => {
        const f = list.find((x) => x.participantId === bob.id);
        if (f && (f.quality.loss ?? 0) > 0 && f.quality.mos !== null) {
          quality.off('figures', onFigures);
          resolve(f);
        }
      };
      quality.on('figures', onFigures);
    });
    expect(seen.roomId).toBe('demo');
    expect(seen.quality.jitterMs).not.toBeNull();
    expect(seen.quality.mos!).toBeGreaterThanOrEqual(1);
    expect(seen.quality.mos!).toBeLessThanOrEqual(4.5);
    expect(quality.get(bob.id)).toEqual(expect.objectContaining({ loss: expect.any(Number) }));
    expect(quality.get('nobody')).toEqual({ loss: null, jitterMs: null, rttMs: null, mos: null });
  });

  it('shows the ladder INVITE/100/200/ACK/BYE/200 of a call that hung up, and writes its CDR', async () => {
    const alice = participant('alice');
    const callId = alice.session?.callId;
    expect(callId).toEqual(expect.any(String));
    const gone = left(alice);
    await phones.shift()!.close();
    await gone;

    const res = await get(`/api/rooms/demo/participants/${alice.id}/ladder`);
    expect(res.status).toBe(200);
    const ladder = (await res.json()) as CallLadder;
    expect(ladder.callId).toBe(callId);
    expect(ladder.participantId).toBe(alice.id);
    expect(ladder.local).toBe(`127.0.0.1:${app.sip.ports.udp}`);
    const arrows = ladder.messages.map((m) => `${m.direction} ${m.label} ${m.method}`);
    // Retransmissions would repeat an arrow; the order of first appearances is the call's.
    const firsts = arrows.filter((a, i) => arrows.indexOf(a) === i);
    const wanted = [
      'in INVITE INVITE',
      'out 100 INVITE',
      'out 200 INVITE',
      'in ACK ACK',
      'in BYE BYE',
      'out 200 BYE',
    ];
    expect(firsts.filter((a) => wanted.includes(a))).toEqual(wanted);
    expect(firsts[0]).toBe('in INVITE INVITE');
    const times = ladder.messages.map((m) => m.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const invite = ladder.messages[0]!;
    expect(invite.raw).toMatch(/^INVITE sip:demo@/);
    expect(invite.raw).toContain(`Call-ID: ${callId}`);
    expect(invite.raw).toContain('m=audio');
    expect(invite.transport).toBe('UDP');

    const page = (await (await get('/api/cdrs?roomId=demo')).json()) as Page<CdrView>;
    const cdr = page.items.find((c) => c.id === alice.id)!;
    expect(cdr).toMatchObject({
      roomId: 'demo',
      kind: 'sip',
      direction: 'inbound',
      displayName: 'alice',
      callId,
      codec: 'PCMU',
      transport: 'UDP',
      leaveReason: 'remote-bye',
    });
    expect(cdr.answeredAt).not.toBeNull();
    const answered = Date.parse(cdr.answeredAt!);
    expect(answered).toBeGreaterThanOrEqual(Date.parse(cdr.startedAt));
    expect(cdr.durationSeconds).toBeCloseTo((Date.parse(cdr.endedAt) - answered) / 1000, 0);
    expect(cdr.quality.mos).not.toBeNull();

    const csv = await get('/api/cdrs.csv?roomId=demo');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="parley-cdrs-.*\.csv"$/);
    const lines = (await csv.text()).split('\r\n');
    expect(lines[0]).toMatch(/^id,roomId,kind,direction,displayName,uri,callId,/);
    expect(lines.some((l) => l.startsWith(`${alice.id},demo,sip,inbound,alice,`))).toBe(true);
  });

  it('lets a PIN session read its own room only', async () => {
    const alice = ladderOwner();
    expect((await get(`/api/rooms/demo/participants/${alice}/ladder`, PIN_DEMO)).status).toBe(200);
    const forbidden = await get(`/api/rooms/demo/participants/${alice}/ladder`, PIN_OTHER);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: string }).error).toBe('AUTH_FORBIDDEN');
    // Its own room in the URL does not reach another room's call.
    const elsewhere = await get(`/api/rooms/other/participants/${alice}/ladder`, PIN_OTHER);
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { error: string }).error).toBe('LADDER_NOT_FOUND');
    expect((await get('/api/cdrs?roomId=demo', PIN_OTHER)).status).toBe(403);
    const own = (await (await get('/api/cdrs', PIN_OTHER)).json()) as Page<CdrView>;
    expect(own).toEqual({ items: [], total: 0 });
    const demo = (await (await get('/api/cdrs', PIN_DEMO)).json()) as Page<CdrView>;
    expect(demo.items.map((c) => c.id)).toContain(alice);
    expect((await fetch(`http://127.0.0.1:${http.port}/api/cdrs`)).status).toBe(401);
  });

  it('writes the CDR of a call ended by the shutdown, with its quality summary', async () => {
    const bob = participant('bob');
    await app.close();
    cdrs.close();
    const cdr = store.cdrs.get(bob.id)!;
    expect(cdr).toMatchObject({ leaveReason: 'server-shutdown', displayName: 'bob', codec: 'PCMU' });
    expect(cdr.quality.loss!).toBeGreaterThan(0);
    expect(cdr.quality.mos).not.toBeNull();
    expect(cdrs.openCalls).toBe(0);
  });

  function ladderOwner(): string {
    const page = store.cdrs.query({ roomId: 'demo', q: 'alice', limit: 1, offset: 0 });
    return page.items[0]!.id;
  }
});
