/**
 * @parley/srtp, our N-API binding over Debian's libsrtp2: round trips for the four SDES suites, the failures an
 * attacker or a confused peer produces (tamper, wrong key, replay, garbage → null), SSRC changes, key and lifetime
 * errors, and byte-exact agreement with an independent RFC 3711 / RFC 7714 implementation on Node's crypto (so a
 * binding that "round-trips" through a null cipher or the wrong key derivation cannot pass). Also loads the addon in
 * worker_threads, as the media threads will.
 */
import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SrtpError, SrtpSession, generateKeyBase64, keyLength } from '@parley/srtp';
import type { SrtpSuite } from '@parley/srtp';

const SUITES: SrtpSuite[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
];
/** Bytes SRTP adds to RTP (auth tag) and SRTCP adds to RTCP (E||index + tag), per suite. */
const RTP_TAG: Record<SrtpSuite, number> = {
  AES_CM_128_HMAC_SHA1_80: 10,
  AES_CM_128_HMAC_SHA1_32: 4,
  AEAD_AES_128_GCM: 16,
  AEAD_AES_256_GCM: 16,
};
const RTCP_TRAILER: Record<SrtpSuite, number> = {
  AES_CM_128_HMAC_SHA1_80: 14,
  AES_CM_128_HMAC_SHA1_32: 14, // SRTCP keeps the 80-bit tag (RFC 3711 §5.2)
  AEAD_AES_128_GCM: 20,
  AEAD_AES_256_GCM: 20,
};

function rtp(
  seq: number,
  ssrc: number,
  payload: Buffer,
  opts: { csrcs?: number; ext?: number } = {},
): Buffer {
  const csrcs = opts.csrcs ?? 0;
  const extWords = opts.ext ?? 0;
  const h = Buffer.alloc(12 + 4 * csrcs + (extWords ? 4 + 4 * extWords : 0));
  h[0] = 0x80 | (extWords ? 0x10 : 0) | csrcs;
  h[1] = 0; // PCMU
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE((seq * 160) >>> 0, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < csrcs; i++) h.writeUInt32BE(0x1000 + i, 12 + 4 * i);
  if (extWords) {
    const o = 12 + 4 * csrcs;
    h.writeUInt16BE(0xbede, o);
    h.writeUInt16BE(extWords, o + 2);
    for (let i = 0; i < 4 * extWords; i++) h[o + 4 + i] = 0x10 + i;
  }
  return Buffer.concat([h, payload]);
}

/** An RTCP receiver report (RFC 3550 §6.4.2) from `ssrc` with one report block. */
function rtcpRr(ssrc: number): Buffer {
  const p = Buffer.alloc(32);
  p[0] = 0x81;
  p[1] = 201;
  p.writeUInt16BE(7, 2);
  p.writeUInt32BE(ssrc, 4);
  p.writeUInt32BE(0xcafebabe, 8);
  p.writeUInt32BE(0x0a000007, 12); // fraction lost 10/256, 7 packets lost
  p.writeUInt32BE(1234, 16);
  return p;
}

const g711 = (seed: number) => Buffer.alloc(160, seed & 0xff);

/** A TypeError from the addon (created in Node's realm, not jest's sandbox: compared by name, not constructor). */
const typeError = (message: RegExp) =>
  expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(message) }) as unknown as Error;

function pair(suite: SrtpSuite, key = generateKeyBase64(suite)) {
  return {
    key,
    out: new SrtpSession({ suite, keyBase64: key, direction: 'outbound' }),
    in: new SrtpSession({ suite, keyBase64: key, direction: 'inbound' }),
  };
}

// ---------------------------------------------------------------- independent reference (Node's crypto)

interface SessionKeys {
  k: Buffer;
  a: Buffer;
  s: Buffer;
}

/** RFC 3711 §4.3 key derivation (AES-CM PRF, kdr 0); RFC 7714 §11 pads the 96-bit AEAD salt to 112 bits. */
function deriveKeys(suite: SrtpSuite, keyBase64: string): { rtp: SessionKeys; rtcp: SessionKeys } {
  const key = Buffer.from(keyBase64, 'base64');
  const kl = suite === 'AEAD_AES_256_GCM' ? 32 : 16;
  const sl = suite.startsWith('AEAD') ? 12 : 14;
  const masterKey = key.subarray(0, kl);
  const masterSalt = Buffer.concat([key.subarray(kl), Buffer.alloc(14 - sl)]);
  const prf = (label: number, len: number) => {
    const iv = Buffer.alloc(16);
    masterSalt.copy(iv);
    iv[7] ^= label;
    return crypto.createCipheriv(`aes-${kl * 8}-ctr`, masterKey, iv).update(Buffer.alloc(len));
  };
  return {
    rtp: { k: prf(0, kl), a: prf(1, 20), s: prf(2, sl) },
    rtcp: { k: prf(3, kl), a: prf(4, 20), s: prf(5, sl) },
  };
}

function xorInto(iv: Buffer, salt: Buffer): Buffer {
  for (let i = 0; i < salt.length; i++) iv[i] ^= salt[i]!;
  return iv;
}

function referenceProtectRtp(suite: SrtpSuite, keyBase64: string, p: Buffer, roc: number): Buffer {
  const { rtp: k } = deriveKeys(suite, keyBase64);
  let h = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) h += 4 + 4 * p.readUInt16BE(h + 2);
  const header = p.subarray(0, h);
  const ssrc = p.readUInt32BE(8);
  const seq = p.readUInt16BE(2);
  if (suite.startsWith('AEAD')) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(roc, 6);
    iv.writeUInt16BE(seq, 10);
    const c = crypto.createCipheriv(`aes-${k.k.length * 8}-gcm`, k.k, xorInto(iv, k.s)) as crypto.CipherGCM;
    c.setAAD(header);
    return Buffer.concat([header, c.update(p.subarray(h)), c.final(), c.getAuthTag()]);
  }
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(ssrc, 4);
  iv.writeUInt32BE(roc, 8);
  iv.writeUInt16BE(seq, 12);
  const enc = Buffer.concat([
    header,
    crypto.createCipheriv('aes-128-ctr', k.k, xorInto(iv, k.s)).update(p.subarray(h)),
  ]);
  const rocBytes = Buffer.alloc(4);
  rocBytes.writeUInt32BE(roc);
  const tag = crypto.createHmac('sha1', k.a).update(enc).update(rocBytes).digest();
  return Buffer.concat([enc, tag.subarray(0, RTP_TAG[suite])]);
}

function referenceProtectRtcp(suite: SrtpSuite, keyBase64: string, p: Buffer, index: number): Buffer {
  const { rtcp: k } = deriveKeys(suite, keyBase64);
  const ssrc = p.readUInt32BE(4);
  const eIndex = Buffer.alloc(4);
  eIndex.writeUInt32BE((0x80000000 | index) >>> 0);
  if (suite.startsWith('AEAD')) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(index, 8);
    const c = crypto.createCipheriv(`aes-${k.k.length * 8}-gcm`, k.k, xorInto(iv, k.s)) as crypto.CipherGCM;
    c.setAAD(Buffer.concat([p.subarray(0, 8), eIndex]));
    return Buffer.concat([p.subarray(0, 8), c.update(p.subarray(8)), c.final(), c.getAuthTag(), eIndex]);
  }
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(ssrc, 4);
  iv.writeUInt32BE(index, 10);
  const enc = Buffer.concat([
    p.subarray(0, 8),
    crypto.createCipheriv('aes-128-ctr', k.k, xorInto(iv, k.s)).update(p.subarray(8)),
    eIndex,
  ]);
  return Buffer.concat([enc, crypto.createHmac('sha1', k.a).update(enc).digest().subarray(0, 10)]);
}

// ---------------------------------------------------------------- tests

describe('@parley/srtp', () => {
  it('keyLength and generateKeyBase64 follow the suite', () => {
    expect(SUITES.map(keyLength)).toEqual([30, 30, 28, 44]);
    for (const suite of SUITES) {
      const a = generateKeyBase64(suite);
      expect(Buffer.from(a, 'base64')).toHaveLength(keyLength(suite));
      expect(generateKeyBase64(suite)).not.toBe(a);
    }
    expect(() => keyLength('AES_CM_256_HMAC_SHA1_80' as SrtpSuite)).toThrow(/unknown suite/);
  });

  describe.each(SUITES)('%s', (suite) => {
    it('round-trips RTP: encrypted, tagged, restored byte-exact', () => {
      const { out, in: inb } = pair(suite);
      for (let i = 0; i < 50; i++) {
        const clear = rtp(1000 + i, 0x11223344, g711(i + 1), { csrcs: i % 3, ext: i % 2 });
        const srtp = out.protectRtp(clear);
        expect(srtp).toHaveLength(clear.length + RTP_TAG[suite]);
        const hdr = clear.length - 160;
        expect(srtp.subarray(0, hdr).equals(clear.subarray(0, hdr))).toBe(true); // header stays clear
        expect(srtp.subarray(hdr, hdr + 160).equals(clear.subarray(hdr))).toBe(false); // payload does not
        expect(inb.unprotectRtp(srtp)?.equals(clear)).toBe(true);
      }
    });

    it('round-trips RTCP', () => {
      const { out, in: inb } = pair(suite);
      for (let i = 0; i < 5; i++) {
        const clear = rtcpRr(0x55667788);
        const srtcp = out.protectRtcp(clear);
        expect(srtcp).toHaveLength(clear.length + RTCP_TRAILER[suite]);
        expect(srtcp.subarray(8, 32).equals(clear.subarray(8))).toBe(false);
        expect(inb.unprotectRtcp(srtcp)?.equals(clear)).toBe(true);
      }
    });

    it('matches an independent RFC 3711/7714 implementation byte for byte (ROC wrap, SRTCP index)', () => {
      const { key, out, in: inb } = pair(suite);
      let roc = 0;
      for (let i = 0; i < 12; i++) {
        const seq = (65530 + i) & 0xffff;
        if (seq === 0) roc = 1;
        const clear = rtp(seq, 0xdeadbeef, crypto.randomBytes(100), { ext: i % 2 });
        const ours = out.protectRtp(clear);
        expect(ours.toString('hex')).toBe(referenceProtectRtp(suite, key, clear, roc).toString('hex'));
      }
      // The peer side: what the reference protects, the binding opens (fresh SSRC, so ROC 0).
      const theirs = referenceProtectRtp(suite, key, rtp(7, 0x0badf00d, g711(9)), 0);
      expect(inb.unprotectRtp(theirs)?.equals(rtp(7, 0x0badf00d, g711(9)))).toBe(true);
      for (let index = 1; index <= 3; index++) {
        const rr = rtcpRr(0x01020304); // the SRTCP index counts per SSRC, from 1
        expect(out.protectRtcp(rr).toString('hex')).toBe(
          referenceProtectRtcp(suite, key, rr, index).toString('hex'),
        );
      }
      expect(inb.unprotectRtcp(referenceProtectRtcp(suite, key, rtcpRr(42), 77))?.equals(rtcpRr(42))).toBe(
        true,
      );
    });

    it('rejects a tampered byte anywhere (header, payload, tag) with null', () => {
      const { out, in: inb } = pair(suite);
      const srtp = out.protectRtp(rtp(1, 0x11223344, g711(1)));
      for (const at of [1, 6, 20, 100, srtp.length - 1]) {
        const bad = Buffer.from(srtp);
        bad[at] ^= 0x01;
        expect(inb.unprotectRtp(bad)).toBeNull();
      }
      // The failures leave the session usable: the genuine packet still opens.
      expect(inb.unprotectRtp(srtp)?.equals(rtp(1, 0x11223344, g711(1)))).toBe(true);
      const srtcp = out.protectRtcp(rtcpRr(5));
      const badRtcp = Buffer.from(srtcp);
      badRtcp[12] ^= 0x80;
      expect(inb.unprotectRtcp(badRtcp)).toBeNull();
      expect(inb.unprotectRtcp(srtcp)?.equals(rtcpRr(5))).toBe(true);
    });

    it('returns null with the wrong key', () => {
      const { out } = pair(suite);
      const other = new SrtpSession({ suite, keyBase64: generateKeyBase64(suite), direction: 'inbound' });
      expect(other.unprotectRtp(out.protectRtp(rtp(1, 0x11223344, g711(1))))).toBeNull();
      expect(other.unprotectRtcp(out.protectRtcp(rtcpRr(1)))).toBeNull();
    });

    it('returns null for a replayed packet, and for one older than the 128-packet window', () => {
      const { out, in: inb } = pair(suite);
      const packets = Array.from({ length: 300 }, (_, i) =>
        out.protectRtp(rtp(100 + i, 0x11223344, g711(i))),
      );
      expect(inb.unprotectRtp(packets[0]!)).not.toBeNull();
      expect(inb.unprotectRtp(packets[0]!)).toBeNull(); // replay
      expect(inb.unprotectRtp(packets[299]!)).not.toBeNull();
      expect(inb.unprotectRtp(packets[299]!)).toBeNull(); // replay
      expect(inb.unprotectRtp(packets[250]!)).not.toBeNull(); // late but inside the window
      expect(inb.unprotectRtp(packets[100]!)).toBeNull(); // 199 behind: too old
      const srtcp = out.protectRtcp(rtcpRr(9));
      expect(inb.unprotectRtcp(srtcp)).not.toBeNull();
      expect(inb.unprotectRtcp(srtcp)).toBeNull();
    });

    it('lets the outbound side resend a packet (allow_repeat_tx): same bytes, opened once', () => {
      const { out, in: inb } = pair(suite);
      const clear = rtp(77, 0x11223344, g711(7));
      const first = out.protectRtp(clear);
      const again = out.protectRtp(clear);
      expect(again.equals(first)).toBe(true);
      expect(inb.unprotectRtp(again)?.equals(clear)).toBe(true);
      expect(inb.unprotectRtp(first)).toBeNull();
    });

    it('accepts an SSRC change mid-call (wildcard policies), with its own sequence space', () => {
      const { out, in: inb } = pair(suite);
      for (let i = 0; i < 10; i++)
        expect(inb.unprotectRtp(out.protectRtp(rtp(500 + i, 0xaaaa0001, g711(i))))).not.toBeNull();
      // The phone restarts its stream: new SSRC, new random sequence, even one the old SSRC already used.
      for (let i = 0; i < 10; i++) {
        const clear = rtp(500 + i, 0xbbbb0002, g711(100 + i));
        expect(inb.unprotectRtp(out.protectRtp(clear))?.equals(clear)).toBe(true);
      }
      expect(inb.unprotectRtcp(out.protectRtcp(rtcpRr(0xbbbb0002)))).not.toBeNull();
    });
  });

  it('unprotect never throws for garbage: short, long, random, RTP-looking', () => {
    const { out, in: inb } = pair('AES_CM_128_HMAC_SHA1_80');
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const junk = crypto.randomBytes(i % 400);
      if (i % 2 && junk.length > 0) junk[0] = 0x80 | (i & 0x1f);
      for (const r of [inb.unprotectRtp(junk), inb.unprotectRtcp(junk)])
        seen.add(r === null ? 'null' : 'buffer');
    }
    expect([...seen]).toEqual(['null']);
    expect(inb.unprotectRtp(Buffer.alloc(70000))).toBeNull();
    // ...and it still works afterwards.
    expect(inb.unprotectRtp(out.protectRtp(rtp(1, 1, g711(1))))).not.toBeNull();
  });

  it('protect throws an SrtpError with a code for a packet that cannot be RTP/RTCP', () => {
    const { out } = pair('AEAD_AES_128_GCM');
    const err = (() => {
      try {
        out.protectRtp(Buffer.alloc(5));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SrtpError);
    expect(err).toMatchObject({ code: 'SRTP_BAD_PACKET', message: expect.stringMatching(/5 bytes/) });
    expect(() => out.protectRtcp(Buffer.alloc(4))).toThrow(
      expect.objectContaining({ code: 'SRTP_BAD_PACKET' }),
    );
    expect(() => out.protectRtp('not a buffer' as unknown as Buffer)).toThrow(
      typeError(/protectRtp\(packet: Buffer\)/),
    );
  });

  it('refuses the wrong direction: protect on inbound, unprotect on outbound', () => {
    const { out, in: inb } = pair('AES_CM_128_HMAC_SHA1_80');
    expect(out.direction).toBe('outbound');
    expect(inb.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(() => inb.protectRtp(rtp(1, 1, g711(1)))).toThrow(
      expect.objectContaining({ code: 'SRTP_WRONG_DIRECTION' }),
    );
    expect(() => out.unprotectRtcp(rtcpRr(1))).toThrow(/unprotectRtcp on an outbound session/);
  });

  it('throws clear errors for bad keys, suites and directions', () => {
    const make =
      (suite: string, keyBase64: string, direction = 'outbound') =>
      () =>
        new SrtpSession({ suite: suite as SrtpSuite, keyBase64, direction: direction as 'outbound' });
    const k28 = crypto.randomBytes(28).toString('base64');
    const k30 = crypto.randomBytes(30).toString('base64');
    expect(make('AES_CM_128_HMAC_SHA1_80', k28)).toThrow(
      'parley_srtp: keyBase64 decodes to 28 bytes; AES_CM_128_HMAC_SHA1_80 needs 30 (master key 16 + salt 14)',
    );
    expect(make('AEAD_AES_256_GCM', k30)).toThrow(/decodes to 30 bytes; AEAD_AES_256_GCM needs 44/);
    expect(make('AEAD_AES_128_GCM', '')).toThrow(/decodes to 0 bytes/);
    expect(make('AES_CM_128_HMAC_SHA1_80', `${k30}|2^31|1:1`)).toThrow(
      /'\|' at offset 40 .*without \|lifetime\|MKI/,
    );
    expect(make('AES_CM_128_HMAC_SHA1_80', `${k30.slice(0, 20)}*${k30.slice(21)}`)).toThrow(
      /not base64: invalid character 0x2a at offset 20/,
    );
    expect(make('AES_CM_128_HMAC_SHA1_80', k30.slice(0, 37))).toThrow(/not base64: bad length 37/);
    expect(make('AES_CM_128_HMAC_SHA1_80', 'A'.repeat(300))).toThrow(/keyBase64 is too long/);
    expect(make('AES_CM_128_HMAC_SHA1_80', crypto.randomBytes(300).toString('base64'))).toThrow(/too long/);
    expect(make('NULL_CIPHER', k30)).toThrow(/unknown suite 'NULL_CIPHER'/);
    expect(make('AES_CM_128_HMAC_SHA1_80', k30, 'both')).toThrow(/direction must be 'inbound' or 'outbound'/);
    for (const f of [make('AES_CM_128_HMAC_SHA1_80', k28), make('NULL_CIPHER', k30)]) {
      expect(f).toThrow(SrtpError);
      expect(f).toThrow(
        expect.objectContaining({ name: 'SrtpError', code: expect.stringMatching(/^SRTP_BAD_/) }),
      );
    }
    expect(() => new SrtpSession(undefined as never)).toThrow(
      typeError(/new SrtpSession\(\{ suite, keyBase64/),
    );
    expect(() => new SrtpSession({ suite: 'AEAD_AES_128_GCM', direction: 'inbound' } as never)).toThrow(
      /keyBase64 must be a string/,
    );
    // Unpadded base64 (some SDES peers drop the '=') decodes to the same key as padded.
    const padded = generateKeyBase64('AEAD_AES_128_GCM');
    expect(padded.endsWith('=')).toBe(true);
    const a = new SrtpSession({ suite: 'AEAD_AES_128_GCM', keyBase64: padded, direction: 'outbound' });
    const b = new SrtpSession({
      suite: 'AEAD_AES_128_GCM',
      keyBase64: padded.replace(/=+$/, ''),
      direction: 'inbound',
    });
    expect(b.unprotectRtp(a.protectRtp(rtp(3, 3, g711(3))))).not.toBeNull();
  });

  it('close() is idempotent and every later call throws SRTP_CLOSED', () => {
    const { out, in: inb } = pair('AEAD_AES_256_GCM');
    const srtp = out.protectRtp(rtp(1, 1, g711(1)));
    out.close();
    out.close();
    inb.close();
    expect(() => inb.close()).not.toThrow();
    const closed = expect.objectContaining({
      name: 'SrtpError',
      code: 'SRTP_CLOSED',
      message: 'parley_srtp: SrtpSession is closed',
    });
    expect(() => out.protectRtp(rtp(2, 1, g711(2)))).toThrow(closed);
    expect(() => out.protectRtcp(rtcpRr(1))).toThrow(closed);
    expect(() => inb.unprotectRtp(srtp)).toThrow(closed);
    expect(() => inb.unprotectRtcp(srtp)).toThrow(closed);
  });

  it('refuses methods called on something that is not a session', () => {
    const { out } = pair('AES_CM_128_HMAC_SHA1_80');
    const fake = Object.create(SrtpSession.prototype) as SrtpSession;
    // V8's receiver check ("Illegal invocation") or the binding's type tag: never a read of a foreign pointer.
    const refused = typeError(/Illegal invocation|not an SrtpSession/);
    expect(() => fake.protectRtp(rtp(1, 1, g711(1)))).toThrow(refused);
    expect(() => SrtpSession.prototype.close.call({})).toThrow(refused);
    expect(() => SrtpSession.prototype.unprotectRtp.call(new Uint8Array(4), Buffer.alloc(20))).toThrow(
      refused,
    );
    expect(out.protectRtp(rtp(1, 1, g711(1)))).toBeInstanceOf(Buffer);
  });

  it('loads in several worker_threads at once; their SRTP opens on the main thread', async () => {
    const suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';
    const key = generateKeyBase64(suite);
    const inb = new SrtpSession({ suite, keyBase64: key, direction: 'inbound' });
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const srtp = require(workerData.entry);
      const out = new srtp.SrtpSession({ suite: workerData.suite, keyBase64: workerData.key, direction: 'outbound' });
      // left open on purpose: the finalizer frees it when the thread's environment is torn down
      new srtp.SrtpSession({ suite: 'AEAD_AES_256_GCM', keyBase64: srtp.generateKeyBase64('AEAD_AES_256_GCM'), direction: 'inbound' });
      const packets = [];
      for (let i = 0; i < 500; i++) {
        const p = Buffer.alloc(172, i & 0xff);
        p[0] = 0x80;
        p.writeUInt16BE(i, 2);
        p.writeUInt32BE(workerData.ssrc, 8);
        packets.push(out.protectRtp(p));
      }
      let code;
      try { out.unprotectRtp(packets[0]); } catch (e) { code = e instanceof srtp.SrtpError ? e.code : String(e); }
      parentPort.postMessage({ packets, code });
    `;
    const entry = require.resolve('@parley/srtp');
    const results = await Promise.all(
      [1, 2, 3, 4].map(
        (ssrc) =>
          new Promise<{ ssrc: number; opened: number; code: string }>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { entry, suite, key, ssrc } });
            w.once('error', reject);
            w.once('message', (m: { packets: Uint8Array[]; code: string }) => {
              let opened = 0;
              m.packets.forEach((p, i) => {
                const clear = inb.unprotectRtp(Buffer.from(p));
                if (clear && clear.readUInt32BE(8) === ssrc && clear[12] === (i & 0xff)) opened++;
              });
              void w.terminate().then(() => resolve({ ssrc, opened, code: m.code }));
            });
          }),
      ),
    );
    expect(results).toEqual(
      [1, 2, 3, 4].map((ssrc) => ({ ssrc, opened: 500, code: 'SRTP_WRONG_DIRECTION' })),
    );
  });
});
