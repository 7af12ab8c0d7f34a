import { AppError } from '../errors/app-error';
import type { RelaySrtpParams, RemoteAddress } from '../../workers/mixer/protocol';
import type { PortAllocator } from './rtp/port-allocator';
import { generateSdesKey, type AcceptedMedia } from './sdp';
import type { CreateRelayOptions, MediaThread } from './mixer/media-thread';
import type { RelayHandle } from './mixer/relay-handle';

/**
 * What every media leg does first, whatever it connects to: bind the endpoint-facing socket(s) of a relay in a
 * media thread on a port from the allocator (RTCP on the next one when the endpoint does not mux), retrying on a
 * port taken by someone else.
 */
export async function openLegRelay(o: {
  thread: MediaThread;
  ports: PortAllocator;
  listenIp: string;
  media?: AcceptedMedia;
  latch: boolean;
  legId: (port: number) => string;
  /** Anything else the relay starts with (SRTP, DTMF, direction). */
  extra?: Omit<CreateRelayOptions, 'legId' | 'ip' | 'port' | 'rtcpPort' | 'remote' | 'latch'>;
}): Promise<{ relay: RelayHandle; port: number }> {
  const separateRtcp = o.media ? !o.media.transportOptions.rtcpMux : false;
  const remote = o.media ? remoteOf(o.media) : undefined;
  for (let attempt = 0; attempt < 32; attempt++) {
    const port = o.ports.allocate();
    try {
      const relay = await o.thread.createRelay({
        legId: o.legId(port),
        ip: o.listenIp,
        port,
        ...(separateRtcp ? { rtcpPort: port + 1 } : {}),
        ...(remote ? { remote } : {}),
        latch: o.latch,
        ...o.extra,
      });
      return { relay, port };
    } catch (err) {
      o.ports.release(port);
      if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new AppError('MEDIA_NO_PORT', 'no bindable RTP port after 32 attempts');
}

/** The endpoint's RTP address from its SDP; none for port 0 or 0.0.0.0 (RFC 3264 §8.4 hold, or not known yet). */
export function remoteOf(m: AcceptedMedia): RemoteAddress | undefined {
  if (!m.remote.port || m.remote.address === '0.0.0.0' || m.remote.address === '::') return undefined;
  return {
    ip: m.remote.address,
    port: m.remote.port,
    ...(m.remote.rtcpPort !== undefined ? { rtcpPort: m.remote.rtcpPort } : {}),
  };
}

/**
 * The SDES contexts the relay needs for an RTP/SAVP m-line (RFC 4568): the endpoint's key and ours. Our key stays
 * across re-negotiations unless the suite changes (§7.1.4 allows either).
 */
export function sdesParams(m: AcceptedMedia, prev?: RelaySrtpParams): RelaySrtpParams | undefined {
  if (!m.transportOptions.enableSrtp || !m.srtp) return undefined;
  const suite = m.srtp.suite;
  return {
    suite,
    localKeyBase64: prev && prev.suite === suite ? prev.localKeyBase64 : generateSdesKey(suite),
    remoteKeyBase64: m.srtp.remoteKeyBase64,
  };
}
