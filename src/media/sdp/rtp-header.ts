/** Fixed RTP header fields (RFC 3550 §5.1). */
export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

/**
 * Reads the fixed header of an RTP packet; undefined for anything else, including RTCP on a muxed port
 * (RFC 5761 §4: second byte 192..223). Used once per leg to latch the phone's SSRC before `produce()` when the
 * SDP announced none; never on the per-packet path.
 */
export function readRtpHeader(packet: Uint8Array): RtpHeader | undefined {
  if (packet.length < 12) return undefined;
  if (packet[0] >> 6 !== 2) return undefined;
  if (packet[1] >= 192 && packet[1] <= 223) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return {
    payloadType: packet[1] & 0x7f,
    marker: (packet[1] & 0x80) !== 0,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
  };
}
