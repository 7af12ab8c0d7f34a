/**
 * SPS picture sizes, from SPSs libx264 wrote (ffmpeg, baseline and high profile): what keeps frames above a viewer's
 * level away from it.
 */
import { spsOf, spsPictureSize } from '../../../../src/media/video/h264-sps';

const SPS = {
  '176x144 baseline': '6742c00ad902c4ec044000000300400000030083c48992',
  '1280x720 baseline': '6742c01fd9005005bb011000000300100000030020f1832480',
  '640x360 baseline': '6742c016d900a02ff97011000003000100000300020f162e48',
  '640x360 high': '67640016acd940a02ff97011000003000100000300020f162d96',
};

test.each([
  ['176x144 baseline', 176, 144, 99],
  ['1280x720 baseline', 1280, 720, 3600],
  ['640x360 baseline', 640, 368, 920], // 23 macroblock rows, cropped to 360 by frame_cropping
  ['640x360 high', 640, 368, 920],
] as const)('%s: %ix%i, %i macroblocks', (name, width, height, macroblocks) => {
  expect(spsPictureSize(Buffer.from(SPS[name], 'hex'))).toEqual({ width, height, macroblocks });
});

test('found alone or in a STAP-A; other NAL units and cut-short SPSs give nothing', () => {
  const sps = Buffer.from(SPS['176x144 baseline'], 'hex');
  const pps = Buffer.from('68ce3c80', 'hex');
  const stapA = Buffer.concat([Buffer.from([24, 0, pps.length]), pps, Buffer.from([0, sps.length]), sps]);
  expect(Buffer.from(spsOf(stapA)!)).toEqual(sps);
  expect(spsOf(sps)).toBe(sps);
  expect(spsOf(Buffer.from([0x65, 0x88]))).toBeUndefined(); // an IDR slice
  expect(spsOf(Buffer.alloc(0))).toBeUndefined();
  expect(spsPictureSize(sps.subarray(0, 5))).toBeUndefined();
});
