/** The viewer's H.264 level (RFC 6184 profile-level-id, H.264 Table A-1 MaxFS) and the simulcast layer it caps. */
import { maxFrameMacroblocks, maxSpatialLayer } from '../../../../src/media/video/h264-level';

describe('H.264 level → simulcast layer', () => {
  it('reads MaxFS from the level byte of profile-level-id', () => {
    expect(maxFrameMacroblocks('42e01f')).toBe(3600); // 3.1: 1280x720
    expect(maxFrameMacroblocks('42e00d')).toBe(396); // 1.3: CIF
    expect(maxFrameMacroblocks('42E016')).toBe(1620); // 2.2
    expect(maxFrameMacroblocks('42e0ff')).toBeUndefined();
    expect(maxFrameMacroblocks(undefined)).toBeUndefined();
    expect(maxFrameMacroblocks('42e0')).toBeUndefined();
  });

  it('caps the layer so the frames fit: CIF phones the quarter size, level 2.2 the half, 3.1 no cap', () => {
    expect(maxSpatialLayer(396)).toBe(0);
    expect(maxSpatialLayer(99)).toBe(0);
    expect(maxSpatialLayer(1620)).toBe(1);
    expect(maxSpatialLayer(3600)).toBeUndefined();
    expect(maxSpatialLayer(undefined)).toBeUndefined();
  });
});
