import { RtpOutputStream, RtpParseError, parseRtp, serializeRtp } from '../../../../workers/mixer/rtp';

describe('RTP header (RFC 3550 §5.1)', () => {
  it('parses a minimal PCMU packet', () => {
    const b = Buffer.from('8000 0001 00000010 deadbeef 7f7f'.replace(/ /g, ''), 'hex');
    const p = parseRtp(b);
    expect(p).toMatchObject({
      version: 2,
      marker: false,
      payloadType: 0,
      seq: 1,
      timestamp: 16,
      ssrc: 0xdeadbeef,
    });
    expect(p.csrcs).toEqual([]);
    expect([...p.payload]).toEqual([0x7f, 0x7f]);
  });

  it('round-trips CSRCs, extension, marker and padding', () => {
    const buf = serializeRtp(
      {
        marker: true,
        payloadType: 111,
        seq: 65535,
        timestamp: 0xfffffff0,
        ssrc: 42,
        csrcs: [1, 2, 3],
        extensionProfile: 0xbede,
        extensionData: Buffer.from([0x10, 0xff, 0, 0]),
        padTo: 4,
      },
      Buffer.from([1, 2, 3, 4, 5]),
    );
    expect(buf.length % 4).toBe(0);
    const p = parseRtp(buf);
    expect(p.marker).toBe(true);
    expect(p.padding).toBe(true);
    expect(p.paddingLength).toBe(3);
    expect(p.payloadType).toBe(111);
    expect(p.seq).toBe(65535);
    expect(p.timestamp).toBe(0xfffffff0);
    expect(p.csrcs).toEqual([1, 2, 3]);
    expect(p.extensionProfile).toBe(0xbede);
    expect([...(p.extensionData as Buffer)]).toEqual([0x10, 0xff, 0, 0]);
    expect([...p.payload]).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects malformed packets', () => {
    expect(() => parseRtp(Buffer.alloc(11))).toThrow(RtpParseError);
    expect(() => parseRtp(Buffer.from('400000010000000000000001', 'hex'))).toThrow(/version/);
    expect(() => parseRtp(Buffer.from('830000010000000000000001aabb', 'hex'))).toThrow(/CSRC/);
    expect(() => parseRtp(Buffer.from('900000010000000000000001bede0002aabb', 'hex'))).toThrow(/extension/);
    expect(() => parseRtp(Buffer.from('a0000001000000000000000100', 'hex'))).toThrow(/padding/);
    expect(() => parseRtp(Buffer.from('a00000010000000000000001ff', 'hex'))).toThrow(/padding/);
  });
});

describe('RtpOutputStream', () => {
  it('own SSRC; seq +1 and timestamp + frame ticks per packet, both wrapping; marker on the first', () => {
    const s = new RtpOutputStream({
      ssrc: 7,
      payloadType: 9,
      ticksPerFrame: 160,
      initialSeq: 65535,
      initialTimestamp: 0xffffff60,
    });
    const a = parseRtp(s.next(Buffer.alloc(160)));
    const b = parseRtp(s.next(Buffer.alloc(160)));
    expect([a.seq, b.seq]).toEqual([65535, 0]);
    expect([a.timestamp, b.timestamp]).toEqual([0xffffff60, 0]);
    expect([a.marker, b.marker]).toEqual([true, false]);
    expect(a.ssrc).toBe(7);
    expect(a.payloadType).toBe(9);
  });

  it('skip() advances time but not seq, and marks the next packet (start of talkspurt)', () => {
    const s = new RtpOutputStream({
      ssrc: 1,
      payloadType: 111,
      ticksPerFrame: 960,
      initialSeq: 10,
      initialTimestamp: 0,
    });
    s.next(Buffer.alloc(3));
    s.skip();
    s.skip();
    const p = parseRtp(s.next(Buffer.alloc(3)));
    expect(p.seq).toBe(11);
    expect(p.timestamp).toBe(960 * 3);
    expect(p.marker).toBe(true);
  });

  it('random initial seq/timestamp by default', () => {
    const seqs = new Set(
      Array.from(
        { length: 20 },
        () => new RtpOutputStream({ ssrc: 1, payloadType: 0, ticksPerFrame: 160 }).nextSeq,
      ),
    );
    expect(seqs.size).toBeGreaterThan(1);
  });

  it('nextHeader() + shared payload equals next() byte for byte, and advances the same state', () => {
    const a = new RtpOutputStream({
      ssrc: 5,
      payloadType: 8,
      ticksPerFrame: 160,
      initialSeq: 100,
      initialTimestamp: 5,
    });
    const b = new RtpOutputStream({
      ssrc: 5,
      payloadType: 8,
      ticksPerFrame: 160,
      initialSeq: 100,
      initialTimestamp: 5,
    });
    const payload = Buffer.from([1, 2, 3]);
    for (let i = 0; i < 3; i++)
      expect(Buffer.concat([a.nextHeader(), payload]).equals(b.next(payload))).toBe(true);
    expect(a.nextSeq).toBe(103);
    expect(a.nextTimestamp).toBe(5 + 480);
  });
});
