/**
 * The RFC 4575 conference event package against the built server, with SIPp as the watcher (its own SIP stack, not
 * ours) and a Node tone phone joining the room:
 * - test/e2e/sipp/conf-event-watch.xml: SUBSCRIBE Event: conference → 200 (Expires) + a full NOTIFY at once; the
 *   phone joins → a partial NOTIFY with the new user connected and dialed-in; a REST mute → muted-via-focus; a
 *   refresh SUBSCRIBE gets the new Expires and a full NOTIFY; Expires 0 → a final NOTIFY terminated;reason=timeout.
 *   Every NOTIFY body SIPp received is validated against the RFC 4575 schema with xmllint, and the versions run
 *   1, 2, 3 ... without a gap.
 * - conf-event-end.xml: the room ends (DELETE /api/rooms/:id) → terminated;reason=noresource, over UDP and TCP.
 * - conf-event-refused.xml: an unknown event package → 489 with Allow-Events; an unknown room → 404.
 * - a Chromium page (the /rtc probe) with its camera on and a phone in one room: the watcher's full document lists
 *   the browser as `sip:<participantId>@<host>` with audio and video media, and the phone by its own URI.
 * Needs `npx tsc -p tsconfig.build.json` (dist/).
 */
import path from 'node:path';
import {
  FOCUS_SCENARIOS,
  receivedMessage,
  receivedStatuses,
  startFocusSipp,
  type FocusSippRun,
} from '../support/focus-sipp';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { probeJoin, serveProbe, type ProbeServer } from '../support/rtc-probe';
import type { SipPhone } from '../support/sip-phone';
import { validateXml } from '../fixtures/rfc4575/validate';
import { dialTonePhone, stopAndReport } from './conference-helpers';

jest.setTimeout(120_000);

let parley: E2eParley;
const phones: SipPhone[] = [];
const sipps: FocusSippRun[] = [];
const browsers: TestBrowser[] = [];
let probe: ProbeServer | undefined;

beforeAll(async () => {
  parley = await startE2eParley({
    conference: { joinTones: false, rooms: [{ name: 'events', displayName: 'Events room' }] },
  });
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  await probe?.close();
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
  await Promise.all(sipps.map((s) => s.done));
});

/** A SIPp watcher running one of this test's scenarios (test/e2e/sipp/conf-event-*.xml) against `room`. */
async function watcher(
  scenario: string,
  room: string,
  keys: Record<string, string> = {},
  transport: 'u1' | 't1' = 'u1',
): Promise<FocusSippRun> {
  const run = await startFocusSipp(parley, {
    scenario: path.relative(FOCUS_SCENARIOS, path.join(__dirname, 'sipp', scenario)),
    room,
    keys,
    transport,
    timeoutSec: 60,
  });
  sipps.push(run);
  return run;
}

/** Every NOTIFY SIPp received, in order: its Subscription-State and its body. */
function notifies(messages: string): Array<{ state: string; body: string }> {
  const out: Array<{ state: string; body: string }> = [];
  for (let i = 0; ; i++) {
    const m = receivedMessage(messages, 'NOTIFY', i);
    if (m === undefined) return out;
    const [head, ...rest] = m.split(/\r?\n\r?\n/);
    const state = /^Subscription-State:\s*(.+?)\s*$/im.exec(head!)?.[1] ?? '';
    out.push({ state, body: rest.join('\n\n').trim() });
  }
}

const version = (xml: string): number => Number(/<conference-info[^>]* version="(\d+)"/.exec(xml)?.[1]);

test('SUBSCRIBE gets 200 and the full state, then partial NOTIFYs for a joining phone and its mute; refresh; unsubscribe', async () => {
  const w = await watcher('conf-event-watch.xml', 'events');
  expect(await w.waitEvent('subscribed')).toEqual(['subscribed', '120']);
  const [, firstState] = await w.waitEvent('full');
  expect(firstState).toMatch(/^active;expires=\d+$/);

  // a tone phone dials in: the watcher sees it connected
  await dialTonePhone(parley, phones, 'events', 'tina', 407);
  await w.waitEvent('connected', 20000);
  const [tina] = await parley.waitParticipants('events', (l) => l.length === 1 && l[0]!.state === 'joined');

  // a moderator mutes it over REST: muted-via-focus
  const muted = await parley.post(`/api/rooms/events/participants/${tina!.id}/mute`, { muted: true });
  expect(muted.status).toBe(200);
  await w.waitEvent('muted', 20000);

  // the refresh extends the subscription and brings a full document; Expires 0 ends it
  expect(await w.waitEvent('refreshed', 20000)).toEqual(['refreshed', '300']);
  expect(await w.waitEvent('refresh-notify', 20000)).toEqual(['refresh-notify', 'active;expires=300']);
  expect(await w.waitEvent('unsubscribed', 20000)).toEqual(['unsubscribed', '0']);
  expect(await w.waitEvent('final', 20000)).toEqual(['final', 'terminated;reason=timeout']);
  const r = await w.done;
  expect(r.errors).toBe('');
  expect(r.code).toBe(0);
  expect(receivedStatuses(r.messages)).toEqual([200, 200, 200]);
  const ok = receivedMessage(r.messages, 'SIP/2.0 200')!;
  expect(ok).toMatch(/^Allow-Events: .*\bconference\b/m);
  expect(ok).toMatch(/^Contact: /m);

  // every document SIPp received is valid against the RFC 4575 schema, numbered without a gap
  const docs = notifies(r.messages);
  expect(docs.length).toBeGreaterThanOrEqual(5);
  for (const d of docs) expect(validateXml(d.body)).toEqual({ ok: true, errors: '' });
  expect(docs.map((d) => version(d.body))).toEqual(docs.map((_, i) => i + 1));

  const entity = `entity="sip:events@127.0.0.1:${parley.sipPort}"`;
  const first = docs[0]!.body;
  expect(first).toContain(`${entity} state="full" version="1"`);
  expect(first).toContain('<display-text>Events room</display-text>');
  expect(first).toContain('<user-count>0</user-count>');

  // the partial document that has the phone connected: its user, dialed-in, joined at a time
  const joined = docs.find((d) => d.body.includes('<status>connected</status>'))!.body;
  expect(joined).toContain('state="partial"');
  expect(joined).toContain('<user entity="sip:tina@127.0.0.1">');
  expect(joined).toContain(`<endpoint entity="sip:${tina!.id}@127.0.0.1:${parley.sipPort}">`);
  expect(joined).toContain('<joining-method>dialed-in</joining-method>');
  expect(joined).toMatch(/<joining-info>\s*<when>\d{4}-\d\d-\d\dT/);
  expect(joined).toMatch(/<media id="1">\s*<type>audio<\/type>/);
  expect(joined).toContain('<entry>participant</entry>');
  expect(joined).toContain('<user-count>1</user-count>');

  const mutedDoc = docs.find((d) => d.body.includes('muted-via-focus'))!.body;
  expect(mutedDoc).toContain('state="partial"');
  expect(mutedDoc).toContain('<status>recvonly</status>');

  // the refresh's NOTIFY is a full document listing the muted phone; the final one says timeout
  const refreshed = docs.find((d) => d.state === 'active;expires=300')!.body;
  expect(refreshed).toContain('state="full"');
  expect(refreshed).toContain('<status>muted-via-focus</status>');
  expect(docs.at(-1)!.state).toBe('terminated;reason=timeout');
});

test.each([
  ['UDP', 'u1'],
  ['TCP', 't1'],
] as const)(
  'the room ending terminates its watchers with reason=noresource (%s)',
  async (name, transport) => {
    const room = `ending-${name.toLowerCase()}`;
    await dialTonePhone(parley, phones, room, 'uma', 613);
    await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined');
    const w = await watcher('conf-event-end.xml', room, {}, transport);
    await w.waitEvent('full');
    const ended = await parley.del(`/api/rooms/${room}`);
    expect(ended.status).toBe(200);
    expect(await w.waitEvent('final', 20000)).toEqual(['final', 'terminated;reason=noresource']);
    const r = await w.done;
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    const docs = notifies(r.messages);
    expect(docs[0]!.body).toContain('<user entity="sip:uma@127.0.0.1">');
    for (const d of docs.filter((x) => x.body !== '')) expect(validateXml(d.body).ok).toBe(true);
    // the NOTIFYs came over the watcher's transport (TCP: the dialog's connection, or one to its Contact)
    expect(r.messages).toContain(`${name} message received`);
  },
);

test('an unknown event package gets 489 with Allow-Events; an unknown room gets 404', async () => {
  // a package nobody serves (RFC 6665 §4.2.1)
  const bad = await watcher('conf-event-refused.xml', 'events', { event: 'x-parley-unknown' });
  expect(await bad.waitEvent('refused')).toEqual(['refused', '489']);
  const r1 = await bad.done;
  expect(r1.code).toBe(0);
  expect(receivedMessage(r1.messages, 'SIP/2.0 489')).toMatch(/^Allow-Events: .*\bconference\b/m);

  const none = await watcher('conf-event-refused.xml', 'nosuchroom', { event: 'conference' });
  expect(await none.waitEvent('refused')).toEqual(['refused', '404']);
  const r2 = await none.done;
  expect(r2.code).toBe(0);
  expect(receivedMessage(r2.messages, 'SIP/2.0 404')).toMatch(/^SIP\/2\.0 404 Conference Not Found/);
});

test('a browser participant is in the roster with its audio and video, beside a phone', async () => {
  probe = await serveProbe();
  const b = await launchBrowser({ toneHz: 613, name: 'vera' });
  browsers.push(b);
  const veraId = await probeJoin(b, probe.url, {
    server: parley.http,
    room: 'mixed',
    name: 'Vera',
    video: true,
  });
  await dialTonePhone(parley, phones, 'mixed', 'walt', 407);
  await parley.waitParticipants(
    'mixed',
    (l) => l.length === 2 && l.every((p) => p.state === 'joined') && l.some((p) => p.video === true),
    20000,
  );
  const w = await watcher('conf-event-end.xml', 'mixed');
  await w.waitEvent('full');
  expect((await parley.del('/api/rooms/mixed')).status).toBe(200);
  expect(await w.waitEvent('final', 20000)).toEqual(['final', 'terminated;reason=noresource']);
  const r = await w.done;
  expect(r.code).toBe(0);
  const full = notifies(r.messages)[0]!.body;
  expect(validateXml(full)).toEqual({ ok: true, errors: '' });
  const host = `127.0.0.1:${parley.sipPort}`;
  expect(full).toContain(`<user entity="sip:${veraId}@${host}">`);
  expect(full).toContain('<display-text>Vera</display-text>');
  expect(full).toContain('<user entity="sip:walt@127.0.0.1">');
  expect(full).toContain('<user-count>2</user-count>');
  // Vera's endpoint: audio and video, both flowing
  const vera = full.slice(full.indexOf(`<user entity="sip:${veraId}@${host}">`));
  const veraUser = vera.slice(0, vera.indexOf('</user>'));
  expect(veraUser).toMatch(/<media id="1">\s*<type>audio<\/type>\s*<label>audio<\/label>/);
  expect(veraUser).toMatch(/<media id="2">\s*<type>video<\/type>\s*<label>video<\/label>/);
  expect(veraUser).toContain('<status>connected</status>');
});
