/**
 * The RFC 4575 package over the real conference core (fake media, test/unit/conference/fakes.ts) and the real
 * RFC 6665 notifier on a fake-transport UA with a fake clock: SUBSCRIBE → full document, observer changes →
 * coalesced partial documents with consecutive versions, room end → terminated;reason=noresource. Every body is
 * validated against the RFC 4575 schema.
 */
import { ConferenceEventPackage } from '../../../../src/conference/events/conference-event-package';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message';
import { DigestClient } from '../../../../src/sip/auth/digest';
import {
  DigestRequestAuthenticator,
  type SipRequestAuthenticator,
} from '../../../../src/sip/auth/request-authenticator';
import { SubscriptionNotifier } from '../../../../src/sip/subscription';
import { silentLogger } from '../../../../src/logging/logger';
import { req, responseTo } from '../../../support/sip-messages';
import { flush, makeUa } from '../../../support/ua-harness';
import { validateXml } from '../../../fixtures/rfc4575/validate';
import { makeConference, settle } from '../fakes';

let seq = 0;
function subscribe(
  room: string,
  opts: { toTag?: string; expires?: number; callId?: string; extra?: string[] } = {},
): SipRequest {
  seq++;
  return req([
    `SUBSCRIBE sip:${room}@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c${seq}`,
    'Max-Forwards: 70',
    'From: <sip:watcher@127.0.0.1>;tag=w1',
    `To: <sip:${room}@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: ${opts.callId ?? 'conf-sub-1'}`,
    `CSeq: ${seq} SUBSCRIBE`,
    'Contact: <sip:watcher@127.0.0.1:5070>',
    'Event: conference',
    'Accept: application/conference-info+xml',
    `Expires: ${opts.expires ?? 600}`,
    ...(opts.extra ?? []),
  ]);
}

function setup(authenticator?: SipRequestAuthenticator) {
  const ua = makeUa();
  const t = makeConference({}, { joinTones: false });
  const notifier = new SubscriptionNotifier(ua.core);
  const pkg = new ConferenceEventPackage({
    conference: t.conference,
    notifier,
    clock: ua.clock,
    coalesceMs: 150,
    ...(authenticator ? { authenticator } : {}),
    log: silentLogger(),
  });
  const notifies = (): SipRequest[] => ua.requests('NOTIFY');
  const responses = (): SipResponse[] =>
    ua.transport.sent.map((s) => s.msg).filter((m): m is SipResponse => !('method' in m));
  /** answers every NOTIFY not answered yet with 200, until none is pending */
  let answered = 0;
  const answerAll = async (): Promise<void> => {
    for (;;) {
      await flush();
      const list = notifies();
      if (answered >= list.length) return;
      while (answered < list.length) ua.receiveResponse(responseTo(list[answered++]!, 200));
    }
  };
  /** lets the coalescing window pass and answers what it sent */
  const window = async (): Promise<void> => {
    await settle();
    ua.clock.advance(150);
    await answerAll();
  };
  return { ua, t, notifier, pkg, notifies, responses, answerAll, window };
}

const body = (r: SipRequest): string => r.body.toString('utf8');
const version = (r: SipRequest): number => Number(/version="(\d+)"/.exec(body(r))![1]);

describe('ConferenceEventPackage (RFC 4575 on RFC 6665)', () => {
  it('SUBSCRIBE to a room gets 200 and a full document listing its participants (valid against the schema)', async () => {
    const s = setup();
    await s.t.join('demo', 'alice');
    s.ua.receive(subscribe('demo'));
    await s.answerAll();
    expect(s.responses().at(-1)!.status).toBe(200);
    const [n] = s.notifies();
    expect(n!.headers.get('Event')).toBe('conference');
    expect(n!.headers.get('Content-Type')).toBe('application/conference-info+xml');
    expect(n!.headers.get('Subscription-State')).toBe('active;expires=600');
    const xml = body(n!);
    expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
    expect(xml).toContain('entity="sip:demo@127.0.0.1:5060" state="full" version="1"');
    expect(xml).toContain('<user entity="sip:alice@example.com">');
    expect(xml).toContain('<status>connected</status>');
    expect(s.pkg.size).toBe(1);
  });

  it('a room that does not exist is 404 Conference Not Found', async () => {
    const s = setup();
    s.ua.receive(subscribe('nowhere'));
    await flush();
    expect(s.responses().at(-1)!.status).toBe(404);
    expect(s.responses().at(-1)!.reason).toBe('Conference Not Found');
    expect(s.notifies()).toHaveLength(0);
  });

  it('joins, mutes, locks and leaves become partial documents with consecutive versions', async () => {
    const s = setup();
    const alice = await s.t.join('demo', 'alice');
    s.ua.receive(subscribe('demo'));
    await s.answerAll();
    const bob = await s.t.join('demo', 'bob');
    await s.window();
    let n = s.notifies();
    expect(n).toHaveLength(2);
    let xml = body(n[1]!);
    expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
    expect(xml).toContain('state="partial" version="2"');
    expect(xml).toContain('<user entity="sip:bob@example.com">');
    expect(xml).toContain('<joining-method>dialed-in</joining-method>');
    expect(xml).not.toContain('sip:alice@example.com');
    expect(xml).toContain('<user-count>2</user-count>');

    await s.t.conference.mute(bob.participant!.id, true);
    await s.window();
    xml = body(s.notifies()[2]!);
    expect(validateXml(xml).ok).toBe(true);
    expect(xml).toContain('version="3"');
    expect(xml).toContain('<status>muted-via-focus</status>');

    s.t.conference.setLocked('demo', true);
    await s.window();
    xml = body(s.notifies()[3]!);
    expect(xml).toContain('<locked>true</locked>');

    s.t.conference.kick(alice.participant!.id);
    await s.window();
    n = s.notifies();
    xml = body(n.at(-1)!);
    expect(validateXml(xml)).toEqual({ ok: true, errors: '' });
    expect(xml).toContain('<user entity="sip:alice@example.com" state="deleted">');
    expect(xml).toContain('<disconnection-method>booted</disconnection-method>');
    expect(xml).toContain('<reason>kicked</reason>');
    expect(n.map(version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a burst of changes within the window is one NOTIFY', async () => {
    const s = setup();
    await s.t.join('demo', 'alice');
    s.ua.receive(subscribe('demo'));
    await s.answerAll();
    await Promise.all([s.t.join('demo', 'bob'), s.t.join('demo', 'carol'), s.t.join('demo', 'dave')]);
    await s.t.conference.muteAll('demo', true);
    await s.window();
    const n = s.notifies();
    expect(n).toHaveLength(2);
    const xml = body(n[1]!);
    expect(validateXml(xml).ok).toBe(true);
    for (const who of ['bob', 'carol', 'dave'])
      expect(xml).toContain(`<user entity="sip:${who}@example.com">`);
    expect(xml).toContain('<user-count>4</user-count>');
  });

  it('a refresh gets a full document with the next version', async () => {
    const s = setup();
    await s.t.join('demo', 'alice');
    s.ua.receive(subscribe('demo'));
    await s.answerAll();
    const tag = s.responses().at(-1)!.to.tag!;
    s.ua.receive(subscribe('demo', { toTag: tag, expires: 1200 }));
    await s.answerAll();
    const n = s.notifies();
    expect(s.responses().at(-1)!.headers.get('Expires')).toBe('1200');
    expect(n[1]!.headers.get('Subscription-State')).toBe('active;expires=1200');
    expect(body(n[1]!)).toContain('state="full" version="2"');
  });

  it('the room ending terminates every watcher with reason=noresource', async () => {
    const s = setup();
    await s.t.join('demo', 'alice');
    s.ua.receive(subscribe('demo', { callId: 'w-a' }));
    s.ua.receive(subscribe('demo', { callId: 'w-b' }));
    await s.answerAll();
    expect(s.pkg.size).toBe(2);
    s.t.conference.endRoom('demo');
    await settle();
    await s.answerAll();
    const finals = s
      .notifies()
      .filter((r) => r.headers.get('Subscription-State') === 'terminated;reason=noresource');
    expect(finals.map((r) => r.callId).sort()).toEqual(['w-a', 'w-b']);
    expect(s.pkg.size).toBe(0);
    expect(s.notifier.size).toBe(0);
  });

  it('close() stops serving conference: a new SUBSCRIBE gets 489', async () => {
    const s = setup();
    s.pkg.close();
    s.pkg.close();
    await s.t.join('demo', 'alice');
    s.ua.receive(subscribe('demo'));
    await flush();
    expect(s.responses().at(-1)!.status).toBe(489);
  });
});

describe('watching a PIN room', () => {
  const authenticator = (): DigestRequestAuthenticator =>
    new DigestRequestAuthenticator({
      realm: 'parley',
      secret: 'a-test-secret-of-32-bytes-length!',
      accounts: [{ username: 'ann', password: 'secret' }],
    });

  it('needs a SIP account: no credentials → 401 challenge, the account → 200 and the roster', async () => {
    const s = setup(authenticator());
    await s.t.conference.declareRoom({ name: 'board', pin: '1234' });
    s.ua.receive(subscribe('board', { callId: 'pin-1' }));
    await flush();
    const challenge = s.responses().at(-1)!;
    expect(challenge.status).toBe(401);
    const www = challenge.headers.getAll('WWW-Authenticate');
    expect(www.length).toBeGreaterThan(0);
    expect(s.notifies()).toHaveLength(0);
    const authz = new DigestClient({ username: 'ann', password: 'secret' }).authorize(
      'SUBSCRIBE',
      'sip:board@127.0.0.1:5060',
      DigestClient.pickChallenge(www)!,
    );
    s.ua.receive(subscribe('board', { callId: 'pin-1', extra: [`Authorization: ${authz}`] }));
    await s.answerAll();
    expect(s.responses().at(-1)!.status).toBe(200);
    expect(validateXml(body(s.notifies()[0]!)).ok).toBe(true);
  });

  it('a wrong password → 403 from the catalogue; without an authenticator every PIN-room watcher → 403', async () => {
    const s = setup(authenticator());
    await s.t.conference.declareRoom({ name: 'board', pin: '1234' });
    s.ua.receive(subscribe('board', { callId: 'pin-2' }));
    await flush();
    const www = s.responses().at(-1)!.headers.getAll('WWW-Authenticate');
    const authz = new DigestClient({ username: 'ann', password: 'wrong' }).authorize(
      'SUBSCRIBE',
      'sip:board@127.0.0.1:5060',
      DigestClient.pickChallenge(www)!,
    );
    s.ua.receive(subscribe('board', { callId: 'pin-2', extra: [`Authorization: ${authz}`] }));
    await flush();
    expect(s.responses().at(-1)!.status).toBe(403);
    expect(s.responses().at(-1)!.reason).toBe('Forbidden (PIN room: authenticate to watch it)');

    const open = setup();
    await open.t.conference.declareRoom({ name: 'board', pin: '1234' });
    open.ua.receive(subscribe('board', { callId: 'pin-3' }));
    await flush();
    expect(open.responses().at(-1)!.status).toBe(403);
    expect(open.notifies()).toHaveLength(0);
  });
});
