/** The picture and bitrates of the composite (config `livestream`). */
export interface Picture {
  width: number;
  height: number;
  frameRate: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  /** Keyframe interval in seconds (= the HLS segment length, so every segment starts with one). */
  keyframeSeconds: number;
}

export interface HlsOutput {
  /** Directory of index.m3u8 and its segments (a temp dir of this stream). */
  dir: string;
  segmentSeconds: number;
  listSize: number;
}

export interface FfmpegPlan {
  /** The SDP of the RTP inputs (audio always; video when a camera is shown). */
  sdpPath: string;
  /** The SDP has a video m-line: the camera is scaled into the picture. */
  videoFromRtp: boolean;
  /**
   * No camera: a generated still (a colour with text). `textFile` is re-read every frame (`reload=1`), so the
   * speaker's name changes without restarting ffmpeg; it must be replaced atomically (rename), never rewritten in
   * place, or drawtext may read it half-written.
   */
  still?: { textFile: string; fontFile: string };
  picture: Picture;
  rtmp: readonly string[];
  hls?: HlsOutput;
  /** A recording file (fragmented MP4: a killed ffmpeg still leaves a playable file). */
  recordFile?: string;
}

/** Characters that would end a tee slave or an option value (`|`, `[`, `]`, `:` in options, `\` escapes). */
const TEE_UNSAFE = /[|[\]\\\s'"]/;

/** RTMP/RTMPS URLs the tee muxer can carry unescaped (the REST validation refuses the others first). */
export function isSafeOutputUrl(url: string): boolean {
  return !TEE_UNSAFE.test(url);
}

/**
 * ffmpeg's command line for one run. One process encodes once (the composite: H.264 + AAC) and the tee muxer
 * writes that one encode to every output — RTMP (FLV), HLS and the recording — so N outputs cost one encode,
 * not N. A failing slave aborts the run (tee's default `onfail=abort`): the supervisor restarts it, which
 * reconnects a dropped RTMP ingest, while HLS continues its playlist (`append_list`, a discontinuity marks the
 * gap). `-progress pipe:1` gives the supervisor machine-readable progress (live once frames come out).
 */
export function buildFfmpegArgs(plan: FfmpegPlan): string[] {
  if (!plan.videoFromRtp && !plan.still) throw new Error('an ffmpeg plan needs a camera or a still');
  if (plan.rtmp.length === 0 && !plan.hls && !plan.recordFile)
    throw new Error('an ffmpeg plan needs an output');
  for (const u of plan.rtmp) if (!isSafeOutputUrl(u)) throw new Error(`unsafe output URL: ${u}`);
  const p = plan.picture;
  const gop = Math.max(1, Math.round(p.frameRate * p.keyframeSeconds));
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    '-nostats',
    '-progress',
    'pipe:1',
    // Input 0: the RTP streams mediasoup sends (loopback). A reorder queue absorbs loopback reordering.
    '-protocol_whitelist',
    'file,udp,rtp',
    '-thread_queue_size',
    '1024',
    '-reorder_queue_size',
    '128',
    '-analyzeduration',
    '3000000',
    '-i',
    plan.sdpPath,
  ];
  const size = `${p.width}x${p.height}`;
  let videoGraph: string;
  if (plan.videoFromRtp) {
    // The camera's layer may change size (simulcast): scale into the picture, letterboxed, constant rate.
    videoGraph =
      `[0:v]scale=${p.width}:${p.height}:force_original_aspect_ratio=decrease,` +
      `pad=${p.width}:${p.height}:(ow-iw)/2:(oh-ih)/2:color=0x1d2333,fps=${p.frameRate},format=yuv420p[v]`;
  } else {
    const still = plan.still!;
    // Input 1: the still, paced in real time (-re) like the RTP audio it is muxed with.
    args.push('-re', '-f', 'lavfi', '-i', `color=c=0x1d2333:s=${size}:r=${p.frameRate}`);
    videoGraph =
      `[1:v]drawtext=fontfile=${filterPath(still.fontFile)}:textfile=${filterPath(still.textFile)}:reload=1:` +
      `fontcolor=white:fontsize=${Math.round(p.height / 16)}:line_spacing=${Math.round(p.height / 40)}:` +
      `x=(w-text_w)/2:y=(h-text_h)/2,format=yuv420p[v]`;
  }
  args.push(
    '-filter_complex',
    // The mix is continuous, but a gap (a lost burst) is filled with silence so audio and video stay aligned.
    `${videoGraph};[0:a]aresample=async=1:first_pts=0[a]`,
    '-map',
    '[v]',
    '-map',
    '[a]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-profile:v',
    'main',
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(p.frameRate),
    '-b:v',
    `${p.videoBitrateKbps}k`,
    '-maxrate',
    `${p.videoBitrateKbps}k`,
    '-bufsize',
    `${p.videoBitrateKbps * 2}k`,
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-c:a',
    'aac',
    '-b:a',
    `${p.audioBitrateKbps}k`,
    '-ar',
    '48000',
    '-ac',
    '2',
    // FLV and MP4 want the codec headers out of band; the MPEG-TS of HLS gets them in band from the muxer.
    '-flags',
    '+global_header',
    '-f',
    'tee',
    teeSlaves(plan).join('|'),
  );
  return args;
}

function teeSlaves(plan: FfmpegPlan): string[] {
  const slaves = plan.rtmp.map((u) => `[f=flv]${u}`);
  if (plan.hls) {
    const h = plan.hls;
    slaves.push(
      `[f=hls:hls_time=${h.segmentSeconds}:hls_list_size=${h.listSize}:` +
        'hls_flags=delete_segments+append_list+omit_endlist+discont_start+independent_segments:' +
        `hls_segment_filename=${teeValue(`${h.dir}/seg-%05d.ts`)}]${teeValue(`${h.dir}/index.m3u8`)}`,
    );
  }
  if (plan.recordFile)
    slaves.push(`[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof]${teeValue(plan.recordFile)}`);
  return slaves;
}

/** Paths are ours (temp and config dirs); refuse what the tee syntax cannot carry rather than mis-escape it. */
function teeValue(path: string): string {
  if (/[|[\]\\:']/.test(path)) throw new Error(`path not usable in an ffmpeg tee output: ${path}`);
  return path;
}

/** A path inside a filter graph option: `:` `,` `;` `[` `]` `'` `\` would end or change it. */
function filterPath(path: string): string {
  if (/[:,;[\]'\\\s]/.test(path)) throw new Error(`path not usable in an ffmpeg filter: ${path}`);
  return path;
}
