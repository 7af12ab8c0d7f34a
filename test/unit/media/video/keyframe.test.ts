/**
 * Keyframe starts, per packetization: H.264 single NAL units, STAP-A and FU-A (RFC 6184 §5.6–5.8) and VP8's
 * payload descriptor with and without its extensions (RFC 7741 §4.2).
 */
import { isH264KeyframeStart, isVp8KeyframeStart } from '../../../../src/media/video/keyframe';

const nal = (type: number, ...rest: number[]): number[] => [0x60 | type, ...rest];

describe('H.264 keyframe start (RFC 6184)', () => {
  it('a single NAL unit packet of an SPS starts one; a bare IDR slice, a P slice, PPS or SEI does not', () => {
    // A bare IDR would be decoded with the previous source's SPS/PPS (another resolution, perhaps).
    expect(isH264KeyframeStart(Buffer.from(nal(5, 0x88)))).toBe(false);
    expect(isH264KeyframeStart(Buffer.from(nal(7, 0x42, 0xe0, 0x1f)))).toBe(true);
    expect(isH264KeyframeStart(Buffer.from(nal(1, 0x9a)))).toBe(false);
    expect(isH264KeyframeStart(Buffer.from(nal(8, 0xce)))).toBe(false);
    expect(isH264KeyframeStart(Buffer.from(nal(6, 0x05)))).toBe(false);
    expect(isH264KeyframeStart(Buffer.alloc(0))).toBe(false);
  });

  it('a STAP-A starts one when an aggregated unit is an SPS (§5.7.1)', () => {
    const sps = nal(7, 0x42, 0xe0, 0x1f);
    const pps = nal(8, 0xce, 0x3c);
    const stap = [0x78, 0, sps.length, ...sps, 0, pps.length, ...pps];
    expect(isH264KeyframeStart(Buffer.from(stap))).toBe(true);
    const sei = nal(6, 5, 1);
    const stapNoKey = [0x78, 0, sei.length, ...sei, 0, pps.length, ...pps];
    expect(isH264KeyframeStart(Buffer.from(stapNoKey))).toBe(false);
    // A size running past the packet is not trusted.
    expect(isH264KeyframeStart(Buffer.from([0x78, 0, 40, ...sps]))).toBe(false);
  });

  it('only the first FU-A fragment (S bit) of an SPS starts one (§5.8)', () => {
    expect(isH264KeyframeStart(Buffer.from([0x7c, 0x87, 0x42]))).toBe(true);
    expect(isH264KeyframeStart(Buffer.from([0x7c, 0x07, 0x42]))).toBe(false); // middle fragment
    expect(isH264KeyframeStart(Buffer.from([0x7c, 0x47, 0x42]))).toBe(false); // end fragment
    expect(isH264KeyframeStart(Buffer.from([0x7c, 0x85, 0x88]))).toBe(false); // start of an IDR slice
    expect(isH264KeyframeStart(Buffer.from([0x7c, 0x81, 0x9a]))).toBe(false); // start of a P slice
  });
});

describe('VP8 keyframe start (RFC 7741)', () => {
  it('S=1, PID=0 and P=0 in the payload header is a key frame; P=1 is an inter frame', () => {
    expect(isVp8KeyframeStart(Buffer.from([0x10, 0x50, 0x01]))).toBe(true);
    expect(isVp8KeyframeStart(Buffer.from([0x10, 0x51, 0x01]))).toBe(false);
  });

  it('skips the extended descriptor: 15-bit PictureID, TL0PICIDX and TID/KEYIDX', () => {
    // X=1, S=1; I,L,T set; PictureID with M bit (2 bytes); TL0PICIDX; TID byte; then the payload header.
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x50]))).toBe(true);
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x51]))).toBe(false);
    // 7-bit PictureID only.
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x05, 0x50]))).toBe(true);
  });

  it('a continuation packet (S=0) or a later partition is not a start', () => {
    expect(isVp8KeyframeStart(Buffer.from([0x00, 0x50]))).toBe(false);
    expect(isVp8KeyframeStart(Buffer.from([0x11, 0x50]))).toBe(false);
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80]))).toBe(false); // truncated
  });
});
