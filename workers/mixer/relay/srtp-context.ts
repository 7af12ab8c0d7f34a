import { SrtpSession } from '@parley/srtp';
import type { RelaySrtpParams } from '../protocol';
import type { RelaySrtp } from './rtp-relay';

/**
 * A leg's SDES-SRTP pair (RFC 3711, RFC 4568) over libsrtp2: the phone's key unprotects what it sends, ours
 * protects what we send. Both sessions accept any SSRC (phones change it mid-call).
 */
export function createRelaySrtp(p: RelaySrtpParams): RelaySrtp {
  const inbound = new SrtpSession({ suite: p.suite, keyBase64: p.remoteKeyBase64, direction: 'inbound' });
  let outbound: SrtpSession;
  try {
    outbound = new SrtpSession({ suite: p.suite, keyBase64: p.localKeyBase64, direction: 'outbound' });
  } catch (err) {
    inbound.close();
    throw err;
  }
  return {
    unprotectRtp: (b) => inbound.unprotectRtp(b),
    unprotectRtcp: (b) => inbound.unprotectRtcp(b),
    protectRtp: (b) => outbound.protectRtp(b),
    protectRtcp: (b) => outbound.protectRtcp(b),
    close: () => {
      inbound.close();
      outbound.close();
    },
  };
}
