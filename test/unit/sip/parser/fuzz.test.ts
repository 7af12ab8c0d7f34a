/**
 * Deterministic mutation fuzzing over the valid fixtures: whatever the bytes, parseMessage / validate / the lazy
 * getters / toBuffer throw nothing but SipParseError, and whatever parses re-parses from its own serialization.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SipParseError } from '../../../../src/sip/errors';
import { SipRequest } from '../../../../src/sip/message/sip-message';
import type { SipResponse } from '../../../../src/sip/message/sip-message';
import { parseMessage } from '../../../../src/sip/parser/message-parser';
import { StreamFramer } from '../../../../src/sip/parser/stream-framer';
import { validateRequest, validateResponse } from '../../../../src/sip/parser/validate';

const DIR = join(__dirname, '../../../fixtures/sip/valid');
const seeds = readdirSync(DIR)
  .filter((f) => f.endsWith('.sip'))
  .sort()
  .map((f) => readFileSync(join(DIR, f)));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [
  ';',
  ',',
  '"',
  '\\',
  '<',
  '>',
  ':',
  '@',
  '%',
  ' ',
  '\t',
  '\r\n',
  '\r\n ',
  '[',
  ']',
  '=',
  '?',
  '\0',
  'é',
];

function mutate(buf: Buffer, r: () => number): Buffer {
  let s = buf.toString('latin1');
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(r() * s.length);
    const op = r();
    if (op < 0.4) s = s.slice(0, pos) + INTERESTING[Math.floor(r() * INTERESTING.length)] + s.slice(pos);
    else if (op < 0.7) s = s.slice(0, pos) + s.slice(pos + 1 + Math.floor(r() * 5));
    else s = s.slice(0, pos) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(pos + 1);
  }
  return Buffer.from(s, 'latin1');
}

function exercise(m: SipRequest | SipResponse): void {
  if (m instanceof SipRequest) validateRequest(m);
  else validateResponse(m);
  void m.vias.map(String);
  void m.from.toString();
  void m.to.tag;
  void m.cseq;
  void m.callId;
  void m.contact.map(String);
  void m.maxForwards;
  void m.contentType;
}

describe('fuzzing', () => {
  it('parse / validate / getters / serialize throw only SipParseError; survivors round-trip', () => {
    const r = rng(4475);
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 1500; i++) {
      const input = mutate(seeds[i % seeds.length]!, r);
      let m: SipRequest | SipResponse;
      try {
        m = parseMessage(input);
        exercise(m);
      } catch (e) {
        if (!(e instanceof SipParseError))
          throw new Error(`non-SipParseError ${String(e)} for ${JSON.stringify(input.toString('latin1'))}`);
        rejected++;
        continue;
      }
      parsed++;
      const again = parseMessage(m.toBuffer());
      exercise(again);
      expect(again.callId).toBe(m.callId);
      expect(again.vias.map(String)).toEqual(m.vias.map(String));
      // serialization is a fixpoint
      expect(again.toBuffer().equals(m.toBuffer())).toBe(true);
    }
    // both outcomes are exercised
    expect(parsed).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(50);
  });

  it('the stream framer throws only SipParseError on mutated streams', () => {
    const r = rng(5626);
    for (let i = 0; i < 500; i++) {
      const f = new StreamFramer();
      const stream = mutate(Buffer.concat([seeds[i % seeds.length]!, seeds[(i + 1) % seeds.length]!]), r);
      try {
        for (let off = 0; off < stream.length;) {
          const len = 1 + Math.floor(r() * 200);
          for (const msg of f.push(stream.subarray(off, off + len)).messages) {
            try {
              parseMessage(msg);
            } catch (e) {
              expect(e).toBeInstanceOf(SipParseError);
            }
          }
          off += len;
        }
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
      }
    }
  });
});
