import type { EventLoopUtilization } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Conference } from '../../conference/conference';
import type { LeaveReason } from '../../conference/participant/leave-reason';
import { ParticipantState, type Participant } from '../../conference/participant/participant';
import type { MessageTrace } from '../../sip/ua/message-trace';
import { readProcessFigures, type ProcessFigures } from './process-figures';

/** One room's mixer figures (Conference.stats). */
interface MixerFigure {
  room: string;
  stats: NonNullable<Awaited<ReturnType<Conference['stats']>>>;
}

/** Every metric's name starts with this (prom-client's default process metrics too). */
export const METRICS_PREFIX = 'parley_';

/** The latest call-quality figures of one participant (QualityMonitor.get). */
export interface QualitySource {
  get(participantId: string): { loss: number | null; jitterMs: number | null; mos: number | null };
}

/** The mediasoup workers (WorkerPool.status): their pids, read in /proc for CPU and memory. */
export interface WorkerSource {
  status(): Array<{ pid: number; alive: boolean; routers: number }>;
}

/** One media thread (MediaThread). */
export interface ThreadFigures {
  readonly index: number;
  readonly alive: boolean;
  readonly relayCount: number;
  /** Node's event-loop utilisation of the thread, since it started or since `since` (MediaThread). */
  eventLoopUtilization(since?: EventLoopUtilization): EventLoopUtilization;
}

/** The media threads (MediaThreadPool.all). */
export interface ThreadSource {
  readonly all: ReadonlyArray<ThreadFigures>;
}

/** Webhook delivery counters (WebhookDispatcher.counters). */
export interface WebhookSource {
  counters(): { delivered: number; failed: number; dropped: number; retried: number };
}

/** The SIP source guard's counters (rate-limit drops by reason, bans): `SourceGuard.stats()`. */
export interface GuardSource {
  stats(): { dropped: Record<string, number>; bans: number; bansActive: number; sources: number };
}

export interface MetricsCollectorOptions {
  conference: Pick<Conference, 'listRooms' | 'stats' | 'isDraining' | 'observer'>;
  /** Every SIP message in and out (SipStack.onTrace); returns the unsubscribe function. */
  sipTrace?: (listener: (t: MessageTrace) => void) => () => void;
  quality?: QualitySource;
  workers?: WorkerSource;
  threads?: ThreadSource;
  webhooks?: WebhookSource;
  guard?: GuardSource;
  /** Reads a process's CPU and memory (tests give their own); default: /proc on Linux. */
  processFigures?: (pid: number) => ProcessFigures | null;
  /** prom-client's default process metrics (memory, CPU, event-loop lag, GC); default true. */
  defaultMetrics?: boolean;
}

/**
 * Parley's Prometheus metrics, in a registry of its own (never prom-client's global one, so two Apps in one test
 * process do not collide). Everything is read when scraped (the metrics' `collect` callbacks), from the live
 * objects: no timer runs for metrics. Only what cannot be read later is counted as it happens: SIP responses sent
 * (from the SIP stack's message trace, whose summary already carries the status: nothing is parsed again), call
 * attempts (the focus's answer to each new INVITE) and call set-ups (the conference observer).
 *
 * Names (all prefixed `parley_`): see `describe()` in the README; labels are bounded sets (kinds, states, SIP
 * codes, leave reasons, room names, worker/thread indexes): no participant ids, no URIs.
 */
export class MetricsCollector {
  readonly registry = new Registry();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly sipResponses: Counter<'code' | 'method'>;
  private readonly attempts: Counter<'result'>;
  private readonly setups: Counter<'kind' | 'result'>;
  private closed = false;
  /** Forgets the last scrape's reading of the rooms' mixers. */
  private readonly newScrape: () => void;

  constructor(opts: MetricsCollectorOptions) {
    const r = this.registry;
    const p = METRICS_PREFIX;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r, prefix: p });
    const conf = opts.conference;

    // ---------------------------------------------------------------- conference
    new Gauge({
      name: `${p}draining`,
      help: '1 while the server drains (new calls refused with 503), else 0.',
      registers: [r],
      collect() {
        this.set(conf.isDraining ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}rooms`,
      help: 'Open rooms.',
      registers: [r],
      collect() {
        this.set(conf.listRooms().length);
      },
    });
    new Gauge<'kind' | 'state'>({
      name: `${p}participants`,
      help: 'Participants in rooms, by kind (sip, webrtc, sip-ws) and state (admitted, joined...).',
      labelNames: ['kind', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const room of conf.listRooms())
          for (const x of room.participants()) this.inc({ kind: x.kind, state: x.state });
      },
    });
    new Gauge<'kind'>({
      name: `${p}calls`,
      help: 'Calls in progress (participants joined: hearing the room and heard), by kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const room of conf.listRooms())
          for (const x of room.participants())
            if (x.state === ParticipantState.Joined) this.inc({ kind: x.kind });
      },
    });
    this.attempts = new Counter({
      name: `${p}call_attempts_total`,
      help: "New calls (INVITEs) by the focus's final answer: the SIP status (200 answered, 503 draining...).",
      labelNames: ['result'],
      registers: [r],
    });
    this.setups = new Counter({
      name: `${p}call_setups_total`,
      help: 'Participants that reached the room, by kind and result: joined, or the leave reason before joining.',
      labelNames: ['kind', 'result'],
      registers: [r],
    });
    const joined = new WeakSet<Participant>();
    const onJoined = (x: Participant): void => {
      joined.add(x);
      this.setups.inc({ kind: x.kind, result: 'joined' });
    };
    const onLeft = (x: Participant, reason: LeaveReason): void => {
      if (!joined.has(x)) this.setups.inc({ kind: x.kind, result: reason });
    };
    conf.observer.on('participantJoined', onJoined);
    conf.observer.on('participantLeft', onLeft);
    this.unsubscribe.push(() => {
      conf.observer.off('participantJoined', onJoined);
      conf.observer.off('participantLeft', onLeft);
    });

    // ---------------------------------------------------------------- SIP
    this.sipResponses = new Counter({
      name: `${p}sip_responses_sent_total`,
      help: 'SIP responses sent, by status code and the method of their CSeq (retransmissions included).',
      labelNames: ['code', 'method'],
      registers: [r],
    });
    if (opts.sipTrace)
      this.unsubscribe.push(
        opts.sipTrace((t) => {
          if (t.direction === 'out' && t.status !== null)
            this.sipResponses.inc({ code: t.status, method: t.method || 'unknown' });
        }),
      );

    // ---------------------------------------------------------------- call quality
    const quality = opts.quality;
    if (quality) {
      const figures = (pick: (q: ReturnType<QualitySource['get']>) => number | null, scale = 1) =>
        function (this: Gauge<'kind' | 'stat'>): void {
          this.reset();
          const byKind = new Map<string, number[]>();
          for (const room of conf.listRooms())
            for (const x of room.participants()) {
              const v = pick(quality.get(x.id));
              if (v === null) continue;
              byKind.set(x.kind, [...(byKind.get(x.kind) ?? []), v * scale]);
            }
          for (const [kind, vs] of byKind) {
            this.set({ kind, stat: 'mean' }, vs.reduce((a, b) => a + b, 0) / vs.length);
            this.set({ kind, stat: 'max' }, Math.max(...vs));
            this.set({ kind, stat: 'min' }, Math.min(...vs));
          }
        };
      new Gauge<'kind' | 'stat'>({
        name: `${p}rtp_loss_ratio`,
        help: "Packet loss (0..1) of the participants' latest quality figures, by kind: mean, max and min.",
        labelNames: ['kind', 'stat'],
        registers: [r],
        collect: figures((q) => q.loss),
      });
      new Gauge<'kind' | 'stat'>({
        name: `${p}rtp_jitter_seconds`,
        help: "Interarrival jitter of the participants' latest quality figures, by kind: mean, max and min.",
        labelNames: ['kind', 'stat'],
        registers: [r],
        collect: figures((q) => q.jitterMs, 1 / 1000),
      });
      new Gauge<'kind' | 'stat'>({
        name: `${p}call_mos`,
        help: "Estimated MOS (E-model) of the participants' latest quality figures, by kind: mean, max and min.",
        labelNames: ['kind', 'stat'],
        registers: [r],
        collect: figures((q) => q.mos),
      });
    }

    // ---------------------------------------------------------------- mixer (one request per room, per scrape)
    // prom-client collects the metrics concurrently: each mixer gauge awaits the one reading of this scrape.
    let reading: Promise<MixerFigure[]> | undefined;
    this.newScrape = () => (reading = undefined);
    const readMixers = async (): Promise<MixerFigure[]> => {
      const rooms = conf.listRooms();
      const stats = await Promise.all(rooms.map((room) => conf.stats(room.id).catch(() => null)));
      return rooms.flatMap((room, i) => {
        const s = stats[i];
        return s ? [{ room: room.id, stats: s }] : [];
      });
    };
    const mixerScrape = (): Promise<MixerFigure[]> => (reading ??= readMixers());
    const mixerGauge = (
      name: string,
      help: string,
      value: (s: MixerFigure['stats']) => number,
    ): Gauge<'room'> =>
      new Gauge<'room'>({
        name: `${p}${name}`,
        help,
        labelNames: ['room'],
        registers: [r],
        collect: async function (this: Gauge<'room'>) {
          const figures = await mixerScrape();
          this.reset();
          for (const f of figures) this.set({ room: f.room }, value(f.stats));
        },
      });
    new Gauge({
      name: `${p}mixer_rooms`,
      help: 'Rooms with a running mixer (their figures are the parley_mixer_* series).',
      registers: [r],
      async collect() {
        this.set((await mixerScrape()).length);
      },
    });
    mixerGauge(
      'mixer_tick_mean_seconds',
      "Mean time one 20 ms mixer tick of the room took (decode, mix, encode, send), this media's lifetime.",
      (s) => s.tickMeanUs / 1e6,
    );
    mixerGauge('mixer_tick_max_seconds', 'Longest mixer tick of the room.', (s) => s.tickMaxUs / 1e6);
    mixerGauge(
      'mixer_late_max_seconds',
      "Worst lateness of a tick of the room's mix clock versus its schedule.",
      (s) => s.lateMaxMs / 1000,
    );
    mixerGauge(
      'mixer_overruns',
      "Ticks skipped after stalls (overruns) of the room's mix clock, this media's lifetime.",
      (s) => s.skippedTicks,
    );

    // ---------------------------------------------------------------- media processes
    const workers = opts.workers;
    if (workers) {
      const read = opts.processFigures ?? readProcessFigures;
      new Gauge<'worker'>({
        name: `${p}mediasoup_worker_routers`,
        help: 'Routers (rooms, probes) on each mediasoup worker; the series exist while the worker is alive.',
        labelNames: ['worker'],
        registers: [r],
        collect() {
          this.reset();
          memory.reset();
          cpu.reset();
          workers.status().forEach((w, index) => {
            if (!w.alive) return;
            const l = { worker: index };
            this.set(l, w.routers);
            const f = read(w.pid);
            if (!f) return;
            memory.set(l, f.residentBytes);
            cpu.inc(l, f.cpuSeconds);
          });
        },
      });
      const memory = new Gauge<'worker'>({
        name: `${p}mediasoup_worker_resident_memory_bytes`,
        help: 'Resident memory of each mediasoup worker process.',
        labelNames: ['worker'],
        registers: [r],
      });
      const cpu = new Counter<'worker'>({
        name: `${p}mediasoup_worker_cpu_seconds_total`,
        help: 'CPU time (user + system) of each mediasoup worker process (restarts with a replaced worker).',
        labelNames: ['worker'],
        registers: [r],
      });
    }
    const threads = opts.threads;
    if (threads) {
      new Gauge<'thread'>({
        name: `${p}media_thread_relays`,
        help: 'RTP relays (phone legs) on each live media thread.',
        labelNames: ['thread'],
        registers: [r],
        collect() {
          this.reset();
          for (const t of threads.all) if (t.alive) this.set({ thread: t.index }, t.relayCount);
        },
      });
      // Each thread's reading at the previous scrape (per thread object: a replaced thread starts afresh), so the
      // gauge says how busy the thread was between two scrapes, not since it started an hour ago.
      const lastElu = new WeakMap<ThreadFigures, EventLoopUtilization>();
      new Gauge<'thread'>({
        name: `${p}media_thread_event_loop_utilization`,
        help:
          "Share of time (0..1) each live media thread's event loop was busy since the previous scrape (since the " +
          'thread started at the first one). Near 1: its mixers are late on their 20 ms ticks.',
        labelNames: ['thread'],
        registers: [r],
        collect() {
          this.reset();
          for (const t of threads.all) {
            if (!t.alive) continue;
            const now = t.eventLoopUtilization();
            const prev = lastElu.get(t);
            lastElu.set(t, now);
            this.set({ thread: t.index }, prev ? t.eventLoopUtilization(prev).utilization : now.utilization);
          }
        },
      });
    }

    // ---------------------------------------------------------------- webhooks, source guard
    const webhooks = opts.webhooks;
    if (webhooks)
      new Counter<'outcome'>({
        name: `${p}webhook_events_total`,
        help: 'Webhook events by outcome: delivered, failed, dropped (queue full), retried (attempts after the first).',
        labelNames: ['outcome'],
        registers: [r],
        collect() {
          this.reset();
          for (const [outcome, n] of Object.entries(webhooks.counters())) this.inc({ outcome }, n);
        },
      });
    const guard = opts.guard;
    if (guard) {
      new Counter<'reason'>({
        name: `${p}sip_dropped_total`,
        help: 'SIP requests dropped by the source guard, by reason (rate limit, ban, scanner, not allowed...).',
        labelNames: ['reason'],
        registers: [r],
        collect() {
          this.reset();
          for (const [reason, n] of Object.entries(guard.stats().dropped)) this.inc({ reason }, n);
        },
      });
      new Counter({
        name: `${p}sip_bans_total`,
        help: 'Temporary bans of SIP sources imposed by the source guard.',
        registers: [r],
        collect() {
          this.reset();
          this.inc(guard.stats().bans);
        },
      });
      new Gauge({
        name: `${p}sip_bans_active`,
        help: 'SIP sources banned right now.',
        registers: [r],
        collect() {
          this.set(guard.stats().bansActive);
        },
      });
    }
  }

  /** The focus answered a new INVITE with `status` (200 answered, 503 draining, 486 busy...). */
  callAttempt(status: number): void {
    if (!this.closed) this.attempts.inc({ result: status });
  }

  /** The exposition (Prometheus text format 0.0.4) and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.newScrape();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stops listening to the SIP trace and the conference. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
