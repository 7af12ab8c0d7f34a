/** One RTP stream ffmpeg receives: what mediasoup's consumer on the PlainTransport sends it. */
export interface SdpStream {
  kind: 'audio' | 'video';
  /** ffmpeg's RTP port (even; RTCP on port + 1, RFC 3550 §11: the SDP has no a=rtcp, so ffmpeg takes port+1). */
  port: number;
  payloadType: number;
  /** The encoding name as in a=rtpmap (opus, PCMU, VP8, H264). */
  codec: string;
  clockRate: number;
  channels?: number;
  /** a=fmtp parameters (H.264 packetization-mode, profile-level-id), in order. */
  fmtp?: Readonly<Record<string, string | number>>;
}

/**
 * The SDP ffmpeg opens as its input (`-protocol_whitelist file,udp,rtp -i stream.sdp`): one m-line per RTP
 * stream mediasoup sends it, on the loopback address. ffmpeg binds the ports named here (RTP and RTP+1 for
 * RTCP) and demultiplexes by port, so each stream needs its own pair. recvonly: ffmpeg sends only RTCP receiver
 * reports back (RFC 3264 §5.1).
 */
export function writeFfmpegSdp(opts: { ip: string; name: string; streams: readonly SdpStream[] }): string {
  if (opts.streams.length === 0) throw new Error('an ffmpeg SDP needs at least one stream');
  const family = opts.ip.includes(':') ? 'IP6' : 'IP4';
  const ports = new Set<number>();
  const lines = [
    'v=0',
    `o=- 0 0 IN ${family} ${opts.ip}`,
    // RFC 4566 §5.3: s= must not be empty; a name with line breaks would inject lines.
    `s=${opts.name.replace(/[\r\n]/g, ' ').trim() || '-'}`,
    `c=IN ${family} ${opts.ip}`,
    't=0 0',
  ];
  for (const s of opts.streams) {
    if (s.port % 2 !== 0) throw new Error(`RTP port ${s.port} is odd (RFC 3550 §11: RTP on an even port)`);
    if (ports.has(s.port)) throw new Error(`RTP port ${s.port} used twice`);
    ports.add(s.port);
    lines.push(`m=${s.kind} ${s.port} RTP/AVP ${s.payloadType}`);
    lines.push(
      `a=rtpmap:${s.payloadType} ${s.codec}/${s.clockRate}${s.channels && s.channels > 1 ? `/${s.channels}` : ''}`,
    );
    const fmtp = Object.entries(s.fmtp ?? {});
    if (fmtp.length) lines.push(`a=fmtp:${s.payloadType} ${fmtp.map(([k, v]) => `${k}=${v}`).join(';')}`);
    lines.push('a=recvonly');
  }
  return lines.join('\r\n') + '\r\n';
}
