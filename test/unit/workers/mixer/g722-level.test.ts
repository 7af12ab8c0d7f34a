/**
 * G.722 level: which 16-bit PCM level a G.722 bit stream stands for.
 *
 * G.722 codes 14-bit uniform PCM (§1.1) and both QMFs have unity gain (§3.2: Σh = 1; §4.4: the factor 2 makes up
 * for the interpolation), so a sub-band value is in 14-bit units. Mapping 16-bit PCM onto 14 bits by its top bits
 * (x14 = x16/4, as for G.711's 14/13-bit codes) keeps full scale on full scale: that is what linphone's
 * mediastreamer2 (and PJSIP) do, and our default 'itu' mapping. FFmpeg and spandsp map x14 = x16/2: the same PCM goes
 * out 6 dB hotter and incoming G.722 is played 6 dB quieter — the 6 dB a user measured between Parley (then
 * FFmpeg-exact) and linphone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { G722Decoder, G722Encoder } from '../../../../workers/mixer/codec/g722';
import type { G722Mapping } from '../../../../workers/mixer/codec/g722';
import { decodeUlaw, G711Encoder } from '../../../../workers/mixer/codec/g711';
import { InputPipeline } from '../../../../workers/mixer/input-pipeline';
import { Mixer } from '../../../../workers/mixer/mixer';
import { byFrames, sine } from './audio-helpers';

const linphone = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'g722-linphone.json'), 'utf8')) as {
  toneHz: number;
  toneDbfs: number;
  payloadBase64: string;
};
const LINPHONE_G722 = Buffer.from(linphone.payloadBase64, 'base64');

const F = 407; // not a whole number of cycles per 20 ms frame
const AMP_12DB = Math.round(32768 * 10 ** (-12 / 20)); // 8231

/** Level (dBFS, full-scale sine = 0 dB) of `freq` in `x` by a single-bin DFT over whole periods of the signal. */
function toneDbfs(x: Int16Array, rate: number, freq: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    re += x[i] * Math.cos(w);
    im += x[i] * Math.sin(w);
  }
  return 20 * Math.log10((2 * Math.hypot(re, im)) / x.length / 32768);
}

function tone(rate: number, seconds: number, amp = AMP_12DB): Int16Array {
  return sine(F, rate, rate * seconds, amp);
}

function g722RoundTrip(x: Int16Array, enc: G722Mapping, dec: G722Mapping): Int16Array {
  const e = new G722Encoder({ mapping: enc });
  const d = new G722Decoder({ mapping: dec });
  return byFrames(x, 320, (f) => d.decode(e.encode(f)));
}

describe('G.722 level (16-bit PCM ↔ the 14-bit PCM of the standard)', () => {
  it("defaults to the 'itu' mapping (full scale on full scale)", () => {
    expect(new G722Encoder().mapping).toBe('itu');
    expect(new G722Decoder().mapping).toBe('itu');
  });

  it.each(['itu', 'ffmpeg'] as const)('%s: a −12 dBFS 407 Hz tone round-trips at −12 dBFS (±0.3 dB)', (m) => {
    const y = g722RoundTrip(tone(16000, 2), m, m).subarray(3200);
    expect(Math.abs(toneDbfs(y, 16000, F) + 12)).toBeLessThan(0.3);
  });

  it("the two conventions are 6 dB apart: 'itu' encoded, 'ffmpeg' decoded is −18 dBFS, and the reverse −6", () => {
    const x = tone(16000, 2);
    expect(toneDbfs(g722RoundTrip(x, 'itu', 'ffmpeg').subarray(3200), 16000, F)).toBeCloseTo(-18, 0);
    expect(toneDbfs(g722RoundTrip(x, 'ffmpeg', 'itu').subarray(3200), 16000, F)).toBeCloseTo(-6, 0);
  });

  it("linphone's own G.722 (Debian mediastreamer2, a −12 dBFS tone) decodes at −12 dBFS with the default mapping", () => {
    expect(linphone.toneDbfs).toBe(-12);
    const pcm = new G722Decoder().decode(LINPHONE_G722).subarray(3200); // past the decoder's adaptation
    expect(Math.abs(toneDbfs(pcm, 16000, linphone.toneHz) + 12)).toBeLessThan(0.5);
    // what Parley heard before (FFmpeg's convention): half the amplitude
    const ff = new G722Decoder({ mapping: 'ffmpeg' }).decode(LINPHONE_G722).subarray(3200);
    expect(Math.abs(toneDbfs(ff, 16000, linphone.toneHz) + 18)).toBeLessThan(0.5);
  });

  it("the 'itu' encoder sends what linphone sends: its stream decodes like linphone's, same level within 0.3 dB", () => {
    const ours = new G722Encoder().encode(tone(16000, 2));
    const d1 = new G722Decoder({ mapping: 'ffmpeg' }).decode(ours).subarray(3200);
    const d2 = new G722Decoder({ mapping: 'ffmpeg' }).decode(LINPHONE_G722).subarray(3200);
    expect(Math.abs(toneDbfs(d1, 16000, F) - toneDbfs(d2, 16000, F))).toBeLessThan(0.3);
  });

  describe('through the mixer core: PCMU ↔ G.722 phones hear each other at the level sent (±1 dB)', () => {
    function run(talkerCodec: 'PCMU' | 'G722', packets: Buffer[]): Buffer[] {
      const mixer = new Mixer({ sampleRate: 16000 });
      mixer.addParticipant('talker', { output: talkerCodec });
      const listener = talkerCodec === 'PCMU' ? 'G722' : 'PCMU';
      mixer.addParticipant('listener', { output: listener });
      const pipe = new InputPipeline({ codec: talkerCodec, mixRate: 16000 });
      const heard: Buffer[] = [];
      packets.forEach((payload, n) => {
        pipe.push({ seq: n, timestamp: n * 160, ssrc: 7, payload }, n * 20);
        const r = mixer.mixOnce([{ id: 'talker', pcm: pipe.pull() }]);
        const o = r.outputs.find((x) => x.participants.includes('listener'));
        if (o) heard.push(o.payload);
      });
      return heard;
    }

    it('a PCMU caller at −12 dBFS is heard at −12 dBFS by a G.722 phone (decoded as linphone does)', () => {
      const enc = new G711Encoder('PCMU');
      const x = tone(8000, 3);
      const packets: Buffer[] = [];
      for (let i = 0; i + 160 <= x.length; i += 160) packets.push(enc.encode(x.subarray(i, i + 160)));
      const heard = run('PCMU', packets);
      const pcm = new G722Decoder().decode(Buffer.concat(heard.slice(-100)));
      expect(Math.abs(toneDbfs(pcm, 16000, F) + 12)).toBeLessThan(1);
    });

    it("linphone's G.722 at −12 dBFS is heard at −12 dBFS by a PCMU phone", () => {
      const packets: Buffer[] = [];
      for (let i = 0; i + 160 <= LINPHONE_G722.length; i += 160)
        packets.push(LINPHONE_G722.subarray(i, i + 160));
      const heard = run('G722', packets);
      const pcm = decodeUlaw(Buffer.concat(heard.slice(-60)));
      expect(Math.abs(toneDbfs(pcm, 8000, linphone.toneHz) + 12)).toBeLessThan(1);
    });
  });
});
