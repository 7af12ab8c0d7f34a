import { OpusAudioDecoder, OpusAudioEncoder, OpusCtl } from '../../../../workers/mixer/codec/opus';
import { createDecoder, createEncoder } from '../../../../workers/mixer/codec';
import { JitterBuffer } from '../../../../workers/mixer/jitter-buffer';
import { Decoder, Encoder, version } from '@parley/opus';
import { chirp, maxAbs, rms, sine, tonePower } from './audio-helpers';

/** SNR (dB) of `out` against `ref`, sample-aligned. */
function snr(ref: Int16Array, out: Int16Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    n += (ref[i] - out[i]) ** 2;
  }
  return 10 * Math.log10(s / Math.max(n, 1));
}

/** 20 ms frames at 16 kHz of a voiced, gliding signal (SILK mode at 32 kbit/s VOIP, so LBRR is coded). */
function voicedFrames(count: number): Int16Array[] {
  const all = chirp(180, 900, 16000, count * 320, 9000);
  const out: Int16Array[] = [];
  for (let k = 0; k < count; k++) out.push(all.slice(k * 320, (k + 1) * 320));
  return out;
}

describe('Opus (@parley/opus over the system libopus)', () => {
  it('binds the system libopus', () => {
    expect(version()).toMatch(/^libopus \d+\.\d+/);
  });
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
  });

  it('PLC after 10 ms packets still fills a whole 20 ms frame', () => {
    const enc10 = new Encoder(16000, 1, OpusCtl.APPLICATION_VOIP);
    const dec = new OpusAudioDecoder({ sampleRate: 16000 });
    for (let k = 0; k < 10; k++) {
      const pcm = sine(500, 16000, 160, 10000, (2 * Math.PI * 500 * k * 160) / 16000);
      expect(dec.decode(enc10.encode(pcm)).length).toBe(160);
    }
    const plc = dec.plc();
    expect(plc.length).toBe(320);
    expect(maxAbs(plc.subarray(0, 160))).toBeGreaterThan(500);
    expect(maxAbs(plc.subarray(160))).toBeGreaterThan(500);
  });

  describe('in-band FEC (RFC 6716 §2.1.7 LBRR, decoded with decode_fec = 1)', () => {
    // A reference decoder sees every packet; the others lose packet LOST and recover it by PLC or by FEC.
    const LOST = 30;
    function lossRun(
      withFec: boolean,
      fecOnSender = true,
    ): { ref: Int16Array; got: Int16Array; next: number } {
      const enc = new OpusAudioEncoder({ sampleRate: 16000, inbandFec: fecOnSender, packetLossPercent: 20 });
      const packets = voicedFrames(50).map((f) => enc.encode(f));
      const ref = new OpusAudioDecoder({ sampleRate: 16000 });
      const dec = new OpusAudioDecoder({ sampleRate: 16000 });
      const refOut = packets.map((p) => ref.decode(p));
      let got: Int16Array = new Int16Array(0);
      let next = 0;
      for (let k = 0; k < packets.length; k++) {
        if (k === LOST) got = withFec ? dec.decodeFec(packets[k + 1], 320) : dec.plc();
        else {
          const pcm = dec.decode(packets[k]);
          if (k === LOST + 1) next = snr(refOut[k], pcm);
        }
      }
      return { ref: refOut[LOST], got, next };
    }

    it('recovers a lost packet from the next one far better than PLC', () => {
      const fec = lossRun(true);
      const plc = lossRun(false);
      expect(fec.got.length).toBe(320);
      expect(snr(fec.ref, fec.got)).toBeGreaterThan(8);
      expect(snr(fec.ref, fec.got)).toBeGreaterThan(snr(plc.ref, plc.got) + 6);
      // the packet after the loss decodes cleanly once the decoder state was rebuilt from its LBRR
      expect(fec.next).toBeGreaterThan(plc.next);
    });

    it('without LBRR in the next packet (sender FEC off) libopus conceals: no better than PLC, same length', () => {
      const fec = lossRun(true, false);
      const plc = lossRun(false, false);
      expect(fec.got.length).toBe(320);
      expect(Math.abs(snr(fec.ref, fec.got) - snr(plc.ref, plc.got))).toBeLessThan(3);
    });

    it('the jitter buffer uses it: a lost packet is counted as FEC-recovered and played near the original', () => {
      const enc = new OpusAudioEncoder({ sampleRate: 16000, packetLossPercent: 20 });
      const src = voicedFrames(40);
      const packets = src.map((f) => enc.encode(f));
      const run = (lose: boolean) => {
        const jb = new JitterBuffer({ decoder: new OpusAudioDecoder({ sampleRate: 16000 }) });
        const out: Int16Array[] = [];
        for (let k = 0; k < packets.length; k++) {
          if (!(lose && k === 20))
            jb.push({ seq: k, timestamp: k * 960, ssrc: 7, payload: packets[k] }, k * 20);
          if (k >= 2) out.push(jb.pop() ?? new Int16Array(320));
        }
        return { out, stats: jb.stats };
      };
      const clean = run(false);
      const lossy = run(true);
      expect(lossy.stats.fecRecovered).toBe(1);
      expect(lossy.stats.concealed).toBe(0);
      const i = clean.out.findIndex((_, j) => snr(clean.out[j], lossy.out[j]) < 60);
      expect(i).toBeGreaterThanOrEqual(0); // the lost frame differs from the lossless decode…
      expect(snr(clean.out[i], lossy.out[i])).toBeGreaterThan(8); // …but is a close copy of it
    });

    it('rejects bad arguments with clear errors and survives a corrupt packet', () => {
      const dec = new Decoder(16000, 1);
      expect(() => dec.decode(Buffer.from([0xff, 0xff, 0xff]), 320, false)).toThrow(/opus_decode/);
      expect(() => dec.decode(null, 0, false)).toThrow(/maxSamples out of range/);
      expect(() => new Decoder(44100, 1)).toThrow(/opus_decoder_create/);
      expect(() => new Encoder(16000, 1, OpusCtl.APPLICATION_VOIP).ctl(9999, 1)).toThrow(/not supported/);
      dec.close();
      dec.close(); // idempotent
      expect(() => dec.decode(null, 320, false)).toThrow(/closed/);
    });
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
