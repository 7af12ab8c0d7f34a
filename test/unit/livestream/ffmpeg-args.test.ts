import {
  buildFfmpegArgs,
  gridLayout,
  isSafeOutputUrl,
  type FfmpegPlan,
} from '../../../src/livestream/ffmpeg-args';

const picture = {
  width: 1280,
  height: 720,
  frameRate: 25,
  videoBitrateKbps: 2500,
  audioBitrateKbps: 128,
  keyframeSeconds: 2,
};
const base: FfmpegPlan = {
  sdpPath: '/tmp/ls/stream.sdp',
  cameras: 1,
  picture,
  rtmp: ['rtmp://127.0.0.1:1935/live/demo'],
};

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('buildFfmpegArgs', () => {
  it('reads the SDP over file/udp/rtp only and reports progress on stdout', () => {
    const args = buildFfmpegArgs(base);
    expect(after(args, '-protocol_whitelist')).toBe('file,udp,rtp');
    expect(after(args, '-i')).toBe('/tmp/ls/stream.sdp');
    expect(after(args, '-progress')).toBe('pipe:1');
    expect(args).toContain('-nostdin');
  });

  it('encodes once (H.264 + AAC) with a keyframe every segment, and tees it to every output', () => {
    const args = buildFfmpegArgs({
      ...base,
      rtmp: ['rtmp://a/live/1', 'rtmps://b/app/2'],
      hls: { dir: '/tmp/ls/hls', segmentSeconds: 2, listSize: 6 },
      recordFile: '/data/rec/demo.mp4',
    });
    expect(args.filter((a) => a === '-c:v')).toHaveLength(1);
    expect(after(args, '-c:v')).toBe('libx264');
    expect(after(args, '-c:a')).toBe('aac');
    expect(after(args, '-g')).toBe('50');
    expect(after(args, '-f')).toBe('tee');
    const slaves = args.at(-1)!.split('|');
    expect(slaves).toEqual([
      '[f=flv]rtmp://a/live/1',
      '[f=flv]rtmps://b/app/2',
      '[f=hls:hls_time=2:hls_list_size=6:hls_flags=delete_segments+append_list+omit_endlist+discont_start+independent_segments:hls_segment_filename=/tmp/ls/hls/seg-%05d.ts]/tmp/ls/hls/index.m3u8',
      '[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof]/data/rec/demo.mp4',
    ]);
  });

  it("rtmps:// outputs check the ingest's certificate against the CA bundle when asked (plain rtmp:// untouched)", () => {
    const slaves = (rtmpsVerify?: { caFile: string }): string[] =>
      buildFfmpegArgs({
        ...base,
        rtmp: ['rtmp://a/live/1', 'rtmps://b/app/2', 'RTMPS://c/app/3'],
        ...(rtmpsVerify ? { rtmpsVerify } : {}),
      })
        .at(-1)!
        .split('|');
    expect(slaves({ caFile: '/etc/ssl/certs/ca-certificates.crt' })).toEqual([
      '[f=flv]rtmp://a/live/1',
      '[f=flv:tls_verify=1:ca_file=/etc/ssl/certs/ca-certificates.crt]rtmps://b/app/2',
      '[f=flv:tls_verify=1:ca_file=/etc/ssl/certs/ca-certificates.crt]RTMPS://c/app/3',
    ]);
    expect(slaves()).toEqual(['[f=flv]rtmp://a/live/1', '[f=flv]rtmps://b/app/2', '[f=flv]RTMPS://c/app/3']);
    expect(() => slaves({ caFile: '/etc/my:ca.pem' })).toThrow(/not usable/);
  });

  it('scales the camera into the picture when video comes over RTP', () => {
    const graph = after(buildFfmpegArgs(base), '-filter_complex')!;
    expect(graph).toMatch(/^\[0:v:0\]scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720/);
    expect(graph).toContain('[0:a]aresample=async=1');
  });

  it('draws a still from a text file re-read each frame when there is no camera', () => {
    const args = buildFfmpegArgs({
      ...base,
      cameras: 0,
      still: { textFile: '/tmp/ls/still.txt', fontFile: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf' },
    });
    const lavfi = args.indexOf('lavfi');
    expect(args[lavfi - 2]).toBe('-re');
    expect(args[lavfi + 2]).toBe('color=c=0x1d2333:s=1280x720:r=25');
    expect(after(args, '-filter_complex')).toContain(
      '[1:v]drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/tmp/ls/still.txt:reload=1:expansion=none',
    );
  });

  it('refuses a plan without output or picture, and URLs or paths the tee syntax cannot carry', () => {
    expect(() => buildFfmpegArgs({ ...base, rtmp: [] })).toThrow(/output/);
    expect(() => buildFfmpegArgs({ ...base, cameras: 0 })).toThrow(/still/);
    expect(() => buildFfmpegArgs({ ...base, rtmp: ['rtmp://a/x|[f=mp4]/etc/passwd'] })).toThrow(/unsafe/);
    expect(() => buildFfmpegArgs({ ...base, recordFile: '/tmp/a:b.mp4' })).toThrow(/tee/);
    expect(isSafeOutputUrl('rtmp://h/app/key?x=1')).toBe(true);
    expect(isSafeOutputUrl('rtmp://h/app/key with space')).toBe(false);
  });
});

describe('grid', () => {
  it('tiles cameras in ⌈√n⌉ columns of even-sized cells, a short last row centred', () => {
    expect(gridLayout(1, 1280, 720)).toEqual([{ x: 0, y: 0, w: 1280, h: 720 }]);
    expect(gridLayout(2, 1280, 720)).toEqual([
      { x: 0, y: 0, w: 640, h: 720 },
      { x: 640, y: 0, w: 640, h: 720 },
    ]);
    expect(gridLayout(3, 1280, 720)).toEqual([
      { x: 0, y: 0, w: 640, h: 360 },
      { x: 640, y: 0, w: 640, h: 360 },
      { x: 320, y: 360, w: 640, h: 360 },
    ]);
    expect(gridLayout(5, 1000, 600).map((c) => [c.w, c.h])).toEqual(Array(5).fill([332, 300]));
    expect(gridLayout(0, 1280, 720)).toEqual([]);
  });

  it('scales each camera into its cell and stacks them with xstack', () => {
    const graph = after(buildFfmpegArgs({ ...base, cameras: 3 }), '-filter_complex')!;
    for (const i of [0, 1, 2])
      expect(graph).toContain(`[0:v:${i}]scale=640:360:force_original_aspect_ratio=decrease,pad=640:360`);
    expect(graph).toContain('[c0][c1][c2]xstack=inputs=3:layout=0_0|640_0|320_360:fill=0x1d2333');
    expect(graph).toContain('[0:a]aresample=async=1');
  });
});
