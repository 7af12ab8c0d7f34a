/**
 * The pure mixer, tick by tick: a participant added muted (a listen-only attendee) is in nobody's mix from its
 * first frame on. The contrast case shows the frame that leaked when a leg was added and muted one tick later.
 */
import { Mixer } from '../../../../workers/mixer/mixer';
import type { AudioEncoder, CodecName } from '../../../../workers/mixer/codec/codec';
import { constant } from './audio-helpers';

const N = 320; // 20 ms at 16 kHz

/** Encoder at the mix rate whose payload is the PCM itself. */
class RawEncoder implements AudioEncoder {
  readonly sampleRate = 16000;
  readonly frameSamples = N;
  readonly rtpClockRate = 16000;
  constructor(readonly name: CodecName) {}
  encode(pcm: Int16Array): Buffer {
    return Buffer.from(new Int16Array(pcm).buffer);
  }
  close(): void {}
}

/** What `host` hears each tick while `att` sends a constant 1000 (its sum over the frame: 0 is silence). */
function heardByHost(m: Mixer, ticks: number, between?: (tick: number) => void): number[] {
  const heard: number[] = [];
  for (let i = 0; i < ticks; i++) {
    between?.(i);
    const r = m.mixOnce([{ id: 'att', pcm: constant(1000, N) }]);
    const o = r.outputs.find((x) => x.participants.includes('host'))!;
    const b = Buffer.from(o.payload);
    const pcm = new Int16Array(b.buffer, b.byteOffset, b.length / 2);
    heard.push(pcm.reduce((s, v) => s + Math.abs(v), 0));
  }
  return heard;
}

function mixer(): Mixer {
  const m = new Mixer({ createEncoder: (f) => new RawEncoder(f) });
  m.addParticipant('host', { output: 'PCMU' });
  return m;
}

test('added muted: not one frame of it in the mix, from the first tick on', () => {
  const m = mixer();
  m.addParticipant('att', { output: 'PCMU', muted: true });
  expect(heardByHost(m, 5)).toEqual([0, 0, 0, 0, 0]);
});

test('added, then muted a tick later (the old order): its first frame reaches the mix', () => {
  const m = mixer();
  m.addParticipant('att', { output: 'PCMU' });
  const heard = heardByHost(m, 3, (tick) => {
    if (tick === 1) m.setMuted('att', true);
  });
  expect(heard[0]).toBe(1000 * N);
  expect(heard.slice(1)).toEqual([0, 0]);
});

test('added muted, then unmuted (a promotion): heard from the next tick', () => {
  const m = mixer();
  m.addParticipant('att', { output: 'PCMU', muted: true });
  const heard = heardByHost(m, 3, (tick) => {
    if (tick === 2) m.setMuted('att', false);
  });
  expect(heard).toEqual([0, 0, 1000 * N]);
});
