/**
 * The picture size an H.264 sequence parameter set announces (ITU-T H.264 §7.3.2.1.1), read from RTP payloads
 * (RFC 6184: a single NAL unit, or inside a STAP-A). The speaker video uses it to keep frames above a viewer's
 * negotiated level away from it: a simulcast consumer may forward a higher layer than the one asked for while the
 * asked one is inactive, and every layer change starts with an SPS.
 */

/** The SPS NAL unit (type 7) in an RTP payload: a single NAL unit or inside a STAP-A; undefined otherwise. */
export function spsOf(payload: Uint8Array): Uint8Array | undefined {
  if (payload.length === 0) return undefined;
  const type = payload[0]! & 0x1f;
  if (type === 7) return payload;
  if (type === 24) {
    for (let i = 1; i + 2 < payload.length;) {
      const size = (payload[i]! << 8) | payload[i + 1]!;
      if ((payload[i + 2]! & 0x1f) === 7) return payload.subarray(i + 2, i + 2 + size);
      i += 2 + size;
    }
  }
  return undefined;
}

/** Profiles whose SPS carries chroma_format_idc and the bit depths (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Width and height in pixels before cropping (whole macroblocks), and the macroblocks per frame (what a level's
 * MaxFS limits); undefined when the SPS is cut short or carries scaling matrices (not parsed here).
 */
export function spsPictureSize(
  sps: Uint8Array,
): { width: number; height: number; macroblocks: number } | undefined {
  // The RBSP: emulation prevention bytes (00 00 03 → 00 00) removed, the NAL header byte skipped.
  const rbsp: number[] = [];
  for (let i = 1; i < sps.length; i++) {
    if (i >= 3 && sps[i] === 3 && sps[i - 1] === 0 && sps[i - 2] === 0) continue;
    rbsp.push(sps[i]!);
  }
  const bits = rbsp.length * 8;
  let bit = 0;
  const u = (n: number): number => {
    if (bit + n > bits) throw new RangeError('SPS cut short');
    let v = 0;
    for (let k = 0; k < n; k++, bit++) v = v * 2 + ((rbsp[bit >> 3]! >> (7 - (bit & 7))) & 1);
    return v;
  };
  const ue = (): number => {
    let zeros = 0;
    while (u(1) === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + u(zeros);
  };
  try {
    const profile = u(8);
    u(16); // constraint flags, level_idc
    ue(); // seq_parameter_set_id
    if (HIGH_PROFILES.has(profile)) {
      if (ue() === 3) u(1); // chroma_format_idc, separate_colour_plane_flag
      ue(); // bit_depth_luma_minus8
      ue(); // bit_depth_chroma_minus8
      u(1); // qpprime_y_zero_transform_bypass_flag
      if (u(1) === 1) return undefined; // seq_scaling_matrix_present_flag: lists not parsed here
    }
    ue(); // log2_max_frame_num_minus4
    const pocType = ue();
    if (pocType === 0) ue();
    else if (pocType === 1) {
      u(1);
      ue();
      ue();
      const n = ue();
      for (let k = 0; k < n; k++) ue();
    }
    ue(); // max_num_ref_frames
    u(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = ue() + 1;
    const heightMapUnits = ue() + 1;
    const frameMbsOnly = u(1);
    const heightMbs = heightMapUnits * (2 - frameMbsOnly);
    return { width: widthMbs * 16, height: heightMbs * 16, macroblocks: widthMbs * heightMbs };
  } catch {
    return undefined;
  }
}
