import type { types } from 'mediasoup';

import type { SdpPayloadFormat } from './sdp-types';

/** H.264 profiles as classified by RFC 6184 §8.1 / mediasoup's h264-profile-level-id rules. */
export enum H264Profile {
  ConstrainedBaseline = 'constrained-baseline',
  Baseline = 'baseline',
  Main = 'main',
  ConstrainedHigh = 'constrained-high',
  High = 'high',
  Other = 'other',
}

/**
 * Classifies a profile-level-id (`42e01f`) the way mediasoup does (profile_idc + profile_iop bit patterns, see
 * the h264-profile-level-id table). Returns undefined when the value is not 6 hex digits.
 * RFC 6184 §8.1: when profile-level-id is absent the default is 420010 (Baseline, level 1.0).
 */
const H264_PROFILE_PATTERNS: [number, string, H264Profile][] = [
  [0x42, 'x1xx0000', H264Profile.ConstrainedBaseline],
  [0x4d, '1xxx0000', H264Profile.ConstrainedBaseline],
  [0x58, '11xx0000', H264Profile.ConstrainedBaseline],
  [0x42, 'x0xx0000', H264Profile.Baseline],
  [0x58, '10xx0000', H264Profile.Baseline],
  [0x4d, '0x0x0000', H264Profile.Main],
  [0x64, '00000000', H264Profile.High],
  [0x64, '00001100', H264Profile.ConstrainedHigh],
];

function matchesBits(pattern: string, value: number): boolean {
  for (let i = 0; i < 8; i++) {
    const want = pattern[i];
    const got = (value >> (7 - i)) & 1;
    if (want === '1' && got !== 1) return false;
    if (want === '0' && got !== 0) return false;
  }
  return true;
}

export function parseH264ProfileLevelId(
  value: string | undefined,
): { profile: H264Profile; level: number } | undefined {
  const v = value ?? '420010';
  if (!/^[0-9a-fA-F]{6}$/.test(v)) return undefined;
  const idc = parseInt(v.slice(0, 2), 16);
  const iop = parseInt(v.slice(2, 4), 16);
  const level = parseInt(v.slice(4, 6), 16);
  const hit = H264_PROFILE_PATTERNS.find(([i, bits]) => i === idc && matchesBits(bits, iop));
  return { profile: hit ? hit[2] : H264Profile.Other, level };
}

const BASELINES = new Set([H264Profile.Baseline, H264Profile.ConstrainedBaseline]);

/**
 * Same profile, as mediasoup requires, except that Baseline and Constrained Baseline are taken as one: desk phones
 * (Cisco, Yealink, linphone: 42801f) announce Baseline yet send streams a Constrained Baseline decoder reads, and
 * a Baseline decoder reads Constrained Baseline. mediasoup is then given the router's profile (see negotiate).
 */
export function h264ProfilesCompatible(offered: H264Profile, local: H264Profile): boolean {
  if (offered === H264Profile.Other || local === H264Profile.Other) return false;
  return offered === local || (BASELINES.has(offered) && BASELINES.has(local));
}

/** mediasoup mimeType for an SDP encoding name: `audio/PCMU`, `audio/opus`, `video/H264`, `audio/telephone-event`. */
export function mimeTypeOf(kind: string, encodingName: string): string {
  return `${kind}/${encodingName}`;
}

/** Channels as mediasoup counts them: audio defaults to 1; Opus is always 2 in SDP (RFC 7587 §7). */
export function channelsOf(kind: string, fmt: SdpPayloadFormat): number | undefined {
  if (kind !== 'audio') return undefined;
  if (fmt.encodingName.toLowerCase() === 'opus') return 2;
  return fmt.channels ?? 1;
}

/** fmtp → mediasoup codec parameters: integers become numbers (mediasoup compares `packetization-mode` as number). */
export function toMediasoupParameters(fmtp: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(fmtp)) {
    if (k === 'profile-level-id' || k === 'sprop-parameter-sets' || v === '') out[k] = v;
    else out[k] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

/**
 * Finds the local (router) codec an offered payload format maps to, with mediasoup's strict matching rules
 * (mimeType case-insensitive, clock rate, channels; H.264: same packetization-mode and same profile).
 */
export function findLocalCodec(
  kind: string,
  fmt: SdpPayloadFormat,
  localCodecs: readonly types.RtpCodecCapability[],
): types.RtpCodecCapability | undefined {
  if (!fmt.encodingName) return undefined;
  const mime = mimeTypeOf(kind, fmt.encodingName).toLowerCase();
  const channels = channelsOf(kind, fmt);
  return localCodecs.find((c) => {
    if (c.kind !== kind || c.mimeType.toLowerCase() !== mime || c.clockRate !== fmt.clockRate) return false;
    if (kind === 'audio' && (c.channels ?? 1) !== channels) return false;
    if (mime === 'video/h264') {
      const offeredMode = Number(fmt.fmtp['packetization-mode'] ?? 0);
      const localMode = Number(c.parameters?.['packetization-mode'] ?? 0);
      if (offeredMode !== localMode) return false;
      const offered = parseH264ProfileLevelId(fmt.fmtp['profile-level-id']);
      const local = parseH264ProfileLevelId(c.parameters?.['profile-level-id'] as string | undefined);
      if (!offered || !local || !h264ProfilesCompatible(offered.profile, local.profile)) return false;
    }
    return true;
  });
}

/** The codec names Parley negotiates, in the order it offers them (delayed offer). */
export const AUDIO_CODEC_NAMES = ['PCMU', 'PCMA', 'G722', 'opus'] as const;
export const VIDEO_CODEC_NAMES = ['H264'] as const;

export function isTelephoneEvent(name: string): boolean {
  return name.toLowerCase() === 'telephone-event';
}

/** Whether Parley picks this encoding as the main codec of an m-line. */
export function isServedCodecName(kind: string, name: string): boolean {
  const n = name.toLowerCase();
  if (kind === 'audio') return AUDIO_CODEC_NAMES.some((c) => c.toLowerCase() === n);
  if (kind === 'video') return VIDEO_CODEC_NAMES.some((c) => c.toLowerCase() === n);
  return false;
}
