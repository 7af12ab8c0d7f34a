import { randomBytes } from 'node:crypto';

import type { types } from 'mediasoup';

import type { SdesCrypto } from './sdp-types';

/** The SDES suites mediasoup implements, in Parley's order of preference; the names are RFC 4568 / RFC 7714's. */
export const SUPPORTED_CRYPTO_SUITES: readonly types.SrtpCryptoSuite[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
];

/** Master key + salt length in bytes per suite (RFC 4568 §6.2, RFC 7714 §12); mediasoup rejects other lengths. */
export const SRTP_MASTER_LENGTH: Record<types.SrtpCryptoSuite, number> = {
  AES_CM_128_HMAC_SHA1_80: 30,
  AES_CM_128_HMAC_SHA1_32: 30,
  AEAD_AES_128_GCM: 28,
  AEAD_AES_256_GCM: 44,
};

/** Session parameters that do not change the SRTP policy mediasoup applies (RFC 4568 §6.3). */
const HARMLESS_SESSION_PARAMS = /^(KDR=0|WSH=\d+)$/i;

export function isSupportedSuite(
  suite: string,
  allowed: readonly string[] = SUPPORTED_CRYPTO_SUITES,
): suite is types.SrtpCryptoSuite {
  return allowed.includes(suite);
}

/** Decoded length of a base64 key, or -1 when it is not base64. */
export function base64KeyLength(keyBase64: string): number {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64) || keyBase64.length % 4 === 1) return -1;
  return Buffer.from(keyBase64, 'base64').length;
}

export interface SelectedCrypto {
  tag: number;
  suite: types.SrtpCryptoSuite;
  /** The offerer's master key||salt: `SrtpParameters.keyBase64` for `transport.connect()`. */
  remoteKeyBase64: string;
}

/** Why a crypto line cannot be used, or undefined when it can. */
export function cryptoUnusableReason(c: SdesCrypto, allowedSuites: readonly string[]): string | undefined {
  if (!isSupportedSuite(c.suite, allowedSuites)) return `suite ${c.suite} not supported`;
  if (c.keyParams.length !== 1) return `${c.keyParams.length} key params (mediasoup takes exactly one)`;
  const kp = c.keyParams[0];
  // mediasoup's SRTP sessions carry no MKI: a key with MKI would make every packet fail authentication.
  if (kp.mki) return 'MKI not supported';
  const len = base64KeyLength(kp.keySaltBase64);
  if (len !== SRTP_MASTER_LENGTH[c.suite])
    return `key length ${len} is not ${SRTP_MASTER_LENGTH[c.suite]} for ${c.suite}`;
  const odd = c.sessionParams.find((p) => !HARMLESS_SESSION_PARAMS.test(p));
  if (odd) return `session parameter ${odd} not supported`;
  return undefined;
}

/**
 * RFC 4568 §7.1.1 / §7.1.2: the answerer picks one of the offered crypto attributes; Parley takes the first usable
 * one in the offerer's order (its preference) and answers with the same tag.
 */
export function selectCrypto(
  offered: readonly SdesCrypto[],
  allowedSuites: readonly string[] = SUPPORTED_CRYPTO_SUITES,
): { selected?: SelectedCrypto; rejected: string[] } {
  const rejected: string[] = [];
  for (const c of offered) {
    const why = cryptoUnusableReason(c, allowedSuites);
    if (why) {
      rejected.push(`tag ${c.tag}: ${why}`);
      continue;
    }
    return {
      selected: {
        tag: c.tag,
        suite: c.suite as types.SrtpCryptoSuite,
        remoteKeyBase64: c.keyParams[0].keySaltBase64,
      },
      rejected,
    };
  }
  return { rejected };
}

/** A fresh master key||salt for a suite (tests, or when the transport's key is not at hand). */
export function generateSdesKey(suite: types.SrtpCryptoSuite): string {
  return randomBytes(SRTP_MASTER_LENGTH[suite]).toString('base64');
}

/** `<tag> <suite> inline:<key>` — the value of an a=crypto line (RFC 4568 §9.1). */
export function formatCrypto(tag: number, suite: string, keyBase64: string): string {
  return `${tag} ${suite} inline:${keyBase64}`;
}
