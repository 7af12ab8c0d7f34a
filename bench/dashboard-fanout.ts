/**
 * Dashboard fan-out: 50 moderator dashboards (socket.io-client on namespace `/dashboard`, authenticated with the
 * API token) watching one room of 200 SIP callers whose speaking flags keep changing, against the built server.
 *   node dist/bench/dashboard-fanout.js [--quick] [--participants=200] [--dashboards=50]
 *
 * Callers: one SIP INVITE each (Parley's own UAC, PCMU), then plain RTP from one UDP socket per caller, paced by
 * the wall clock. Each caller says a tone for 100 ms (5 frames, ≈ −27 dBFS) and is silent for 580 ms, the phases
 * spread evenly over the callers. Why not a flip every 100 ms as the issue asks: the mixer's VAD (workers/mixer/
 * vad.ts) starts after 3 frames above −40 dBFS and stops only after 25 frames (500 ms) below −48 dBFS, so real audio
 * cannot make one participant change faster than once per ~280 ms on average; this is the fastest honest driver
 * (≈ 2.9 changes/s per caller, ≈ 590/s in the room; the 80 ms of silence beyond the release keep the
 * VAD's stop certain). The server batches them anyway: at most one `speaking` event
 * per room per 100 ms, whatever the rate of changes, so the socket writes per second are the same; only the batch
 * size differs (≈ 60 entries instead of up to 200).
 *
 * Latency is measured against the tone schedule, on this process's clock: a `speaking: true` for caller k received
 * by a dashboard, minus the moment caller k's current tone burst left its socket. That is voice → dashboard (the
 * mixer's jitter buffer, the VAD's 60 ms attack, the media thread → main thread hop, the ≤ 100 ms batch, socket.io),
 * not socket.io alone; the fan-out cost itself shows in the spread (first → last of the 50 dashboards to get the
 * same batch) and in the server's main-thread CPU: the same calls measured without dashboards first (reference),
 * then with them, in the same invocation. Bounded: about 1.5 minutes (40 s with --quick).
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { silentLogger } from '../src/logging/logger';
import {
  DASHBOARD_NAMESPACE,
  type DashboardClientToServer,
  type DashboardServerToClient,
  type DashboardSnapshot,
} from '../src/protocol/dashboard-protocol';
import type { SessionDialog } from '../src/sip/dialog/session-dialog';
import { SipStack } from '../src/sip/ua/sip-stack';
import { freeSipPort, ParleyServer, sleep } from './lib/parley-server';
import { percentile, printTable } from './lib/proc';
import { talkerFrames, ulaw } from './lib/rtp-phones';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const quick = process.argv.includes('--quick');
const PARTICIPANTS = arg('participants', 200);
const DASHBOARDS = arg('dashboards', 50);
const WINDOW_S = quick ? 10 : 25;
const FRAME_MS = 20;
/** Frames per caller cycle: 5 of tone (100 ms), 29 of silence (580 ms). */
const CYCLE = 34;
const TONE_FRAMES = 5;
const ROOM = 'fanout';
/** The socket.io path (`--io-path=/x/` for a server that serves the dashboard elsewhere). */
const IO_PATH =
  process.argv.find((x) => x.startsWith('--io-path='))?.slice('--io-path='.length) ?? '/socket.io/';

type Dashboard = Socket<DashboardServerToClient, DashboardClientToServer>;

interface Caller {
  name: string;
  sock: dgram.Socket;
  port: number;
  dialog?: SessionDialog;
  remote?: { ip: string; port: number; pt: number };
  /** Phase in frames: its tone starts at frames n with (n + phase) % CYCLE === 0. */
  phase: number;
  seq: number;
  ts: number;
  ssrc: number;
  /** Date.now() of the first frame of each tone burst sent (the latest last). */
  onsets: number[];
}

/** One caller's frames for the cycle: tone frames from the shared talker tone, then digital silence. */
function cycleFrames(k: number): Buffer[] {
  const tone = talkerFrames(k);
  const silence = Buffer.alloc(160, ulaw(0));
  return Array.from({ length: CYCLE }, (_, i) => (i < TONE_FRAMES ? tone[i % tone.length]! : silence));
}

async function openCaller(k: number): Promise<Caller> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 18 });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  sock.on('message', () => undefined); // the mix comes back; nobody listens to it here
  return {
    name: `caller${k}`,
    sock,
    port: sock.address().port,
    phase: Math.floor((k * CYCLE) / PARTICIPANTS) % CYCLE,
    seq: Math.floor(Math.random() * 30000),
    ts: (Math.random() * 0xffffffff) >>> 0,
    ssrc: (Math.random() * 0xffffffff) >>> 0,
    onsets: [],
  };
}

function offer(c: Caller): string {
  return [
    'v=0',
    `o=${c.name} 1 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${c.port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

function answerTarget(sdp: string): { ip: string; port: number; pt: number } {
  const ip = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(sdp);
  if (!ip || !m) throw new Error(`no audio in the answer:\n${sdp}`);
  return { ip, port: Number(m[1]), pt: 0 };
}

/** Sends every caller's frame n at t0 + 20·n (wall clock, catching up when late), until stopped. */
class Sender {
  private running = true;
  private readonly done: Promise<void>;
  private readonly frames: Buffer[][];

  constructor(private readonly callers: Caller[]) {
    this.frames = callers.map((_, k) => cycleFrames(k));
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async run(): Promise<void> {
    const t0 = performance.now();
    let n = 0;
    const packet = Buffer.alloc(12 + 160);
    packet[0] = 0x80;
    while (this.running) {
      const now = performance.now();
      const due = t0 + n * FRAME_MS;
      if (now - due > 10 * FRAME_MS) n = Math.floor((now - t0) / FRAME_MS); // stalled: skip, as a phone would
      const wall = Date.now();
      for (let k = 0; k < this.callers.length; k++) {
        const c = this.callers[k]!;
        if (!c.remote) continue;
        const i = (n + c.phase) % CYCLE;
        if (i === 0) {
          c.onsets.push(wall);
          if (c.onsets.length > 16) c.onsets.shift();
        }
        packet[1] = c.remote.pt;
        packet.writeUInt16BE(c.seq++ & 0xffff, 2);
        packet.writeUInt32BE((c.ts + n * 160) >>> 0, 4);
        packet.writeUInt32BE(c.ssrc, 8);
        this.frames[k]![i]!.copy(packet, 12);
        c.sock.send(Buffer.from(packet), c.remote.port, c.remote.ip);
      }
      n++;
      const wait = t0 + n * FRAME_MS - performance.now();
      if (wait > 0) await sleep(wait);
      else await new Promise<void>((r) => setImmediate(r));
    }
  }
}

interface Watch {
  /** speaking:true receive − tone onset, ms */
  latencies: number[];
  /**
   * Per batch (the i-th `speaking` event of every dashboard is the same batch: one broadcast, in order, and every
   * dashboard starts listening in the same turn): first and last receive time over the dashboards.
   */
  batches: Array<{ first: number; last: number; n: number }>;
  events: number;
  changes: number;
}

async function openDashboards(
  server: ParleyServer,
  token: string,
  n: number,
): Promise<{ sockets: Dashboard[]; snapshot: DashboardSnapshot }> {
  const sockets: Dashboard[] = [];
  let snapshot: DashboardSnapshot | undefined;
  for (let i = 0; i < n; i++) {
    const s: Dashboard = connect(`${server.http}${DASHBOARD_NAMESPACE}`, {
      path: IO_PATH,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token },
    });
    sockets.push(s);
    snapshot = await new Promise<DashboardSnapshot>((resolve, reject) => {
      s.once('snapshot', resolve);
      s.once('connect_error', (err) =>
        reject(new Error(`dashboard ${i}: ${err.message} (is the /dashboard namespace served?)`)),
      );
    });
  }
  return { sockets, snapshot: snapshot! };
}

function watch(sockets: Dashboard[], byId: Map<string, Caller>): Watch {
  const w: Watch = { latencies: [], batches: [], events: 0, changes: 0 };
  for (const s of sockets) {
    let i = 0;
    s.on('speaking', (e) => {
      const at = Date.now();
      w.events++;
      w.changes += e.changes.length;
      const b = w.batches[i];
      if (b) {
        b.first = Math.min(b.first, at);
        b.last = Math.max(b.last, at);
        b.n++;
      } else w.batches[i] = { first: at, last: at, n: 1 };
      i++;
      for (const c of e.changes) {
        if (!c.speaking) continue;
        const caller = byId.get(c.participantId);
        const onset = caller?.onsets.filter((t) => t <= at).pop();
        if (onset !== undefined && at - onset < CYCLE * FRAME_MS) w.latencies.push(at - onset);
      }
    });
  }
  return w;
}

async function main(): Promise<void> {
  const token = randomBytes(24).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-dashboard-'));
  const sipPort = await freeSipPort(25060);
  const server = await ParleyServer.start(sipPort, {
    config: {
      dataDir,
      conference: { joinTones: false, maxParticipants: PARTICIPANTS + 10, rooms: [{ name: ROOM }] },
    },
    env: {
      PARLEY_API_TOKEN: token,
      PARLEY_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
      PARLEY_RTC_MIN_PORT: '50000',
      PARLEY_RTC_MAX_PORT: '51999',
      PARLEY_WEBRTC_PORT: '0',
    },
  });
  const stack = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
    logger: silentLogger(),
  });
  const callers = await Promise.all(Array.from({ length: PARTICIPANTS }, (_, k) => openCaller(k)));
  let sender: Sender | undefined;
  let sockets: Dashboard[] = [];
  try {
    // 200 calls at 50/s
    const t0 = Date.now();
    await Promise.all(
      callers.map(async (c, k) => {
        await sleep(k * 20);
        c.dialog = await stack.invite(`sip:${ROOM}@127.0.0.1:${sipPort}`, {
          sdp: offer(c),
          from: `"${c.name}" <sip:${c.name}@127.0.0.1>`,
          timeoutMs: 20000,
        });
        c.remote = answerTarget(c.dialog.remoteSdp?.toString() ?? '');
      }),
    );
    console.log(`${PARTICIPANTS} calls up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    sender = new Sender(callers);
    await sleep(3000); // the VAD settles into its rhythm

    // reference: the same room and audio, no dashboard
    const ref0 = server.sample();
    await sleep(WINDOW_S * 1000);
    const ref1 = server.sample();

    // 50 dashboards
    const opened = await openDashboards(server, token, DASHBOARDS);
    sockets = opened.sockets;
    const byName = new Map(callers.map((c) => [c.name, c]));
    const byId = new Map<string, Caller>();
    for (const p of opened.snapshot.participants) {
      const c = byName.get(p.displayName);
      if (c) byId.set(p.id, c);
    }
    if (byId.size < PARTICIPANTS)
      console.log(`(only ${byId.size} of ${PARTICIPANTS} callers in the snapshot)`);
    await sleep(2000);
    const w = watch(sockets, byId);
    const with0 = server.sample();
    const wall0 = Date.now();
    await sleep(WINDOW_S * 1000);
    const with1 = server.sample();
    const seconds = (Date.now() - wall0) / 1000;
    const lat = w.latencies.sort((a, b) => a - b);
    const spreads = w.batches
      .filter((b) => b.n === DASHBOARDS)
      .map((b) => b.last - b.first)
      .sort((a, b) => a - b);
    const refCpu = (ref1.mainThreadCpuSeconds - ref0.mainThreadCpuSeconds) / WINDOW_S;
    const withCpu = (with1.mainThreadCpuSeconds - with0.mainThreadCpuSeconds) / seconds;

    printTable(`${DASHBOARDS} dashboards watching ${PARTICIPANTS} callers (speaking changes from real VAD)`, [
      {
        'speaking changes/s (room)': w.changes / DASHBOARDS / seconds,
        'batches/s (per dashboard)': w.events / DASHBOARDS / seconds,
        'events/s delivered (all dashboards)': w.events / seconds,
        'voice→dashboard p50 ms': percentile(lat, 50),
        'voice→dashboard p99 ms': percentile(lat, 99),
        'fan-out spread p50 ms': percentile(spreads, 50),
        'fan-out spread p99 ms': percentile(spreads, 99),
      },
    ]);
    printTable('Server main thread CPU (one core = 100 %), same calls without dashboards as the reference', [
      { run: `reference: ${PARTICIPANTS} callers, no dashboard`, 'main thread CPU %': refCpu * 100 },
      { run: `${PARTICIPANTS} callers + ${DASHBOARDS} dashboards`, 'main thread CPU %': withCpu * 100 },
      { run: 'cost of the dashboards', 'main thread CPU %': (withCpu - refCpu) * 100 },
    ]);
    console.log(
      `\nWithout batching every change would be one event per dashboard: ${Math.round(w.changes / seconds)} ` +
        `emits/s instead of ${Math.round(w.events / seconds)}. Latency samples: ${lat.length}; batches seen by ` +
        `all ${DASHBOARDS} dashboards: ${spreads.length} of ${w.batches.length}.`,
    );
  } finally {
    for (const s of sockets) s.disconnect();
    await sender?.stop();
    await Promise.all(callers.map((c) => c.dialog?.bye().catch(() => undefined)));
    for (const c of callers) c.sock.close();
    await stack.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
