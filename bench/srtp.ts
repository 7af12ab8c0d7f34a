/**
 * Cost of SDES-SRTP in a media thread with @parley/srtp (our binding over Debian's libsrtp2), per packet: a 172-byte
 * G.711 RTP packet (12-byte header + 20 ms of PCMU) protected and unprotected, for each suite, and what a phone leg
 * costs at 50 packets/s each way × 1000 legs.
 *   node dist/bench/srtp.js [--quick]
 * Reference, same run: the same AES_CM_128_HMAC_SHA1_80 work done with Node's own crypto (createCipheriv
 * aes-128-ctr + createHmac sha1 per packet, session keys derived once), checked byte-exact against the binding.
 * Figures are CPU time (process.cpuUsage), not wall time: on a shared machine the latter mostly measures the others.
 * Bounded: a fixed number of packets per case (a few seconds in all).
 */
import crypto from 'node:crypto';
import { SrtpSession, generateKeyBase64 } from '@parley/srtp';
import type { SrtpSuite } from '@parley/srtp';
import { printTable } from './lib/proc';

const SUITES: SrtpSuite[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
];
const LEGS = 1000;
const PPS = 50;
const SSRC = 0x5eed5eed;

/** CPU µs this process has used (user + system; the shared machine's load does not inflate it, as wall time would). */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Best-of-`batches` mean CPU µs per call for each case, the cases alternating batch by batch so that any change of
 * machine state hits all alike. Each case has its own call counter (0, 1, 2, … across warm-up and batches), so a
 * case may consume a fresh packet per call.
 */
function measureInterleaved(
  fns: Array<(i: number) => void>,
  iterations: number,
  batches: number,
  warmup = 50,
): number[] {
  const next = fns.map(() => 0);
  const best = fns.map(() => Infinity);
  fns.forEach((fn, f) => {
    for (let i = 0; i < warmup; i++) fn(next[f]!++);
  });
  for (let b = 0; b < batches; b++) {
    fns.forEach((fn, f) => {
      const t0 = cpuUs();
      for (let i = 0; i < iterations; i++) fn(next[f]!++);
      best[f] = Math.min(best[f]!, (cpuUs() - t0) / iterations);
    });
  }
  return best;
}

/** 172-byte PCMU packet number `i` (the sequence number wraps; the ROC is the caller's business). */
function g711Packet(i: number): Buffer {
  const p = Buffer.alloc(172, 0xd5);
  p[0] = 0x80;
  p[1] = 0;
  p.writeUInt16BE(i & 0xffff, 2);
  p.writeUInt32BE((i * 160) >>> 0, 4);
  p.writeUInt32BE(SSRC, 8);
  return p;
}

/** SRTP AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2, §4.3 with kdr 0) on Node's crypto, one SSRC. */
class NodeSrtp {
  private readonly cipherKey: Buffer;
  private readonly authKey: Buffer;
  private readonly salt: Buffer;
  private readonly iv = Buffer.alloc(16);
  private readonly roc = Buffer.alloc(4);

  constructor(keyBase64: string) {
    const key = Buffer.from(keyBase64, 'base64');
    const prf = (label: number, len: number) => {
      const iv = Buffer.alloc(16);
      key.copy(iv, 0, 16, 30);
      iv[7] ^= label;
      return crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), iv).update(Buffer.alloc(len));
    };
    this.cipherKey = prf(0, 16);
    this.authKey = prf(1, 20);
    this.salt = prf(2, 14);
  }

  private keystreamIv(p: Buffer, roc: number): Buffer {
    const iv = this.iv;
    iv.fill(0);
    this.salt.copy(iv);
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ p.readUInt32BE(8)) >>> 0, 4);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ roc) >>> 0, 8);
    iv.writeUInt16BE(iv.readUInt16BE(12) ^ p.readUInt16BE(2), 12);
    return iv;
  }

  private tag(authenticated: Buffer, roc: number): Buffer {
    this.roc.writeUInt32BE(roc);
    return crypto
      .createHmac('sha1', this.authKey)
      .update(authenticated)
      .update(this.roc)
      .digest()
      .subarray(0, 10);
  }

  protect(p: Buffer, roc: number): Buffer {
    const out = Buffer.allocUnsafe(p.length + 10);
    p.copy(out, 0, 0, 12);
    const c = crypto.createCipheriv('aes-128-ctr', this.cipherKey, this.keystreamIv(p, roc));
    c.update(p.subarray(12)).copy(out, 12);
    this.tag(out.subarray(0, p.length), roc).copy(out, p.length);
    return out;
  }

  unprotect(p: Buffer, roc: number): Buffer | null {
    const body = p.subarray(0, p.length - 10);
    if (!crypto.timingSafeEqual(this.tag(body, roc), p.subarray(p.length - 10))) return null;
    const out = Buffer.allocUnsafe(body.length);
    body.copy(out, 0, 0, 12);
    const d = crypto.createDecipheriv('aes-128-ctr', this.cipherKey, this.keystreamIv(body, roc));
    d.update(body.subarray(12)).copy(out, 12);
    return out;
  }
}

export interface SrtpBenchRow {
  case: string;
  'protect µs': number;
  'unprotect µs': number;
  /** % of one core for LEGS legs, each protecting and unprotecting PPS packets/s. */
  '% core, 1000 legs': number;
  note: string;
}

export function run(quick = process.argv.includes('--quick'), print = true): SrtpBenchRow[] {
  const iterations = quick ? 500 : 4000;
  const batches = quick ? 3 : 7;
  const total = 50 + iterations * batches;
  const rows: SrtpBenchRow[] = [];
  const row = (name: string, protect: number, unprotect: number, note = ''): SrtpBenchRow => ({
    case: name,
    'protect µs': protect,
    'unprotect µs': unprotect,
    '% core, 1000 legs': ((protect + unprotect) * PPS * LEGS) / 1e4,
    note,
  });

  // Packets numbered from 0 so the ROC of packet i is i >> 16 (total stays below 65536 in any case).
  const clear = Array.from({ length: total }, (_, i) => g711Packet(i));
  const cases: Array<{
    name: string;
    protect: (i: number) => void;
    unprotect: (i: number) => void;
    note: string;
  }> = [];
  const sessions: SrtpSession[] = [];
  for (const suite of SUITES) {
    const keyBase64 = generateKeyBase64(suite);
    const session = (direction: 'inbound' | 'outbound') => {
      const s = new SrtpSession({ suite, keyBase64, direction });
      sessions.push(s);
      return s;
    };
    const out = session('outbound');
    const sealer = session('outbound');
    const inb = session('inbound');
    const sealed = clear.map((p) => sealer.protectRtp(p));
    cases.push({
      name: `libsrtp ${suite}`,
      protect: (i) => out.protectRtp(clear[i]!),
      // Each packet opened once (a second time would be a replay, refused early and cheaply).
      unprotect: (i) => {
        if (inb.unprotectRtp(sealed[i]!) === null) throw new Error(`${suite}: packet ${i} did not open`);
      },
      note: `+${sealed[0]!.length - 172} bytes`,
    });
    if (suite === 'AES_CM_128_HMAC_SHA1_80') {
      // The reference must do the same work: its packets equal the binding's, byte for byte, and open back.
      const node = new NodeSrtp(keyBase64);
      for (let i = 0; i < 200; i++) {
        if (
          !node.protect(clear[i]!, 0).equals(sealed[i]!) ||
          !node.unprotect(sealed[i]!, 0)?.equals(clear[i]!)
        )
          throw new Error('the Node crypto reference disagrees with libsrtp');
      }
      cases.push({
        name: 'Node crypto AES-128-CTR + HMAC-SHA1-80 (reference)',
        protect: (i) => node.protect(clear[i]!, 0),
        unprotect: (i) => {
          if (node.unprotect(sealed[i]!, 0) === null) throw new Error(`reference: packet ${i} did not open`);
        },
        note: '',
      });
    }
  }

  const us = measureInterleaved(
    cases.flatMap((c) => [c.protect, c.unprotect]),
    iterations,
    batches,
  );
  const libIndex = cases.findIndex((c) => c.name === 'libsrtp AES_CM_128_HMAC_SHA1_80');
  cases.forEach((c, k) => {
    const [protect, unprotect] = [us[2 * k]!, us[2 * k + 1]!];
    const note =
      c.note ||
      `${(protect / us[2 * libIndex]!).toFixed(2)}× / ${(unprotect / us[2 * libIndex + 1]!).toFixed(2)}× libsrtp AES_CM_128_HMAC_SHA1_80`;
    rows.push(row(c.name, protect, unprotect, note));
  });
  for (const s of sessions) s.close();

  if (print) {
    printTable(
      `SRTP per 172-byte G.711 packet (CPU µs, best of ${batches} interleaved batches of ${iterations}); ` +
        `% of one core = ${LEGS} legs × ${PPS} packets/s protected + ${PPS} unprotected`,
      rows.map((r) => ({ ...r })),
    );
  }
  return rows;
}

if (require.main === module) run();
