/** Minimal binding over libsrtp2 (RFC 3711 SRTP/SRTCP) with SDES keys (RFC 4568 a=crypto). */

/** The a=crypto crypto-suite names (RFC 4568 §6.2, RFC 7714 §14.2). */
export type SrtpSuite =
  'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32' | 'AEAD_AES_128_GCM' | 'AEAD_AES_256_GCM';

export type SrtpDirection = 'inbound' | 'outbound';

export interface SrtpSessionOptions {
  suite: SrtpSuite;
  /** master key || master salt, base64 as in SDP a=crypto `inline:` (without `|lifetime|MKI`). */
  keyBase64: string;
  /** 'outbound' protects with OUR key, 'inbound' unprotects with THE PEER's key. */
  direction: SrtpDirection;
}

/**
 * Codes of SrtpError: 'SRTP_<libsrtp status name>' for failures libsrtp reports (SRTP_BAD_PARAM, SRTP_AUTH_FAIL, …)
 * and the binding's own: SRTP_BAD_SUITE, SRTP_BAD_KEY, SRTP_BAD_DIRECTION, SRTP_BAD_PACKET, SRTP_CLOSED,
 * SRTP_WRONG_DIRECTION.
 */
export declare class SrtpError extends Error {
  readonly name: 'SrtpError';
  readonly code: string;
  /** libsrtp's srtp_err_status_t, 0 for the binding's own errors. */
  readonly status: number;
}

/**
 * One SRTP session for one direction of one leg. Any SSRC is accepted (libsrtp wildcard policies), so a phone that
 * changes SSRC mid-call keeps working; the replay window is libsrtp's default (128 packets).
 * A session belongs to the thread that created it.
 */
export declare class SrtpSession {
  /** Throws SrtpError (SRTP_BAD_SUITE, SRTP_BAD_KEY naming the length or the bad character, SRTP_BAD_DIRECTION). */
  constructor(opts: SrtpSessionOptions);
  readonly suite: SrtpSuite;
  readonly direction: SrtpDirection;
  /** Returns a NEW Buffer with the protected packet (or throws SrtpError with a code). Outbound sessions only. */
  protectRtp(packet: Buffer): Buffer;
  protectRtcp(packet: Buffer): Buffer;
  /**
   * Returns the clear packet (a new Buffer), or null when authentication fails / replay / malformed: never throws
   * for the packet's content. Inbound sessions only.
   */
  unprotectRtp(packet: Buffer): Buffer | null;
  unprotectRtcp(packet: Buffer): Buffer | null;
  /** Frees the libsrtp session now (also done by the garbage collector). Idempotent; other methods then throw SRTP_CLOSED. */
  close(): void;
}

/** Master key + salt bytes: 30 for AES_CM_128_*, 28 for AEAD_AES_128_GCM, 44 for AEAD_AES_256_GCM. */
export declare function keyLength(suite: SrtpSuite): number;

/** A crypto-random key||salt of keyLength(suite) bytes, base64 (for our a=crypto inline:). */
export declare function generateKeyBase64(suite: SrtpSuite): string;

/** libsrtp's version string, e.g. "libsrtp2 2.5.0". */
export declare function version(): string;
