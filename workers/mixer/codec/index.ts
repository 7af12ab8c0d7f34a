import { G711Decoder, G711Encoder } from './g711';
import { G722Decoder, G722Encoder } from './g722';
import { OpusAudioDecoder, OpusAudioEncoder } from './opus';
import type { OpusRate } from './opus';
import type { G722Options } from './g722';
import type { AudioDecoder, AudioEncoder, CodecName } from './codec';

export * from './codec';

/**
 * Build an encoder; `opusRate` is the PCM rate for Opus (the mixer passes its mix rate); `g722` picks the G.722 level
 * convention (default 'itu', see `G722Mapping`).
 */
export function createEncoder(
  name: CodecName,
  opusRate: OpusRate = 48000,
  g722: G722Options = {},
): AudioEncoder {
  switch (name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Encoder(name);
    case 'G722':
      return new G722Encoder(g722);
    case 'opus':
      return new OpusAudioEncoder({ sampleRate: opusRate });
  }
}

export function createDecoder(
  name: CodecName,
  opusRate: OpusRate = 48000,
  g722: G722Options = {},
): AudioDecoder {
  switch (name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Decoder(name);
    case 'G722':
      return new G722Decoder(g722);
    case 'opus':
      return new OpusAudioDecoder({ sampleRate: opusRate });
  }
}
