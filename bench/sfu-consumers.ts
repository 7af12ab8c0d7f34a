/**
 * SFU fan-out per mediasoup worker: one presenter (Opus audio 50 packets/s + VP8-sized video ~540 kbit/s) received by
 * N viewers, each with an audio and a video consumer, in steps of N until loss appears. The viewers are a light
 * synthetic client: one SRTP PlainTransport per viewer (AES_CM_128_HMAC_SHA1_80, the same per-packet work in the
 * worker as a browser's WebRtcTransport: RTP rewrite + SRTP protect), all sending to one UDP socket nobody reads (the
 * kernel drops the overflow), so no receiving client competes with the worker for the 2 cores. Loss is what the
 * consumers did not send of what the presenter sent (mediasoup's own outbound-rtp counters, read on about 25 viewers:
 * a worker that cannot keep up drops packets at its input, for every consumer alike).
 *   node dist/bench/sfu-consumers.js [--quick]
 * Reference: mediasoup's documentation ("Scalability": a worker handles roughly 500 consumers in total, as a rule
 * of thumb); the ratio is the largest consumer count with < 1 % loss divided by 500. The presenter is paced by the
 * wall clock. Bounded: at most 10 steps of 8 s (4 s with --quick).
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { ROOM_MEDIA_CODECS } from '../src/media/mediasoup/media-codecs';
import { cpuSeconds, printTable } from './lib/proc';
import { nonReadingSink, startPresenter } from './lib/sfu-load';

const quick = process.argv.includes('--quick');
const STEP_MS = quick ? 4000 : 8000;
const VIEWERS = [25, 50, 100, 150, 200, 250, 300, 400, 500, 600];
const MEDIASOUP_REFERENCE_CONSUMERS = 500;

interface Viewer {
  transport: types.PlainTransport;
  consumers: types.Consumer[];
}

/** Viewers whose consumers are read (every k-th, about 25): worker input drops hit every consumer alike. */
function sample(viewers: Viewer[]): Viewer[] {
  const k = Math.max(1, Math.floor(viewers.length / 25));
  return viewers.filter((_, i) => i % k === 0);
}

/** Packets the consumers of `viewers` have sent so far (mediasoup's outbound-rtp packetCount). */
async function sentByConsumers(viewers: Viewer[]): Promise<number> {
  const stats = await Promise.all(viewers.flatMap((v) => v.consumers.map((c) => c.getStats())));
  let n = 0;
  for (const list of stats) for (const s of list) if (s.type === 'outbound-rtp') n += s.packetCount;
  return n;
}

async function main(): Promise<void> {
  const worker = await mediasoup.createWorker({ logLevel: 'error', rtcMinPort: 52000, rtcMaxPort: 54999 });
  const router = await worker.createRouter({ mediaCodecs: ROOM_MEDIA_CODECS });
  const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };

  // The presenter (Opus + VP8-sized RTP on the wall clock, bench/lib/sfu-load.ts) and the viewers' sink: a UDP
  // socket of a child process that never reads it (the kernel drops what overflows, no ICMP, no receiving cost
  // here). What each consumer sent is read from mediasoup's own stats (outbound-rtp).
  const presenter = await startPresenter(router);
  const producerIds = [presenter.audio.id, presenter.video.id];
  const sink = await nonReadingSink();
  const sinkPort = sink.port;

  const viewers: Viewer[] = [];
  const addViewer = async (): Promise<void> => {
    const t = await router.createPlainTransport({
      listenInfo,
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
    });
    await t.connect({
      ip: '127.0.0.1',
      port: sinkPort,
      srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: t.srtpParameters!.keyBase64 },
    });
    const consumers: types.Consumer[] = [];
    for (const producerId of producerIds)
      consumers.push(await t.consume({ producerId, rtpCapabilities: router.rtpCapabilities }));
    viewers.push({ transport: t, consumers });
  };

  const rows: Array<Record<string, string | number>> = [];
  let best = 0;
  for (const target of VIEWERS) {
    process.stderr.write(`[sfu-consumers] ${target} viewers…\n`);
    while (viewers.length < target) await addViewer();
    // Let the new consumers settle before counting.
    await new Promise((r) => setTimeout(r, 1000));
    const sampled = sample(viewers);
    const count0 = await sentByConsumers(sampled);
    const sent0 = presenter.sent;
    const cpu0 = cpuSeconds(worker.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, STEP_MS));
    const cpu = (cpuSeconds(worker.pid) - cpu0) / ((performance.now() - t0) / 1000);
    // A packet in flight at either edge of the window may count on the wrong side: compare totals.
    const expected = sampled.length * (presenter.sent - sent0);
    const got = (await sentByConsumers(sampled)) - count0;
    const loss = Math.max(0, 1 - got / expected);
    const consumers = viewers.length * 2;
    rows.push({
      viewers: viewers.length,
      consumers,
      'worker CPU %': Math.round(cpu * 1000) / 10,
      'packets out/s': Math.round(((got / sampled.length) * viewers.length) / (STEP_MS / 1000)),
      'loss %': Math.round(loss * 1000) / 10,
    });
    if (loss < 0.01) best = consumers;
    if (loss >= 0.01 || cpu > 0.97) break;
  }
  presenter.stop();
  printTable('One presenter (audio + VP8-sized video) to N viewers on one mediasoup worker', rows);
  printTable("Against mediasoup's documented ~500 consumers per worker", [
    {
      'consumers with < 1 % loss (this run)': best,
      'mediasoup reference': MEDIASOUP_REFERENCE_CONSUMERS,
      ratio: Math.round((best / MEDIASOUP_REFERENCE_CONSUMERS) * 100) / 100,
    },
  ]);
  sink.close();
  worker.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
