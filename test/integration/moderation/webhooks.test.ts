/**
 * Webhooks against REAL HTTP receivers on 127.0.0.1 (node:http servers in the test): signatures, order, retries,
 * a hung receiver, filters. The events come from a real Conference (fake media: no worker needed) and, in the last
 * block, from a whole in-process App with a real SIP call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../../../src/app';
import { silentLogger } from '../../../src/logging/logger';
import {
  WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../../../src/moderation/webhooks/webhook-dispatcher';
import type { WebhookEvent } from '../../../src/moderation/webhooks/webhook-event';
import { verifySignature } from '../../../src/moderation/webhooks/webhook-signature';
import { SipPhone } from '../../support/sip-phone';
import { makeConference } from '../../unit/conference/fakes';
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';

jest.setTimeout(60_000);

const SECRET = 'integration-secret-0123456789';
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  event: WebhookEvent;
  /** Resolves when the client closed the request (aborted, or after the answer). */
  closed: Promise<void>;
}

/** What to answer to the n-th request (0-based). */
type Script = (n: number, r: Received) => number | 'hang';

class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly server: http.Server;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor(private readonly script: Script) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const r: Received = {
          headers: req.headers,
          body,
          event: JSON.parse(body) as WebhookEvent,
          closed: new Promise((resolve) => res.once('close', () => resolve())),
        };
        const n = this.received.length;
        this.received.push(r);
        const answer = this.script(n, r);
        if (answer !== 'hang') res.writeHead(answer, { 'Content-Type': 'text/plain' }).end('thanks');
        this.waiters = this.waiters.filter((w) =>
          this.received.length >= w.n ? (w.resolve(), false) : true,
        );
      });
    });
  }

  static async start(script: Script = () => 200): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(script);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `n` requests have arrived (the test's timeout bounds the wait). */
  waitFor(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  types(): string[] {
    return this.received.map((r) => r.event.type);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const receivers: WebhookReceiver[] = [];
const dispatchers: WebhookDispatcher[] = [];

async function receiver(script?: Script): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start(script);
  receivers.push(r);
  return r;
}

function dispatcher(
  conference: WebhookDispatcherOptions['conference'],
  targets: WebhookDispatcherOptions['targets'],
  over: Partial<WebhookDispatcherOptions> = {},
): WebhookDispatcher {
  const d = new WebhookDispatcher({
    conference,
    targets,
    log: silentLogger(),
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    closeGraceMs: 0,
    ...over,
  });
  dispatchers.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

function verifies(r: Received, secret: string): boolean {
  return verifySignature({
    secret,
    body: r.body,
    timestamp: r.headers['x-parley-timestamp'],
    signature: r.headers['x-parley-signature'],
  });
}

describe('webhooks to real HTTP receivers', () => {
  it('signs every delivery: it verifies with the secret and fails with another; events arrive in order', async () => {
    const rx = await receiver();
    const t = makeConference();
    dispatcher(t.conference, [{ url: rx.url, secret: SECRET }]);
    const alice = await t.join('demo', 'alice');
    const bob = await t.join('demo', 'bob');
    t.conference.setLocked('demo', true);
    await t.conference.mute(bob.participant!.id, true, 'moderator');
    t.conference.setLocked('demo', false);
    alice.session!.remoteBye();
    bob.session!.remoteBye();
    t.conference.endRoom('demo');
    await rx.waitFor(9);
    expect(rx.types()).toEqual([
      'room.created',
      'participant.joined',
      'participant.joined',
      'room.locked',
      'participant.muted',
      'room.unlocked',
      'participant.left',
      'participant.left',
      'room.closed',
    ]);
    expect(rx.received.map((r) => r.event.participant?.displayName ?? null).slice(0, 3)).toEqual([
      null,
      'alice',
      'bob',
    ]);
    for (const r of rx.received) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-parley-event']).toBe(r.event.type);
      expect(r.headers['x-parley-delivery']).toBe(r.event.id);
      expect(verifies(r, SECRET)).toBe(true);
      expect(verifies(r, 'another-secret-0123456789')).toBe(false);
    }
  });

  it('a receiver answering 500 twice then 200 gets the event on the 3rd attempt, same delivery id', async () => {
    const rx = await receiver((n) => (n < 2 ? 500 : 200));
    const t = makeConference();
    const d = dispatcher(t.conference, [{ url: rx.url, secret: SECRET, events: ['room.created'] }]);
    await t.join('demo');
    await rx.waitFor(3);
    await d.idle();
    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((r) => r.headers['x-parley-delivery'])).size).toBe(1);
    expect(rx.received.every((r) => verifies(r, SECRET))).toBe(true);
    expect(d.counters()).toEqual({ delivered: 1, failed: 0, dropped: 0, retried: 2 });
  });

  it('a hung receiver delays neither the other target nor the conference; close() aborts its request', async () => {
    const hung = await receiver(() => 'hang');
    const ok = await receiver();
    const t = makeConference();
    const d = dispatcher(
      t.conference,
      [
        { url: hung.url, secret: SECRET },
        { url: ok.url, secret: SECRET },
      ],
      { timeoutMs: 600_000 },
    );
    const p = (await t.join('demo', 'alice')).participant!;
    await ok.waitFor(2);
    await hung.waitFor(1); // room.created, hanging
    // 50 observer emits: each returns having only queued (nothing reached either receiver meanwhile).
    const before = [hung.received.length, ok.received.length];
    for (let i = 0; i < 50; i++) p.setHand(i % 2 === 0);
    expect([hung.received.length, ok.received.length]).toEqual(before);
    expect(d.stats().map((s) => s.pending)).toEqual([51, 50]); // the hung target also holds participant.joined
    await ok.waitFor(52);
    expect(ok.types().slice(2)).toEqual(Array.from({ length: 50 }, () => 'participant.hand'));
    expect(ok.received.slice(2).map((r) => r.event.data['raised'])).toEqual(
      Array.from({ length: 50 }, (_, i) => i % 2 === 0),
    );
    expect(hung.received).toHaveLength(1);
    expect(d.stats()[0]).toMatchObject({ delivered: 0, pending: 51 });
    await d.close();
    await hung.received[0]!.closed; // the hanging request was aborted by close()
    expect(d.stats()[0]).toMatchObject({ delivered: 0, pending: 0, dropped: 52 });
  });

  it('sends each target only the events its filter names', async () => {
    const locks = await receiver();
    const people = await receiver();
    const t = makeConference();
    const d = dispatcher(t.conference, [
      { url: locks.url, secret: SECRET, events: ['room.locked', 'room.unlocked'] },
      { url: people.url, secret: SECRET, events: ['participant.*'] },
    ]);
    const a = await t.join('demo', 'alice');
    t.conference.setLocked('demo', true);
    t.conference.setLocked('demo', false);
    a.session!.remoteBye();
    await d.idle();
    expect(locks.types()).toEqual(['room.locked', 'room.unlocked']);
    expect(people.types()).toEqual(['participant.joined', 'participant.left']);
    expect(people.received[1]!.event.data).toEqual({ reason: 'remote-bye' });
  });

  it('a 4xx is not retried', async () => {
    const rx = await receiver(() => 404);
    const t = makeConference();
    const d = dispatcher(t.conference, [{ url: rx.url, secret: SECRET, events: ['room.created'] }]);
    await t.join('demo');
    await rx.waitFor(1);
    await d.idle();
    expect(rx.received).toHaveLength(1);
    expect(d.counters()).toEqual({ delivered: 0, failed: 1, dropped: 0, retried: 0 });
  });

  it('a receiver that is not listening is retried, then counted as failed', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const t = makeConference();
    const d = dispatcher(
      t.conference,
      [{ url: `http://127.0.0.1:${port}/x`, secret: SECRET, events: ['room.created'] }],
      {
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      },
    );
    await t.join('demo');
    await new Promise((r) => setImmediate(r));
    await d.idle();
    expect(d.counters()).toEqual({ delivered: 0, failed: 1, dropped: 0, retried: 2 });
  });
});

describe('webhooks from a running Parley (App in-process, a real SIP call)', () => {
  let running: InProcessApp | undefined;
  let app: App | undefined;

  beforeAll(async () => {
    running = await startInProcessApp({
      name: 'webhooks',
      portBase: 36000,
      overrides: { conference: { emptyRoomGraceSeconds: 0 } },
    });
    app = running.app;
  });

  afterAll(() => running?.close());

  it('a phone calling in and hanging up is room.created, participant.joined (sip), participant.left (remote-bye)', async () => {
    const rx = await receiver();
    const d = dispatcher(app!.conference, [
      { url: rx.url, secret: SECRET, events: ['room.created', 'participant.*'] },
    ]);
    const phone = await SipPhone.call({
      target: `sip:hooks@127.0.0.1:${app!.sip.ports.udp!}`,
      user: 'carol',
      codec: 'PCMU',
      tone: null,
    });
    await rx.waitFor(2);
    await phone.close();
    await rx.waitFor(3);
    await d.idle();
    expect(rx.types()).toEqual(['room.created', 'participant.joined', 'participant.left']);
    const joined = rx.received[1]!.event;
    expect(joined.room.id).toBe('hooks');
    expect(joined.participant).toMatchObject({ kind: 'sip', uri: expect.stringContaining('carol') });
    expect(rx.received[2]!.event.data).toEqual({ reason: 'remote-bye' });
    expect(rx.received.every((r) => verifies(r, SECRET))).toBe(true);
  });
});
