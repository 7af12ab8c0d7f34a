import { OpusAudioDecoder, OpusAudioEncoder } from '../../../../workers/mixer/codec/opus';
import { createDecoder, createEncoder } from '../../../../workers/mixer/codec';
import { OpusEncoder } from '@discordjs/opus';
import type { AudioDecoder } from '../../../../workers/mixer/codec/codec';
import { maxAbs, rms, sine, tonePower } from './audio-helpers';

describe('Opus (@discordjs/opus)', () => {
  it('RTP clock is 48000 whatever the PCM rate (RFC 7587 §4.1)', () => {
    const e16 = new OpusAudioEncoder({ sampleRate: 16000 });
    expect(e16.rtpClockRate).toBe(48000);
    expect(e16.frameSamples).toBe(320);
    expect(new OpusAudioEncoder().frameSamples).toBe(960);
  });

  it.each([16000, 48000] as const)(
    'round-trips a 1 kHz tone at %i Hz (tone dominates the output)',
    (rate) => {
      const enc = new OpusAudioEncoder({ sampleRate: rate });
      const dec = new OpusAudioDecoder({ sampleRate: rate });
      const n = rate / 50;
      let last: Int16Array = new Int16Array(0);
      for (let k = 0; k < 25; k++) {
        const payload = enc.encode(sine(1000, rate, n, 10000, (2 * Math.PI * 1000 * k * n) / rate));
        expect(payload.length).toBeLessThan(200); // ~32 kbit/s → ~80 bytes per 20 ms
        last = dec.decode(payload);
        expect(last.length).toBe(n);
      }
      const p1k = tonePower(last, 1000, rate);
      const p3k = tonePower(last, 3000, rate);
      expect(p1k).toBeGreaterThan(p3k * 1000);
      expect(rms(last)).toBeGreaterThan(5000);
    },
  );

  it('PLC: a lost frame is concealed with exactly one 20 ms frame of continued audio', () => {
    const enc = new OpusAudioEncoder({ sampleRate: 16000 });
    const dec = new OpusAudioDecoder({ sampleRate: 16000 });
    for (let k = 0; k < 10; k++)
      dec.decode(enc.encode(sine(500, 16000, 320, 10000, (2 * Math.PI * 500 * k * 320) / 16000)));
    const plc = dec.plc();
    expect(plc.length).toBe(320);
    expect(maxAbs(plc)).toBeGreaterThan(1000);
    expect((dec as AudioDecoder).decodeFec).toBeUndefined(); // binding has no decode_fec: the jitter buffer falls back to PLC
  });

  it('PLC after 10 ms packets still fills a whole 20 ms frame', () => {
    const enc10 = new OpusEncoder(16000, 1);
    const dec = new OpusAudioDecoder({ sampleRate: 16000 });
    for (let k = 0; k < 10; k++) {
      const pcm = sine(500, 16000, 160, 10000, (2 * Math.PI * 500 * k * 160) / 16000);
      expect(dec.decode(enc10.encode(Buffer.from(pcm.buffer))).length).toBe(160);
    }
    const plc = dec.plc();
    expect(plc.length).toBe(320);
    expect(maxAbs(plc.subarray(0, 160))).toBeGreaterThan(500);
    expect(maxAbs(plc.subarray(160))).toBeGreaterThan(500);
  });

  it('PLC before any packet is silence', () => {
    const dec = new OpusAudioDecoder({ sampleRate: 16000 });
    expect(maxAbs(dec.plc())).toBe(0);
  });

  it('rejects a wrong frame size', () => {
    expect(() => new OpusAudioEncoder({ sampleRate: 16000 }).encode(new Int16Array(160))).toThrow(RangeError);
  });

  it('createEncoder/createDecoder build every codec at its own rate', () => {
    expect(createEncoder('PCMU').sampleRate).toBe(8000);
    expect(createEncoder('PCMA').name).toBe('PCMA');
    expect(createEncoder('G722').sampleRate).toBe(16000);
    expect(createEncoder('opus', 16000).sampleRate).toBe(16000);
    expect(createDecoder('opus').sampleRate).toBe(48000);
    expect(createDecoder('G722').rtpClockRate).toBe(8000);
  });
});
