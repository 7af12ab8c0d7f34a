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
  /**
   * Cameras in the SDP (video m-lines after the audio one): 0 shows the still, 1 fills the picture (letterboxed),
   * more are tiled in a grid (`gridLayout`).
   */
  cameras: number;
  /**
   * No camera: a generated still (a colour with text). `textFile` is re-read every frame (`reload=1`), so the
   * speaker's name changes without restarting ffmpeg; it must be replaced atomically (rename), never rewritten in
   * place, or drawtext may read it half-written. It holds callers' display names: drawn with `expansion=none`, so
   * a name like `%{e:...}` is text, never evaluated.
   */
  still?: { textFile: string; fontFile: string };
  picture: Picture;
  rtmp: readonly string[];
  /**
   * rtmps:// outputs: check the ingest's certificate chain against `caFile` and its name against the URL's host
   * (ffmpeg's tls protocol checks nothing unless told). Absent: not checked.
   */
  rtmpsVerify?: { caFile: string };
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
  if (plan.cameras === 0 && !plan.still) throw new Error('an ffmpeg plan needs a camera or a still');
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
  if (plan.cameras > 0) {
    // Each camera's layer may change size (simulcast): scaled into its cell, letterboxed, at a constant rate, so
    // xstack gets frames of one size from every input.
    const cells = gridLayout(plan.cameras, p.width, p.height);
    const fit = (i: number, w: number, h: number): string =>
      `[0:v:${i}]scale=${w}:${h}:force_original_aspect_ratio=decrease,` +
      `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=0x1d2333,fps=${p.frameRate},setsar=1`;
    if (plan.cameras === 1) videoGraph = `${fit(0, p.width, p.height)},format=yuv420p[v]`;
    else
      videoGraph =
        cells.map((c, i) => `${fit(i, c.w, c.h)}[c${i}]`).join(';') +
        `;${cells.map((_c, i) => `[c${i}]`).join('')}xstack=inputs=${plan.cameras}:` +
        `layout=${cells.map((c) => `${c.x}_${c.y}`).join('|')}:fill=0x1d2333,` +
        `pad=${p.width}:${p.height}:0:0:color=0x1d2333,format=yuv420p[v]`;
  } else {
    const still = plan.still!;
    // Input 1: the still, paced in real time (-re) like the RTP audio it is muxed with.
    args.push('-re', '-f', 'lavfi', '-i', `color=c=0x1d2333:s=${size}:r=${p.frameRate}`);
    videoGraph =
      `[1:v]drawtext=fontfile=${filterPath(still.fontFile)}:textfile=${filterPath(still.textFile)}:reload=1:expansion=none:` +
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
  const tls = plan.rtmpsVerify ? `:tls_verify=1:ca_file=${teeValue(plan.rtmpsVerify.caFile)}` : '';
  const slaves = plan.rtmp.map((u) => `[f=flv${/^rtmps:/i.test(u) ? tls : ''}]${u}`);
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

/** One camera's cell in the grid (pixels; even sizes for 4:2:0). */
export interface GridCell {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Tiles `n` cameras over the picture: ⌈√n⌉ columns, as many rows as needed, cells of equal (even) size in reading
 * order; a last row with fewer cameras is centred.
 */
export function gridLayout(n: number, width: number, height: number): GridCell[] {
  if (n < 1) return [];
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const even = (v: number): number => Math.max(2, Math.floor(v / 2) * 2);
  const w = even(width / cols);
  const h = even(height / rows);
  const cells: GridCell[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    const inRow = row === rows - 1 ? n - row * cols : cols;
    const offset = Math.floor(((cols - inRow) * w) / 2);
    cells.push({ x: offset + (i % cols) * w, y: row * h, w, h });
  }
  return cells;
}
