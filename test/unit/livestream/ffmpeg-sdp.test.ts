import { writeFfmpegSdp } from '../../../src/livestream/ffmpeg-sdp';

describe('writeFfmpegSdp', () => {
  const audio = {
    kind: 'audio' as const,
    port: 40000,
    payloadType: 100,
    codec: 'opus',
    clockRate: 48000,
    channels: 2,
  };

  it('writes one recvonly m-line per stream with rtpmap and fmtp, CRLF-terminated (RFC 4566 §5)', () => {
    const sdp = writeFfmpegSdp({
      ip: '127.0.0.1',
      name: 'demo',
      streams: [
        audio,
        {
          kind: 'video',
          port: 40002,
          payloadType: 101,
          codec: 'H264',
          clockRate: 90000,
          fmtp: { 'packetization-mode': 1, 'profile-level-id': '42e01f' },
        },
      ],
    });
    expect(sdp).toBe(
      [
        'v=0',
        'o=- 0 0 IN IP4 127.0.0.1',
        's=demo',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        'm=audio 40000 RTP/AVP 100',
        'a=rtpmap:100 opus/48000/2',
        'a=recvonly',
        'm=video 40002 RTP/AVP 101',
        'a=rtpmap:101 H264/90000',
        'a=fmtp:101 packetization-mode=1;profile-level-id=42e01f',
        'a=recvonly',
        '',
      ].join('\r\n'),
    );
  });

  it('uses IP6 for an IPv6 address and keeps a room name from injecting lines', () => {
    const sdp = writeFfmpegSdp({ ip: '::1', name: 'a\r\na=evil', streams: [audio] });
    expect(sdp).toContain('c=IN IP6 ::1\r\n');
    expect(sdp).toContain('s=a  a=evil\r\n');
    expect(sdp.split('\r\n').filter((l) => l.startsWith('a=evil'))).toEqual([]);
  });

  it('it MUST put RTP on an even port (RFC 3550 §11) and never two streams on one port', () => {
    expect(() =>
      writeFfmpegSdp({ ip: '127.0.0.1', name: 'x', streams: [{ ...audio, port: 40001 }] }),
    ).toThrow(/odd/);
    expect(() =>
      writeFfmpegSdp({ ip: '127.0.0.1', name: 'x', streams: [audio, { ...audio, kind: 'video' }] }),
    ).toThrow(/twice/);
    expect(() => writeFfmpegSdp({ ip: '127.0.0.1', name: 'x', streams: [] })).toThrow();
  });
});
