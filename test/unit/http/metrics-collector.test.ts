/**
 * MetricsCollector against sources of our own making (a conference with two rooms, a SIP trace, quality figures,
 * workers, media threads, webhooks, the source guard): every name carries the `parley_` prefix, labels are the
 * bounded sets the collector promises, and the values are the sources' own. The media threads' event-loop
 * utilisation is also read from real worker threads: a spinning one against an idle one.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import type { Conference, ConferenceObserverEvents } from '../../../src/conference/conference';
import { LeaveReason } from '../../../src/conference/participant/leave-reason';
import { ParticipantState, type Participant } from '../../../src/conference/participant/participant';
import type { Room } from '../../../src/conference/room/room';
import {
  METRICS_PREFIX,
  MetricsCollector,
  type ThreadFigures,
} from '../../../src/http/metrics/metrics-collector';
import type { MessageTrace } from '../../../src/sip/ua/message-trace';
import { TypedEmitter } from '../../../src/util/typed-emitter';

const log = pino({ level: 'silent' });

/** The value of the sample `series` (labels as written in the exposition), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface FakeParticipant {
  id: string;
  kind: string;
  state: ParticipantState;
}

/** A conference as the collector reads it: rooms with participants, mixer figures, the drain flag, the observer. */
class FakeConference {
  readonly observer = new TypedEmitter<ConferenceObserverEvents>(log);
  isDraining = false;
  rooms = new Map<string, FakeParticipant[]>();
  statsCalls = 0;

  listRooms(): Room[] {
    return [...this.rooms].map(([id, ps]) => ({ id, participants: () => ps }) as unknown as Room);
  }

  async stats(room: string): Promise<Awaited<ReturnType<Conference['stats']>>> {
    this.statsCalls++;
    if (room === 'broken') throw new Error('mixer gone');
    return { tickMeanUs: 250, tickMaxUs: 1500, lateMaxMs: 4, skippedTicks: 3 } as Awaited<
      ReturnType<Conference['stats']>
    >;
  }
}

/** A thread whose event-loop figures are scripted: `active` grows by `busy` ms per `idle + busy` ms read. */
class ScriptedThread implements ThreadFigures {
  readings = 0;
  private active = 0;
  private idle = 0;
  constructor(
    readonly index: number,
    public alive: boolean,
    readonly relayCount: number,
    private readonly steps: Array<{ active: number; idle: number }>,
  ) {}

  eventLoopUtilization(since?: EventLoopUtilization): EventLoopUtilization {
    if (!since) {
      const step = this.steps[Math.min(this.readings++, this.steps.length - 1)]!;
      this.active += step.active;
      this.idle += step.idle;
      return { active: this.active, idle: this.idle, utilization: this.active / (this.active + this.idle) };
    }
    const active = this.active - since.active;
    const idle = this.idle - since.idle;
    return { active, idle, utilization: active + idle === 0 ? 0 : active / (active + idle) };
  }
}

const participant = (p: FakeParticipant): Participant => p as unknown as Participant;
const trace = (direction: 'in' | 'out', method: string, status: number | null): MessageTrace => ({
  direction,
  at: 0,
  callId: 'c',
  method,
  status,
  transport: 'UDP',
  local: '127.0.0.1:5060',
  remote: '127.0.0.1:5070',
  raw: '',
});

describe('MetricsCollector', () => {
  const conf = new FakeConference();
  const traceListeners = new Set<(t: MessageTrace) => void>();
  const threads = [
    new ScriptedThread(0, true, 4, [
      { active: 30, idle: 70 },
      { active: 90, idle: 10 },
    ]),
  ];
  let dead: ScriptedThread;
  let c: MetricsCollector;

  beforeAll(() => {
    conf.rooms.set('red', [
      { id: 'a', kind: 'sip', state: ParticipantState.Joined },
      { id: 'b', kind: 'sip', state: ParticipantState.Joining },
      { id: 'c', kind: 'webrtc', state: ParticipantState.Joined },
    ]);
    conf.rooms.set('blue', [{ id: 'd', kind: 'sip', state: ParticipantState.Joined }]);
    dead = new ScriptedThread(1, false, 9, [{ active: 1, idle: 1 }]);
    threads.push(dead);
    const quality: Record<string, { loss: number | null; jitterMs: number | null; mos: number | null }> = {
      a: { loss: 0.1, jitterMs: 20, mos: 4 },
      b: { loss: null, jitterMs: null, mos: null },
      c: { loss: 0, jitterMs: 5, mos: 4.4 },
      d: { loss: 0.3, jitterMs: 40, mos: 3 },
    };
    c = new MetricsCollector({
      conference: conf as unknown as Pick<Conference, 'listRooms' | 'stats' | 'isDraining' | 'observer'>,
      sipTrace: (l) => {
        traceListeners.add(l);
        return () => traceListeners.delete(l);
      },
      quality: { get: (id) => quality[id]! },
      workers: {
        status: () => [
          { pid: 101, alive: true, routers: 2 },
          { pid: 102, alive: false, routers: 0 },
        ],
      },
      processFigures: (pid) => (pid === 101 ? { residentBytes: 5_000_000, cpuSeconds: 12.5 } : null),
      threads: { all: threads },
      webhooks: { counters: () => ({ delivered: 7, failed: 1, dropped: 0, retried: 2 }) },
      guard: {
        stats: () => ({ dropped: { rate: 40, scanner: 3 }, bans: 2, bansActive: 1, sources: 5 }),
      },
      defaultMetrics: false,
    });
  });

  afterAll(() => c.close());

  it('reads the conference, the SIP trace, quality, workers, threads, webhooks and the guard', async () => {
    for (const l of traceListeners) {
      l(trace('out', 'INVITE', 200));
      l(trace('out', 'INVITE', 200));
      l(trace('out', 'OPTIONS', 503));
      l(trace('in', 'INVITE', null)); // a request received: not a response sent
      l(trace('in', 'BYE', 200)); // a response received: not ours
    }
    c.callAttempt(200);
    c.callAttempt(503);
    c.callAttempt(503);
    const x: FakeParticipant = { id: 'x', kind: 'sip', state: ParticipantState.Joined };
    const y: FakeParticipant = { id: 'y', kind: 'webrtc', state: ParticipantState.Left };
    const room = {} as Room;
    conf.observer.emit('participantJoined', participant(x), room);
    conf.observer.emit('participantLeft', participant(x), LeaveReason.RemoteBye, room); // left after joining
    conf.observer.emit('participantLeft', participant(y), LeaveReason.PinFailed, room); // never joined
    conf.isDraining = true;

    const { contentType, body: text } = await c.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(sample(text, 'parley_draining')).toBe(1);
    expect(sample(text, 'parley_rooms')).toBe(2);
    expect(sample(text, 'parley_participants{kind="sip",state="joined"}')).toBe(2);
    expect(sample(text, 'parley_participants{kind="sip",state="joining"}')).toBe(1);
    expect(sample(text, 'parley_participants{kind="webrtc",state="joined"}')).toBe(1);
    expect(sample(text, 'parley_calls{kind="sip"}')).toBe(2);
    expect(sample(text, 'parley_calls{kind="webrtc"}')).toBe(1);

    expect(sample(text, 'parley_sip_responses_sent_total{code="200",method="INVITE"}')).toBe(2);
    expect(sample(text, 'parley_sip_responses_sent_total{code="503",method="OPTIONS"}')).toBe(1);
    expect(text).not.toContain('method="BYE"');
    expect(sample(text, 'parley_call_attempts_total{result="200"}')).toBe(1);
    expect(sample(text, 'parley_call_attempts_total{result="503"}')).toBe(2);
    expect(sample(text, 'parley_call_setups_total{kind="sip",result="joined"}')).toBe(1);
    expect(sample(text, 'parley_call_setups_total{kind="webrtc",result="pin-failed"}')).toBe(1);
    expect(text).not.toContain('result="remote-bye"');

    // Quality by kind: sip is a and d (b has no figures yet and is left out), webrtc is c.
    expect(sample(text, 'parley_rtp_loss_ratio{kind="sip",stat="max"}')).toBe(0.3);
    expect(sample(text, 'parley_rtp_loss_ratio{kind="sip",stat="min"}')).toBe(0.1);
    expect(sample(text, 'parley_rtp_loss_ratio{kind="sip",stat="mean"}')).toBeCloseTo(0.2, 10);
    expect(sample(text, 'parley_rtp_jitter_seconds{kind="sip",stat="max"}')).toBe(0.04);
    expect(sample(text, 'parley_call_mos{kind="webrtc",stat="mean"}')).toBe(4.4);

    // Mixers: one reading per room per scrape, shared by the five mixer series; a failing room is left out.
    expect(conf.statsCalls).toBe(2);
    expect(sample(text, 'parley_mixer_rooms')).toBe(2);
    expect(sample(text, 'parley_mixer_tick_mean_seconds{room="red"}')).toBe(0.00025);
    expect(sample(text, 'parley_mixer_tick_max_seconds{room="blue"}')).toBe(0.0015);
    expect(sample(text, 'parley_mixer_late_max_seconds{room="red"}')).toBe(0.004);
    expect(sample(text, 'parley_mixer_overruns{room="red"}')).toBe(3);

    // Workers: the live one only, its /proc figures as given.
    expect(sample(text, 'parley_mediasoup_worker_routers{worker="0"}')).toBe(2);
    expect(sample(text, 'parley_mediasoup_worker_resident_memory_bytes{worker="0"}')).toBe(5_000_000);
    expect(sample(text, 'parley_mediasoup_worker_cpu_seconds_total{worker="0"}')).toBe(12.5);
    expect(text).not.toContain('worker="1"');

    // Threads: the live one only.
    expect(sample(text, 'parley_media_thread_relays{thread="0"}')).toBe(4);
    expect(sample(text, 'parley_media_thread_event_loop_utilization{thread="0"}')).toBe(0.3);
    expect(text).not.toContain('thread="1"');

    expect(sample(text, 'parley_webhook_events_total{outcome="delivered"}')).toBe(7);
    expect(sample(text, 'parley_webhook_events_total{outcome="retried"}')).toBe(2);
    expect(sample(text, 'parley_sip_dropped_total{reason="rate"}')).toBe(40);
    expect(sample(text, 'parley_sip_dropped_total{reason="scanner"}')).toBe(3);
    expect(sample(text, 'parley_sip_bans_total')).toBe(2);
    expect(sample(text, 'parley_sip_bans_active')).toBe(1);
  });

  it('names every series with the parley_ prefix and a HELP and TYPE line', async () => {
    const text = (await c.scrape()).body;
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(30);
    expect(samples.filter((l) => !l.startsWith(METRICS_PREFIX))).toEqual([]);
    const metrics = await c.registry.getMetricsAsJSON();
    for (const m of metrics) {
      expect(m.name.startsWith(METRICS_PREFIX)).toBe(true);
      expect(m.help.length).toBeGreaterThan(10);
      expect(text).toContain(`# TYPE ${m.name} `);
    }
    // No unbounded label: never a participant id, a URI or a Call-ID.
    const labels = new Set(metrics.flatMap((m) => m.values.flatMap((v) => Object.keys(v.labels))));
    expect([...labels].sort()).toEqual(
      [
        'code',
        'kind',
        'method',
        'outcome',
        'reason',
        'result',
        'room',
        'stat',
        'state',
        'thread',
        'worker',
      ].sort(),
    );
  });

  it("reports a thread's utilisation between two scrapes, not since it started", async () => {
    // Scripted: 30 ms busy of the first 100 (the first scrape: 0.3), then 90 of each further 100. This is the fourth
    // reading (the test above collected twice): since the thread started, 300 busy of 400 (0.75); since the previous
    // reading, 0.9.
    const text = (await c.scrape()).body;
    expect(sample(text, 'parley_media_thread_event_loop_utilization{thread="0"}')).toBe(0.9);
    const t = threads[0]!;
    expect(t.readings).toBe(4);
  });

  it('stops counting once closed (close is idempotent)', async () => {
    const other = new MetricsCollector({
      conference: conf as unknown as Pick<Conference, 'listRooms' | 'stats' | 'isDraining' | 'observer'>,
      defaultMetrics: false,
    });
    const before = conf.observer.listenerCount('participantJoined');
    other.close();
    other.close();
    expect(conf.observer.listenerCount('participantJoined')).toBe(before - 1);
    other.callAttempt(200);
    expect(sample((await other.scrape()).body, 'parley_call_attempts_total{result="200"}')).toBeUndefined();
  });
});

describe('media thread event-loop utilisation from real worker threads', () => {
  const workers: Worker[] = [];
  afterAll(async () => {
    for (const w of workers) await w.terminate();
  });

  /** A worker thread as a media thread: `busy` spins its event loop, else it only ticks every 20 ms. */
  const start = async (index: number, busy: boolean): Promise<ThreadFigures> => {
    const code = busy
      ? `const spin = () => { const end = Date.now() + 5; while (Date.now() < end); setImmediate(spin); }; spin();
         require('worker_threads').parentPort.postMessage('ready');`
      : `setInterval(() => {}, 20); require('worker_threads').parentPort.postMessage('ready');`;
    const w = new Worker(code, { eval: true });
    workers.push(w);
    await new Promise((r) => w.once('message', r));
    return {
      index,
      alive: true,
      relayCount: 0,
      eventLoopUtilization: (since) => w.performance.eventLoopUtilization(since),
    };
  };

  it('reads a spinning thread as busier than an idle one, both within 0..1', async () => {
    const all = [await start(0, true), await start(1, false)];
    const c = new MetricsCollector({
      conference: new FakeConference() as unknown as Pick<
        Conference,
        'listRooms' | 'stats' | 'isDraining' | 'observer'
      >,
      threads: { all },
      defaultMetrics: false,
    });
    await c.scrape();
    // Let both loops run for a while (how long does not matter: the spinning one is never idle).
    await new Promise((r) => setTimeout(r, 300));
    const text = (await c.scrape()).body;
    c.close();
    const spinning = sample(text, 'parley_media_thread_event_loop_utilization{thread="0"}')!;
    const idle = sample(text, 'parley_media_thread_event_loop_utilization{thread="1"}')!;
    for (const v of [spinning, idle]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(spinning).toBeGreaterThan(idle);
  });
});
