/**
 * The speaker-video rewriter, packet by packet: one SSRC and payload type for every source; sequence numbers that
 * continue at +1 across a switch; timestamps that advance by the wall time since the last packet; the new source
 * shown only from its keyframe on (the old one meanwhile); extensions, CSRCs and padding stripped; reordering
 * within a source passed through and packets from before the switch dropped.
 */
import { DropReason, RtpRewriter, type RewriteResult } from '../../../../src/media/video/rtp-rewriter';

const KEY = [0x67, 0x42, 0xe0, 0x1f]; // an SPS: where a keyframe starts
const IDR = [0x65, 0x88]; // single NAL unit, type 5 (follows the SPS and PPS)
const P_SLICE = [0x41, 0x9a];
const FU_A_IDR_MIDDLE = [0x7c, 0x05, 0x11];

interface Pkt {
  seq: number;
  ts: number;
  ssrc: number;
  payload: number[];
  marker?: boolean;
  pt?: number;
  csrc?: number[];
  ext?: number[];
  pad?: number;
}

function rtp(p: Pkt): Buffer {
  const csrc = p.csrc ?? [];
  const hdr = Buffer.alloc(12 + 4 * csrc.length);
  hdr[0] = 0x80 | (p.ext ? 0x10 : 0) | (p.pad ? 0x20 : 0) | csrc.length;
  hdr[1] = (p.marker ? 0x80 : 0) | (p.pt ?? 100);
  hdr.writeUInt16BE(p.seq & 0xffff, 2);
  hdr.writeUInt32BE(p.ts >>> 0, 4);
  hdr.writeUInt32BE(p.ssrc, 8);
  csrc.forEach((c, i) => hdr.writeUInt32BE(c, 12 + 4 * i));
  const ext = p.ext ? Buffer.from([0xbe, 0xde, 0, p.ext.length / 4, ...p.ext]) : Buffer.alloc(0);
  const pad = p.pad ? Buffer.from([...new Array<number>(p.pad - 1).fill(0), p.pad]) : Buffer.alloc(0);
  return Buffer.concat([hdr, ext, Buffer.from(p.payload), pad]);
}

function out(r: RewriteResult): {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  marker: boolean;
  payload: number[];
  b0: number;
} {
  if (r.kind !== 'forward') throw new Error(`dropped: ${r.reason}`);
  const b = r.packet;
  return {
    b0: b[0],
    marker: (b[1] & 0x80) !== 0,
    pt: b[1] & 0x7f,
    seq: b.readUInt16BE(2),
    ts: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: [...b.subarray(12)],
  };
}

function make(initialSequence = 1000, initialTimestamp = 5000): { rw: RtpRewriter; clock: { t: number } } {
  const clock = { t: 0 };
  const rw = new RtpRewriter({
    codec: 'H264',
    ssrc: 0xabcdef01,
    payloadType: 102,
    initialSequence,
    initialTimestamp,
    now: () => clock.t,
  });
  return { rw, clock };
}

describe('RtpRewriter', () => {
  it('forwards nothing before a source is selected', () => {
    const { rw } = make();
    expect(rw.rewrite('a', rtp({ seq: 1, ts: 1, ssrc: 1, payload: KEY }))).toEqual({
      kind: 'drop',
      reason: DropReason.NotSelected,
    });
  });

  it('drops the selected source until its keyframe, then sends it with our SSRC, PT and initial numbers', () => {
    const { rw } = make(1000, 5000);
    rw.select('a');
    expect(rw.rewrite('a', rtp({ seq: 40, ts: 900, ssrc: 11, payload: P_SLICE }))).toEqual({
      kind: 'drop',
      reason: DropReason.WaitingForKeyframe,
    });
    expect(rw.rewrite('a', rtp({ seq: 41, ts: 900, ssrc: 11, payload: FU_A_IDR_MIDDLE })).kind).toBe('drop');
    // A bare IDR without its SPS is not where a new source may start either.
    expect(rw.rewrite('a', rtp({ seq: 41, ts: 900, ssrc: 11, payload: IDR })).kind).toBe('drop');
    const first = rw.rewrite('a', rtp({ seq: 42, ts: 3900, ssrc: 11, payload: KEY }));
    expect(first.kind === 'forward' && first.switched).toBe(true);
    expect(out(first)).toMatchObject({ seq: 1000, ts: 5000, ssrc: 0xabcdef01, pt: 102, payload: KEY });
    expect(rw.current).toBe('a');
    const next = out(rw.rewrite('a', rtp({ seq: 43, ts: 3900, ssrc: 11, payload: IDR, marker: true })));
    expect(next).toMatchObject({ seq: 1001, ts: 5000, marker: true });
    expect(out(rw.rewrite('a', rtp({ seq: 44, ts: 6900, ssrc: 11, payload: P_SLICE })))).toMatchObject({
      seq: 1002,
      ts: 8000,
    });
  });

  it('keeps showing the old source until the new one sends a keyframe; then continues seq +1 and ts by wall time', () => {
    const { rw, clock } = make(1000, 5000);
    rw.select('a');
    out(rw.rewrite('a', rtp({ seq: 10, ts: 0, ssrc: 11, payload: KEY })));
    clock.t = 33;
    out(rw.rewrite('a', rtp({ seq: 11, ts: 3000, ssrc: 11, payload: P_SLICE })));
    rw.select('b');
    expect(rw.pending).toBe('b');
    // b's inter frame: dropped; a still shown.
    expect(rw.rewrite('b', rtp({ seq: 60000, ts: 777, ssrc: 22, payload: P_SLICE })).kind).toBe('drop');
    clock.t = 66;
    expect(out(rw.rewrite('a', rtp({ seq: 12, ts: 6000, ssrc: 11, payload: P_SLICE })))).toMatchObject({
      seq: 1002,
      ts: 11000,
    });
    // 40 ms later b's keyframe: seq 1003, ts 11000 + 40 ms * 90.
    clock.t = 106;
    const sw = rw.rewrite('b', rtp({ seq: 60001, ts: 999_999, ssrc: 22, payload: KEY }));
    expect(sw.kind === 'forward' && sw.switched).toBe(true);
    expect(out(sw)).toMatchObject({ seq: 1003, ts: 11000 + 3600, ssrc: 0xabcdef01 });
    expect(rw.current).toBe('b');
    expect(rw.pending).toBeUndefined();
    // a is dropped from now on.
    expect(rw.rewrite('a', rtp({ seq: 13, ts: 9000, ssrc: 11, payload: P_SLICE }))).toEqual({
      kind: 'drop',
      reason: DropReason.NotSelected,
    });
    // b continues with its own spacing.
    expect(
      out(rw.rewrite('b', rtp({ seq: 60002, ts: 999_999 + 3000, ssrc: 22, payload: P_SLICE }))),
    ).toMatchObject({
      seq: 1004,
      ts: 11000 + 3600 + 3000,
    });
  });

  it('advances the timestamp by at least one tick on a switch at the same millisecond', () => {
    const { rw } = make(0, 0);
    rw.select('a');
    out(rw.rewrite('a', rtp({ seq: 1, ts: 0, ssrc: 11, payload: KEY })));
    rw.select('b');
    expect(out(rw.rewrite('b', rtp({ seq: 9, ts: 50, ssrc: 22, payload: KEY })))).toMatchObject({
      seq: 1,
      ts: 1,
    });
  });

  it('keeps one stream over two switches and back to the first source, wrapping sequence and timestamp', () => {
    const { rw, clock } = make(0xfffe, 0xffffff00);
    const seen: { seq: number; ts: number; ssrc: number }[] = [];
    const send = (id: string, seq: number, ts: number, payload: number[]): void => {
      const r = rw.rewrite(id, rtp({ seq, ts, ssrc: id === 'a' ? 11 : 22, payload }));
      if (r.kind === 'forward') seen.push(out(r));
    };
    rw.select('a');
    send('a', 100, 0, KEY);
    clock.t += 33;
    send('a', 101, 3000, P_SLICE);
    rw.select('b');
    clock.t += 33;
    send('b', 5, 10, KEY);
    clock.t += 33;
    send('b', 6, 3010, P_SLICE);
    rw.select('a');
    clock.t += 33;
    send('a', 150, 90000, P_SLICE); // not a keyframe: dropped
    send('a', 151, 93000, KEY);
    expect(seen.map((s) => s.seq)).toEqual([0xfffe, 0xffff, 0, 1, 2]);
    expect(new Set(seen.map((s) => s.ssrc))).toEqual(new Set([0xabcdef01]));
    for (let i = 1; i < seen.length; i++) {
      const dt = (seen[i].ts - seen[i - 1].ts + 0x100000000) % 0x100000000;
      expect(dt).toBeGreaterThan(0);
      expect(dt).toBeLessThan(0x80000000);
    }
  });

  it('passes loss and reordering within a source through, and drops what predates the switch', () => {
    const { rw } = make(1000, 0);
    rw.select('a');
    out(rw.rewrite('a', rtp({ seq: 500, ts: 0, ssrc: 11, payload: KEY })));
    expect(out(rw.rewrite('a', rtp({ seq: 502, ts: 3000, ssrc: 11, payload: P_SLICE }))).seq).toBe(1002);
    expect(out(rw.rewrite('a', rtp({ seq: 501, ts: 0, ssrc: 11, payload: P_SLICE }))).seq).toBe(1001);
    expect(rw.rewrite('a', rtp({ seq: 499, ts: 0, ssrc: 11, payload: P_SLICE }))).toEqual({
      kind: 'drop',
      reason: DropReason.BeforeSwitch,
    });
    // The next switch continues after the highest sent (1002), not after the late one.
    rw.select('b');
    expect(out(rw.rewrite('b', rtp({ seq: 7, ts: 0, ssrc: 22, payload: KEY }))).seq).toBe(1003);
  });

  it('strips CSRCs, header extensions and padding; drops malformed and padding-only packets', () => {
    const { rw } = make();
    rw.select('a');
    const o = out(
      rw.rewrite(
        'a',
        rtp({ seq: 1, ts: 0, ssrc: 11, payload: KEY, csrc: [7, 8], ext: [0x10, 0xff, 0, 0], pad: 4 }),
      ),
    );
    expect(o.b0).toBe(0x80);
    expect(o.payload).toEqual(KEY);
    expect(rw.rewrite('a', Buffer.from([0x80, 0x60, 0, 2]))).toEqual({
      kind: 'drop',
      reason: DropReason.Malformed,
    });
    expect(rw.rewrite('a', rtp({ seq: 2, ts: 0, ssrc: 11, payload: [], pad: 8 }))).toEqual({
      kind: 'drop',
      reason: DropReason.Padding,
    });
  });

  it('select(null) pauses; reselecting the shown source cancels a pending switch', () => {
    const { rw } = make();
    rw.select('a');
    out(rw.rewrite('a', rtp({ seq: 1, ts: 0, ssrc: 11, payload: KEY })));
    rw.select('b');
    rw.select('a');
    expect(rw.pending).toBeUndefined();
    expect(rw.rewrite('b', rtp({ seq: 1, ts: 0, ssrc: 22, payload: KEY })).kind).toBe('drop');
    rw.select(null);
    expect(rw.current).toBeUndefined();
    expect(rw.rewrite('a', rtp({ seq: 2, ts: 0, ssrc: 11, payload: P_SLICE })).kind).toBe('drop');
  });

  it('closes up behind padding-only packets of the shown source: no gap that is not real loss', () => {
    const { rw } = make(1000, 0);
    rw.select('a');
    expect(out(rw.rewrite('a', rtp({ seq: 10, ts: 0, ssrc: 11, payload: KEY }))).seq).toBe(1000);
    expect(rw.rewrite('a', rtp({ seq: 11, ts: 0, ssrc: 11, payload: [], pad: 200 })).kind).toBe('drop');
    expect(rw.rewrite('a', rtp({ seq: 12, ts: 0, ssrc: 11, payload: [], pad: 200 })).kind).toBe('drop');
    expect(out(rw.rewrite('a', rtp({ seq: 13, ts: 3000, ssrc: 11, payload: P_SLICE }))).seq).toBe(1001);
    // Real loss (14 never comes) stays a gap.
    expect(out(rw.rewrite('a', rtp({ seq: 15, ts: 6000, ssrc: 11, payload: P_SLICE }))).seq).toBe(1003);
  });

  it("closes up behind skipped packets (a picture above the viewers' level) as behind padding", () => {
    const { rw } = make(1000, 0);
    rw.select('a');
    expect(out(rw.rewrite('a', rtp({ seq: 10, ts: 0, ssrc: 11, payload: KEY }))).seq).toBe(1000);
    for (const seq of [11, 12, 13])
      expect(rw.skip('a', rtp({ seq, ts: 3000, ssrc: 11, payload: KEY }))).toEqual({
        kind: 'drop',
        reason: 'above-level',
      });
    expect(out(rw.rewrite('a', rtp({ seq: 14, ts: 6000, ssrc: 11, payload: KEY }))).seq).toBe(1001);
    // skipping another source's packet changes nothing for the shown one
    rw.skip('b', rtp({ seq: 500, ts: 0, ssrc: 12, payload: KEY }));
    expect(out(rw.rewrite('a', rtp({ seq: 15, ts: 9000, ssrc: 11, payload: P_SLICE }))).seq).toBe(1002);
  });
});
