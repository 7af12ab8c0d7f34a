/**
 * Large audiences (issue 12 item 4), in one invocation:
 *   node dist/bench/audience.js [--quick]
 *
 * (1) One presenter (Opus-sized audio 50 packets/s + VP8-sized video 30 fps × 2 packets, ~550 kbit/s, paced by the
 *     wall clock from this process into a PlainTransport) to N synthetic viewers: each an SRTP PlainTransport
 *     (AES_CM_128_HMAC_SHA1_80: the same per-packet work in the worker as a browser's WebRtcTransport) with an
 *     audio and a video consumer. ~25 sampled viewers send to their own Node UDP socket, which counts what arrives
 *     (loss = 1 − received / sent by the presenter in the window); the others to one socket nobody reads. Two
 *     placements side by side: all viewers on ONE router (one worker), and spread over the room's routers on ALL
 *     workers by Parley's own placement (RoomFanout's rule, spill 0) with the presenter's producers piped there
 *     (RouterFanout: pipeToRouter). N steps up for both in turn, one window each back to back with only the measured
 *     placement's presenter sending, so both see the (shared) machine alike; a window at ≥ 1 % loss is measured
 *     again, and a second one ends that placement. Reference: mediasoup's documentation, "Scalability"
 *     (https://mediasoup.org/documentation/v3/scalability): "If there are more than 200-300 viewers (so 400-600
 *     consumers), the capabilities of a single mediasoup router could be exceeded", and a worker "can typically
 *     handle over ~500 consumers in total".
 * (2) Phone listeners on one shared mix: 3 talkers + N listen-only participants (output only, nothing of theirs
 *     mixed: what a listen-only attendee is in the mixer) in one mixer room on one media thread, driven with plain
 *     RTP over loopback (bench/mixer-load.ts's one-room series, reused through its `run()`); the mixer encodes one
 *     shared mix per codec for everyone who does not talk, so a listener costs packetisation and a send, never a
 *     mix. The mixer thread's CPU per 100 listeners is the slope between the smallest and the largest step.
 * (3) The same through the whole server: phones dialling a webinar as listen-only attendees (bench/audience-phones.ts).
 * Bounded: windows of 4 s (3 s with --quick), N ≤ 1200, 150 s of steps at most (60 s with --quick), the mixer
 * series 60 s, the phones 45 s of setup per step: the whole run stays under 5 minutes.
 */
import os from 'node:os';
import pino from 'pino';
import type { types } from 'mediasoup';
import { pickViewerWorker } from '../src/conference/room/room-fanout';
import { RouterFanout } from '../src/media/mediasoup/router-fanout';
import { WorkerPool } from '../src/media/mediasoup/worker-pool';
import { phoneListeners } from './audience-phones';
import { run as runMixerLoad } from './mixer-load';
import { cpuSeconds, printTable } from './lib/proc';
import { CountingSocket, nonReadingSink, startPresenter, type Presenter } from './lib/sfu-load';

const quick = process.argv.includes('--quick');
const STEP_MS = quick ? 3000 : 4000;
const VIEWERS = [50, 100, 150, 200, 250, 300, 350, 400, 500, 600, 800, 1000, 1200];
const SAMPLED = 25;
/** mediasoup's "Scalability" page: 200–300 viewers per router (400–600 consumers). */
const MEDIASOUP_VIEWERS = { low: 200, high: 300 };
const log = pino({ level: 'silent' });
const SRTP = 'AES_CM_128_HMAC_SHA1_80' as const;

type Placement = 'one router' | 'all workers';

interface Row {
  placement: Placement;
  viewers: number;
  consumers: number;
  workerCpu: number[];
  nodeCpu: number;
  loss: number;
}

interface Viewer {
  transport: types.PlainTransport;
  counter?: CountingSocket;
}

/**
 * One placement's audience: its own origin router (worker 0), fan-out and presenter, and the viewers added so far.
 * Both placements exist side by side and take turns: only the one measured has its presenter sending (the other's
 * consumers then cost nothing), so both see the machine in the same state, step after step.
 */
class Audience {
  readonly viewers: Viewer[] = [];
  readonly rows: Row[] = [];
  /** Loss reached 1 % (twice in a row): no larger step for this placement. */
  done = false;
  private readonly perWorker = new Map<number, number>();
  private readonly sampledOn = new Map<number, number>();

  private constructor(
    readonly placement: Placement,
    private readonly pool: WorkerPool,
    private readonly origin: types.Router,
    private readonly fanout: RouterFanout,
    private readonly presenter: Presenter,
    private readonly sinkPort: number,
  ) {}

  static async create(pool: WorkerPool, placement: Placement, sinkPort: number): Promise<Audience> {
    const origin = (await pool.createRouterOn(0, { roomId: `bench-${placement}` }))!;
    const fanout = new RouterFanout({ origin, workers: pool, log });
    const presenter = await startPresenter(origin);
    presenter.pause();
    return new Audience(placement, pool, origin, fanout, presenter, sinkPort);
  }

  async grow(target: number): Promise<void> {
    while (this.viewers.length < target) await this.addViewer();
  }

  /** One window of STEP_MS with the presenter sending: loss on the sampled viewers, CPU of each worker. */
  async measure(): Promise<Row> {
    const pids = this.pool.status().map((s) => s.pid);
    this.presenter.resume();
    try {
      await sleep(1000);
      const sampled = this.viewers.filter((v) => v.counter);
      const got0 = sampled.reduce((s, v) => s + v.counter!.received, 0);
      const sent0 = this.presenter.sent;
      const cpu0 = pids.map((p) => cpuSeconds(p));
      const node0 = cpuSeconds(process.pid);
      const t0 = performance.now();
      await sleep(STEP_MS);
      const secs = (performance.now() - t0) / 1000;
      const sent = this.presenter.sent - sent0;
      const cpu = pids.map((p, i) => (100 * (cpuSeconds(p) - cpu0[i]!)) / secs);
      const nodeCpu = (100 * (cpuSeconds(process.pid) - node0)) / secs;
      // Packets in flight at the window's edges: a few ms of 110 packets/s, far under 1 %.
      await sleep(100);
      const got = sampled.reduce((s, v) => s + v.counter!.received, 0) - got0;
      return {
        placement: this.placement,
        viewers: this.viewers.length,
        consumers: this.viewers.length * 2,
        workerCpu: cpu,
        nodeCpu,
        loss: Math.max(0, 1 - got / (sampled.length * sent)),
      };
    } finally {
      this.presenter.pause();
    }
  }

  close(): void {
    this.presenter.stop();
    for (const v of this.viewers) v.counter?.close();
    this.fanout.close();
    this.origin.close();
  }

  private async addViewer(): Promise<void> {
    const { fanout, perWorker, sampledOn, placement } = this;
    // Parley's own rule (spill at once), over the real consumer counts of the routers.
    const loads = fanout.loads().map((l) => ({ ...l, viewers: perWorker.get(l.workerIndex) ?? 0 }));
    const index =
      placement === 'one router'
        ? 0
        : (pickViewerWorker(loads, { enabled: true, viewersPerRouterBeforeSpill: 0 }) ?? 0);
    perWorker.set(index, (perWorker.get(index) ?? 0) + 1);
    const router = (await fanout.routerOn(index))!;
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: SRTP,
    });
    // Every third viewer of each worker counts what it gets, up to an equal share of the sample per worker.
    const counted = sampledOn.get(index) ?? 0;
    const counter =
      perWorker.get(index)! % 3 === 1 &&
      counted < Math.ceil(SAMPLED / (placement === 'one router' ? 1 : this.pool.size))
        ? await CountingSocket.open()
        : undefined;
    if (counter) sampledOn.set(index, counted + 1);
    await transport.connect({
      ip: '127.0.0.1',
      port: counter?.port ?? this.sinkPort,
      srtpParameters: { cryptoSuite: SRTP, keyBase64: transport.srtpParameters!.keyBase64 },
    });
    for (const source of [this.presenter.audio, this.presenter.video]) {
      const { producer } = await fanout.producerOn(router, source);
      await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    }
    this.viewers.push({ transport, ...(counter ? { counter } : {}) });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Steps N up for both placements in turn (same N, one window each, back to back). A window at ≥ 1 % loss is
 * measured once more (the machine is shared: one burst of someone else's load is not the SFU's limit); a second
 * one ends that placement's series.
 */
async function audienceSeries(pool: WorkerPool, sinkPort: number, deadline: number): Promise<Row[]> {
  const all = [
    await Audience.create(pool, 'one router', sinkPort),
    await Audience.create(pool, 'all workers', sinkPort),
  ];
  try {
    for (const target of VIEWERS) {
      const live = all.filter((a) => !a.done);
      if (live.length === 0) break;
      if (Date.now() > deadline) {
        process.stderr.write(`[audience] time budget reached before ${target} viewers\n`);
        break;
      }
      for (const a of live) {
        process.stderr.write(`[audience] ${a.placement}: ${target} viewers…\n`);
        await a.grow(target);
        let row = await a.measure();
        if (row.loss >= 0.01) row = await a.measure();
        a.rows.push(row);
        process.stderr.write(
          `[audience]   loss ${(row.loss * 100).toFixed(2)} %, workers ${row.workerCpu.map((c) => c.toFixed(0)).join('/')} %\n`,
        );
        if (row.loss >= 0.01) a.done = true;
      }
    }
  } finally {
    for (const a of all) a.close();
  }
  return all.flatMap((a) => a.rows);
}

function best(rows: Row[]): Row | undefined {
  let b: Row | undefined;
  for (const r of rows) if (r.loss < 0.01) b = r;
  return b;
}

const pct = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = os.loadavg()[0]!.toFixed(1);
  const pool = await WorkerPool.create({
    numWorkers: 0,
    rtcMinPort: 50000,
    rtcMaxPort: 59999,
    logLevel: 'error',
    logger: log,
  });
  const sink = await nonReadingSink();
  const rows: Row[] = [];
  try {
    // About 100 s per placement at most (budget checked before each step).
    rows.push(...(await audienceSeries(pool, sink.port, Date.now() + (quick ? 60_000 : 150_000))));
  } finally {
    sink.close();
    pool.close();
  }

  printTable(
    `One presenter (Opus 50 pps + VP8 30 fps, ~550 kbit/s) to N SRTP viewers, ${pool.size} mediasoup workers, ` +
      `${STEP_MS / 1000} s per step; loss measured on ${SAMPLED} sampled viewers' Node sockets`,
    rows.map((r) => ({
      placement: r.placement,
      viewers: r.viewers,
      consumers: r.consumers,
      'worker CPU % (each)': r.workerCpu.map((c) => pct(c).toFixed(1)).join(' / '),
      'bench process CPU %': pct(r.nodeCpu),
      'loss %': Math.round(r.loss * 10000) / 100,
    })),
  );
  const one = best(rows.filter((r) => r.placement === 'one router'));
  const all = best(rows.filter((r) => r.placement === 'all workers'));
  const hitCeiling = (p: Placement): string =>
    rows.filter((r) => r.placement === p).every((r) => r.loss < 0.01) ? ' (no loss up to the last step)' : '';
  printTable("Largest audience with < 1 % loss, against mediasoup's documented 200–300 viewers per router", [
    {
      placement: 'one router (one worker)',
      'viewers < 1 % loss': `${one?.viewers ?? 0}${hitCeiling('one router')}`,
      'worker CPU % there': one ? one.workerCpu.map((c) => pct(c).toFixed(1)).join(' / ') : '-',
      'mediasoup reference': `${MEDIASOUP_VIEWERS.low}–${MEDIASOUP_VIEWERS.high} viewers`,
      'ratio to reference (low–high)': one
        ? `${(one.viewers / MEDIASOUP_VIEWERS.low).toFixed(2)}–${(one.viewers / MEDIASOUP_VIEWERS.high).toFixed(2)}`
        : '-',
    },
    {
      placement: `all ${pool.size} workers (pipeToRouter)`,
      'viewers < 1 % loss': `${all?.viewers ?? 0}${hitCeiling('all workers')}`,
      'worker CPU % there': all ? all.workerCpu.map((c) => pct(c).toFixed(1)).join(' / ') : '-',
      'mediasoup reference': `${MEDIASOUP_VIEWERS.low * pool.size}–${MEDIASOUP_VIEWERS.high * pool.size} viewers`,
      'ratio to reference (low–high)': all
        ? `${(all.viewers / (MEDIASOUP_VIEWERS.low * pool.size)).toFixed(2)}–${(all.viewers / (MEDIASOUP_VIEWERS.high * pool.size)).toFixed(2)}`
        : '-',
    },
    {
      placement: 'ratio all workers / one router',
      'viewers < 1 % loss': one && all ? (all.viewers / one.viewers).toFixed(2) : '-',
      'worker CPU % there': '',
      'mediasoup reference': `${pool.size}.00 (one router per worker)`,
      'ratio to reference (low–high)': '',
    },
  ]);
  // What the workers would carry at a full core each, from the measured cost: robust to the machine's other load,
  // which cuts the measured limit short (a starved worker drops at its input long before its own CPU is at 100 %).
  const projected = (r: Row | undefined): number =>
    r ? Math.round((100 * r.viewers) / Math.max(1e-6, ...r.workerCpu)) : 0;
  const costPer100 = (r: Row | undefined): string =>
    r ? pct((100 * r.workerCpu.reduce((a, b) => a + b, 0)) / r.viewers).toFixed(1) : '-';
  printTable(
    'Cost per viewer at the largest lossless step, and the audience it projects when the busiest worker has a full core',
    [
      {
        placement: 'one router (one worker)',
        'worker CPU % per 100 viewers (all workers summed)': costPer100(one),
        'projected viewers at 100 % of the busiest worker': projected(one),
        'mediasoup reference': `${MEDIASOUP_VIEWERS.low}–${MEDIASOUP_VIEWERS.high}`,
      },
      {
        placement: `all ${pool.size} workers (pipeToRouter)`,
        'worker CPU % per 100 viewers (all workers summed)': costPer100(all),
        'projected viewers at 100 % of the busiest worker': projected(all),
        'mediasoup reference': `${MEDIASOUP_VIEWERS.low * pool.size}–${MEDIASOUP_VIEWERS.high * pool.size}`,
      },
      {
        placement: 'ratio all workers / one router',
        'worker CPU % per 100 viewers (all workers summed)': '',
        'projected viewers at 100 % of the busiest worker':
          one && all ? (projected(all) / projected(one)).toFixed(2) : '-',
        'mediasoup reference': `${pool.size}.00`,
      },
    ],
  );

  // (2) Phone listeners on one shared mix.
  const listeners = quick ? [100, 500] : [100, 250, 500, 1000];
  const mix = await runMixerLoad({
    listeners,
    rooms: [],
    janus: false,
    print: false,
    seconds: quick ? 3 : 4,
    clicks: 4,
    budgetS: 60,
  });
  const oneRoom = mix.rows.filter((r) => r.series === 'one room' && r.talkersPerRoom === 3 && !r.skipped);
  printTable(
    'Phone listeners on one shared mix: 3 talkers + N listen-only participants, PCMU, one mixer room on one media ' +
      'thread (plain RTP over loopback, mixer driven directly as in mixer-load)',
    oneRoom.map((r) => ({
      listeners: r.listenersPerRoom,
      'mixer thread CPU %': pct(r.cpuPct),
      'CPU % per 100 listeners (average)': pct((100 * r.cpuPct) / r.listenersPerRoom),
      'packets out / expected %': pct((100 * r.outPps) / r.expectedPps),
      saturated: r.saturated ? 'yes' : 'no',
    })),
  );
  const ok = oneRoom.filter((r) => !r.saturated);
  const lo = ok[0];
  const hi = ok[ok.length - 1];
  if (lo && hi && hi !== lo)
    printTable(
      'Marginal cost of a phone listener (slope between the smallest and the largest unsaturated step)',
      [
        {
          'mixer thread CPU % per 100 listeners': pct(
            (100 * (hi.cpuPct - lo.cpuPct)) / (hi.listenersPerRoom - lo.listenersPerRoom),
          ),
          'from / to listeners': `${lo.listenersPerRoom} / ${hi.listenersPerRoom}`,
          'listeners per core at that slope': Math.round(
            (100 * (hi.listenersPerRoom - lo.listenersPerRoom)) / Math.max(1e-6, hi.cpuPct - lo.cpuPct),
          ),
        },
      ],
    );

  // (3) The same through the whole server: phones dialling a webinar as listen-only attendees over SIP.
  const phoneRows = await phoneListeners({
    steps: quick ? [100, 200] : [100, 250, 500],
    seconds: quick ? 3 : 5,
    setupLimitMs: 45_000,
  });
  printTable(
    'Phone listeners through the server: 3 hosts talking + N phones dialled in as listen-only attendees of one ' +
      'webinar (SIP over loopback, PIN by SIP INFO, PCMU, every phone sending as real phones do); 1 media thread',
    phoneRows.map((r) => ({
      attendees: r.listeners,
      'media thread CPU %': pct(r.mediaThreadPct),
      'CPU % per 100 attendees (average)': pct((100 * r.mediaThreadPct) / r.listeners),
      'server tree CPU % (all threads + mediasoup)': pct(r.serverTreePct),
      'mix delivered %': pct(r.deliveredPct),
      saturated: r.deliveredPct < 95 ? 'yes' : 'no',
      'join errors': r.joinErrors,
      'listed as muted attendees (REST)': r.attendeesListed,
    })),
  );
  const unsaturated = phoneRows.filter((r) => r.deliveredPct >= 95);
  const p0 = unsaturated[0];
  const p1 = unsaturated[unsaturated.length - 1];
  if (p0 && p1 && p1 !== p0)
    printTable('Marginal cost of a phone attendee through the server (slope over the unsaturated steps)', [
      {
        'media thread CPU % per 100 attendees': pct(
          (100 * (p1.mediaThreadPct - p0.mediaThreadPct)) / (p1.listeners - p0.listeners),
        ),
        'server tree CPU % per 100 attendees': pct(
          (100 * (p1.serverTreePct - p0.serverTreePct)) / (p1.listeners - p0.listeners),
        ),
        'from / to attendees': `${p0.listeners} / ${p1.listeners}`,
      },
    ]);
  console.log(
    `\n(audience: ${Math.round((Date.now() - started) / 1000)} s; load average at start ${load0}, at the end ` +
      `${os.loadavg()[0]!.toFixed(1)}: the machine's other load takes CPU from the workers and shows as loss)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
