/**
 * A small paced UAC on Parley's own SIP stack, for call setup latency with sub-millisecond resolution (SIPp's
 * -trace_rtt reports whole milliseconds). Each call: INVITE with a PCMA offer (no RTP is ever sent) → 2xx (the
 * stack ACKs) → hold → BYE. Bounded: `calls` calls at `rate`/s, each INVITE given up after 32 s.
 */
import { SipStack } from '../../src/sip/ua/sip-stack';
import { silentLogger } from '../../src/logging/logger';

export interface NodeUacRun {
  /** host:port */
  remote: string;
  /** Request-URI users, used in turn */
  rooms: string[];
  rate: number;
  calls: number;
  holdMs: number;
}

export interface NodeUacResult {
  /** INVITE handed to the stack → 2xx received, ms, one per successful call (sorted) */
  setupMs: number[];
  failed: number;
  /** first error messages seen */
  errors: string[];
}

export async function runNodeUac(r: NodeUacRun): Promise<NodeUacResult> {
  const stack = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: 0, tcp: null, tls: null, ws: null },
    logger: silentLogger(),
  });
  const setupMs: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  const sdp = (port: number) =>
    [
      'v=0',
      'o=bench 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port} RTP/AVP 8`,
      'a=rtpmap:8 PCMA/8000',
      'a=sendrecv',
      '',
    ].join('\r\n');
  const one = async (i: number): Promise<void> => {
    const room = r.rooms[i % r.rooms.length]!;
    try {
      const t0 = process.hrtime.bigint();
      const dialog = await stack.invite(`sip:${room}@${r.remote}`, {
        sdp: sdp(40000 + (i % 5000) * 2),
        timeoutMs: 32000,
      });
      setupMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await new Promise((res) => setTimeout(res, r.holdMs));
      await dialog.bye();
    } catch (err) {
      failed++;
      if (errors.length < 5) errors.push((err as Error).message);
    }
  };
  const pending: Array<Promise<void>> = [];
  const start = Date.now();
  for (let i = 0; i < r.calls; i++) {
    const due = start + (i * 1000) / r.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    pending.push(one(i));
  }
  await Promise.all(pending);
  await stack.close();
  return { setupMs: setupMs.sort((a, b) => a - b), failed, errors };
}
