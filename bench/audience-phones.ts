/**
 * Phone listeners through the whole server (part of bench/audience.ts): the built Parley (bench/lib/parley-server.ts,
 * one mediasoup worker and so one media thread) with one open webinar room; 3 hosts (PIN 1111 by SIP INFO) talk, N
 * phones join as listen-only attendees (a lone `#`, SIP INFO application/dtmf-relay). Every phone is a plain-RTP
 * phone of bench/lib/rtp-phones.ts (PCMU, 20 ms, on the wall clock: hosts a tone, attendees comfort noise, as a
 * real phone keeps sending while muted), its call over Parley's own SIP stack as the UAC. Per step (N grows on the
 * same server): the media thread's CPU (the busiest thread of the server other than main, bench/lib/tree-cpu.ts),
 * the whole server tree's, and what the attendees received against 50 packets/s each. Measures, never asserts;
 * bounded by a setup deadline per step.
 */
import { SipStack } from '../src/sip/ua/sip-stack';
import { silentLogger } from '../src/logging/logger';
import { ParleyServer, freeSipPort, sleep } from './lib/parley-server';
import { cpuBetween, snapTree } from './lib/tree-cpu';
import {
  Pacer,
  Phone,
  comfortNoiseFrames,
  pcmuAnswerTarget,
  pcmuOffer,
  talkerFrames,
} from './lib/rtp-phones';

export interface PhoneListenerRow {
  listeners: number;
  mediaThreadPct: number;
  serverTreePct: number;
  /** Packets the attendees received in the window / 50 per second each (%). */
  deliveredPct: number;
  joinErrors: number;
  /** Participants the server lists in the room as joined listen-only attendees, muted (GET /api/rooms/hall). */
  attendeesListed: number;
}

const HOSTS = 3;
const ROOM = 'hall';
const CONCURRENCY = 16;

async function parallel(jobs: Array<() => Promise<void>>, limit: number): Promise<number> {
  let next = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await job().catch(() => errors++);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return errors;
}

export async function phoneListeners(opts: {
  steps: number[];
  seconds: number;
  setupLimitMs: number;
}): Promise<PhoneListenerRow[]> {
  const port = await freeSipPort(16060 + (process.pid % 40) * 10);
  const srv = await ParleyServer.start(port, {
    config: {
      conference: {
        joinTones: false,
        maxParticipants: 2000,
        emptyRoomGraceSeconds: 600,
        rooms: [{ name: ROOM, webinar: { hostPin: '1111' } }],
      },
    },
    env: {
      PARLEY_RTC_NUM_WORKERS: '1',
      PARLEY_RTC_MIN_PORT: '20000',
      PARLEY_RTC_MAX_PORT: '29999',
      PARLEY_LOG_LEVEL: 'info',
    },
    openFiles: 65536,
  });
  const uac = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
    logger: silentLogger(),
  });
  const pacer = new Pacer(600);
  const phones: Phone[] = [];
  const attendees: Phone[] = [];
  const rows: PhoneListenerRow[] = [];
  const call = async (phone: Phone, user: string, pin: string): Promise<void> => {
    const dialog = await uac.invite(`sip:${ROOM}@127.0.0.1:${port}`, {
      sdp: pcmuOffer(user, phone.port),
      from: `"${user}" <sip:${user}@127.0.0.1>`,
      timeoutMs: 32000,
    });
    phone.remote = pcmuAnswerTarget(dialog.remoteSdp?.toString() ?? '');
    pacer.add(phone);
    for (const ch of `${pin}#`)
      await dialog.info({ body: `Signal=${ch}\r\nDuration=160\r\n`, contentType: 'application/dtmf-relay' });
  };
  try {
    pacer.start();
    for (let h = 0; h < HOSTS; h++) {
      const p = await Phone.open('talker', talkerFrames(h));
      phones.push(p);
      await call(p, `host${h}`, '1111');
    }
    for (const target of opts.steps) {
      const deadline = Date.now() + opts.setupLimitMs;
      const jobs: Array<() => Promise<void>> = [];
      while (attendees.length + jobs.length < target) {
        const n = attendees.length + jobs.length;
        jobs.push(async () => {
          if (Date.now() > deadline) throw new Error('setup deadline');
          const p = await Phone.open('listener', comfortNoiseFrames(n + 1), n % 50);
          phones.push(p);
          attendees.push(p);
          await call(p, `att${n}`, '');
        });
      }
      process.stderr.write(`[audience] phone attendees: ${target}…\n`);
      const joinErrors = await parallel(jobs, CONCURRENCY);
      // Past the PIN prompt and into the mix: every attendee hears the shared mix from here on.
      await sleep(3000);
      const listed = await fetch(`${srv.http}/api/rooms/${ROOM}`, {
        headers: { authorization: `Bearer ${srv.token}` },
      }).then(
        (r) =>
          r.json() as Promise<{ participants?: Array<{ role?: string; state: string; muted?: boolean }> }>,
      );
      const attendeesListed = (listed.participants ?? []).filter(
        (x) => x.role === 'attendee' && x.state === 'joined' && x.muted === true,
      ).length;
      for (const a of attendees) a.markWindow();
      const s0 = snapTree(srv.pid, true);
      await sleep(opts.seconds * 1000);
      const s1 = snapTree(srv.pid, true);
      const cpu = cpuBetween(srv.pid, s0, s1, 1);
      const got = attendees.reduce((s, a) => s + a.windowCount().received, 0);
      rows.push({
        listeners: attendees.length,
        mediaThreadPct: cpu.mediaPct,
        serverTreePct: cpu.totalPct,
        deliveredPct: (100 * got) / (attendees.length * 50 * ((s1.at - s0.at) / 1000)),
        joinErrors,
        attendeesListed,
      });
    }
  } finally {
    await pacer.stop();
    await srv.stop();
    await uac.close();
    for (const p of phones) p.close();
  }
  return rows;
}
