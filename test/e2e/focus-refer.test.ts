/**
 * REFER call control (RFC 4579 §5.5–§5.6 over RFC 3515) against the built server, with SIPp on both sides:
 * - the referrer (test/e2e/sipp/refer-control.xml) calls room "ctl", becomes its moderator by keying the moderator
 *   PIN by SIP INFO, and REFERs a SIPp callee (test/fixtures/sipp/conference/uas-answer-tone.xml) into the room:
 *   202, then NOTIFY `Event: refer` message/sipfrag `100 Trying` (active;expires) … `200 OK`
 *   (terminated;reason=noresource); the callee is in the room; the audit log says who did it.
 * - the moderator REFERs `<sip:callee@…;method=BYE>`: the callee gets BYE and leaves; NOTIFY 100 then 200.
 * - a caller without the moderator role (room "open", no PIN) is refused 403 and no INVITE reaches its target (a UDP
 *   socket counts what arrives); the refusal is audited.
 * - a moderator's REFER to a target outside `security.dialOut.allow` (127.0.0.3) is 403 before any 202, audited
 *   with CONF_DIAL_DENIED, and no datagram reaches the target.
 * Needs `npx tsc -p tsconfig.build.json` (dist/), SIPp and sox.
 */
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { FOCUS_SCENARIOS, startFocusSipp, type FocusSippRun } from '../support/focus-sipp';
import { sleep, startE2eParley, type E2eParley } from '../support/parley-e2e';
import { freePort } from '../support/sipp';
import { stopAndReport } from './conference-helpers';
import { dialogKey } from '../../src/sip/dialog/dialog-id';
import { createResponse } from '../../src/sip/message/response-factory';
import type { SipRequest } from '../../src/sip/message/sip-message';
import { SipUri } from '../../src/sip/message/uri';
import { digestAuthorizer } from '../../src/sip/ua/digest-auth';
import { SipStack } from '../../src/sip/ua/sip-stack';

const SCENARIO = path.relative(FOCUS_SCENARIOS, path.join(__dirname, 'sipp', 'refer-control.xml'));

jest.setTimeout(180_000);

const MODERATOR_PIN = '2468';
const OPERATOR = { user: 'operator', password: 'op-secret-1' } as const;
const INTRUDER = { user: 'intruder', password: 'wrong' } as const;

let parley: E2eParley;
const sipps: FocusSippRun[] = [];

interface AuditPage {
  items: Array<{
    actor: string;
    action: string;
    roomId: string | null;
    target: string | null;
    outcome: string;
    detail: string | null;
  }>;
}

beforeAll(async () => {
  parley = await startE2eParley({
    conference: {
      joinTones: false,
      rooms: [{ name: 'ctl', moderatorPin: MODERATOR_PIN }, { name: 'open' }],
    },
    security: { allow: ['127.0.0.1'], dialOut: { allow: ['*@127.0.0.1'] } },
    // A SIP account (digest, RFC 3261 §22): may control any room by REFER without the moderator PIN.
    // SIPp 3.6 answers the first challenge only, and knows MD5 only.
    config: {
      sip: {
        accounts: [{ username: OPERATOR.user, password: OPERATOR.password }],
        digestAlgorithms: ['MD5'],
      },
    },
  });
  // The callee's rtp_stream: one minute of 613 Hz, G.711 u-law (raw).
  execFileSync('sox', [
    ...['-n', '-r', '8000', '-c', '1', '-t', 'ul', path.join(parley.dir, 'tone.ul')],
    ...['synth', '60', 'sine', '613', 'vol', '0.25'],
  ]);
});

afterAll(async () => {
  await stopAndReport(parley, __filename);
  await Promise.all(sipps.map((s) => s.done));
});

/** A SIPp callee on its own port: answers, streams its tone, records `invite`, `streaming` and `bye <Reason>`. */
async function callee(): Promise<FocusSippRun> {
  const run = await startFocusSipp(parley, {
    scenario: '../conference/uas-answer-tone.xml',
    room: 'unused',
    timeoutSec: 90,
    extraArgs: ['-mi', '127.0.0.1', '-mp', String(await freePort())],
  });
  sipps.push(run);
  await sleep(300); // SIPp binds its port
  return run;
}

/**
 * The referrer: calls `room`, keys the moderator PIN, waits `settleMs`, REFERs `referTo`; a challenge is answered
 * with `creds`.
 */
async function referrer(
  room: string,
  referTo: string,
  settleMs = 3000,
  creds: { user: string; password: string } = INTRUDER,
): Promise<FocusSippRun> {
  const run = await startFocusSipp(parley, {
    scenario: SCENARIO,
    room,
    keys: { rtp_port: await freePort(), refer_to: referTo },
    extraArgs: ['-au', creds.user, '-ap', creds.password],
    pauseMs: settleMs,
    timeoutSec: 90,
  });
  sipps.push(run);
  return run;
}

/** The NOTIFYs the referrer recorded: [Subscription-State, Event, Content-Type, sipfrag status line]. */
function notifies(run: FocusSippRun): Array<[string, string, string, string]> {
  return run
    .events()
    .filter((e) => e[0] === 'notify')
    .map((e) => {
      const [state, event, ctype, ...frag] = e.slice(1);
      return [state!, event!, ctype!, frag.join(' ')];
    });
}

async function audit(room: string): Promise<AuditPage['items']> {
  return (await parley.api<AuditPage>(`/api/audit?roomId=${room}`)).body.items;
}

/** A UDP socket on `ip` counting what arrives (the target of a refused REFER). */
async function listener(ip: string): Promise<{ port: number; received: Buffer[]; close(): void }> {
  const sock = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  sock.on('message', (m) => received.push(m));
  await new Promise<void>((r) => sock.bind(0, ip, r));
  return { port: sock.address().port, received, close: () => sock.close() };
}

test('a moderator REFERs a third party in (202, NOTIFY 100 Trying then 200 OK), then out with method=BYE', async () => {
  const room = 'ctl';
  const third = await callee();
  const target = `sip:callee@127.0.0.1:${third.port}`;
  const mod = await referrer(room, target);

  await third.waitEvent('streaming', 30000);
  const list = await parley.waitParticipants(room, (l) => l.some((p) => p.uri === target), 10000);
  expect(list.find((p) => p.uri === target)).toMatchObject({ kind: 'sip', state: 'joined' });
  // The referrer had joined as the room's moderator (it hangs up once the subscription ended).
  expect(parley.logs('participant joined').map((l) => l.role)).toContain('moderator');
  const done = await mod.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  expect(mod.events().find((e) => e[0] === 'refer')).toEqual(['refer', '202']);
  // RFC 3515 §2.4.4–§2.4.7: the first NOTIFY says 100 Trying with the subscription active, the last one the final
  // status with the subscription terminated (reason=noresource); a 180 from the callee may come between.
  const n = notifies(mod);
  expect(n[0]).toEqual([
    expect.stringMatching(/^active;expires=\d+$/),
    'refer;id=10',
    'message/sipfrag;version=2.0',
    'SIP/2.0 100 Trying',
  ]);
  expect(n[n.length - 1]).toEqual([
    'terminated;reason=noresource',
    'refer;id=10',
    'message/sipfrag;version=2.0',
    'SIP/2.0 200 OK',
  ]);
  for (const mid of n.slice(1, -1)) expect(mid[3]).toBe('SIP/2.0 180 Ringing');
  // Audited like the dashboard's dial: who (the moderator's URI), what, where.
  const dial = (await audit(room)).filter((e) => e.action === 'dial');
  expect(dial).toEqual([
    expect.objectContaining({
      target,
      outcome: 'ok',
      detail: 'via REFER',
      actor: expect.stringMatching(/^sip:referrer@/),
    }),
  ]);

  // Out again by REFER method=BYE (RFC 4579 §5.6), from a new moderator call.
  const mod2 = await referrer(room, `${target};method=BYE`);
  const [, ...reason] = await third.waitEvent('bye', 30000);
  expect(reason.join(' ')).toMatch(/^SIP;cause=403;text="Removed from the conference"$/);
  const done2 = await mod2.done;
  expect({ code: done2.code, errors: done2.errors }).toEqual({ code: 0, errors: '' });
  expect(mod2.events().find((e) => e[0] === 'refer')).toEqual(['refer', '202']);
  expect(notifies(mod2).map((x) => [x[0].replace(/\d+$/, 'N'), x[3]])).toEqual([
    ['active;expires=N', 'SIP/2.0 100 Trying'],
    ['terminated;reason=noresource', 'SIP/2.0 200 OK'],
  ]);
  await parley.waitParticipants(room, (l) => !l.some((p) => p.uri === target), 10000);
  const calleeDone = await third.done;
  expect({ code: calleeDone.code, errors: calleeDone.errors }).toEqual({ code: 0, errors: '' });
  const kicks = (await audit(room)).filter((e) => e.action === 'kick');
  expect(kicks).toEqual([expect.objectContaining({ outcome: 'ok', detail: 'via REFER' })]);
});

test('a caller who is not a moderator is refused 403, and no INVITE reaches the target', async () => {
  const room = 'open';
  const target = await listener('127.0.0.1');
  try {
    const uri = `sip:victim@127.0.0.1:${target.port}`;
    const run = await referrer(room, uri, 500);
    const done = await run.done;
    expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
    // A digest challenge (RFC 3261 §22), then 403 for the wrong credentials; no subscription was made.
    expect(run.events().filter((e) => e[0] === 'refer')).toEqual([
      ['refer', '401'],
      ['refer', '403'],
    ]);
    expect(notifies(run)).toEqual([]);
    expect(run.events().some((e) => e[0] === 'bye-ok')).toBe(true);
    expect(target.received).toEqual([]);
    expect((await parley.participants(room)).filter((p) => p.uri === uri)).toEqual([]);
    const refused = (await audit(room)).filter((e) => e.action === 'dial');
    expect(refused).toEqual([
      expect.objectContaining({ target: uri, outcome: 'error', detail: 'REFER_FORBIDDEN via REFER' }),
    ]);
  } finally {
    target.close();
  }
});

test('a moderator REFER to a target outside security.dialOut.allow: 403 before any 202, audited, no datagram', async () => {
  const room = 'ctl';
  const victim = await listener('127.0.0.3');
  try {
    const uri = `sip:00900555123@127.0.0.3:${victim.port}`;
    const run = await referrer(room, uri);
    const done = await run.done;
    expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
    expect(run.events().filter((e) => e[0] === 'refer')).toEqual([['refer', '403']]);
    expect(notifies(run)).toEqual([]);
    const denied = (await audit(room)).filter((e) => e.action === 'dial' && e.outcome === 'error');
    expect(denied).toEqual([
      expect.objectContaining({
        target: uri,
        detail: 'CONF_DIAL_DENIED via REFER',
        actor: expect.stringMatching(/^sip:referrer@/),
      }),
    ]);
    expect(parley.logs('REFER refused: dial-out target not allowed')).toHaveLength(1);
    expect(victim.received).toEqual([]);
  } finally {
    victim.close();
  }
});

test('an authenticated SIP account may REFER without being a moderator: 401, then 202 and the callee joins', async () => {
  const room = 'open';
  const third = await callee();
  const target = `sip:callee@127.0.0.1:${third.port}`;
  const run = await referrer(room, target, 500, OPERATOR);
  await third.waitEvent('streaming', 30000);
  await parley.waitParticipants(room, (l) => l.some((p) => p.uri === target), 10000);
  const done = await run.done;
  expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  expect(run.events().filter((e) => e[0] === 'refer')).toEqual([
    ['refer', '401'],
    ['refer', '202'],
  ]);
  const n = notifies(run);
  expect([n[0]![3], n[n.length - 1]![0], n[n.length - 1]![3]]).toEqual([
    'SIP/2.0 100 Trying',
    'terminated;reason=noresource',
    'SIP/2.0 200 OK',
  ]);
  const ok = (await audit(room)).filter((e) => e.action === 'dial' && e.outcome === 'ok');
  expect(ok).toEqual([expect.objectContaining({ actor: 'sip:operator', target, detail: 'via REFER' })]);
  const list = await parley.participants(room);
  expect(
    (await parley.post(`/api/rooms/${room}/participants/${list.find((p) => p.uri === target)!.id}/kick`, {}))
      .status,
  ).toBe(200);
  await third.waitEvent('bye', 10000);
});

test('REFER to the conference URI outside any dialog (RFC 4579 §5.5): digest, 202, NOTIFYs in its own dialog', async () => {
  const room = 'ctl';
  const third = await callee();
  const target = `sip:callee@127.0.0.1:${third.port}`;
  // The referrer: our own SIP stack (a SIPp digest names sip:<ip>:<port>, never the conference URI).
  const stack = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
  });
  try {
    const uri = SipUri.parse(`sip:${room}@127.0.0.1:${parley.sipPort}`);
    const refer = (headers: Record<string, string> = {}) =>
      stack.request(uri, 'REFER', {
        headers: {
          'Refer-To': `<${target}>`,
          Contact: `<sip:operator@127.0.0.1:${stack.ports.udp}>`,
          ...headers,
        },
      });
    const challenge = await refer();
    expect(challenge.status).toBe(401);
    const authz = digestAuthorizer(challenge, { method: 'REFER', uri } as SipRequest, {
      username: OPERATOR.user,
      password: OPERATOR.password,
    });
    expect(authz?.name).toBe('Authorization');
    const notifies: SipRequest[] = [];
    let ended!: () => void;
    const terminated = new Promise<void>((r) => (ended = r));
    const accepted = await refer({ [authz!.name]: authz!.value });
    expect(accepted.status).toBe(202);
    // RFC 3515 §2.4.4: the 202 created a dialog; its NOTIFYs come in it (our tag, the focus's tag).
    stack.addUsage(dialogKey(accepted.callId, accepted.from.tag!, accepted.to.tag!), {
      receiveRequest: (req, tx) => {
        notifies.push(req);
        tx.respond(createResponse(req, 200, undefined, { toTag: accepted.from.tag! }));
        if (/^terminated/.test(req.headers.get('Subscription-State') ?? '')) ended();
      },
    });
    await third.waitEvent('streaming', 30000);
    await parley.waitParticipants(room, (l) => l.some((p) => p.uri === target), 10000);
    await terminated;
    const seen = notifies.map((n) => [
      n.method,
      n.headers.get('Event'),
      n.headers.get('Subscription-State')?.replace(/\d+$/, 'N'),
      n.headers.get('Content-Type'),
      n.body.toString().trim(),
    ]);
    expect(seen[0]).toEqual([
      'NOTIFY',
      'refer',
      'active;expires=N',
      'message/sipfrag;version=2.0',
      'SIP/2.0 100 Trying',
    ]);
    expect(seen[seen.length - 1]).toEqual([
      'NOTIFY',
      'refer',
      'terminated;reason=noresource',
      'message/sipfrag;version=2.0',
      'SIP/2.0 200 OK',
    ]);
    const ok = (await audit(room)).filter((e) => e.action === 'dial' && e.target === target);
    expect(ok).toEqual([
      expect.objectContaining({ actor: 'sip:operator', outcome: 'ok', detail: 'via REFER' }),
    ]);
  } finally {
    await stack.close();
  }
  // An unknown room: 404 before anything else (SIPp).
  const lost = await startFocusSipp(parley, {
    scenario: path.relative(FOCUS_SCENARIOS, path.join(__dirname, 'sipp', 'refer-out-of-dialog.xml')),
    room: 'nosuchroom',
    keys: { refer_to: target, user: OPERATOR.user },
    timeoutSec: 30,
  });
  sipps.push(lost);
  const lostDone = await lost.done;
  expect({ code: lostDone.code, errors: lostDone.errors }).toEqual({ code: 0, errors: '' });
  expect(lost.events().filter((e) => e[0] === 'refer')).toEqual([['refer', '404']]);
});
