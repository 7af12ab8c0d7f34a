/**
 * SIP message parse/serialize throughput for a typical INVITE with SDP (single core, ~3 s per case).
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/sip-parse.js   (or call run() from a bench runner)
 */
import type { SipRequest } from '../src/sip/message/sip-message';
import { parseMessage } from '../src/sip/parser/message-parser';

export interface Row {
  case: string;
  /** wall-clock rate */
  msgsPerSec: number;
  /** rate per second of CPU time consumed by this process (robust on a shared, loaded machine) */
  msgsPerCpuSec: number;
  usPerMsg: number;
  iterations: number;
}

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.101',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0 8 96 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 minptime=10;useinbandfec=1',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

export const TYPICAL_INVITE = Buffer.from(
  [
    'INVITE sip:conf-42@conference.example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport',
    'Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.200',
    'Max-Forwards: 70',
    'Record-Route: <sip:proxy.example.com;lr>',
    'To: "Conference 42" <sip:conf-42@conference.example.com>',
    'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@192.0.2.101:5060;transport=udp>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY',
    'Supported: replaces, timer, 100rel',
    'Session-Expires: 1800;refresher=uac',
    'User-Agent: Parley-Bench/1.0',
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(SDP)}`,
    '',
    SDP,
  ].join('\r\n'),
);

let sink = 0;

function measure(name: string, durationMs: number, fn: () => void): Row {
  // warm-up
  for (let i = 0; i < 20000; i++) fn();
  let iterations = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) fn();
    iterations += 1000;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  return {
    case: name,
    msgsPerSec: Math.round(iterations / secs),
    msgsPerCpuSec: Math.round(iterations / cpuSecs),
    usPerMsg: (secs * 1e6) / iterations,
    iterations,
  };
}

export async function run(opts: { durationMs?: number } = {}): Promise<Row[]> {
  const d = opts.durationMs ?? 3000;
  const data = TYPICAL_INVITE;
  const parsed = parseMessage(data) as SipRequest;
  const rows: Row[] = [];
  rows.push(
    measure('parse', d, () => {
      sink += parseMessage(data).body.length;
    }),
  );
  await new Promise((r) => setImmediate(r));
  rows.push(
    measure('parse + touch Via/From/To/CSeq', d, () => {
      const m = parseMessage(data);
      sink += m.topVia.branch!.length + m.from.tag!.length + m.to.uri.host.length + m.cseq.seq;
    }),
  );
  await new Promise((r) => setImmediate(r));
  rows.push(
    measure('serialize', d, () => {
      sink += parsed.toBuffer().length;
    }),
  );
  await new Promise((r) => setImmediate(r));
  rows.push(
    measure('parse + serialize', d, () => {
      sink += parseMessage(data).toBuffer().length;
    }),
  );
  await new Promise((r) => setImmediate(r));
  rows.push(
    measure('parse + touch + serialize', d, () => {
      const m = parseMessage(data);
      sink += m.topVia.branch!.length + m.from.tag!.length + m.to.uri.host.length + m.cseq.seq;
      sink += m.toBuffer().length;
    }),
  );
  return rows;
}

export function formatTable(rows: Row[]): string {
  const lines = [
    `${'case'.padEnd(32)} ${'msgs/s (wall)'.padStart(14)} ${'msgs/cpu-s'.padStart(12)} ${'µs/msg'.padStart(8)}`,
  ];
  for (const r of rows) {
    lines.push(
      `${r.case.padEnd(32)} ${r.msgsPerSec.toLocaleString('en-US').padStart(14)} ` +
        `${r.msgsPerCpuSec.toLocaleString('en-US').padStart(12)} ${r.usPerMsg.toFixed(2).padStart(8)}`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  const durationMs = Number(process.env.BENCH_MS ?? 3000);
  void run({ durationMs }).then((rows) => {
    console.log(`SIP parse bench: INVITE with SDP, ${TYPICAL_INVITE.length} bytes, node ${process.version}`);
    console.log(formatTable(rows));
    if (sink === -1) console.log(sink);
  });
}
