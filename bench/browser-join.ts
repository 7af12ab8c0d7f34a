/**
 * Browser join time: a real Chromium (Debian's, via playwright-core) opens a page and joins a room where a SIP phone
 * is already talking; measured from the page's navigation start to the first audio of the phone heard in the page
 * (WebAudio, peak above −34 dBFS), p50/p99 over sequential joins, each in a fresh page.
 *   node dist/bench/browser-join.js [--quick]
 * Reference, same run and same browser: two RTCPeerConnections inside one page sending the fake microphone to each
 * other (the browser's own floor: getUserMedia, ICE and DTLS on loopback, decoder start) with the same detection;
 * the ratio is Parley's p50 over that floor's p50. Bounded: 20 joins (6 with --quick).
 * The page is the UI-less protocol client (test/browser/rtc-probe.ts) so that no UI work is counted.
 */
import { freePort } from '../test/support/sipp';
import { launchBrowser } from '../test/support/browser';
import { serveProbe } from '../test/support/rtc-probe';
import { SipPhone } from '../test/support/sip-phone';
import { freeSipPort, ParleyServer } from './lib/parley-server';
import { percentile, printTable } from './lib/proc';

const quick = process.argv.includes('--quick');
const JOINS = quick ? 6 : 20;

async function main(): Promise<void> {
  const sipPort = await freeSipPort(25060);
  const server = await ParleyServer.start(sipPort, {
    config: { conference: { joinTones: false }, webrtc: { port: 0 } },
    env: { PARLEY_HTTP_PORT: String(await freePort()) },
  });
  const probe = await serveProbe();
  const phone = await SipPhone.call({
    target: `sip:bench@127.0.0.1:${sipPort}`,
    user: 'phone',
    codec: 'PCMU',
    tone: 887,
  });
  const parley: number[] = [];
  const floor: number[] = [];
  const marks: Record<string, number[]> = {};
  try {
    for (let i = 0; i < JOINS; i++) {
      const b = await launchBrowser({ toneHz: 407, name: `join-${i}` });
      try {
        await b.page.goto(probe.url);
        const r = await b.page.evaluate(
          async (o) => {
            const p = (
              globalThis as unknown as {
                probe: {
                  start(o: unknown): Promise<string>;
                  firstAudioAt: Record<string, number>;
                  marks: Record<string, number>;
                  leave(): Promise<unknown>;
                };
              }
            ).probe;
            await p.start(o);
            const end = performance.now() + 20000;
            while (Object.keys(p.firstAudioAt).length === 0 && performance.now() < end)
              await new Promise((r) => setTimeout(r, 10));
            const t = Object.values(p.firstAudioAt)[0];
            await p.leave();
            return { ms: t ?? -1, marks: { ...p.marks } };
          },
          { server: server.http, room: 'bench', name: `viewer ${i}` },
        );
        if (r.ms < 0) throw new Error(`join ${i}: the phone was never heard`);
        parley.push(r.ms);
        for (const [k, v] of Object.entries(r.marks)) (marks[k] ??= []).push(v);
        await b.page.goto(probe.url);
        floor.push(
          await b.page.evaluate(() =>
            (
              globalThis as unknown as { probe: { loopbackBaseline(): Promise<number> } }
            ).probe.loopbackBaseline(),
          ),
        );
      } finally {
        await b.close();
      }
    }
  } finally {
    await phone.close();
    await probe.close();
    await server.stop();
  }
  const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);
  const p = sorted(parley);
  const f = sorted(floor);
  const round = (x: number): number => Math.round(x);
  printTable(`Browser join: page load to first audio of a phone in the room (${JOINS} joins)`, [
    {
      path: 'Parley (socket.io join, mediasoup WebRtcTransport, phone PCMU consumed as-is)',
      'p50 ms': round(percentile(p, 50)),
      'p99 ms': round(percentile(p, 99)),
      'max ms': round(p[p.length - 1]!),
    },
    {
      path: "reference: two RTCPeerConnections in one page (the browser's floor)",
      'p50 ms': round(percentile(f, 50)),
      'p99 ms': round(percentile(f, 99)),
      'max ms': round(f[f.length - 1]!),
    },
  ]);
  printTable('Where a Parley join spends its time (p50, ms since navigation start)', [
    Object.fromEntries([
      ...Object.entries(marks).map(([k, v]) => [k, round(percentile(sorted(v), 50))]),
      ['phone heard', round(percentile(p, 50))],
    ]),
  ]);
  printTable('Ratio', [
    { 'Parley p50 / browser floor p50': Math.round((percentile(p, 50) / percentile(f, 50)) * 100) / 100 },
  ]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
