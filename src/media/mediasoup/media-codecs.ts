import type { types } from 'mediasoup';

/**
 * The codecs every room router offers: what desk phones speak (PCMU, PCMA, G.722), what browsers speak (Opus),
 * DTMF (RFC 4733) at both clock rates, VP8 for browsers' video and H.264 for video phones (and browsers talking to them).
 * G.722's RTP clock rate is 8000 although its audio is sampled at 16 kHz (RFC 3551 §4.5.2).
 */
export const ROOM_MEDIA_CODECS: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 111 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, preferredPayloadType: 0 },
  { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, preferredPayloadType: 8 },
  { kind: 'audio', mimeType: 'audio/G722', clockRate: 8000, channels: 1, preferredPayloadType: 9 },
  {
    kind: 'audio',
    mimeType: 'audio/telephone-event',
    clockRate: 8000,
    channels: 1,
    preferredPayloadType: 101,
  },
  {
    kind: 'audio',
    mimeType: 'audio/telephone-event',
    clockRate: 48000,
    channels: 1,
    preferredPayloadType: 110,
  },
  // Browsers' video: VP8 simulcast (every browser encodes and decodes it).
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 96 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    preferredPayloadType: 102,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];
