import type { types } from 'mediasoup';
import { AppError } from '../../errors/app-error';

/**
 * mediasoup 3.19.3 mitigations (issue 14). Parley runs 3.19.3 because newer mediasoup needs Node 22 and libsrtp 3,
 * which these machines lack; 3.19.3 has an out-of-bounds write in its handling of the dependency-descriptor RTP
 * header extension (fixed upstream in mid-2026). The worker parses that extension only when a producer's or a
 * consumer's RTP parameters map it to an id, and it is only used with AV1 (and SVC): so it is taken out of what
 * pages are told the router supports, stripped from every producer's and consumer's parameters, and AV1 is
 * refused. SCTP (DataChannels) is never enabled on any transport (`enableSctp: false` at every creation): Parley
 * carries chat over socket.io, not DataChannels, so none of mediasoup's SCTP code is reachable.
 */
export const DEPENDENCY_DESCRIPTOR_URI =
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

const isDependencyDescriptor = (uri: string): boolean => uri.toLowerCase() === DEPENDENCY_DESCRIPTOR_URI;
const isAv1 = (mimeType: string): boolean => mimeType.toLowerCase() === 'video/av1';

/** Router (or device) capabilities without AV1 and the dependency-descriptor extension: what pages get. */
export function mitigatedCapabilities(caps: types.RtpCapabilities): types.RtpCapabilities {
  return {
    ...caps,
    ...(caps.codecs ? { codecs: caps.codecs.filter((c) => !isAv1(c.mimeType)) } : {}),
    ...(caps.headerExtensions
      ? { headerExtensions: caps.headerExtensions.filter((h) => !isDependencyDescriptor(h.uri)) }
      : {}),
  };
}

/** Header extensions (e.g. the router's, for WebRTC SDP answers) without the dependency descriptor. */
export function mitigatedHeaderExtensions<T extends { uri: string }>(exts: readonly T[]): T[] {
  return exts.filter((h) => !isDependencyDescriptor(h.uri));
}

/**
 * A producer's RTP parameters as the worker may see them: the dependency-descriptor extension stripped (the
 * browser's packets keep carrying it, but the worker no longer knows its id, so never parses it), AV1 refused
 * with MEDIA_UNSUPPORTED_PARAMETERS.
 */
export function mitigatedProducerParameters(rtp: types.RtpParameters): types.RtpParameters {
  if (rtp.codecs.some((c) => isAv1(c.mimeType)))
    throw new AppError('MEDIA_UNSUPPORTED_PARAMETERS', 'AV1 is not accepted (mediasoup 3.19.3 mitigation)');
  return {
    ...rtp,
    ...(rtp.headerExtensions
      ? { headerExtensions: rtp.headerExtensions.filter((h) => !isDependencyDescriptor(h.uri)) }
      : {}),
  };
}
