/**
 * GET /metrics on a whole in-process App with a real SIP call (our stack as the phone, the mediasoup worker, the
 * media thread): refused without credentials (and to a room's PIN session), the Prometheus exposition with an API
 * token, listing the call, the SIP 200 sent, the call attempt and set-up, the worker's memory and the mixer.
 */
import { startInProcessApp, type InProcessApp } from '../../support/in-process-app';
import { SipPhone } from '../../support/sip-phone';

jest.setTimeout(60_000);

const TOKEN = 'metrics-test-api-token-0123456789';

/** The value of the sample `name{labels}` (labels as written in the exposition), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  let a: InProcessApp;
  const phones: SipPhone[] = [];

  beforeAll(async () => {
    a = await startInProcessApp({
      name: 'metrics',
      portBase: 47600,
      overrides: { auth: { apiToken: TOKEN } },
    });
  });

  afterAll(async () => {
    for (const p of phones) await p.close();
    await a?.close();
  });

  const scrape = (headers: Record<string, string> = {}) => fetch(`${a.base}/metrics`, { headers });

  it('refuses a request without credentials (401) and a wrong token', async () => {
    const none = await scrape();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="parley"');
    expect(await none.json()).toMatchObject({ error: 'AUTH_REQUIRED' });
    expect((await scrape({ authorization: 'Bearer not-a-token-of-ours-at-all' })).status).toBe(401);
  });

  it('lists the call, the SIP 200, the attempt and set-up, the worker and the mixer with the token', async () => {
    const target = `sip:metrics@127.0.0.1:${a.app.sip.ports.udp}`;
    phones.push(await SipPhone.call({ target, user: 'alice', codec: 'PCMU', tone: 407 }));
    const res = await scrape({ authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();

    expect(text).toContain('# TYPE parley_calls gauge');
    expect(sample(text, 'parley_calls{kind="sip"}')).toBe(1);
    expect(sample(text, 'parley_participants{kind="sip",state="joined"}')).toBe(1);
    expect(sample(text, 'parley_rooms')).toBe(1);
    expect(sample(text, 'parley_draining')).toBe(0);
    expect(sample(text, 'parley_call_attempts_total{result="200"}')).toBe(1);
    expect(sample(text, 'parley_call_setups_total{kind="sip",result="joined"}')).toBe(1);
    // The 200 to the INVITE (and any retransmission of it) and the 100 Trying, counted from the SIP trace.
    expect(
      sample(text, 'parley_sip_responses_sent_total{code="200",method="INVITE"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'parley_sip_responses_sent_total{code="100",method="INVITE"}')).toBe(1);
    // The mediasoup worker, read from /proc: alive, some memory, some CPU.
    expect(sample(text, 'parley_mediasoup_worker_resident_memory_bytes{worker="0"}')).toBeGreaterThan(0);
    expect(text).toMatch(/^parley_mediasoup_worker_cpu_seconds_total\{worker="0"\} \d/m);
    // The room's mixer on its media thread, and the thread's relay for the phone.
    expect(sample(text, 'parley_mixer_rooms')).toBe(1);
    expect(text).toMatch(/^parley_mixer_tick_mean_seconds\{room="metrics"\} [\d.e-]+$/m);
    expect(sample(text, 'parley_media_thread_relays{thread="0"}')).toBe(1);
    expect(text).toMatch(/^parley_media_thread_event_loop_utilization\{thread="0"\} (0(\.\d+)?|1)(e-\d+)?$/m);
    // prom-client's process metrics under our prefix: memory and event-loop lag.
    expect(sample(text, 'parley_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE parley_nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE parley_webhook_events_total counter');
    // The SIP source guard's counters (nothing dropped or banned here).
    expect(sample(text, 'parley_sip_bans_total')).toBe(0);
    expect(sample(text, 'parley_sip_bans_active')).toBe(0);
    expect(text).toContain('# TYPE parley_sip_dropped_total counter');
    // Nothing outside our prefix (a registry of our own, not prom-client's global one).
    const names = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(names.filter((l) => !l.startsWith('parley_'))).toEqual([]);
  });

  it('counts the refusals by SIP status: a draining server answers 503', async () => {
    void a.app.drain({ deadlineSeconds: 600 });
    const target = `sip:metrics@127.0.0.1:${a.app.sip.ports.udp}`;
    await expect(SipPhone.call({ target, user: 'bob', codec: 'PCMU', tone: null })).rejects.toMatchObject({
      status: 503,
    });
    const text = await (await scrape({ authorization: `Bearer ${TOKEN}` })).text();
    expect(sample(text, 'parley_draining')).toBe(1);
    expect(sample(text, 'parley_call_attempts_total{result="503"}')).toBe(1);
    expect(
      sample(text, 'parley_sip_responses_sent_total{code="503",method="INVITE"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'parley_calls{kind="sip"}')).toBe(1);
  });
});
