/**
 * Parley's audio mixer (MCU) under load, against Janus AudioBridge as the reference, in one invocation:
 *   node dist/bench/mixer-load.js [--quick] [--no-janus]
 *
 * Parley: ONE media worker thread (MediaThreadPool threads:1) hosting the mixer rooms, driven DIRECTLY with plain
 * RTP over loopback UDP (no mediasoup in the path): talkers send PCMU to the room's input socket (demuxed by SSRC),
 * every participant's mix (PCMU) goes to one sink socket. Listeners are output-only participants.
 * Janus: a private Janus 1.1.x (bench/lib/janus.ts: AudioBridge + HTTP transport only, loopback), rooms at 16 kHz,
 * plain-RTP participants (`join` with `rtp: {ip, port, payload_type}`, codec pcmu); talkers send from their own
 * socket to the port Janus answers with, listeners' mixes go to the same sink socket.
 *
 * (a)/(b) load: 3 talkers (sine tones) + N listeners in one room, and R rooms × 10 participants (3 talkers);
 *   CPU of the Parley mixer thread (/proc/self/task/<tid>/stat) and of the whole Janus process (% of one core,
 *   plus its busiest thread), output packets/s delivered vs expected (50 pps per participant); a row is
 *   "saturated" when the busiest thread ≥ 90 % of a core or the output falls below 95 % of expected.
 * (c) mouth-to-ear latency the server adds: a click every 500 ms over a faint tone from one talker, detected in a
 *   listener's decoded output; latency = arrival of the click's sample − sending of the click.
 * Bounded: every step runs for a fixed time; participants capped at 1000 per step.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import pino from 'pino';
import { MediaThreadPool } from '../src/media/mixer/media-thread-pool';
import type { MixerRoomHandle } from '../src/media/mixer/mixer-room-handle';
import type { MediaThread } from '../src/media/mixer/media-thread';
import { percentile, printTable } from './lib/proc';
import { JanusSession, janusAvailable, startJanus, type JanusInstance } from './lib/janus';

const TICKS_PER_S = 100; // USER_HZ
const FRAME_MS = 20;
const SAMPLES = 160; // 20 ms at 8 kHz
const MAX_PARTICIPANTS = 1000;
const SAT_THREAD_PCT = 90;
const SAT_DELIVERY = 0.95;

export interface MixerLoadOptions {
  quick?: boolean;
  /** Measurement window per step (s); default 6 (quick 3). */
  seconds?: number;
  /** Listener counts of the single-room series (3 talkers each). */
  listeners?: number[];
  /** Room counts of the multi-room series (10 participants, 3 talkers each). */
  rooms?: number[];
  /** Clicks for the latency measurement (one every 500 ms). */
  clicks?: number;
  /** Run the Janus reference (default: when janus is installed). */
  janus?: boolean;
  /** Print the tables, and progress on stderr (default true). */
  print?: boolean;
  /** Wall-time budget of the load series in s (default 540, quick 110); later steps are skipped. */
  budgetS?: number;
}

export type SystemName = 'Parley' | 'Janus';

export interface Step {
  series: 'one room' | 'rooms';
  rooms: number;
  talkersPerRoom: number;
  listenersPerRoom: number;
}

export interface LoadRow extends Step {
  system: SystemName;
  participants: number;
  /** Parley: the mixer thread's CPU; Janus: the whole process's (both in % of one core). */
  cpuPct: number;
  /** Busiest single thread (Parley: the mixer thread itself). */
  maxThreadPct: number;
  /** Parley only: event loop utilisation of the mixer thread (cross-check of cpuPct). */
  eluPct: number;
  outPps: number;
  expectedPps: number;
  /** Packets the kernel dropped at the sink socket (receiver overload, not the mixer's; counted in outPps). */
  sinkDrops: number;
  saturated: boolean;
  error?: string;
  /** Why the step was not run. */
  skipped?: string;
  /** Server-side counters (Parley: mix-clock ticks skipped, max tick lateness). */
  notes?: string;
}

export interface LatencyRow {
  system: SystemName;
  clicksSent: number;
  clicksHeard: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  note?: string;
  error?: string;
}

export interface MixerLoadResult {
  rows: LoadRow[];
  latency: LatencyRow[];
  janusError?: string;
}

// ---------------------------------------------------------------- audio + RTP helpers

function ulaw(v: number): number {
  const s = Math.max(-32635, Math.min(32635, Math.round(v)));
  const sign = s < 0 ? 0x80 : 0;
  let m = Math.abs(s) + 132;
  let e = 7;
  for (let mask = 0x4000; (m & mask) === 0 && e > 0; mask >>= 1) e--;
  m = (m >> (e + 3)) & 0x0f;
  return ~(sign | (e << 4) | m) & 0xff;
}

const SILENCE = Buffer.alloc(SAMPLES, 0xff);

const ULAW_DECODE = Int16Array.from({ length: 256 }, (_, b) => {
  const u = ~b & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
});

/** 50 frames (1 s) of a tone; 200 + 50·k Hz so each second holds whole periods. */
function toneFrames(k: number, amp = 8000): Buffer[] {
  const f = 200 + 50 * (k % 12);
  return Array.from({ length: 50 }, (_, fr) =>
    Buffer.from(
      Array.from({ length: SAMPLES }, (_, i) =>
        ulaw(amp * Math.sin((2 * Math.PI * f * (fr * SAMPLES + i)) / 8000)),
      ),
    ),
  );
}

function rtpHeader(seq: number, ssrc: number, pt = 0): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = pt & 0x7f;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE((seq * SAMPLES) >>> 0, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  return h;
}

async function udp(recvBufferSize?: number): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

/** Kernel drop counter of a local UDP socket (last column of /proc/net/udp). */
function udpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(hex)) return Number(f[f.length - 1]);
    }
  } catch {
    // no procfs
  }
  return 0;
}

function taskCpu(pid: number | 'self', tid: number | string): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

function tasks(pid: number | 'self'): string[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

function snapshot(pid: number | 'self', only?: string[]): Map<string, number> {
  return new Map((only ?? tasks(pid)).map((t) => [t, taskCpu(pid, t)]));
}

/** Sum and max over threads of the CPU % of one core used between two snapshots. */
function cpuBetween(
  a: Map<string, number>,
  b: Map<string, number>,
  wallS: number,
): { total: number; max: number } {
  let total = 0;
  let max = 0;
  for (const [t, c1] of b) {
    const d = c1 - (a.get(t) ?? 0);
    if (!Number.isFinite(d)) continue;
    total += d;
    max = Math.max(max, d);
  }
  return { total: (100 * total) / wallS, max: (100 * max) / wallS };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the load driver (shared by both systems)

interface Talker {
  sock: dgram.Socket;
  ip: string;
  port: number;
  ssrc: number;
  frames: Buffer[];
}

/** Every 20 ms (drift-free), one PCMU frame per talker; stops after `ms`. */
async function drive(talkers: Talker[], ms: number, onFrame?: (step: number) => void): Promise<void> {
  const t0 = performance.now();
  const steps = Math.round(ms / FRAME_MS);
  for (let step = 0; step < steps; step++) {
    onFrame?.(step);
    for (const t of talkers)
      t.sock.send([rtpHeader(step, t.ssrc), t.frames[step % t.frames.length]!], t.port, t.ip);
    const wait = t0 + (step + 1) * FRAME_MS - performance.now();
    if (wait > 0) await sleep(wait);
    else if (step % 10 === 0) await new Promise<void>((r) => setImmediate(r));
  }
}

interface Deployed {
  talkers: Talker[];
  /** Server-side counters worth showing next to the row (Parley: mix ticks skipped after stalls). */
  notes?(): Promise<string>;
  teardown(): Promise<void>;
}

interface SystemUnderTest {
  name: SystemName;
  /** `onOutput` must be called for mixed packets arriving on sockets other than the sink. */
  deploy(step: Step, sink: dgram.Socket, stepNo: number, onOutput: () => void): Promise<Deployed>;
  /** CPU snapshot of what counts as "the server". */
  snap(): Map<string, number>;
  elu?(): Promise<number>;
}

async function measureStep(
  sut: SystemUnderTest,
  step: Step,
  stepNo: number,
  seconds: number,
): Promise<LoadRow> {
  const participants = step.rooms * (step.talkersPerRoom + step.listenersPerRoom);
  const base: LoadRow = {
    system: sut.name,
    ...step,
    participants,
    cpuPct: NaN,
    maxThreadPct: NaN,
    eluPct: NaN,
    outPps: NaN,
    expectedPps: participants * 50,
    sinkDrops: 0,
    saturated: false,
  };
  const sink = await udp(4 * 1024 * 1024);
  let received = 0;
  sink.on('message', () => received++);
  let deployed: Deployed | null = null;
  try {
    deployed = await sut.deploy(step, sink, stepNo, () => received++);
    const warmupMs = 1500;
    let r0 = 0;
    let d0 = 0;
    let s0 = new Map<string, number>();
    let e0 = 0;
    let w0 = 0;
    let r1 = 0;
    let d1 = 0;
    let s1 = new Map<string, number>();
    let w1 = 0;
    const windowStart = warmupMs / FRAME_MS;
    const windowEnd = windowStart + (seconds * 1000) / FRAME_MS;
    let eluStart: Promise<number> | null = null;
    let eluEnd: Promise<number> | null = null;
    await drive(deployed.talkers, warmupMs + seconds * 1000 + 200, (i) => {
      if (i === windowStart) {
        r0 = received;
        d0 = udpDrops(sink.address().port);
        s0 = sut.snap();
        w0 = performance.now();
        eluStart = sut.elu?.() ?? null;
      } else if (i === windowEnd) {
        r1 = received;
        d1 = udpDrops(sink.address().port);
        s1 = sut.snap();
        w1 = performance.now();
        eluEnd = sut.elu?.() ?? null;
      }
    });
    const wallS = (w1 - w0) / 1000;
    base.notes = await deployed.notes?.().catch(() => undefined);
    const cpu = cpuBetween(s0, s1, wallS);
    if (eluStart && eluEnd) {
      e0 = await eluStart;
      base.eluPct = (100 * ((await eluEnd) - e0)) / (w1 - w0);
    }
    base.cpuPct = cpu.total;
    base.maxThreadPct = cpu.max;
    base.sinkDrops = d1 - d0;
    // what the server delivered: packets read + packets that reached the sink but overflowed its buffer
    // (the load generator shares the machine; a drop there is the rig's, not the mixer's)
    base.outPps = (r1 - r0 + base.sinkDrops) / wallS;
    base.saturated = cpu.max >= SAT_THREAD_PCT || base.outPps < SAT_DELIVERY * base.expectedPps;
  } catch (err) {
    base.error = (err as Error).message;
    base.saturated = true;
  } finally {
    await deployed?.teardown().catch(() => undefined);
    sink.close();
  }
  return base;
}

// ---------------------------------------------------------------- Parley

async function parleySystem(): Promise<{
  sut: SystemUnderTest;
  thread: MediaThread;
  close(): Promise<void>;
}> {
  const before = new Set(tasks('self'));
  const pool = await MediaThreadPool.create({ threads: 1, logger: pino({ level: 'silent' }) });
  const thread = pool.threadFor('bench');
  // the worker thread's OS tid: a thread that appeared with the pool (Node does not name worker threads)
  const fresh = tasks('self').filter((t) => !before.has(t));
  let src: dgram.Socket | null = null;
  const sut: SystemUnderTest = {
    name: 'Parley',
    snap: () => snapshot('self', fresh),
    elu: async () => (await thread.stats()).activeMs,
    async deploy(step, sink, stepNo) {
      const sinkPort = sink.address().port;
      src ??= await udp();
      const rooms: MixerRoomHandle[] = [];
      const talkers: Talker[] = [];
      try {
        for (let r = 0; r < step.rooms; r++) {
          const room = await thread.createMixerRoom({
            roomId: `s${stepNo}r${r}`,
            ip: '127.0.0.1',
            rate: 16000,
          });
          rooms.push(room);
          await room.connectOutput('127.0.0.1', sinkPort);
          const n = step.talkersPerRoom + step.listenersPerRoom;
          for (let p = 0; p < n; p++) {
            const talker = p < step.talkersPerRoom;
            const ssrc = 0x1000000 + r * 4096 + p;
            await room.addParticipant({
              participantId: `p${p}`,
              input: talker ? { ssrc, payloadType: 0, codec: 'PCMU' } : undefined,
              output: { ssrc: 0x2000000 + r * 4096 + p, payloadType: 0, codec: 'PCMU' },
            });
            if (talker)
              talkers.push({
                sock: src,
                ip: room.inputIp,
                port: room.inputPort,
                ssrc,
                frames: toneFrames(p),
              });
          }
        }
      } catch (err) {
        for (const room of rooms) await room.close();
        throw err;
      }
      return {
        talkers,
        async notes() {
          const st = await Promise.all(rooms.map((room) => room.stats()));
          // the thread's one mix clock: every room reports the same counters (since the room was created)
          const skipped = Math.max(...st.map((x) => x.skippedTicks));
          const late = Math.max(...st.map((x) => x.lateMaxMs));
          return `ticks skipped ${skipped}, late max ${late.toFixed(0)} ms`;
        },
        async teardown() {
          for (const room of rooms) await room.close();
        },
      };
    },
  };
  const close = async (): Promise<void> => {
    src?.close();
    await pool.close();
  };
  return { sut, thread, close };
}

// ---------------------------------------------------------------- Janus

/** Setup of one step (joins) may take at most this long; beyond, the step is reported as failed. */
const SETUP_LIMIT_MS = 60000;

/**
 * A FRESH private Janus per step (so a step never inherits another's participant threads), killed at teardown.
 * Its CPU is the whole process's (all threads) plus its busiest thread.
 */
function janusSystem(): SystemUnderTest {
  let current: JanusInstance | null = null;
  return {
    name: 'Janus',
    snap: () => (current ? snapshot(current.pid) : new Map()),
    async deploy(step, sink, stepNo, onOutput) {
      const sinkPort = sink.address().port;
      const janus = await startJanus();
      current = janus;
      const sockets: dgram.Socket[] = [];
      let session: JanusSession | null = null;
      const teardown = async (): Promise<void> => {
        // no polite session destroy: an overloaded Janus may take minutes to answer; it is per step anyway
        session?.stopPolling();
        await janus.close();
        if (current === janus) current = null;
        for (const s of sockets) s.close();
      };
      try {
        session = await JanusSession.create(janus.url);
        const sess = session;
        const admin = await sess.attach('janus.plugin.audiobridge');
        const deadline = Date.now() + SETUP_LIMIT_MS;
        const talkers: Talker[] = [];
        const jobs: Array<() => Promise<void>> = [];
        for (let r = 0; r < step.rooms; r++) {
          const room = stepNo * 1000 + r + 1;
          await sess.createAudioBridgeRoom(admin, room);
          const n = step.talkersPerRoom + step.listenersPerRoom;
          for (let p = 0; p < n; p++) {
            jobs.push(async () => {
              if (Date.now() > deadline) throw new Error(`janus setup over ${SETUP_LIMIT_MS / 1000} s`);
              const talker = p < step.talkersPerRoom;
              // a talker hears its mix-minus on the socket it sends from
              const sock = talker ? await udp() : null;
              if (sock) {
                sockets.push(sock);
                sock.on('message', onOutput);
              }
              const h = await sess.attach('janus.plugin.audiobridge');
              const joined = await sess.message(h, {
                request: 'join',
                room,
                display: `p${p}`,
                codec: 'pcmu',
                rtp: { ip: '127.0.0.1', port: sock ? sock.address().port : sinkPort, payload_type: 0 },
              });
              const rtp = joined.rtp as { ip: string; port: number } | undefined;
              if (!rtp) throw new Error(`janus join without rtp: ${JSON.stringify(joined)}`);
              const ssrc = 0x3000000 + r * 4096 + p;
              if (sock) talkers.push({ sock, ip: rtp.ip, port: rtp.port, ssrc, frames: toneFrames(p) });
              // AudioBridge sends to a plain-RTP participant only once it has received RTP from it ("setup":
              // true); a listener sends a little silence from the address it declared (the sink), then nothing
              else for (let k = 0; k < 3; k++) sink.send([rtpHeader(k, ssrc), SILENCE], rtp.port, rtp.ip);
            });
          }
        }
        await parallel(jobs, 16);
        return { talkers, teardown };
      } catch (err) {
        await teardown();
        throw err;
      }
    },
  };
}

async function parallel(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failed: Error | null = null;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !failed) {
      try {
        await jobs[next++]!();
      } catch (err) {
        failed = err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failed) throw failed;
}

// ---------------------------------------------------------------- latency (c)

const CLICK_EVERY = 25; // frames: 500 ms
const CLICK_THRESHOLD = 9000;

/** A faint 300 Hz tone (keeps any VAD open) with a 10 ms 1 kHz burst at full scale every 500 ms. */
function clickFrame(step: number): Buffer {
  const click = step % CLICK_EVERY === 0;
  return Buffer.from(
    Array.from({ length: SAMPLES }, (_, i) => {
      const n = step * SAMPLES + i;
      const bg = 1000 * Math.sin((2 * Math.PI * 300 * n) / 8000);
      return ulaw(
        click && i < 80 ? bg + 24000 * Math.sin((2 * Math.PI * 1000 * i) / 8000 + Math.PI / 4) : bg,
      );
    }),
  );
}

/** Detects clicks in a decoded PCMU stream: returns the time (ms, performance.now clock) of each click's onset. */
function clickDetector(): { onPacket(payload: Buffer, at: number): void; onsets: number[] } {
  const onsets: number[] = [];
  let quietUntil = 0;
  return {
    onsets,
    onPacket(payload, at) {
      for (let i = 0; i < payload.length; i++) {
        // the packet's sample i plays i/8 ms after the packet arrives
        const t = at + i / 8;
        if (t < quietUntil) continue;
        if (Math.abs(ULAW_DECODE[payload[i]!]!) >= CLICK_THRESHOLD) {
          onsets.push(t);
          quietUntil = t + 200;
          break;
        }
      }
    },
  };
}

function latencyOf(sys: SystemName, sent: number[], onsets: number[]): LatencyRow {
  const lat: number[] = [];
  for (const o of onsets) {
    let best = -1;
    for (const s of sent) if (s <= o) best = s;
    if (best >= 0 && o - best < 400) lat.push(o - best);
  }
  lat.sort((a, b) => a - b);
  return {
    system: sys,
    clicksSent: sent.length,
    clicksHeard: lat.length,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    maxMs: lat.length ? lat[lat.length - 1]! : NaN,
  };
}

async function clickRun(
  sys: SystemName,
  talker: Omit<Talker, 'frames'>,
  ear: dgram.Socket,
  earSsrc: number | null,
  clicks: number,
): Promise<LatencyRow> {
  const det = clickDetector();
  ear.on('message', (m) => {
    const at = performance.now();
    if (m.length <= 12 || (m[1]! & 0x7f) !== 0) return;
    if (earSsrc !== null && m.readUInt32BE(8) !== earSsrc) return;
    const cc = m[0]! & 0x0f;
    const ext = m[0]! & 0x10;
    let off = 12 + 4 * cc;
    if (ext) off += 4 + 4 * m.readUInt16BE(off + 2);
    det.onPacket(m.subarray(off), at);
  });
  const sent: number[] = [];
  const warm = 50; // 1 s of tone first (jitter buffers settle)
  const steps = warm + clicks * CLICK_EVERY + 25;
  const t0 = performance.now();
  for (let step = 0; step < steps; step++) {
    const s = step - warm;
    const frame = s >= 0 && s < clicks * CLICK_EVERY ? clickFrame(s) : clickFrame(1);
    if (s >= 0 && s < clicks * CLICK_EVERY && s % CLICK_EVERY === 0) sent.push(performance.now());
    talker.sock.send([rtpHeader(step, talker.ssrc), frame], talker.port, talker.ip);
    const wait = t0 + (step + 1) * FRAME_MS - performance.now();
    if (wait > 0) await sleep(wait);
  }
  await sleep(300);
  return latencyOf(sys, sent, det.onsets);
}

async function parleyLatency(thread: MediaThread, clicks: number): Promise<LatencyRow> {
  const ear = await udp();
  const src = await udp();
  const room = await thread.createMixerRoom({ roomId: 'latency', ip: '127.0.0.1', rate: 16000 });
  try {
    await room.connectOutput('127.0.0.1', ear.address().port);
    await room.addParticipant({
      participantId: 'mouth',
      input: { ssrc: 0x4000001, payloadType: 0, codec: 'PCMU' },
      output: { ssrc: 0x5000001, payloadType: 0, codec: 'PCMU' },
    });
    await room.addParticipant({
      participantId: 'ear',
      output: { ssrc: 0x5000002, payloadType: 0, codec: 'PCMU' },
    });
    return await clickRun(
      'Parley',
      { sock: src, ip: room.inputIp, port: room.inputPort, ssrc: 0x4000001 },
      ear,
      0x5000002,
      clicks,
    );
  } finally {
    await room.close();
    ear.close();
    src.close();
  }
}

async function janusLatency(
  janus: JanusInstance,
  clicks: number,
  prebuffering?: number,
): Promise<LatencyRow> {
  const session = await JanusSession.create(janus.url);
  const ear = await udp();
  const mouth = await udp();
  const room = 999001 + (prebuffering ?? 0);
  const admin = await session.attach('janus.plugin.audiobridge');
  try {
    await session.createAudioBridgeRoom(admin, room, prebuffering);
    const join = async (sock: dgram.Socket, display: string): Promise<{ ip: string; port: number }> => {
      const h = await session.attach('janus.plugin.audiobridge');
      const j = await session.message(h, {
        request: 'join',
        room,
        display,
        codec: 'pcmu',
        rtp: { ip: '127.0.0.1', port: sock.address().port, payload_type: 0 },
      });
      return j.rtp as { ip: string; port: number };
    };
    const m = await join(mouth, 'mouth');
    const e = await join(ear, 'ear');
    // the ear must send once before AudioBridge sends it anything (see janusSystem)
    for (let k = 0; k < 3; k++) ear.send([rtpHeader(k, 0x6000002), SILENCE], e.port, e.ip);
    const row = await clickRun(
      'Janus',
      { sock: mouth, ip: m.ip, port: m.port, ssrc: 0x6000001 },
      ear,
      null,
      clicks,
    );
    if (prebuffering !== undefined) row.note = `default_prebuffering ${prebuffering}`;
    return row;
  } finally {
    await session.message(admin, { request: 'destroy', room }).catch(() => undefined);
    await session.destroy();
    ear.close();
    mouth.close();
  }
}

// ---------------------------------------------------------------- run + tables

function steps(opts: MixerLoadOptions): Step[] {
  const listeners = opts.listeners ?? (opts.quick ? [50, 250] : [50, 100, 250, 500, 1000]);
  const rooms = opts.rooms ?? (opts.quick ? [5, 25] : [5, 10, 25, 50, 100]);
  const out: Step[] = [];
  for (const n of listeners)
    out.push({
      series: 'one room',
      rooms: 1,
      talkersPerRoom: 3,
      listenersPerRoom: Math.min(MAX_PARTICIPANTS - 3, n),
    });
  // the cost of a talker: 13 talkers instead of 3, same number of participants as the first step
  const n0 = listeners[0] ?? 50;
  out.push({ series: 'one room', rooms: 1, talkersPerRoom: 13, listenersPerRoom: Math.max(0, n0 - 10) });
  for (const r of rooms)
    out.push({
      series: 'rooms',
      rooms: Math.min(MAX_PARTICIPANTS / 10, r),
      talkersPerRoom: 3,
      listenersPerRoom: 7,
    });
  return out;
}

export async function run(opts: MixerLoadOptions = {}): Promise<MixerLoadResult> {
  const seconds = Math.min(30, Math.max(1, opts.seconds ?? (opts.quick ? 3 : 6)));
  const clicks = Math.min(100, Math.max(4, opts.clicks ?? (opts.quick ? 10 : 40)));
  const plan = steps(opts);
  const result: MixerLoadResult = { rows: [], latency: [] };
  const withJanus = opts.janus ?? janusAvailable();
  if (!withJanus) result.janusError = 'janus not installed (or --no-janus)';
  // bounded: steps that would start past the budget are skipped (and reported as such)
  const until = Date.now() + (opts.budgetS ?? (opts.quick ? 100 : 480)) * 1000;

  const parley = await parleySystem();
  const suts: SystemUnderTest[] = [parley.sut];
  if (withJanus) suts.push(janusSystem());
  try {
    // each step on Parley then at once on Janus, so both see the same machine; loads only grow within a series:
    // once a system saturated on one step, its larger steps of that series are not run
    const saturated = new Map<SystemName, Set<string>>(suts.map((x) => [x.name, new Set<string>()]));
    for (const [i, step] of plan.entries()) {
      const key = `${step.series}|${step.talkersPerRoom}`;
      for (const sut of suts) {
        const sat = saturated.get(sut.name)!;
        const row = sat.has(key)
          ? skippedRow(sut.name, step, 'skipped: a smaller load saturated')
          : Date.now() > until
            ? skippedRow(sut.name, step, 'skipped: time budget')
            : await measureStep(sut, step, i, seconds);
        if (row.saturated) sat.add(key);
        result.rows.push(row);
        if (opts.print ?? true) console.error(progressLine(row));
      }
    }
    result.latency.push(await parleyLatency(parley.thread, clicks));
  } finally {
    await parley.close();
  }

  if (withJanus) {
    try {
      for (const pre of [undefined, 2]) {
        // AudioBridge's default jitter prebuffer is 6 packets (120 ms): also with 2, for a like-for-like view
        const janus = await startJanus();
        try {
          result.latency.push(
            await janusLatency(janus, clicks, pre).catch((err: Error) => failedLatency('Janus', err)),
          );
        } finally {
          await janus.close();
        }
      }
    } catch (err) {
      result.janusError = (err as Error).message;
    }
  }
  if (opts.print ?? true) printResult(result, seconds);
  return result;
}

function skippedRow(system: SystemName, step: Step, why: string): LoadRow {
  const participants = step.rooms * (step.talkersPerRoom + step.listenersPerRoom);
  return {
    system,
    ...step,
    participants,
    cpuPct: NaN,
    maxThreadPct: NaN,
    eluPct: NaN,
    outPps: NaN,
    expectedPps: participants * 50,
    sinkDrops: 0,
    saturated: false,
    skipped: why,
  };
}

function progressLine(r: LoadRow): string {
  const what = `${r.system} ${r.series} ${r.rooms}x(${r.talkersPerRoom}+${r.listenersPerRoom})`;
  if (r.skipped) return `${what}: ${r.skipped}`;
  if (r.error) return `${what}: ERROR ${r.error}`;
  return (
    `${what}: cpu ${f1(r.cpuPct)} % (max thread ${f1(r.maxThreadPct)} %), out ${f1((100 * r.outPps) / r.expectedPps)} %` +
    (r.saturated ? ' SATURATED' : '')
  );
}

function failedLatency(system: SystemName, err: Error): LatencyRow {
  return { system, clicksSent: 0, clicksHeard: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, error: err.message };
}

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const verdict = (r: LoadRow): string =>
  r.skipped ? 'skipped' : r.error ? `ERR ${r.error}` : r.saturated ? 'YES' : 'no';

export function printResult(res: MixerLoadResult, seconds: number): void {
  const key = (r: Step): string => `${r.series}|${r.rooms}|${r.talkersPerRoom}|${r.listenersPerRoom}`;
  const janus = new Map(res.rows.filter((r) => r.system === 'Janus').map((r) => [key(r), r]));
  const rows = res.rows
    .filter((r) => r.system === 'Parley')
    .map((p) => {
      const j = janus.get(key(p));
      return {
        series: p.series,
        rooms: p.rooms,
        'talk/room': p.talkersPerRoom,
        'listen/room': p.listenersPerRoom,
        parts: p.participants,
        'Parley thread %': f1(p.cpuPct),
        'Parley ELU %': f1(p.eluPct),
        'Parley out/exp %': f1((100 * p.outPps) / p.expectedPps),
        'Parley sat': verdict(p),
        'Janus proc %': f1(j?.cpuPct ?? NaN),
        'Janus max thr %': f1(j?.maxThreadPct ?? NaN),
        'Janus out/exp %': f1(j ? (100 * j.outPps) / j.expectedPps : NaN),
        'Janus sat': j ? verdict(j) : '-',
        'CPU Parley/Janus': f1(j ? p.cpuPct / j.cpuPct : NaN),
        'sink drops P/J': `${p.sinkDrops}/${j?.sinkDrops ?? '-'}`,
        'Parley mix clock': p.notes ?? '',
      };
    });
  printTable(
    `Mixer load, PCMU in/out, 16 kHz mix, ${seconds} s per step, loopback plain RTP driving the mixer room directly ` +
      `(no mediasoup); Parley = its one mixer thread's CPU, Janus AudioBridge = whole process (% of one core); ` +
      `expected = 50 pps per participant, out counts sink-buffer drops as delivered; sat = busiest thread ≥ ${SAT_THREAD_PCT} % or out < ${SAT_DELIVERY * 100} %`,
    rows,
  );

  // per-participant costs: slope over the one-room series (3 talkers), and the 13-talker step
  const costs: Array<Record<string, string | number>> = [];
  for (const sys of ['Parley', 'Janus'] as const) {
    const one = res.rows.filter((r) => r.system === sys && r.series === 'one room' && !r.skipped);
    const three = one
      .filter((r) => r.talkersPerRoom === 3)
      .sort((a, b) => a.listenersPerRoom - b.listenersPerRoom);
    const thirteen = one.find((r) => r.talkersPerRoom === 13);
    const first = three[0];
    const unsat = three.filter((r) => !r.saturated);
    const hi = unsat[unsat.length - 1];
    const perListener =
      first && hi && hi !== first
        ? (hi.cpuPct - first.cpuPct) / (hi.listenersPerRoom - first.listenersPerRoom)
        : NaN;
    const perTalker =
      first && thirteen
        ? (thirteen.cpuPct -
            first.cpuPct -
            perListener * (thirteen.listenersPerRoom - first.listenersPerRoom)) /
          (thirteen.talkersPerRoom - first.talkersPerRoom)
        : NaN;
    const rooms = res.rows.filter((r) => r.system === sys && r.series === 'rooms' && !r.skipped);
    const maxOk = (rs: LoadRow[]): string => {
      if (rs.length === 0) return '-';
      let best = 0;
      for (const r of rs.sort((a, b) => a.participants - b.participants)) {
        if (r.saturated) return `${best} (saturated at ${r.participants})`;
        best = r.participants;
      }
      return `≥ ${best} (none saturated)`;
    };
    if (three.length === 0 && rooms.length === 0) continue;
    costs.push({
      system: sys,
      '% core / listener': perListener.toFixed(3),
      '% core / talker': perTalker.toFixed(3),
      'max parts, one room': maxOk(three),
      'max parts, rooms×10': maxOk(rooms),
    });
  }
  printTable(
    'Cost per participant (slope of CPU % over the unsaturated one-room steps) and saturation point',
    costs,
  );

  printTable(
    'Mouth-to-ear latency added by the server (click every 500 ms over a faint tone, PCMU, one room of 2)',
    res.latency.map((l) => ({
      system: l.system,
      'clicks sent': l.clicksSent,
      heard: l.clicksHeard,
      'p50 ms': f1(l.p50Ms),
      'p99 ms': f1(l.p99Ms),
      'max ms': f1(l.maxMs),
      note: l.note ?? (l.system === 'Janus' ? 'AudioBridge defaults' : 'Parley defaults'),
      error: l.error ?? '',
    })),
  );
  if (res.janusError) console.log(`\nJanus reference not measured: ${res.janusError}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // SIGTERM/SIGINT end the process through 'exit', where bench/lib/janus.ts kills its Janus
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(130));
  await run({ quick: args.includes('--quick'), janus: args.includes('--no-janus') ? false : undefined });
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
