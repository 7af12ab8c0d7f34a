/**
 * Entry of a Parley media worker thread (worker_threads). One per core by default (MediaThreadPool); a room's
 * phone-leg relays and its audio mix live on the same thread. The main thread only sends control requests and
 * gets control notifications (protocol.ts): no media packet ever crosses the thread boundary.
 *
 * 1. RTP relay per phone leg (relay/): phone ⇄ outer socket(s) ⇄ inner socket ⇄ mediasoup PlainTransport.
 *    Needed because mediasoup 3.19 only matches plain RTP by SSRC/MID/RID and phones neither announce nor keep
 *    their SSRC: the relay learns it (clear even under SRTP, RFC 3711 §3.1), latches symmetric RTP (RFC 4961),
 *    muxes/demuxes a phone's separate RTCP port (RFC 5761 §4), and decodes RFC 4733 digits on plain-RTP legs
 *    (mediasoup consumers do not forward telephone-event: Consumer.cpp keeps media codecs only).
 *
 * 2. Mixer rooms (host/mixer-room*.ts) around the pure mixer core (mixer.ts, input-pipeline.ts, ...).
 *    Choice: mediasoup stays the only RTP router. Each participant's leg Producer is consumed on the room's
 *    "mixer input" PlainTransport, which sends plain RTP to a room socket owned by this thread; packets are
 *    demultiplexed by the consumer's SSRC (given by the main thread), jitter-buffered and decoded per
 *    participant. ONE drift-corrected 20 ms clock per thread (MixClock: tick n at start + n·20 ms, at most 3
 *    catch-up ticks, then skip with RTP timestamps running on) mixes every room of the thread. Each
 *    participant's mix goes out with its own SSRC/seq/timestamp to the room's "mixer output" PlainTransport,
 *    where the main thread created one Producer per participant with encodings [{ ssrc }] chosen in advance,
 *    consumed on the participant's own leg transport. Why not mix straight into the relays? Transcoding,
 *    SRTP and simulcast/RTCP stay mediasoup's business, WebRTC participants join the same mix the same way,
 *    and a leg can switch between SFU and mix without touching its relay. Cost: two extra loopback hops per
 *    packet (mediasoup → thread → mediasoup), measured below.
 *
 * Measured on this 2-core shared VM (node dist/bench/relay.js; noisy, ±30 %):
 *  - relay: ≈ 30 µs of thread time per relayed packet at scale, ≈ 3 % of a core per 1000 pps
 *    (100 legs × 50 pps × 2 directions = 10 000 pps → ≈ 31 % of one core); added one-way latency p50 ≈ 0.1–0.7 ms
 *    (loopback, load generator in the same process), no loss.
 *  - mixer rooms (PCMU in/out, 16 kHz mix, 3 talkers, everyone else sending faint noise), thread busy time
 *    including receive, jitter buffer, decode, mix, encode and send: 1 room × 10 participants ≈ 7 % of a core,
 *    1 × 50 ≈ 9 %, 5 × 10 ≈ 19 % (per room tick ≈ 0.3–0.7 ms; the pure core alone is ≈ 0.25 ms for 3 talkers
 *    + 10 listeners, bench/mixer-core.ts — the rest is sockets, RTP parse/stamp and per-participant sends).
 */
import { parentPort } from 'node:worker_threads';
import { MediaThreadHost } from './host/media-thread-host';
import { MixerRoomHost } from './host/mixer-room-host';
import type { MainToThread } from './protocol';

if (!parentPort) throw new Error('mixer.worker must run in a worker thread');
const port = parentPort;
const host = new MediaThreadHost((msg, transfer) => port.postMessage(msg, transfer));
new MixerRoomHost(host);
/**
 * Fault injection for the fault tests (test/e2e/fault-thread.test.ts), on only when the process was started with
 * PARLEY_FAULT_INJECTION=1: `{ kind: 'fault' }` makes this thread throw an uncaught exception, as a bug in a codec
 * or the mixer would, so the main thread's recovery is proven against a real thread death.
 */
const faultInjection = process.env.PARLEY_FAULT_INJECTION === '1';
port.on('message', (msg: MainToThread | { kind: 'fault' }) => {
  if (msg.kind === 'fault') {
    if (!faultInjection) return;
    setImmediate(() => {
      throw new Error('injected media thread fault (PARLEY_FAULT_INJECTION)');
    });
    return;
  }
  void host.handle(msg);
});
port.on('close', () => void host.close());
port.postMessage({ kind: 'ready' });
