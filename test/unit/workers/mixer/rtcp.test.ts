import { buildSenderReport, ReceptionStats, senderReportNtp } from '../../../../workers/mixer/rtcp';

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
});
