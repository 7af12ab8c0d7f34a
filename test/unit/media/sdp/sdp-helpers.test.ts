import {
  generateSdesKey,
  H264Profile,
  isPrivateAddress,
  parseH264ProfileLevelId,
  readRtpHeader,
  selectCrypto,
  SRTP_MASTER_LENGTH,
} from '../../../../src/media/sdp';

describe('parseH264ProfileLevelId (mediasoup / RFC 6184 rules)', () => {
  it.each([
    ['42e01f', H264Profile.ConstrainedBaseline, 0x1f],
    ['42c01e', H264Profile.ConstrainedBaseline, 0x1e],
    ['4de01f', H264Profile.ConstrainedBaseline, 0x1f],
    ['42801E', H264Profile.Baseline, 0x1e],
    ['42001f', H264Profile.Baseline, 0x1f],
    ['4d001f', H264Profile.Main, 0x1f],
    ['640032', H264Profile.High, 0x32],
    ['640c1f', H264Profile.ConstrainedHigh, 0x1f],
    ['f4001f', H264Profile.Other, 0x1f],
  ])('%s → %s', (plid, profile, level) => {
    expect(parseH264ProfileLevelId(plid)).toEqual({ profile, level });
  });

  it('defaults to Baseline level 1.0 when absent, rejects junk', () => {
    expect(parseH264ProfileLevelId(undefined)).toEqual({ profile: H264Profile.Baseline, level: 0x10 });
    expect(parseH264ProfileLevelId('42e0')).toBeUndefined();
  });
});

describe('selectCrypto (RFC 4568)', () => {
  const key80 = generateSdesKey('AES_CM_128_HMAC_SHA1_80');
  const crypto = (
    tag: number,
    suite: string,
    key: string,
    extra: Partial<{ mki: boolean; session: string[]; keys: number }> = {},
  ) => ({
    tag,
    suite,
    keyParams: Array.from({ length: extra.keys ?? 1 }, () => ({
      keySaltBase64: key,
      ...(extra.mki ? { mki: { value: 1, length: 4 } } : {}),
    })),
    sessionParams: extra.session ?? [],
  });

  it('takes the first usable line in the offerer order and explains the others', () => {
    const r = selectCrypto([
      crypto(1, 'AES_256_CM_HMAC_SHA1_80', key80),
      crypto(2, 'AES_CM_128_HMAC_SHA1_80', key80, { session: ['UNENCRYPTED_SRTP'] }),
      crypto(3, 'AES_CM_128_HMAC_SHA1_80', key80, { keys: 2 }),
      crypto(4, 'AES_CM_128_HMAC_SHA1_80', key80, { session: ['KDR=0', 'WSH=64'] }),
    ]);
    expect(r.selected).toEqual({ tag: 4, suite: 'AES_CM_128_HMAC_SHA1_80', remoteKeyBase64: key80 });
    expect(r.rejected).toEqual([
      'tag 1: suite AES_256_CM_HMAC_SHA1_80 not supported',
      'tag 2: session parameter UNENCRYPTED_SRTP not supported',
      'tag 3: 2 key params (mediasoup takes exactly one)',
    ]);
  });

  it('checks key lengths per suite as mediasoup does', () => {
    for (const suite of ['AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const) {
      const key = generateSdesKey(suite);
      expect(Buffer.from(key, 'base64')).toHaveLength(SRTP_MASTER_LENGTH[suite]);
      expect(selectCrypto([crypto(1, suite, key)]).selected?.suite).toBe(suite);
    }
    expect(selectCrypto([crypto(1, 'AEAD_AES_256_GCM', key80)]).rejected[0]).toMatch(
      /key length 30 is not 44/,
    );
    expect(selectCrypto([crypto(1, 'AES_CM_128_HMAC_SHA1_80', '!!!notbase64')]).selected).toBeUndefined();
  });
});

describe('isPrivateAddress', () => {
  it.each([
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['100.64.0.1', true],
    ['169.254.1.1', true],
    ['127.0.0.1', false],
    ['203.0.113.5', false],
    ['fd00::1', true],
    ['fe80::1', true],
    ['2001:db8::1', false],
    ['::ffff:192.168.0.1', true],
  ])('%s → %s', (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });
});

describe('readRtpHeader', () => {
  it('reads PT, sequence, timestamp and SSRC of an RTP packet', () => {
    const pkt = Buffer.alloc(172);
    pkt[0] = 0x80;
    pkt[1] = 0x80 | 9;
    pkt.writeUInt16BE(4242, 2);
    pkt.writeUInt32BE(160000, 4);
    pkt.writeUInt32BE(0xcafebabe, 8);
    expect(readRtpHeader(pkt)).toEqual({
      payloadType: 9,
      marker: true,
      sequenceNumber: 4242,
      timestamp: 160000,
      ssrc: 0xcafebabe,
    });
  });

  it('ignores RTCP (muxed), short packets and non-v2 data', () => {
    const rr = Buffer.alloc(32);
    rr[0] = 0x81;
    rr[1] = 201;
    expect(readRtpHeader(rr)).toBeUndefined();
    expect(readRtpHeader(Buffer.alloc(8))).toBeUndefined();
    expect(readRtpHeader(Buffer.alloc(20))).toBeUndefined();
  });
});
