/**
 * How large a picture an H.264 receiver negotiated: its level's MaxFS (ITU-T H.264 Table A-1, macroblocks of
 * 16x16 per frame), from the profile-level-id of its answer (RFC 6184 §8.1: the last byte is level_idc). A viewer
 * must never be sent frames above its level: with nothing transcoded, the speaker video caps browsers' simulcast
 * at a layer that fits.
 */
const MAX_FS: ReadonlyMap<number, number> = new Map([
  [9, 99], // 1b
  [10, 99],
  [11, 396],
  [12, 396],
  [13, 396],
  [20, 396],
  [21, 792],
  [22, 1620],
  [30, 1620],
  [31, 3600],
  [32, 5120],
  [40, 8192],
  [41, 8192],
  [42, 8704],
  [50, 22080],
  [51, 36864],
  [52, 36864],
]);

/** MaxFS of the level in `profileLevelId` (6 hex digits); undefined when absent or unknown. */
export function maxFrameMacroblocks(profileLevelId: string | number | undefined): number | undefined {
  if (typeof profileLevelId !== 'string' || !/^[0-9a-f]{6}$/i.test(profileLevelId)) return undefined;
  return MAX_FS.get(parseInt(profileLevelId.slice(4, 6), 16));
}

/**
 * The browsers' camera layers (web/src/room/session.ts CAMERA_ENCODINGS: 1/4, 1/2 and full size) for the largest
 * camera the page asks for (1280x720), in macroblocks: 320x180, 640x360, 1280x720.
 */
const LAYER_MBS = [20 * 12, 40 * 23, 80 * 45];

/**
 * The highest simulcast layer whose frames fit `maxFs` (0 when none does: the smallest is the best there is);
 * undefined: every layer fits, no cap.
 */
export function maxSpatialLayer(maxFs: number | undefined): number | undefined {
  if (maxFs === undefined || maxFs >= LAYER_MBS[LAYER_MBS.length - 1]) return undefined;
  let layer = 0;
  for (let i = 0; i < LAYER_MBS.length; i++) if (LAYER_MBS[i] <= maxFs) layer = i;
  return layer;
}
