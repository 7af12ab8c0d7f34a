/**
 * The dispatcher and its per-target delivery loops with a fake fetch and a sleep that records the back-off
 * schedule instead of waiting; the events come from a real Conference driven by the conference fakes.
 */
import { silentLogger } from '../../../../src/logging/logger';
import {
  WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../../../../src/moderation/webhooks/webhook-dispatcher';
import type { WebhookEvent } from '../../../../src/moderation/webhooks/webhook-event';
import { verifySignature } from '../../../../src/moderation/webhooks/webhook-signature';
import {
  backoffDelay,
  DEFAULT_RETRY,
  parseRetryAfter,
  type FetchLike,
} from '../../../../src/moderation/webhooks/webhook-target';
import { Deferred, makeConference, settle } from '../../conference/fakes';

const SECRET = 'unit-test-secret-0123456789';
const NOW = 1_800_000_000_000;

interface Call {
  url: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** What the fake receiver answers to the n-th request (0-based): a status (+ headers), an error, or a hang. */
type Answer = number | { status: number; headers?: Record<string, string> } | Error | 'hang';

class FakeFetch {
  readonly calls: Call[] = [];
  /** Requests still hanging, released or aborted. */
  readonly hanging: Deferred<Response>[] = [];
  constructor(private readonly answer: (n: number, call: Call) => Answer = () => 200) {}

  readonly fetch: FetchLike = (url, init) => {
    const call: Call = {
      url,
      headers: init.headers as Record<string, string>,
      body: init.body as string,
      signal: init.signal,
    };
    const a = this.answer(this.calls.length, call);
    this.calls.push(call);
    if (a instanceof Error) return Promise.reject(a);
    if (a === 'hang') {
      const d = new Deferred<Response>();
      this.hanging.push(d);
      init.signal.addEventListener('abort', () => d.reject(init.signal.reason), { once: true });
      return d.promise;
    }
    const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
    return Promise.resolve(new Response(status === 204 ? null : 'ok', { status, headers }));
  };

  events(): WebhookEvent[] {
    return this.calls.map((c) => JSON.parse(c.body) as WebhookEvent);
  }
}

function setup(
  fake: FakeFetch,
  over: Partial<WebhookDispatcherOptions> = {},
  targets: WebhookDispatcherOptions['targets'] = [{ url: 'http://hooks.example/a', secret: SECRET }],
) {
  const t = makeConference();
  const sleeps: number[] = [];
  const d = new WebhookDispatcher({
    conference: t.conference,
    targets,
    log: silentLogger(),
    now: () => NOW,
    fetch: fake.fetch,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      signal.throwIfAborted();
    },
    random: () => 0.5,
    closeGraceMs: 0,
    ...over,
  });
  return { t, d, sleeps };
}

describe('the back-off schedule', () => {
  it('doubles from the base, capped, with half of it random', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 1000, maxDelayMs: 8000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p, () => 0))).toEqual([
      500, 1000, 2000, 4000, 4000, 4000,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it("a receiver's Retry-After is a floor, capped by maxRetryAfterMs", () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 1000, maxRetryAfterMs: 30_000 };
    expect(backoffDelay(1, p, () => 0, 7000)).toBe(7000);
    expect(backoffDelay(1, p, () => 0, 100)).toBe(500);
    expect(backoffDelay(1, p, () => 0, 3_600_000)).toBe(30_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('12', NOW)).toBe(12_000);
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe('WebhookDispatcher', () => {
  it('posts signed JSON for room and participant events, in order, with the documented body and headers', async () => {
    const fake = new FakeFetch();
    const { t, d } = setup(fake);
    const alice = await t.join('demo', 'alice');
    const p = alice.participant!;
    t.conference.setLocked('demo', true);
    t.conference.setLocked('demo', false);
    p.setHand(true);
    p.setSpeaking(true); // never sent
    alice.session!.remoteBye();
    await d.idle();
    const events = fake.events();
    expect(events.map((e) => e.type)).toEqual([
      'room.created',
      'participant.joined',
      'room.locked',
      'room.unlocked',
      'participant.hand',
      'participant.left',
    ]);
    expect(events[1]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'participant.joined',
      at: new Date(NOW).toISOString(),
      room: { id: 'demo', displayName: 'demo' },
      participant: { id: p.id, displayName: 'alice', uri: 'sip:alice@example.com', kind: 'sip' },
      data: { role: 'participant' },
    });
    expect(events[0]!.participant).toBeUndefined();
    expect(events[4]!.data).toEqual({ raised: true });
    expect(events[5]!.data).toEqual({ reason: 'remote-bye' });
    const c = fake.calls[5]!;
    expect(c.headers).toMatchObject({
      'Content-Type': 'application/json',
      'X-Parley-Event': 'participant.left',
      'X-Parley-Delivery': events[5]!.id,
      'X-Parley-Timestamp': String(NOW / 1000),
    });
    expect(
      verifySignature({
        secret: SECRET,
        body: c.body,
        timestamp: c.headers['X-Parley-Timestamp'],
        signature: c.headers['X-Parley-Signature'],
        now: NOW,
      }),
    ).toBe(true);
    expect(d.counters()).toEqual({ delivered: 6, failed: 0, dropped: 0, retried: 0 });
    await d.close();
  });

  it('mute, unmute (by whom) and move carry their data; a caller that never joined leaves no event', async () => {
    const fake = new FakeFetch();
    const { t, d } = setup(fake, {}, [
      { url: 'http://hooks.example/p', secret: SECRET, events: ['participant.*'] },
    ]);
    const a = await t.join('demo', 'alice', { renegotiable: true });
    await t.join('other', 'bob');
    await t.conference.mute(a.participant!.id, true, 'moderator');
    await t.conference.mute(a.participant!.id, false, 'moderator');
    await t.conference.move(a.participant!.id, 'other');
    await d.idle();
    const ev = fake.events().filter((e) => e.participant?.displayName === 'alice');
    expect(ev.map((e) => [e.type, e.room.id, e.data])).toEqual([
      ['participant.joined', 'demo', { role: 'participant' }],
      ['participant.muted', 'demo', { by: 'moderator' }],
      ['participant.unmuted', 'demo', { by: 'moderator' }],
      ['participant.moved', 'other', { from: 'demo', to: 'other' }],
    ]);
    // the filter: no room.* event reached this target
    expect(fake.events().every((e) => e.type.startsWith('participant.'))).toBe(true);
    await d.close();
  });

  it('the observer listener only enqueues: nothing is fetched, serialised or signed during the emit', async () => {
    const fake = new FakeFetch();
    const { t, d } = setup(fake);
    const room = (await t.join('demo', 'alice')).participant!;
    await d.idle();
    const before = fake.calls.length;
    room.setHand(true);
    room.setHand(false);
    expect(fake.calls.length).toBe(before); // synchronous part done, no request yet
    expect(d.stats()[0]!.pending).toBe(2);
    await d.idle();
    expect(fake.calls.length).toBe(before + 2);
    await d.close();
  });

  it('retries 5xx, 408, 429 and network errors with back-off, honouring Retry-After; same delivery id each time', async () => {
    const answers: Answer[] = [
      503,
      408,
      { status: 429, headers: { 'Retry-After': '7' } },
      new TypeError('fetch failed'),
      200,
    ];
    const fake = new FakeFetch((n) => answers[n] ?? 200);
    const { t, d, sleeps } = setup(fake, { retry: { baseDelayMs: 1000, attempts: 6 } });
    await t.join('demo');
    t.conference.setLocked('demo', true);
    await d.idle();
    // room.created, then participant.joined and room.locked behind it
    const first = fake.calls.slice(0, 5).map((c) => c.headers['X-Parley-Delivery']);
    expect(new Set(first).size).toBe(1);
    expect(sleeps).toEqual([750, 1500, 7000, 6000]);
    expect(
      fake
        .events()
        .slice(4)
        .map((e) => e.type),
    ).toEqual(['room.created', 'participant.joined', 'room.locked']);
    expect(d.counters()).toEqual({ delivered: 3, failed: 0, dropped: 0, retried: 4 });
    await d.close();
  });

  it('gives up after the last attempt, and at once on a 4xx other than 408/429 or a redirect', async () => {
    const fake = new FakeFetch((_n, call) => {
      const type = (JSON.parse(call.body) as WebhookEvent).type;
      return type === 'room.created' ? 500 : type === 'participant.joined' ? 410 : 302;
    });
    const { t, d, sleeps } = setup(fake, { retry: { attempts: 3 } });
    const a = await t.join('demo');
    a.session!.remoteBye();
    await d.idle();
    expect(fake.events().map((e) => e.type)).toEqual([
      'room.created',
      'room.created',
      'room.created',
      'participant.joined',
      'participant.left',
    ]);
    expect(sleeps).toHaveLength(2);
    expect(d.counters()).toEqual({ delivered: 0, failed: 3, dropped: 0, retried: 2 });
    await d.close();
  });

  it('a full queue drops the oldest pending events and counts them', async () => {
    let hang = true;
    const fake = new FakeFetch((n) => (n === 0 && hang ? 'hang' : 200));
    const { t, d } = setup(fake, { queueLimit: 3 });
    const p = (await t.join('demo')).participant!; // room.created (in flight, hangs) + participant.joined
    await settle();
    for (let i = 0; i < 6; i++) p.setHand(i % 2 === 0); // 7 pending for 3 places
    expect(d.stats()[0]).toMatchObject({ pending: 3, dropped: 4 });
    hang = false;
    fake.hanging[0]!.resolve(new Response(null, { status: 204 }));
    await d.idle();
    expect(fake.events().map((e) => [e.type, e.data['raised']])).toEqual([
      ['room.created', undefined],
      ['participant.hand', false],
      ['participant.hand', true],
      ['participant.hand', false],
    ]);
    expect(d.counters()).toEqual({ delivered: 4, failed: 0, dropped: 4, retried: 0 });
    await d.close();
  });

  it('a hung target does not hold another target', async () => {
    const fake = new FakeFetch((_n, call) => (call.url.endsWith('/hung') ? 'hang' : 200));
    const { t, d } = setup(fake, {}, [
      { url: 'http://hooks.example/hung', secret: SECRET },
      { url: 'http://hooks.example/ok', secret: SECRET },
    ]);
    await t.join('demo');
    await settle();
    await new Promise((r) => setImmediate(r));
    const ok = fake.calls.filter((c) => c.url.endsWith('/ok')).map((c) => c.headers['X-Parley-Event']);
    expect(ok).toEqual(['room.created', 'participant.joined']);
    expect(d.stats().map((s) => s.delivered)).toEqual([0, 2]);
    await d.close();
  });

  it('close() is idempotent, aborts the request in flight, drops what is pending and stops listening', async () => {
    const fake = new FakeFetch(() => 'hang');
    const { t, d } = setup(fake);
    const p = (await t.join('demo')).participant!;
    await settle();
    expect(fake.calls).toHaveLength(1);
    const inFlight = fake.calls[0]!.signal;
    const c1 = d.close();
    const c2 = d.close();
    await Promise.all([c1, c2]);
    expect(inFlight.aborted).toBe(true);
    expect(d.counters()).toEqual({ delivered: 0, failed: 0, dropped: 2, retried: 0 });
    p.setHand(true);
    await settle();
    expect(fake.calls).toHaveLength(1);
    expect(t.conference.observer.listenerCount('participantHand')).toBe(0);
  });

  it('close() lets the queue drain within the grace period', async () => {
    const fake = new FakeFetch();
    const { t, d } = setup(fake, { closeGraceMs: 5000 });
    (await t.join('demo')).session!.remoteBye();
    await d.close();
    expect(fake.events().map((e) => e.type)).toEqual([
      'room.created',
      'participant.joined',
      'participant.left',
    ]);
    expect(d.counters().delivered).toBe(3);
  });

  it('without targets it does not even listen', () => {
    const t = makeConference();
    const d = new WebhookDispatcher({ conference: t.conference, targets: [], log: silentLogger() });
    expect(t.conference.observer.listenerCount('participantJoined')).toBe(0);
    return d.close();
  });
});
