import {
  buildSenderReport,
  ntpMiddle32,
  ReceptionStats,
  reportAbout,
  senderReportNtp,
} from '../../../../workers/mixer/rtcp';

describe('RTCP sender report (RFC 3550 §6.4.1) and reception statistics (Appendix A.1, A.8)', () => {
  it('lays out SR + one report block + SDES CNAME, 32-bit aligned, NTP from the wall clock', () => {
    const wallMs = Date.UTC(2026, 10, 28, 12, 0, 0, 500);
    const pkt = buildSenderReport(
      { ssrc: 0x11223344, wallMs, rtpTimestamp: 123456, packets: 1000, octets: 160000 },
      {
        ssrc: 0xaabbccdd,
        fractionLost: 25,
        cumulativeLost: -3,
        extHighestSeq: 70000,
        jitter: 12,
        lsr: 7,
        dlsr: 65536,
      },
      'parley-x',
    );
    expect(pkt.length % 4).toBe(0);
    expect(pkt[0]).toBe(0x81); // V=2, RC=1
    expect(pkt[1]).toBe(200);
    expect((pkt.readUInt16BE(2) + 1) * 4).toBe(52);
    expect(pkt.readUInt32BE(8)).toBe(Math.floor(wallMs / 1000) + 2208988800);
    expect(pkt.readUInt32BE(12)).toBe(0x80000000); // .5 s
    expect(pkt.readUInt32BE(16)).toBe(123456);
    expect(pkt.readUInt32BE(20)).toBe(1000);
    expect(pkt.readUInt32BE(24)).toBe(160000);
    expect(pkt.readUInt32BE(28)).toBe(0xaabbccdd);
    expect(pkt[32]).toBe(25);
    expect(pkt.readIntBE(33, 3)).toBe(-3);
    expect(pkt.readUInt32BE(36)).toBe(70000);
    expect(pkt[53]).toBe(202);
    expect(pkt.subarray(62, 70).toString()).toBe('parley-x');
    expect(senderReportNtp(pkt)).toEqual({
      ssrc: 0x11223344,
      ntpSec: pkt.readUInt32BE(8),
      ntpFrac: 0x80000000,
    });
  });

  it('counts loss across a sequence wrap, fraction per interval, and restarts on an SSRC change', () => {
    const rx = new ReceptionStats(8000);
    let t = 0;
    for (let seq = 65500; seq < 65536 + 64; seq++, t += 20) {
      if (seq % 10 === 5) continue; // 10 % lost
      rx.onPacket(1, seq & 0xffff, seq * 160, t);
    }
    const b = rx.block(t);
    expect(b.extHighestSeq).toBe(65536 + 63);
    expect(b.cumulativeLost).toBe(10);
    expect(b.fractionLost).toBe(Math.floor((10 * 256) / 100));
    expect(b.jitter).toBe(0); // perfectly paced
    expect(rx.block(t).fractionLost).toBe(0); // nothing new since the last report
    rx.onPacket(2, 5, 0, t);
    expect(rx.block(t)).toMatchObject({ ssrc: 2, cumulativeLost: 0, extHighestSeq: 5 });
  });

  it('estimates jitter from arrival times that wander', () => {
    const rx = new ReceptionStats(8000);
    for (let i = 0; i < 500; i++) rx.onPacket(1, i, i * 160, i * 20 + (i % 2 ? 10 : 0));
    // |D| = 80 ticks every packet: J converges to 80
    expect(rx.block(10000).jitter).toBeGreaterThan(70);
    expect(rx.block(10000).jitter).toBeLessThanOrEqual(80);
  });

  it('reads back what the phone reports on our stream: loss, jitter, and the round trip from LSR/DLSR (§6.4.1)', () => {
    const ourSsrc = 0x11223344;
    const srSentAt = Date.UTC(2026, 10, 29, 5, 0, 0, 0);
    // The phone received our SR at srSentAt + 40 ms, holds it 1000 ms (DLSR), and its RR arrives 40 ms later:
    // RTT = 80 ms.
    const phoneRr = (
      blocks: { ssrc: number; lsr: number; dlsr: number; fraction: number; jitter: number }[],
    ) => {
      const rr = Buffer.alloc(8 + blocks.length * 24);
      rr[0] = 0x80 | blocks.length;
      rr[1] = 201;
      rr.writeUInt16BE(rr.length / 4 - 1, 2);
      rr.writeUInt32BE(0x55667788, 4);
      blocks.forEach((b, i) => {
        const o = 8 + i * 24;
        rr.writeUInt32BE(b.ssrc >>> 0, o);
        rr[o + 4] = b.fraction;
        rr.writeUInt32BE(b.jitter, o + 12);
        rr.writeUInt32BE(b.lsr >>> 0, o + 16);
        rr.writeUInt32BE(b.dlsr >>> 0, o + 20);
      });
      return rr;
    };
    const lsr = ntpMiddle32(srSentAt); // the NTP time our SR carried, echoed
    const pkt = phoneRr([
      { ssrc: 0x01010101, lsr: 0, dlsr: 0, fraction: 200, jitter: 999 }, // a block about someone else
      { ssrc: ourSsrc, lsr, dlsr: 65536, fraction: 64, jitter: 80 },
    ]);
    const r = reportAbout(pkt, ourSsrc, srSentAt + 40 + 1000 + 40)!;
    expect(r.fractionLost).toBeCloseTo(0.25, 5);
    expect(r.jitter).toBe(80);
    expect(r.rttMs).toBeGreaterThan(78);
    expect(r.rttMs).toBeLessThan(82);
    // No SR of ours echoed yet (LSR 0): no round trip; a block about another SSRC only: nothing.
    expect(
      reportAbout(phoneRr([{ ssrc: ourSsrc, lsr: 0, dlsr: 0, fraction: 0, jitter: 1 }]), ourSsrc, srSentAt)!
        .rttMs,
    ).toBeNull();
    expect(
      reportAbout(phoneRr([{ ssrc: 7, lsr, dlsr: 0, fraction: 0, jitter: 1 }]), ourSsrc, srSentAt),
    ).toBeNull();
    // An echo from the future (clock step) is not a round trip; a truncated packet is nothing, not a throw.
    expect(reportAbout(pkt, ourSsrc, srSentAt)!.rttMs).toBeNull();
    expect(reportAbout(pkt.subarray(0, 20), ourSsrc, srSentAt)).toBeNull();
  });
});
