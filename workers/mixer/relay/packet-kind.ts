/**
 * Cheap classification of a datagram on the fast path (no allocation, no full parse). Works on SRTP/SRTCP too:
 * the RTP fixed header and the first 8 octets of SRTCP are sent in clear (RFC 3711 §3.1, §3.4).
 */
export enum PacketKind {
  Rtp = 'rtp',
  Rtcp = 'rtcp',
  /** Not RTP/RTCP: shorter than 12 octets or version != 2 (STUN, garbage, probes). */
  Invalid = 'invalid',
}

/** Minimum length accepted for either kind: the RTP fixed header (RFC 3550 §5.1). */
export const MIN_PACKET_LENGTH = 12;

export function classifyPacket(buf: Uint8Array): PacketKind {
  if (buf.length < MIN_PACKET_LENGTH || buf[0]! >> 6 !== 2) return PacketKind.Invalid;
  // RFC 5761 §4: RTCP packet types 192..223 sit where RTP has the marker bit + payload type 64..95, so with
  // RTP payload types kept outside 64..95 the second octet tells the two apart.
  const b1 = buf[1]!;
  return b1 >= 192 && b1 <= 223 ? PacketKind.Rtcp : PacketKind.Rtp;
}

export function rtpSsrc(buf: Uint8Array): number {
  return ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
}

/** Offset of the RTP payload (after CSRCs and header extension, RFC 3550 §5.1/§5.3.1), or -1 if truncated. */
export function rtpPayloadOffset(buf: Uint8Array): number {
  let off = 12 + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < off + 4) return -1;
    off += 4 + ((buf[off + 2]! << 8) | buf[off + 3]!) * 4;
  }
  return off <= buf.length ? off : -1;
}

export function rtpPayloadType(buf: Uint8Array): number {
  return buf[1]! & 0x7f;
}
