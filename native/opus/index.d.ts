/** Minimal binding over libopus (RFC 6716). PCM is 16-bit signed, interleaved when channels = 2. */
export declare class Encoder {
  /** `application`: 2048 VOIP, 2049 AUDIO, 2051 RESTRICTED_LOWDELAY (opus_defines.h). */
  constructor(sampleRate: number, channels: number, application: number);
  /** Encodes one frame (2.5–60 ms of samples at the encoder's rate); returns the Opus packet. */
  encode(pcm: Int16Array): Buffer;
  /** An `OPUS_SET_*` request taking one opus_int32 (e.g. 4002 bitrate, 4010 complexity, 4012 in-band FEC). */
  ctl(request: number, value: number): void;
  /** Frees the encoder state now (also done by the garbage collector). Idempotent. */
  close(): void;
}

export declare class Decoder {
  constructor(sampleRate: number, channels: number);
  /**
   * Decodes `packet` into at most `maxSamples` samples per channel.
   * `packet` null → packet loss concealment of exactly `maxSamples` (must be a multiple of 2.5 ms).
   * `fec` true → decode the in-band FEC (LBRR) that `packet` carries for the packet *before* it; `maxSamples`
   * must then be that lost packet's duration. Without LBRR data libopus conceals instead (RFC 6716 §4.2.7.8).
   */
  decode(packet: Buffer | null, maxSamples: number, fec: boolean): Int16Array;
  /** Samples per channel a packet decodes to at this decoder's rate (opus_decoder_get_nb_samples). */
  packetSamples(packet: Buffer): number;
  /** Frees the decoder state now (also done by the garbage collector). Idempotent. */
  close(): void;
}

/** libopus's version string, e.g. "libopus 1.3.1". */
export declare function version(): string;
