/**
 * Draining on a whole in-process App with real SIP phones (our stack, real codecs) and the mediasoup worker:
 * the admin action (POST /api/admin/drain) refuses new INVITEs with 503 + Retry-After, answers out-of-dialog
 * OPTIONS 503 and /healthz 503 "draining", keeps the calls in progress (audio both ways), and at the deadline
 * hangs them up with a BYE carrying a Reason header. The App keeps running (only SIGTERM exits: the e2e test).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SipError } from '../../../src/sip/errors';
import type { MessageTrace } from '../../../src/sip/ua/message-trace';
import { SipStack } from '../../../src/sip/ua/sip-stack';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';
import { SipPhone } from '../../support/sip-phone';
import { toneDb } from '../../support/tone-analysis';

jest.setTimeout(60_000);

const TOKEN = 'drain-test-api-token-0123456789';
const RETRY_AFTER = 17;

describe('draining (admin action)', () => {
  let a: InProcessApp;
  const phones: SipPhone[] = [];
  let probe: SipStack;
  const traces: MessageTrace[] = [];

  beforeAll(async () => {
    a = await startInProcessApp({
      name: 'drain',
      portBase: 46000,
      overrides: {
        auth: { apiToken: TOKEN },
        drain: { retryAfterSeconds: RETRY_AFTER, deadlineSeconds: 600 },
      },
    });
    a.app.sip.onTrace((t) => traces.push(t));
    probe = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null } });
  });

  afterAll(async () => {
    for (const p of phones) await p.close();
    await probe?.close();
    await a?.close();
  });

  const target = (room: string): string => `sip:${room}@127.0.0.1:${a.app.sip.ports.udp}`;
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${a.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('refuses new calls with 503 + Retry-After, keeps the calls in progress, then BYE with a Reason', async () => {
    const alice = await SipPhone.call({ target: target('drain'), user: 'alice', codec: 'PCMU', tone: 407 });
    phones.push(alice);
    const bob = await SipPhone.call({ target: target('drain'), user: 'bob', codec: 'PCMU', tone: 613 });
    phones.push(bob);
    expect((await probe.request(target('drain'), 'OPTIONS')).status).toBe(200);
    expect((await fetch(`${a.base}/healthz`)).status).toBe(200);

    // Without credentials, and with malformed bodies: refused, nothing drains.
    expect((await post('/api/admin/drain', {})).status).toBe(401);
    expect((await post('/api/admin/drain', { deadlineSeconds: -1 }, TOKEN)).status).toBe(400);
    expect(a.app.conference.isDraining).toBe(false);

    const res = await post('/api/admin/drain', {}, TOKEN);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ draining: true, participants: 2 });

    // A new INVITE: 503 with the catalogue's reason and Retry-After (read from the bytes we sent).
    const err = await SipPhone.call({
      target: target('drain'),
      user: 'carol',
      codec: 'PCMU',
      tone: null,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).status).toBe(503);
    const refusal = traces.find((t) => t.direction === 'out' && t.method === 'INVITE' && t.status === 503);
    expect(refusal?.raw).toMatch(/^SIP\/2\.0 503 Service Unavailable \(draining\)\r\n/);
    expect(refusal?.raw).toMatch(new RegExp(`\\r\\nRetry-After: ${RETRY_AFTER}\\r\\n`, 'i'));
    // Another room too (nothing is created while draining).
    await expect(
      SipPhone.call({ target: target('elsewhere'), user: 'dave', codec: 'PCMU', tone: null }),
    ).rejects.toMatchObject({ status: 503 });
    expect(a.app.conference.listRooms().map((r) => r.id)).not.toContain('elsewhere');

    // OPTIONS (RFC 3261 §11.2: the INVITE's answer) and /healthz tell a load balancer to take the node out.
    const options = await probe.request(target('drain'), 'OPTIONS');
    expect(options.status).toBe(503);
    expect(options.headers.get('retry-after')).toBe(String(RETRY_AFTER));
    const health = await fetch(`${a.base}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'draining' });

    // The calls in progress go on: each still hears the other (the mix, paced by the wall clock).
    const mark = alice.mark();
    await sleep(1500);
    expect(alice.terminated || bob.terminated).toBe(false);
    expect(toneDb(alice.heard(mark + 500), alice.rate, 613)).toBeGreaterThan(-30);
    expect(toneDb(bob.heard(mark + 500), bob.rate, 407)).toBeGreaterThan(-30);

    // bob hangs up on his own: alice is still in her call (the deadline is 600 s away).
    await bob.close();
    expect(alice.terminated).toBe(false);
    expect(a.app.conference.participantCount()).toBe(1);

    // "Finish now": a second drain brings the deadline forward; alice gets BYE with a Reason (RFC 3326).
    const left = new Promise<string>((resolve) =>
      a.app.conference.observer.once('participantLeft', (_p, reason) => resolve(reason)),
    );
    const now = await post('/api/admin/drain', { deadlineSeconds: 0 }, TOKEN);
    expect(now.status).toBe(202);
    await alice.waitTerminated(10_000);
    expect(await left).toBe('draining');
    expect(alice.byeFromServer?.headers.get('reason')).toBe('SIP;cause=503;text="Server draining"');
    await a.app.conference.drain({ deadlineMs: 600_000, retryAfterSeconds: RETRY_AFTER }); // resolved: nobody left

    // Both actions audited; the App still runs (only SIGTERM exits) and still refuses calls.
    const audit = a.app.store.audit.query({ action: 'drain', limit: 10, offset: 0 });
    expect(audit.items.map((x) => `${x.outcome} ${x.detail ?? ''}`).sort()).toEqual([
      'error API_BAD_REQUEST',
      'ok deadline 0 s',
      'ok default deadline',
    ]);
    expect((await fetch(`${a.base}/healthz`)).status).toBe(503);
    expect((await probe.request(target('drain'), 'OPTIONS')).status).toBe(503);
  });
});
