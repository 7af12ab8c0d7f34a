import { JitterBuffer, JitterBufferState } from '../../../../workers/mixer/jitter-buffer';
import type { RtpAudioPacket } from '../../../../workers/mixer/jitter-buffer';
import type { AudioDecoder } from '../../../../workers/mixer/codec/codec';

const PLC = -1;
const FEC = -2;

/** Fake 8 kHz codec: payload = [value u16, samples u16]; decode gives `samples` copies of `value`. */
class FakeDecoder implements AudioDecoder {
  readonly name = 'PCMU' as const;
  readonly sampleRate = 8000;
  readonly rtpClockRate = 8000;
  readonly frameSamples = 160;
  plcCalls = 0;
  decodeFec?: (next: Buffer, samples: number) => Int16Array;
  constructor(withFec = false) {
    if (withFec) this.decodeFec = (_next, samples) => new Int16Array(samples).fill(FEC);
  }
  decode(p: Buffer): Int16Array {
    return new Int16Array(p.readUInt16BE(2)).fill(p.readUInt16BE(0));
  }
  plc(): Int16Array {
    this.plcCalls++;
    return new Int16Array(160).fill(PLC);
  }
  close(): void {}
}

function payload(value: number, samples = 160): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(value, 0);
  b.writeUInt16BE(samples, 2);
  return b;
}

const SSRC = 0x1234;
function pkt(seq: number, ts: number, value = seq & 0x7fff, samples = 160, ssrc = SSRC): RtpAudioPacket {
  return { seq: seq & 0xffff, timestamp: ts >>> 0, ssrc, payload: payload(value, samples) };
}

/** Value of a frame (all samples equal in these tests), or null. */
function v(frame: Int16Array | null): number | null {
  return frame ? frame[0] : null;
}

describe('JitterBuffer', () => {
  it('plays in-order packets once the target depth is reached (20 ms with no jitter)', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    expect(jb.pop()).toBeNull();
    expect(jb.push(pkt(10, 1600), 0)).toBe('queued');
    expect(jb.state).toBe(JitterBufferState.Buffering);
    expect(v(jb.pop())).toBe(10);
    expect(jb.state).toBe(JitterBufferState.Playing);
    jb.push(pkt(11, 1760), 20);
    expect(v(jb.pop())).toBe(11);
  });

  it('reorders by sequence number', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 60 });
    jb.push(pkt(1, 160), 0);
    jb.push(pkt(3, 480), 0);
    jb.push(pkt(2, 320), 0);
    expect([v(jb.pop()), v(jb.pop()), v(jb.pop())]).toEqual([1, 2, 3]);
  });

  it('handles 16-bit sequence wrap-around, also when reordered across the wrap', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 80 });
    jb.push(pkt(65534, 0, 1), 0);
    jb.push(pkt(0, 320, 3), 0);
    jb.push(pkt(65535, 160, 2), 0);
    jb.push(pkt(1, 480, 4), 0);
    expect([v(jb.pop()), v(jb.pop()), v(jb.pop()), v(jb.pop())]).toEqual([1, 2, 3, 4]);
    expect(jb.stats.concealed).toBe(0);
  });

  it('drops duplicates and counts them', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 40 });
    jb.push(pkt(5, 800), 0);
    expect(jb.push(pkt(5, 800), 1)).toBe('duplicate');
    jb.push(pkt(6, 960), 2);
    expect([v(jb.pop()), v(jb.pop())]).toEqual([5, 6]);
    expect(jb.stats.duplicates).toBe(1);
  });

  it('drops packets that arrive after their playout time (late)', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 40 });
    jb.push(pkt(1, 160), 0);
    jb.push(pkt(3, 480), 0);
    expect(v(jb.pop())).toBe(1);
    expect(v(jb.pop())).toBe(PLC); // 2 is missing while 3 is queued → loss
    expect(jb.push(pkt(2, 320), 45)).toBe('late');
    expect(jb.stats.late).toBe(1);
    expect(v(jb.pop())).toBe(3);
  });

  it('conceals a lost packet with the codec PLC when later packets are queued', () => {
    const dec = new FakeDecoder();
    const jb = new JitterBuffer({ decoder: dec, minDelayMs: 60 });
    for (const s of [1, 2, 4, 5]) jb.push(pkt(s, s * 160), 0);
    expect([1, 2, 3, 4, 5].map(() => v(jb.pop()))).toEqual([1, 2, PLC, 4, 5]);
    expect(jb.stats.concealed).toBe(1);
    expect(dec.plcCalls).toBe(1);
  });

  it('uses FEC from the next packet when the decoder offers it', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(true), minDelayMs: 60 });
    for (const s of [1, 3, 4]) jb.push(pkt(s, s * 160), 0);
    expect([v(jb.pop()), v(jb.pop()), v(jb.pop())]).toEqual([1, FEC, 3]);
    expect(jb.stats.fecRecovered).toBe(1);
  });

  it('starving: at most 3 PLC frames (60 ms), then null, then re-buffers; DTX resume is not "late"', () => {
    const dec = new FakeDecoder();
    const jb = new JitterBuffer({ decoder: dec });
    jb.push(pkt(1, 160), 0);
    expect(v(jb.pop())).toBe(1);
    const out = [jb.pop(), jb.pop(), jb.pop(), jb.pop(), jb.pop()].map(v);
    expect(out).toEqual([PLC, PLC, PLC, null, null]);
    expect(jb.state).toBe(JitterBufferState.Buffering);
    // sender used DTX: next seq is 2 but its timestamp jumped 2 s ahead
    expect(jb.push(pkt(2, 160 + 16000), 2000)).toBe('queued');
    expect(v(jb.pop())).toBe(2);
    expect(dec.plcCalls).toBe(3);
  });

  it('starving on a late packet stretches the playout: the packet is played when it comes, not dropped', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    jb.push(pkt(1, 160), 0);
    expect(v(jb.pop())).toBe(1);
    expect(v(jb.pop())).toBe(PLC); // 2 is late
    jb.push(pkt(2, 320), 45);
    jb.push(pkt(3, 480), 50);
    expect([jb.pop(), jb.pop()].map(v)).toEqual([2, 3]); // one frame deeper now, nothing lost
    expect(jb.stats.late).toBe(0);
    expect(jb.stats.underruns).toBe(1);
  });

  it('starving on a lost packet: once its successor arrives, the lost one is recovered from its FEC', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(true) });
    jb.push(pkt(1, 160), 0);
    expect(v(jb.pop())).toBe(1);
    expect(v(jb.pop())).toBe(PLC); // 2 never comes; 3 comes a little late
    jb.push(pkt(3, 480), 50);
    expect([jb.pop(), jb.pop()].map(v)).toEqual([FEC, 3]);
    expect(jb.stats.fecRecovered).toBe(1);
  });

  it('a DTX timestamp gap between consecutive packets already queued is played as silence, not PLC', () => {
    const dec = new FakeDecoder();
    const jb = new JitterBuffer({ decoder: dec, minDelayMs: 40 });
    jb.push(pkt(1, 160), 0);
    jb.push(pkt(2, 160 * 4), 0); // timestamps 320 and 480 never sent: 2 frames of DTX
    expect([1, 2, 3, 4, 5].map(() => v(jb.pop()))).toEqual([1, 0, 0, 2, PLC]);
    expect(dec.plcCalls).toBe(1); // only the final starvation frame
  });

  it('resets on SSRC change', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    jb.push(pkt(100, 16000), 0);
    expect(v(jb.pop())).toBe(100);
    expect(jb.push(pkt(7, 999, 7, 160, 0x9999), 20)).toBe('reset');
    expect(v(jb.pop())).toBe(7);
    expect(jb.stats.resets).toBe(1);
  });

  it('resyncs on a timestamp jump (same SSRC, contiguous seq, timestamps 10 s back)', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    jb.push(pkt(1, 100000), 0);
    expect(v(jb.pop())).toBe(1);
    expect(jb.push(pkt(2, 100000 - 80000), 20)).toBe('resync');
    expect(v(jb.pop())).toBe(2);
    expect(jb.stats.resyncs).toBe(1);
  });

  it('resyncs on a large sequence jump', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    jb.push(pkt(1, 160), 0);
    jb.pop();
    expect(jb.push(pkt(30000, 320), 20)).toBe('resync');
    expect(v(jb.pop())).toBe(30000);
  });

  it('adapts the target depth to measured jitter (RFC 3550 estimator), within 20–200 ms', () => {
    const steady = new JitterBuffer({ decoder: new FakeDecoder() });
    for (let i = 0; i < 100; i++) steady.push(pkt(i, i * 160), i * 20);
    expect(steady.jitterMs).toBeCloseTo(0, 5);
    expect(steady.targetFrames).toBe(1);

    const jittery = new JitterBuffer({ decoder: new FakeDecoder() });
    for (let i = 0; i < 200; i++) jittery.push(pkt(i, i * 160), i * 20 + (i % 2 ? 30 : 0));
    expect(jittery.jitterMs).toBeGreaterThan(20);
    expect(jittery.targetFrames).toBeGreaterThanOrEqual(4);
    expect(jittery.targetFrames).toBeLessThanOrEqual(10);

    const awful = new JitterBuffer({ decoder: new FakeDecoder() });
    for (let i = 0; i < 200; i++) awful.push(pkt(i, i * 160), i * 20 + (i % 2 ? 500 : 0));
    expect(awful.targetFrames).toBe(10); // capped at 200 ms
  });

  it('catches up after a stall: a burst beyond target+2 frames is trimmed from the old end', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    jb.push(pkt(0, 0), 0);
    expect(v(jb.pop())).toBe(0);
    for (let i = 1; i <= 12; i++) jb.push(pkt(i, i * 160), 300); // all arrive at once
    const first = v(jb.pop()) as number;
    expect(first).toBeGreaterThan(1);
    expect(jb.stats.dropped).toBe(first - 1);
    expect(jb.queuedPackets).toBeLessThanOrEqual(jb.targetFrames + 2);
  });

  it('cuts 30 ms packets into continuous 20 ms frames', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 40 });
    for (let i = 0; i < 4; i++) jb.push(pkt(i, i * 240, i + 1, 240), i * 30);
    // 4 × 240 = 960 samples = 6 frames of 160
    const frames = [jb.pop(), jb.pop(), jb.pop(), jb.pop(), jb.pop(), jb.pop()];
    const samples = frames.flatMap((f) => Array.from(f as Int16Array));
    expect(samples.length).toBe(960);
    expect(samples.slice(0, 240).every((s) => s === 1)).toBe(true);
    expect(samples.slice(240, 480).every((s) => s === 2)).toBe(true);
    expect(samples.slice(720).every((s) => s === 4)).toBe(true);
  });

  it('a payload the decoder rejects is concealed, not thrown', () => {
    const dec = new FakeDecoder();
    dec.decode = () => {
      throw new Error('corrupt');
    };
    const jb = new JitterBuffer({ decoder: dec });
    jb.push(pkt(1, 160), 0);
    expect(v(jb.pop())).toBe(PLC);
    expect(jb.stats.decodeErrors).toBe(1);
  });

  it('burst loss: PLC for the first 60 ms, then silence, time kept (no frames skipped)', () => {
    const dec = new FakeDecoder();
    const jb = new JitterBuffer({ decoder: dec, minDelayMs: 40 });
    jb.push(pkt(1, 160), 0);
    jb.push(pkt(7, 7 * 160), 120); // 2..6 lost
    expect([1, 2, 3, 4, 5, 6, 7].map(() => v(jb.pop()))).toEqual([1, PLC, PLC, PLC, 0, 0, 7]);
    expect(dec.plcCalls).toBe(3);
  });

  it('a gap longer than the whole buffer is jumped over, not played out as 5 s of concealment', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder() });
    jb.push(pkt(1, 160), 0);
    expect(v(jb.pop())).toBe(1);
    jb.push(pkt(2, 320), 20);
    jb.push(pkt(300, 300 * 160), 25); // sender paused / packets were ignored meanwhile
    expect(v(jb.pop())).toBe(2);
    expect(v(jb.pop())).toBe(300);
    expect(jb.stats.skipped).toBe(297);
  });

  it('10 ms packets: depth is counted in time, not packets (no false "too deep" trimming)', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 60 });
    // 6 packets of 10 ms = 60 ms = the target, steady arrival
    for (let i = 0; i < 6; i++) jb.push(pkt(i, i * 80, i + 1, 80), i * 10);
    const first = jb.pop() as Int16Array;
    expect(first.length).toBe(160);
    expect(first[0]).toBe(1);
    expect(first[159]).toBe(2);
    for (let i = 6; i < 40; i++) {
      jb.push(pkt(i, i * 80, i + 1, 80), i * 10);
      if (i % 2 === 1) jb.pop();
    }
    expect(jb.stats.dropped).toBe(0);
    expect(jb.stats.concealed).toBe(0);
    expect(jb.queuedFrames).toBeCloseTo(jb.queuedPackets / 2, 5);
  });

  it('a lost 10 ms packet is concealed with 10 ms, a lost 30 ms packet with 30 ms (timing kept)', () => {
    const jb10 = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 40 });
    for (const i of [0, 1, 3, 4, 5, 6, 7]) jb10.push(pkt(i, i * 80, i + 1, 80), i * 10);
    const a = Array.from(jb10.pop() as Int16Array).concat(Array.from(jb10.pop() as Int16Array));
    // packets 1,2 | PLC (10 ms) | 4,5 → 80 samples each
    expect(a.slice(0, 80).every((x) => x === 1)).toBe(true);
    expect(a.slice(80, 160).every((x) => x === 2)).toBe(true);
    expect(a.slice(160, 240).every((x) => x === PLC)).toBe(true);
    expect(a.slice(240, 320).every((x) => x === 4)).toBe(true);

    const jb30 = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 40 });
    for (const i of [0, 2, 3]) jb30.push(pkt(i, i * 240, i + 1, 240), i * 30);
    const b = [0, 1, 2, 3, 4].flatMap(() => Array.from(jb30.pop() as Int16Array));
    expect(b.slice(0, 240).every((x) => x === 1)).toBe(true);
    expect(b.slice(240, 480).every((x) => x === PLC)).toBe(true);
    expect(b.slice(480, 720).every((x) => x === 3)).toBe(true);
  });

  it('a packet 512 numbers ahead shares a ring slot with a queued one: the old one is dropped, order kept', () => {
    const jb = new JitterBuffer({ decoder: new FakeDecoder(), minDelayMs: 60 });
    for (let i = 1; i <= 3; i++) jb.push(pkt(i, i * 160), i * 20);
    expect(jb.push(pkt(1 + 512, 513 * 160), 513 * 20)).toBe('queued');
    expect(jb.stats.dropped).toBe(1);
    expect(jb.queuedPackets).toBe(3);
    const got = [jb.pop(), jb.pop(), jb.pop()].map(v);
    expect(got).toEqual([2, 3, 513]);
    expect(jb.stats.skipped).toBe(509);
  });
});
