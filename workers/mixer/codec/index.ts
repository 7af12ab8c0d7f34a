import { G711Decoder, G711Encoder } from './g711';
import { G722Decoder, G722Encoder } from './g722';
import { OpusAudioDecoder, OpusAudioEncoder } from './opus';
import type { OpusRate } from './opus';
import type { AudioDecoder, AudioEncoder, CodecName } from './codec';

export * from './codec';

/** Build an encoder; `opusRate` is the PCM rate for Opus (the mixer passes its mix rate). */
export function createEncoder(name: CodecName, opusRate: OpusRate = 48000): AudioEncoder {
  switch (name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Encoder(name);
    case 'G722':
      return new G722Encoder();
    case 'opus':
      return new OpusAudioEncoder({ sampleRate: opusRate });
  }
}

export function createDecoder(name: CodecName, opusRate: OpusRate = 48000): AudioDecoder {
  switch (name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Decoder(name);
    case 'G722':
      return new G722Decoder();
    case 'opus':
      return new OpusAudioDecoder({ sampleRate: opusRate });
  }
}
