/**
 * Does an RTP payload start a keyframe a decoder can begin with? Used by the speaker-video rewriter, which may only
 * hand a viewer a new source from such a packet on: anything before it references pictures the viewer never got.
 */
export type VideoCodecName = 'H264' | 'VP8';

/** H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packetizations (RFC 6184 §5.2). */
const NAL_SPS = 7;
const STAP_A = 24;
const FU_A = 28;

function startsH264Keyframe(nalType: number): boolean {
  // A new source starts at its SPS, not at a bare IDR slice: the viewer's decoder holds the previous source's SPS
  // and PPS, which may have another resolution or profile, so the new ones must come first. Encoders (x264,
  // OpenH264, Chrome's) send SPS + PPS in front of every IDR in RTP. mediasoup's own consumers sync on the SPS too
  // (worker/src/RTC/Codecs/H264.cpp), so a viewer consuming our output starts at the same packet.
  return nalType === NAL_SPS;
}

/**
 * H.264 (RFC 6184, packetization-mode 0 or 1): a single NAL unit packet of an SPS; a STAP-A (§5.7.1) aggregating
 * one; or the first fragment (S bit, §5.8) of an FU-A carrying one. Later FU-A fragments are not a start: the
 * first one was lost or dropped.
 */
export function isH264KeyframeStart(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0] & 0x1f;
  if (type >= 1 && type <= 23) return startsH264Keyframe(type);
  if (type === STAP_A) {
    // STAP-A: one NAL header, then (16-bit size, NAL unit)*.
    let i = 1;
    while (i + 2 < payload.length) {
      const size = (payload[i] << 8) | payload[i + 1];
      if (size === 0 || i + 2 + size > payload.length) return false;
      if (startsH264Keyframe(payload[i + 2] & 0x1f)) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === FU_A) {
    if (payload.length < 2) return false;
    const start = (payload[1] & 0x80) !== 0;
    return start && startsH264Keyframe(payload[1] & 0x1f);
  }
  return false;
}

/**
 * VP8 (RFC 7741 §4.2, §4.3): the first packet of a partition 0 (S bit set, PID 0) whose VP8 payload header has the
 * P bit clear (RFC 6386 §9.1: 0 is a key frame).
 */
export function isVp8KeyframeStart(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0];
  const extended = (b0 & 0x80) !== 0;
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x0f;
  if (!start || partition !== 0) return false;
  let i = 1;
  if (extended) {
    if (payload.length < 2) return false;
    const x = payload[1];
    i = 2;
    if (x & 0x80) {
      // I: PictureID, 7 or 15 bits (M bit).
      if (i >= payload.length) return false;
      i += payload[i] & 0x80 ? 2 : 1;
    }
    if (x & 0x40) i += 1; // L: TL0PICIDX
    if (x & 0x30) i += 1; // T or K: TID/Y/KEYIDX
  }
  if (i >= payload.length) return false;
  return (payload[i] & 0x01) === 0;
}

export function isKeyframeStart(codec: VideoCodecName, payload: Uint8Array): boolean {
  return codec === 'H264' ? isH264KeyframeStart(payload) : isVp8KeyframeStart(payload);
}
