import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message';
import {
  SubscriptionEndCause,
  SubscriptionNotifier,
  TerminatedReason,
  type Subscription,
  type SubscriptionEnd,
} from '../../../../src/sip/subscription';
import { req, responseTo } from '../../../support/sip-messages';
import { flush, makeUa } from '../../../support/ua-harness';

const XML = 'application/conference-info+xml';

function subscribe(
  opts: {
    event?: string | null;
    expires?: number | null;
    toTag?: string;
    cseq?: number;
    branch?: string;
    extra?: string[];
    contact?: boolean;
  } = {},
): SipRequest {
  return req([
    `SUBSCRIBE sip:room1@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${opts.branch ?? 'z9hG4bK-s1'}`,
    'Max-Forwards: 70',
    'From: <sip:watcher@127.0.0.1>;tag=w1',
    `To: <sip:room1@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    'Call-ID: sub-1',
    `CSeq: ${opts.cseq ?? 1} SUBSCRIBE`,
    ...(opts.contact === false ? [] : ['Contact: <sip:watcher@127.0.0.1:5070>']),
    ...(opts.event === null ? [] : [`Event: ${opts.event ?? 'conference'}`]),
    ...(opts.expires === null ? [] : [`Expires: ${opts.expires ?? 600}`]),
    ...(opts.extra ?? []),
  ]);
}

/** A notifier on a fake-transport UA with a 'conference' package whose state is a counter. */
function setup(pkg: { reject?: number; pending?: boolean } = {}) {
  const ua = makeUa();
  const notifier = new SubscriptionNotifier(ua.core);
  let n = 0;
  const subs: Subscription[] = [];
  const ends: SubscriptionEnd[] = [];
  notifier.register('conference', {
    contentTypes: [XML],
    defaultExpires: 3600,
    minExpires: 60,
    maxExpires: 1800,
    subscribe: (s) => {
      if (pkg.reject) {
        s.reject(pkg.reject);
        return;
      }
      const sub = s.accept({
        state: () => ({ body: `<state n="${++n}"/>`, contentType: XML }),
        pending: pkg.pending,
      });
      sub.on('terminated', (e) => ends.push(e));
      subs.push(sub);
    },
  });
  const responses = (): SipResponse[] =>
    ua.transport.sent.map((s) => s.msg).filter((m): m is SipResponse => !('method' in m));
  const notifies = (): SipRequest[] => ua.requests('NOTIFY');
  /** answers the last NOTIFY with `status` */
  const answer = async (status = 200): Promise<void> => {
    const list = notifies();
    ua.receiveResponse(responseTo(list[list.length - 1]!, status));
    await flush();
  };
  return { ua, notifier, subs, ends, responses, notifies, answer };
}

describe('SubscriptionNotifier (RFC 6665 notifier side)', () => {
  it('accepts a SUBSCRIBE with 200 (Expires, Contact, To tag, Allow-Events) and sends the first NOTIFY at once (§4.2.1.1, §4.2.1.2)', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    const res = t.responses().at(-1)!;
    expect(res.status).toBe(200);
    expect(res.headers.get('Expires')).toBe('600');
    expect(res.headers.get('Contact')).toContain('sip:');
    expect(res.headers.get('Allow-Events')).toBe('conference');
    expect(res.to.tag).toBeTruthy();
    const [notify] = t.notifies();
    expect(notify).toBeDefined();
    expect(notify!.uri.toString()).toBe('sip:watcher@127.0.0.1:5070');
    expect(notify!.headers.get('Event')).toBe('conference');
    expect(notify!.headers.get('Subscription-State')).toBe('active;expires=600');
    expect(notify!.headers.get('Content-Type')).toBe(XML);
    expect(notify!.body.toString()).toBe('<state n="1"/>');
    // the NOTIFY is in the dialog the 200 created: From tag = our To tag, To tag = the subscriber's From tag
    expect(notify!.from.tag).toBe(res.to.tag);
    expect(notify!.to.tag).toBe('w1');
    expect(notify!.callId).toBe('sub-1');
    expect(notify!.headers.get('Contact')).toBeTruthy();
    expect(t.notifier.size).toBe(1);
  });

  it('an unknown event package MUST get 489 Bad Event with Allow-Events (§4.2.1, §7.2.2)', () => {
    const t = setup();
    t.ua.receive(subscribe({ event: 'presence' }));
    const res = t.responses().at(-1)!;
    expect(res.status).toBe(489);
    expect(res.headers.get('Allow-Events')).toBe('conference');
    expect(t.notifies()).toHaveLength(0);
  });

  it('a SUBSCRIBE without Event gets 400 with a reason', () => {
    const t = setup();
    t.ua.receive(subscribe({ event: null }));
    const res = t.responses().at(-1)!;
    expect(res.status).toBe(400);
    expect(res.reason).toBe('Missing Event header');
  });

  it('a SUBSCRIBE without Contact gets 400 (RFC 3261 §8.1.1.8)', () => {
    const t = setup();
    t.ua.receive(subscribe({ contact: false }));
    expect(t.responses().at(-1)!.reason).toBe('Missing Contact');
  });

  it('too brief an Expires MUST get 423 with Min-Expires (§4.2.1.1)', () => {
    const t = setup();
    t.ua.receive(subscribe({ expires: 10 }));
    const res = t.responses().at(-1)!;
    expect(res.status).toBe(423);
    expect(res.headers.get('Min-Expires')).toBe('60');
  });

  it('a longer Expires is shortened, never lengthened; none takes the package default (§4.2.1.1)', async () => {
    const t = setup();
    t.ua.receive(subscribe({ expires: 99999 }));
    await flush();
    expect(t.responses().at(-1)!.headers.get('Expires')).toBe('1800');
    const t2 = setup();
    t2.ua.receive(subscribe({ expires: null }));
    await flush();
    // default 3600 > max 1800
    expect(t2.responses().at(-1)!.headers.get('Expires')).toBe('1800');
  });

  it('an Accept without the package type gets 406', () => {
    const t = setup();
    t.ua.receive(subscribe({ extra: ['Accept: application/pidf+xml'] }));
    expect(t.responses().at(-1)!.status).toBe(406);
    const t2 = setup();
    t2.ua.receive(subscribe({ extra: ['Accept: application/*'] }));
    expect(t2.responses().at(-1)!.status).toBe(200);
  });

  it('the package can reject (404 unknown resource) and no dialog remains', () => {
    const t = setup({ reject: 404 });
    t.ua.receive(subscribe());
    expect(t.responses().at(-1)!.status).toBe(404);
    t.ua.receive(subscribe({ toTag: 'whatever', cseq: 2, branch: 'z9hG4bK-s2' }));
    expect(t.responses().at(-1)!.status).toBe(481);
  });

  it('a refresh in the dialog gets 200 with the new Expires and a NOTIFY of the current state (§4.2.1.2)', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    await t.answer(200);
    const tag = t.responses().at(-1)!.to.tag!;
    let refreshed = 0;
    t.subs[0]!.on('refresh', (e) => (refreshed = e));
    t.ua.clock.advance(500_000);
    t.ua.receive(subscribe({ toTag: tag, cseq: 2, branch: 'z9hG4bK-s2', expires: 900 }));
    await flush();
    const res = t.responses().at(-1)!;
    expect(res.status).toBe(200);
    expect(res.headers.get('Expires')).toBe('900');
    expect(refreshed).toBe(900);
    const n = t.notifies();
    expect(n).toHaveLength(2);
    expect(n[1]!.headers.get('Subscription-State')).toBe('active;expires=900');
    expect(n[1]!.body.toString()).toBe('<state n="2"/>');
    expect(n[1]!.cseq.seq).toBe(n[0]!.cseq.seq + 1);
    // the refresh moved the expiry: 600 s after the first SUBSCRIBE it is still alive
    t.ua.clock.advance(200_000);
    expect(t.subs[0]!.terminated).toBe(false);
  });

  it('Expires: 0 in the dialog unsubscribes: 200 then a final NOTIFY terminated;reason=timeout (§4.2.1.4)', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    await t.answer(200);
    const tag = t.responses().at(-1)!.to.tag!;
    t.ua.receive(subscribe({ toTag: tag, cseq: 2, branch: 'z9hG4bK-s2', expires: 0 }));
    await flush();
    expect(t.responses().at(-1)!.headers.get('Expires')).toBe('0');
    const last = t.notifies().at(-1)!;
    expect(last.headers.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(last.body.toString()).toBe('<state n="2"/>');
    expect(t.ends).toEqual([{ cause: SubscriptionEndCause.Unsubscribed, reason: TerminatedReason.Timeout }]);
    expect(t.notifier.size).toBe(0);
    // the dialog is gone
    t.ua.receive(subscribe({ toTag: tag, cseq: 3, branch: 'z9hG4bK-s3' }));
    expect(t.responses().at(-1)!.status).toBe(481);
  });

  it('a refresh shorter than Min-Expires gets 423 and the subscription goes on', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    const tag = t.responses().at(-1)!.to.tag!;
    t.ua.receive(subscribe({ toTag: tag, cseq: 2, branch: 'z9hG4bK-s2', expires: 5 }));
    expect(t.responses().at(-1)!.status).toBe(423);
    expect(t.subs[0]!.terminated).toBe(false);
  });

  it('a refresh for another event in the dialog gets 481; a lower CSeq gets 500 (RFC 3261 §12.2.2)', async () => {
    const t = setup();
    t.ua.receive(subscribe({ cseq: 5 }));
    await flush();
    const tag = t.responses().at(-1)!.to.tag!;
    t.ua.receive(subscribe({ toTag: tag, cseq: 6, branch: 'z9hG4bK-s2', event: 'conference;id=7' }));
    expect(t.responses().at(-1)!.status).toBe(481);
    t.ua.receive(subscribe({ toTag: tag, cseq: 4, branch: 'z9hG4bK-s3' }));
    expect(t.responses().at(-1)!.status).toBe(500);
  });

  it('at the expiry the notifier sends a final NOTIFY terminated;reason=timeout (§4.2.2)', async () => {
    const t = setup();
    t.ua.receive(subscribe({ expires: 120 }));
    await flush();
    await t.answer(200);
    t.ua.clock.advance(119_000);
    expect(t.subs[0]!.terminated).toBe(false);
    t.ua.clock.advance(1_000);
    await flush();
    expect(t.notifies().at(-1)!.headers.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(t.ends[0]!.cause).toBe(SubscriptionEndCause.Expired);
  });

  it('terminate(noresource) sends the final NOTIFY after those already queued, in order', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    const sub = t.subs[0]!;
    void sub.notify({ body: '<partial/>', contentType: XML });
    const fin = sub.terminate(TerminatedReason.NoResource);
    expect(sub.terminated).toBe(true);
    // one NOTIFY at a time: only the first is out until it is answered
    expect(t.notifies()).toHaveLength(1);
    await t.answer(200);
    expect(t.notifies()).toHaveLength(2);
    expect(t.notifies()[1]!.body.toString()).toBe('<partial/>');
    await t.answer(200);
    const last = t.notifies().at(-1)!;
    expect(last.headers.get('Subscription-State')).toBe('terminated;reason=noresource');
    await t.answer(200);
    expect((await fin)?.status).toBe(200);
    expect(t.ends).toEqual([{ cause: SubscriptionEndCause.Terminated, reason: TerminatedReason.NoResource }]);
    // idempotent
    await sub.terminate();
    sub.close();
    expect(t.ends).toHaveLength(1);
    expect(t.notifies()).toHaveLength(3);
  });

  it('a NOTIFY answered 481 ends the subscription; nothing more is sent (§4.2.2)', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    await t.answer(481);
    expect(t.subs[0]!.terminated).toBe(true);
    expect(t.ends).toEqual([{ cause: SubscriptionEndCause.NotifyFailed, status: 481 }]);
    expect(await t.subs[0]!.notify({ body: 'x' })).toBeUndefined();
    expect(t.notifies()).toHaveLength(1);
    expect(t.notifier.size).toBe(0);
  });

  it('a NOTIFY that times out ends the subscription (Timer F, §4.2.2)', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    t.ua.clock.advance(64 * 500 + 1);
    await flush();
    expect(t.ends).toEqual([{ cause: SubscriptionEndCause.NotifyFailed, status: 408 }]);
  });

  it('pending until activated: Subscription-State pending, then active with the state (§4.2.1.1)', async () => {
    const t = setup({ pending: true });
    t.ua.receive(subscribe());
    await flush();
    expect(t.notifies()[0]!.headers.get('Subscription-State')).toBe('pending;expires=600');
    await t.answer(200);
    void t.subs[0]!.activate();
    await flush();
    expect(t.notifies()[1]!.headers.get('Subscription-State')).toBe('active;expires=600');
  });

  it('a fetch (Expires: 0) gets 200 and one NOTIFY terminated, no dialog kept (§4.4.3)', async () => {
    const t = setup();
    t.ua.receive(subscribe({ expires: 0 }));
    await flush();
    expect(t.responses().at(-1)!.status).toBe(200);
    expect(t.notifies()[0]!.headers.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(t.notifier.size).toBe(0);
  });

  it('a package that throws gets 500; one that leaves the SUBSCRIBE unanswered too', async () => {
    const ua = makeUa();
    const notifier = new SubscriptionNotifier(ua.core);
    notifier.register('conference', {
      contentTypes: [XML],
      subscribe: () => {
        throw new Error('boom');
      },
    });
    notifier.register('dialog', {
      contentTypes: ['application/dialog-info+xml'],
      subscribe: async () => undefined,
    });
    ua.receive(subscribe());
    expect(ua.statuses()).toEqual([500]);
    ua.receive(subscribe({ event: 'dialog', branch: 'z9hG4bK-s2', cseq: 2 }));
    await flush();
    expect(ua.statuses()).toEqual([500, 500]);
  });

  it('close() forgets every subscription without NOTIFY and is idempotent; SUBSCRIBE then gets 503', async () => {
    const t = setup();
    t.ua.receive(subscribe());
    await flush();
    await t.answer(200);
    t.notifier.close();
    t.notifier.close();
    expect(t.ends).toEqual([{ cause: SubscriptionEndCause.Closed }]);
    expect(t.notifies()).toHaveLength(1);
    t.ua.receive(subscribe({ branch: 'z9hG4bK-s9', cseq: 9 }));
    expect(t.responses().at(-1)!.status).toBe(503);
  });

  it('REFER out of dialog: acceptRefer answers 202 and sends NOTIFY Event: refer with the sipfrag (RFC 3515 §2.4.4)', async () => {
    const ua = makeUa();
    const notifier = new SubscriptionNotifier(ua.core);
    let frag = 'SIP/2.0 100 Trying';
    const subs: Subscription[] = [];
    ua.core.on('request', (r) => {
      if (r.method === 'REFER')
        subs.push(
          notifier.acceptRefer(r, {
            state: () => ({ body: frag, contentType: 'message/sipfrag;version=2.0' }),
          }),
        );
    });
    ua.receive(
      req([
        'REFER sip:room1@127.0.0.1:5060 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r1',
        'Max-Forwards: 70',
        'From: <sip:boss@127.0.0.1>;tag=b1',
        'To: <sip:room1@127.0.0.1>',
        'Call-ID: refer-1',
        'CSeq: 1 REFER',
        'Contact: <sip:boss@127.0.0.1:5070>',
        'Refer-To: <sip:carol@127.0.0.1:5080>',
      ]),
    );
    await flush();
    expect(ua.statuses()).toEqual([202]);
    const n1 = ua.requests('NOTIFY')[0]!;
    expect(n1.headers.get('Event')).toBe('refer');
    expect(n1.headers.get('Subscription-State')).toBe('active;expires=60');
    expect(n1.body.toString()).toBe('SIP/2.0 100 Trying');
    ua.receiveResponse(responseTo(n1, 200));
    await flush();
    frag = 'SIP/2.0 200 OK';
    void subs[0]!.terminate(TerminatedReason.NoResource, {
      body: frag,
      contentType: 'message/sipfrag;version=2.0',
    });
    await flush();
    const n2 = ua.requests('NOTIFY')[1]!;
    expect(n2.headers.get('Subscription-State')).toBe('terminated;reason=noresource');
    expect(n2.body.toString()).toBe('SIP/2.0 200 OK');
  });

  it('caps live subscriptions per source: 503 from the catalogue, a slot again once one ends; exempt sources are not capped', async () => {
    const run = async (exempt: boolean): Promise<number[]> => {
      const ua = makeUa();
      const notifier = new SubscriptionNotifier(ua.core, { maxPerSource: 2, isExempt: () => exempt });
      const subs: Subscription[] = [];
      notifier.register('conference', {
        contentTypes: [XML],
        subscribe: (s) => void subs.push(s.accept({ state: () => ({ body: 'x', contentType: XML }) })),
      });
      const statuses: number[] = [];
      for (let i = 1; i <= 3; i++) {
        ua.receive(
          req([
            'SUBSCRIBE sip:room1@127.0.0.1:5060 SIP/2.0',
            `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-cap${i}`,
            'Max-Forwards: 70',
            `From: <sip:watcher@127.0.0.1>;tag=cap${i}`,
            'To: <sip:room1@127.0.0.1>',
            `Call-ID: cap-${i}`,
            'CSeq: 1 SUBSCRIBE',
            'Contact: <sip:watcher@127.0.0.1:5070>',
            'Event: conference',
          ]),
        );
        await flush();
        const res = ua.transport.sent
          .map((x) => x.msg)
          .filter((m): m is SipResponse => !('method' in m))
          .at(-1)!;
        statuses.push(res.status);
        if (res.status === 503) expect(res.reason).toBe('Service Unavailable (too many subscriptions)');
      }
      if (!exempt) {
        subs[0]!.close();
        ua.receive(
          req([
            'SUBSCRIBE sip:room1@127.0.0.1:5060 SIP/2.0',
            'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-cap9',
            'Max-Forwards: 70',
            'From: <sip:watcher@127.0.0.1>;tag=cap9',
            'To: <sip:room1@127.0.0.1>',
            'Call-ID: cap-9',
            'CSeq: 1 SUBSCRIBE',
            'Contact: <sip:watcher@127.0.0.1:5070>',
            'Event: conference',
          ]),
        );
        await flush();
        statuses.push(ua.statuses().at(-1)!);
      }
      return statuses;
    };
    expect(await run(false)).toEqual([200, 200, 503, 200]);
    expect(await run(true)).toEqual([200, 200, 200]);
  });
});
