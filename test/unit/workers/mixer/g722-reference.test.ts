import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { G722Decoder, G722Encoder } from '../../../../workers/mixer/codec/g722';

interface Vector {
  name: string;
  inputSha256: string;
  encodedBase64: string;
  decodedSha256: string;
}

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'g722-ffmpeg.json'), 'utf8')) as {
  vectors: Vector[];
};

function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return (x / 0x7fffffff) * 2 - 1;
  };
}

const clamp = (v: number): number => Math.max(-32768, Math.min(32767, Math.round(v)));

/** 1 s: 100 Hz → 7 kHz linear chirp plus noise. */
function chirpInput(): Int16Array {
  const rnd = lcg(12345);
  const out = new Int16Array(16000);
  for (let i = 0; i < out.length; i++) {
    const r = rnd();
    const t = i / 16000;
    out[i] = clamp(9000 * Math.sin(2 * Math.PI * (100 * t + (6900 * t * t) / 2)) + r * 2000);
  }
  return out;
}

/** 0.5 s: full-scale square (overload), silence, impulses, full-scale noise, 7.5 kHz tone. */
function stressInput(): Int16Array {
  const rnd = lcg(777);
  const out = new Int16Array(8000);
  for (let i = 0; i < out.length; i++) {
    const r = rnd();
    let v: number;
    if (i < 2000) v = Math.floor(i / 7) % 2 ? 32767 : -32768;
    else if (i < 3000) v = 0;
    else if (i < 4000) v = i % 97 === 0 ? 30000 : 0;
    else if (i < 6000) v = r * 32767;
    else v = 20000 * Math.sin((2 * Math.PI * 7500 * i) / 16000);
    out[i] = clamp(v);
  }
  return out;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bytes = (x: Int16Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const inputs: Record<string, () => Int16Array> = { chirp: chirpInput, stress: stressInput };

describe("G.722 bit-exactness against an independent implementation (FFmpeg adpcm_g722), 'ffmpeg' mapping", () => {
  it.each(fixture.vectors.map((v) => [v.name, v] as const))(
    '%s: encoder output is bit-identical',
    (_name, v) => {
      const pcm = inputs[v.name]();
      expect(sha(bytes(pcm))).toBe(v.inputSha256);
      const enc = new G722Encoder({ mapping: 'ffmpeg' });
      const parts: Buffer[] = [];
      for (let i = 0; i < pcm.length; i += 320) parts.push(enc.encode(pcm.subarray(i, i + 320)));
      expect(Buffer.concat(parts).equals(Buffer.from(v.encodedBase64, 'base64'))).toBe(true);
    },
  );

  it.each(fixture.vectors.map((v) => [v.name, v] as const))(
    '%s: decoder output is bit-identical',
    (_name, v) => {
      const dec = new G722Decoder({ mapping: 'ffmpeg' });
      const enc = Buffer.from(v.encodedBase64, 'base64');
      const parts: Int16Array[] = [];
      for (let i = 0; i < enc.length; i += 160) parts.push(dec.decode(enc.subarray(i, i + 160)));
      const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      expect(sha(bytes(all))).toBe(v.decodedSha256);
    },
  );
});
