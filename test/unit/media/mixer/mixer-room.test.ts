/**
 * MixerRoom (the routing around the pure mixer core inside a media thread), driven step by step: RTP in by SSRC,
 * tick(), RTP out per participant; and the MixClock schedule.
 */
import { decodeAlaw, decodeUlaw, encodeUlaw } from '../../../../workers/mixer/codec/g711';
import { MixClock } from '../../../../workers/mixer/host/mix-clock';
import { MixerRoom } from '../../../../workers/mixer/host/mixer-room';
import type { Notification } from '../../../../workers/mixer/protocol';
import { parseRtp, serializeRtp } from '../../../../workers/mixer/rtp';
import { serializeTelephoneEvent } from '../../../../workers/mixer/dtmf';
import { OpusAudioEncoder } from '../../../../workers/mixer/codec/opus';

const A_IN = 0x0a0a0a0a;
const B_IN = 0x0b0b0b0b;
const A_OUT = 0xa0000001;
const B_OUT = 0xb0000002;

function tone(freq: number, rate: number, n: number, amp = 12000, phase0 = 0): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * (i + phase0)) / rate));
  return out;
}

function rms(pcm: Int16Array): number {
  let e = 0;
  for (const v of pcm) e += v * v;
  return Math.sqrt(e / Math.max(1, pcm.length));
}

/** Goertzel power of `freq` relative to the frame's total power (0..1). */
function toneShare(pcm: Int16Array, freq: number, rate: number): number {
  const k = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (const v of pcm) {
    const s = v + c * s1 - s2;
    s2 = s1;
    s1 = s;
    total += v * v;
  }
  const power = s1 * s1 + s2 * s2 - c * s1 * s2;
  return total > 0 ? (2 * power) / (pcm.length * total) : 0;
}

function setup() {
  const sent: Buffer[] = [];
  const notes: Notification[] = [];
  const room = new MixerRoom({
    roomId: 'r1',
    rate: 16000,
    send: (p) => sent.push(p),
    notify: (n) => notes.push(n),
  });
  room.addParticipant({
    participantId: 'A',
    input: { ssrc: A_IN, payloadType: 0, codec: 'PCMU', dtmfPayloadType: 101 },
    output: { ssrc: A_OUT, payloadType: 0, codec: 'PCMU' },
  });
  room.addParticipant({
    participantId: 'B',
    input: { ssrc: B_IN, payloadType: 0, codec: 'PCMU' },
    output: { ssrc: B_OUT, payloadType: 0, codec: 'PCMU' },
  });
  let t = 0;
  let seqA = 100;
  let seqB = 5000;
  /** One 20 ms step: A says `aPcm` (8 kHz, 160 samples) or nothing, B sends silence; then the mix tick. */
  const step = (aPcm: Int16Array | null): void => {
    t += 20;
    if (aPcm) {
      room.onInput(
        serializeRtp({ payloadType: 0, seq: seqA, timestamp: seqA * 160, ssrc: A_IN }, encodeUlaw(aPcm)),
        t,
      );
      seqA++;
    }
    room.onInput(
      serializeRtp(
        { payloadType: 0, seq: seqB, timestamp: seqB * 160, ssrc: B_IN },
        encodeUlaw(new Int16Array(160)),
      ),
      t,
    );
    seqB++;
    room.tick();
  };
  const outFor = (ssrc: number): Int16Array[] =>
    sent
      .map((b) => parseRtp(b))
      .filter((p) => p.ssrc === ssrc)
      .map((p) => decodeUlaw(p.payload));
  return { room, sent, notes, step, outFor };
}

describe('MixerRoom', () => {
  it('mixes A into B (mix-minus: A does not hear itself), own SSRC and continuous seq per participant', () => {
    const { room, sent, notes, step, outFor } = setup();
    for (let i = 0; i < 50; i++) step(tone(440, 8000, 160, 12000, i * 160));
    const toB = outFor(B_OUT);
    const toA = outFor(A_OUT);
    expect(toB).toHaveLength(50);
    expect(toA).toHaveLength(50);
    const lastB = toB.slice(-10);
    const lastA = toA.slice(-10);
    for (const f of lastB) {
      expect(rms(f)).toBeGreaterThan(3000);
      expect(toneShare(f, 440, 8000)).toBeGreaterThan(0.8);
    }
    for (const f of lastA) expect(rms(f)).toBeLessThan(100);
    // RTP stamping: one stream per participant, +1 seq and +160 ticks per frame
    const bPkts = sent.map((b) => parseRtp(b)).filter((p) => p.ssrc === B_OUT);
    for (let i = 1; i < bPkts.length; i++) {
      expect(bPkts[i]!.seq).toBe((bPkts[i - 1]!.seq + 1) & 0xffff);
      expect(bPkts[i]!.timestamp).toBe((bPkts[i - 1]!.timestamp + 160) >>> 0);
    }
    expect(bPkts[0]!.marker).toBe(true);
    expect(notes).toContainEqual({
      kind: 'notification',
      event: 'mixer.speaking',
      roomId: 'r1',
      participantId: 'A',
      speaking: true,
    });
    const st = room.stats({ skipped: 0, lateMaxMs: 0 });
    expect(st.ticks).toBe(50);
    expect(st.participants.find((p) => p.participantId === 'A')).toMatchObject({
      packetsIn: 50,
      packetsOut: 50,
      speaking: true,
    });
  });

  it('mute takes A out of the mix; unmute brings it back; gain scales it', () => {
    const { room, step, outFor } = setup();
    let i = 0;
    for (; i < 30; i++) step(tone(440, 8000, 160, 8000, i * 160));
    const loud = rms(outFor(B_OUT).at(-1)!);
    room.setMuted('A', true);
    for (; i < 40; i++) step(tone(440, 8000, 160, 8000, i * 160));
    expect(rms(outFor(B_OUT).at(-1)!)).toBeLessThan(100);
    room.setMuted('A', false);
    room.setGain('A', 0.5);
    for (; i < 70; i++) step(tone(440, 8000, 160, 8000, i * 160));
    const half = rms(outFor(B_OUT).at(-1)!);
    expect(half / loud).toBeGreaterThan(0.4);
    expect(half / loud).toBeLessThan(0.6);
    expect(() => room.setGain('A', -1)).toThrow(/gain/);
    expect(() => room.setMuted('nobody', true)).toThrow(/no participant/);
  });

  it('reports an RFC 4733 digit once although its end packet comes three times', () => {
    const { room, notes } = setup();
    const ts = 777 * 160;
    let seq = 1;
    const send = (duration: number, end: boolean): void =>
      room.onInput(
        serializeRtp(
          { payloadType: 101, seq: seq++, timestamp: ts, ssrc: A_IN, marker: duration === 160 },
          serializeTelephoneEvent({ event: 5, end, volume: 10, duration }),
        ),
        seq * 20,
      );
    for (const d of [160, 320, 480, 640]) send(d, false);
    for (let k = 0; k < 3; k++) send(800, true);
    const digits = notes.filter((n) => n.event === 'mixer.dtmf');
    expect(digits).toEqual([
      {
        kind: 'notification',
        event: 'mixer.dtmf',
        roomId: 'r1',
        participantId: 'A',
        digit: '5',
        durationMs: 100,
      },
    ]);
    expect(room.stats({ skipped: 0, lateMaxMs: 0 }).participants[0]).toMatchObject({
      dtmfPacketsIn: 7,
      packetsIn: 0,
    });
  });

  it('plays a prompt to one participant only, then reports playDone; stopPlay stops early', () => {
    const { room, notes, step, outFor } = setup();
    // 200 ms of 1 kHz at 8 kHz (resampled to the 16 kHz mix rate inside)
    room.play('B', 'p1', tone(1000, 8000, 1600), 8000);
    room.play('B', 'p2', tone(1000, 16000, 1600), 16000); // 100 ms more, already at the mix rate
    const doneAt: Record<string, number> = {};
    for (let i = 0; i < 25; i++) {
      step(null);
      for (const n of notes)
        if (n.event === 'mixer.playDone' && doneAt[n.playId] === undefined) doneAt[n.playId] = i;
    }
    expect(doneAt.p1).toBeGreaterThanOrEqual(9);
    expect(doneAt.p1).toBeLessThanOrEqual(10);
    expect(doneAt.p2).toBeGreaterThanOrEqual(14);
    expect(doneAt.p2).toBeLessThanOrEqual(15);
    const toB = outFor(B_OUT);
    const toA = outFor(A_OUT);
    expect(toneShare(toB[3]!, 1000, 8000)).toBeGreaterThan(0.8);
    expect(rms(toB[3]!)).toBeGreaterThan(3000);
    expect(rms(toA[3]!)).toBeLessThan(100);
    expect(rms(toB.at(-1)!)).toBeLessThan(100);

    room.play('A', 'long', tone(1000, 8000, 8000 * 5), 8000);
    step(null);
    room.stopPlay('A');
    expect(notes.at(-1)).toMatchObject({
      event: 'mixer.playDone',
      participantId: 'A',
      playId: 'long',
      stopped: true,
    });
    step(null);
    step(null);
    expect(rms(outFor(A_OUT).at(-1)!)).toBeLessThan(100);
  });

  it('updateParticipant re-describes in place: a queued prompt keeps playing, a new input SSRC is mixed', () => {
    const { room, notes, sent, step, outFor } = setup();
    room.play('B', 'welcome', tone(1000, 8000, 8000), 8000); // 1 s
    for (let i = 0; i < 10; i++) step(null);
    // A's phone changed SSRC (re-INVITE / new producer) and B's output was re-described with the same stream
    const A_NEW = 0x0c0c0c0c;
    room.updateParticipant({
      participantId: 'A',
      input: { ssrc: A_NEW, payloadType: 0, codec: 'PCMU' },
      output: { ssrc: A_OUT, payloadType: 0, codec: 'PCMU' },
    });
    room.updateParticipant({
      participantId: 'B',
      input: { ssrc: B_IN, payloadType: 0, codec: 'PCMU' },
      output: { ssrc: B_OUT, payloadType: 0, codec: 'PCMU' },
    });
    expect(notes.some((n) => n.event === 'mixer.playDone')).toBe(false); // not cut
    for (let i = 0; i < 5; i++) step(null);
    expect(toneShare(outFor(B_OUT).at(-1)!, 1000, 8000)).toBeGreaterThan(0.8);
    // the new SSRC is A's voice now; the old one is unknown
    for (let i = 0; i < 10; i++) {
      room.onInput(
        serializeRtp(
          { payloadType: 0, seq: 7000 + i, timestamp: i * 160, ssrc: A_NEW },
          encodeUlaw(tone(440, 8000, 160, 12000, i * 160)),
        ),
        1000 + i * 20,
      );
      room.onInput(
        serializeRtp({ payloadType: 0, seq: 1 + i, timestamp: 0, ssrc: A_IN }, Buffer.alloc(160)),
        0,
      );
      step(null);
    }
    const stats = room.stats({ skipped: 0, lateMaxMs: 0 });
    expect(stats.packetsUnknownSsrc).toBe(10);
    expect(stats.participants.find((p) => p.participantId === 'A')!.packetsIn).toBe(10);
    expect(toneShare(outFor(B_OUT).at(-1)!, 440, 8000)).toBeGreaterThan(0.05);
    // B's output stream continues: same SSRC, sequence numbers without a gap
    const bSeqs = sent
      .map((b) => parseRtp(b))
      .filter((p) => p.ssrc === B_OUT)
      .map((p) => p.seq);
    for (let i = 1; i < bSeqs.length; i++) expect((bSeqs[i]! - bSeqs[i - 1]!) & 0xffff).toBe(1);
    // a codec change of the output starts a new stream (new SSRC/PT given by the caller)
    room.updateParticipant({
      participantId: 'B',
      input: { ssrc: B_IN, payloadType: 0, codec: 'PCMU' },
      output: { ssrc: 0xb0000003, payloadType: 9, codec: 'G722' },
    });
    step(null);
    const last = parseRtp(sent.at(-1)!);
    expect([last.ssrc, last.payloadType]).toEqual([0xb0000003, 9]);
    expect(() => room.updateParticipant({ participantId: 'nobody' })).toThrow(/no participant/);
    expect(() =>
      room.updateParticipant({ participantId: 'B', input: { ssrc: A_NEW, payloadType: 0, codec: 'PCMU' } }),
    ).toThrow(/already used/);
  });

  it('counts unknown SSRCs, ignores RTCP and garbage, refuses a duplicate input SSRC', () => {
    const { room, step } = setup();
    room.onInput(
      serializeRtp({ payloadType: 0, seq: 1, timestamp: 0, ssrc: 0x12345678 }, Buffer.alloc(160)),
      0,
    );
    const rr = Buffer.alloc(32);
    rr[0] = 0x81;
    rr[1] = 201;
    expect(() => room.onInput(rr, 0)).not.toThrow();
    expect(() => room.onInput(Buffer.from('garbage!garbage!'), 0)).not.toThrow();
    const bad = serializeRtp({ payloadType: 0, seq: 1, timestamp: 0, ssrc: A_IN }, Buffer.alloc(4));
    bad[0] = 0x80 | 0x0f; // 15 CSRCs announced, none there
    expect(() => room.onInput(bad, 0)).not.toThrow();
    step(null);
    expect(room.stats({ skipped: 0, lateMaxMs: 0 }).packetsUnknownSsrc).toBe(1);
    expect(() =>
      room.addParticipant({ participantId: 'C', input: { ssrc: A_IN, payloadType: 0, codec: 'PCMU' } }),
    ).toThrow(/already used/);
  });

  it('listen-only and input-only participants', () => {
    const sent: Buffer[] = [];
    const room = new MixerRoom({
      roomId: 'r',
      rate: 16000,
      send: (p) => sent.push(p),
      notify: () => undefined,
    });
    room.addParticipant({ participantId: 'talker', input: { ssrc: 1, payloadType: 0, codec: 'PCMU' } });
    room.addParticipant({ participantId: 'ear', output: { ssrc: 9, payloadType: 8, codec: 'PCMA' } });
    for (let i = 0; i < 20; i++) {
      room.onInput(
        serializeRtp(
          { payloadType: 0, seq: i, timestamp: i * 160, ssrc: 1 },
          encodeUlaw(tone(300, 8000, 160, 9000, i * 160)),
        ),
        i * 20,
      );
      room.tick();
    }
    const pkts = sent.map((b) => parseRtp(b));
    expect(pkts).toHaveLength(20);
    expect(pkts.every((p) => p.ssrc === 9 && p.payloadType === 8)).toBe(true);
    expect(() => room.play('talker', 'x', new Int16Array(160), 8000)).toThrow(/no output/);
    room.close();
    room.close();
  });
});

describe('MixClock', () => {
  it('schedules ticks at start + n·20 ms whatever the timer lateness (no drift)', () => {
    const c = new MixClock(1000);
    expect(c.delay(1000)).toBe(20);
    expect(c.due(1019)).toEqual({ run: 0, skip: 0 });
    expect(c.due(1023)).toEqual({ run: 1, skip: 0 });
    // next is due at 1040, not 1043
    expect(c.delay(1023)).toBe(17);
    expect(c.due(1041)).toEqual({ run: 1, skip: 0 });
    expect(c.delay(1041)).toBe(19);
  });

  it('catches up a few missed ticks, skips the rest after a stall', () => {
    const c = new MixClock(0, 20, 3);
    expect(c.due(45)).toEqual({ run: 2, skip: 0 }); // 20 and 40 were due
    expect(c.due(200)).toEqual({ run: 3, skip: 5 }); // 60..200: 8 due
    expect(c.delay(200)).toBe(20);
    expect(c.stats).toEqual({ ticks: 5, skipped: 5, lateMaxMs: 140 });
  });
});

describe('participants attached to a leg of the thread (no SSRC demux, no output socket)', () => {
  test('input by pushInput with any SSRC, mix out through its own DirectIo with its own PT; re-attach moves it', () => {
    const roomSent: Buffer[] = [];
    const room = new MixerRoom({
      roomId: 'd',
      rate: 16000,
      send: (p) => roomSent.push(p),
      notify: () => undefined,
    });
    const toA: Buffer[] = [];
    const toB: Buffer[] = [];
    const toB2: Buffer[] = [];
    room.addParticipant(
      {
        participantId: 'A',
        leg: 'legA',
        input: { payloadType: 8, codec: 'PCMA' },
        output: { ssrc: 11, payloadType: 8, codec: 'PCMA' },
      },
      { send: (p) => toA.push(p) },
    );
    room.addParticipant(
      {
        participantId: 'B',
        leg: 'legB',
        input: { payloadType: 0, codec: 'PCMU' },
        output: { ssrc: 22, payloadType: 0, codec: 'PCMU' },
      },
      { send: (p) => toB.push(p) },
    );
    // an input without SSRC is only valid for an attached participant
    expect(() =>
      room.addParticipant({ participantId: 'C', input: { payloadType: 0, codec: 'PCMU' } }),
    ).toThrow(/SSRC or leg/);
    let t = 0;
    for (let i = 0; i < 40; i++) {
      t += 20;
      // A changes SSRC half-way (phones do): still A's voice
      const ssrc = i < 20 ? 0x1111 : 0x2222;
      const pcm = tone(407, 8000, 160, 12000, i * 160);
      room.pushInput(
        'A',
        serializeRtp({ payloadType: 0, seq: 10 + i, timestamp: i * 160, ssrc }, encodeUlaw(pcm)),
        t,
      );
      room.tick();
    }
    expect(roomSent).toHaveLength(0);
    expect(toA.length).toBe(40);
    expect(toB.length).toBe(40);
    expect(toB.every((p) => parseRtp(p).payloadType === 0 && parseRtp(p).ssrc === 22)).toBe(true);
    expect(toA.every((p) => parseRtp(p).payloadType === 8 && parseRtp(p).ssrc === 11)).toBe(true);
    // A was sent as PCMU but A negotiated PCMA: a packet of another PT is not its audio, so B hears nothing
    const tail = toB.slice(-10).map((p) => decodeUlaw(parseRtp(p).payload));
    expect(Math.max(...tail.map(rms))).toBeLessThan(50);
    // B re-attached to another leg (re-key: new leg): its output follows
    room.updateParticipant(
      {
        participantId: 'B',
        leg: 'legB2',
        input: { payloadType: 0, codec: 'PCMU' },
        output: { ssrc: 22, payloadType: 0, codec: 'PCMU' },
      },
      { send: (p) => toB2.push(p) },
    );
    room.tick();
    expect(toB.length).toBe(40);
    expect(toB2.length).toBe(1);
  });

  test('an attached participant hears the other one (pushInput with its negotiated PT)', () => {
    const room = new MixerRoom({ roomId: 'e', rate: 16000, send: () => undefined, notify: () => undefined });
    const toB: Buffer[] = [];
    room.addParticipant(
      { participantId: 'A', leg: 'a', input: { payloadType: 0, codec: 'PCMU' } },
      { send: () => undefined },
    );
    room.addParticipant(
      { participantId: 'B', leg: 'b', output: { ssrc: 5, payloadType: 0, codec: 'PCMU' } },
      { send: (p) => toB.push(p) },
    );
    for (let i = 0; i < 40; i++) {
      room.pushInput(
        'A',
        serializeRtp(
          { payloadType: 0, seq: i, timestamp: i * 160, ssrc: 9 },
          encodeUlaw(tone(407, 8000, 160, 12000, i * 160)),
        ),
        i * 20,
      );
      room.tick();
    }
    const pcm = decodeUlaw(parseRtp(toB[toB.length - 1]!).payload);
    expect(rms(pcm)).toBeGreaterThan(3000);
    expect(toneShare(pcm, 407, 8000)).toBeGreaterThan(0.8);
    room.pushInput('nobody', Buffer.alloc(3), 0); // never throws
  });
});

describe('auto mix rate: 8 kHz while everyone is on G.711, 16 kHz with a wideband codec', () => {
  test('switches with membership, keeps mixing across the switch, ends a prompt in progress', () => {
    const notes: Notification[] = [];
    const room = new MixerRoom({
      roomId: 'auto',
      rate: 'auto',
      send: () => undefined,
      notify: (n) => notes.push(n),
    });
    const toB: Buffer[] = [];
    room.addParticipant(
      { participantId: 'A', leg: 'a', input: { payloadType: 0, codec: 'PCMU' } },
      { send: () => undefined },
    );
    room.addParticipant(
      { participantId: 'B', leg: 'b', output: { ssrc: 5, payloadType: 8, codec: 'PCMA' } },
      { send: (p) => toB.push(p) },
    );
    const clock = { skipped: 0, lateMaxMs: 0 };
    expect(room.stats(clock)).toMatchObject({ mixRate: 8000, rateChanges: 0 });
    let i = 0;
    const say = (n: number): void => {
      for (let k = 0; k < n; k++, i++) {
        const pcm = tone(407, 8000, 160, 12000, i * 160);
        room.pushInput(
          'A',
          serializeRtp({ payloadType: 0, seq: i, timestamp: i * 160, ssrc: 3 }, encodeUlaw(pcm)),
          i * 20,
        );
        room.tick();
      }
    };
    say(30);
    const at8k = decodeAlaw(parseRtp(toB[toB.length - 1]!).payload);
    expect(toneShare(at8k, 407, 8000)).toBeGreaterThan(0.8);
    room.play('B', 'p1', tone(700, 16000, 16000), 16000); // a 1 s prompt, cut by the switch below
    say(5);
    room.addParticipant(
      { participantId: 'C', leg: 'c', output: { ssrc: 6, payloadType: 9, codec: 'G722' } },
      { send: () => undefined },
    );
    expect(room.stats(clock)).toMatchObject({ mixRate: 16000, rateChanges: 1 });
    expect(notes.some((n) => n.event === 'mixer.playDone' && n.playId === 'p1' && n.stopped)).toBe(true);
    say(30);
    const at16k = decodeAlaw(parseRtp(toB[toB.length - 1]!).payload);
    expect(rms(at16k)).toBeGreaterThan(3000);
    expect(toneShare(at16k, 407, 8000)).toBeGreaterThan(0.8);
    room.removeParticipant('C');
    expect(room.stats(clock)).toMatchObject({ mixRate: 8000, rateChanges: 2 });
  });
});

describe('room-wide announcements (chimes) in the shared mix', () => {
  test('every listener gets the clip in one shared payload; a burst is capped; no speaking event for it', () => {
    const notes: Notification[] = [];
    const room = new MixerRoom({
      roomId: 'ann',
      rate: 'auto',
      send: () => undefined,
      notify: (n) => notes.push(n),
    });
    const got = new Map<string, Buffer[]>();
    for (const id of ['A', 'B', 'C']) {
      got.set(id, []);
      room.addParticipant(
        {
          participantId: id,
          leg: id,
          input: { payloadType: 0, codec: 'PCMU' },
          output: { ssrc: id.charCodeAt(0), payloadType: 0, codec: 'PCMU' },
        },
        { send: (p) => got.get(id)!.push(p) },
      );
    }
    room.announce(tone(407, 16000, 16000 * 0.5, 12000), 16000); // 0.5 s
    for (let i = 0; i < 40; i++) room.announce(tone(407, 16000, 16000 * 0.5, 12000), 16000); // capped at 2 s queued
    for (let i = 0; i < 10; i++) room.tick();
    const payloads = ['A', 'B', 'C'].map((id) => parseRtp(got.get(id)![9]!).payload);
    expect(payloads[0]!.equals(payloads[1]!) && payloads[1]!.equals(payloads[2]!)).toBe(true);
    const pcm = decodeUlaw(payloads[0]!);
    expect(rms(pcm)).toBeGreaterThan(3000);
    expect(toneShare(pcm, 407, 8000)).toBeGreaterThan(0.8);
    for (let i = 0; i < 150; i++) room.tick(); // 3.2 s in all: the 2 s cap has played out
    expect(rms(decodeUlaw(parseRtp(got.get('A')![159]!).payload))).toBeLessThan(50);
    expect(notes.filter((n) => n.event === 'mixer.speaking')).toHaveLength(0);
  });

  describe('router-side input with RFC 4733 (a WebRTC Producer: opus and telephone-event/48000 on one SSRC)', () => {
    const W_IN = 0x77000077;
    const L_OUT = 0x1100aa11;

    /**
     * W (router side: demuxed by its consumer's SSRC) talks opus at PT 111 and keys `*` then `6` at PT 110 as Chrome's
     * RTCDTMFSender does: audio stops during an event, the event's RTP timestamp is its start, its duration grows by
     * 960 ticks (20 ms at 48 kHz) per packet, its end packet comes three times (RFC 4733 §2.5.1.4); one RTP sequence.
     * L only listens (PCMU).
     */
    function run(dtmf: boolean) {
      const sent: Buffer[] = [];
      const notes: Notification[] = [];
      const room = new MixerRoom({
        roomId: 'rw',
        rate: 16000,
        send: (p) => sent.push(p),
        notify: (n) => notes.push(n),
      });
      room.addParticipant({
        participantId: 'W',
        input: {
          ssrc: W_IN,
          payloadType: 111,
          codec: 'opus',
          ...(dtmf ? { dtmfPayloadType: 110, dtmfClockRate: 48000 } : {}),
        },
      });
      room.addParticipant({ participantId: 'L', output: { ssrc: L_OUT, payloadType: 0, codec: 'PCMU' } });
      const enc = new OpusAudioEncoder({ sampleRate: 48000 });
      const silence = new Int16Array(960);
      let seq = 40000;
      let ts = 123456;
      let t = 0;
      let opusFrames = 0;
      let events = 0;
      const rtp = (pt: number, timestamp: number, payload: Buffer, marker = false): void =>
        room.onInput(
          serializeRtp({ payloadType: pt, seq: seq++ & 0xffff, timestamp, ssrc: W_IN, marker }, payload),
          t,
        );
      const speak = (frames: number): void => {
        for (let i = 0; i < frames; i++) {
          t += 20;
          rtp(111, ts, enc.encode(silence));
          opusFrames++;
          ts += 960;
          room.tick();
        }
      };
      const key = (event: number, packets: number): void => {
        const start = ts;
        for (let i = 1; i <= packets; i++) {
          t += 20;
          rtp(
            110,
            start,
            serializeTelephoneEvent({ event, end: false, volume: 10, duration: 960 * i }),
            i === 1,
          );
          events++;
          ts += 960;
          room.tick();
        }
        for (let k = 0; k < 3; k++) {
          rtp(110, start, serializeTelephoneEvent({ event, end: true, volume: 10, duration: 960 * packets }));
          events++;
        }
      };
      speak(10);
      key(10, 5); // '*', 100 ms
      speak(10);
      key(6, 6); // '6', 120 ms
      speak(10);
      enc.close();
      const stats = room
        .stats({ skipped: 0, lateMaxMs: 0 })
        .participants.find((p) => p.participantId === 'W')!;
      const toL = sent.map((b) => parseRtp(b)).filter((p) => p.ssrc === L_OUT);
      room.close();
      return { notes, stats, toL, opusFrames, events };
    }

    it('reads the digits once each (RFC 4733 §2.5) at the 48 kHz clock and reports them as mixer.dtmf', () => {
      const { notes, stats, opusFrames, events } = run(true);
      expect(notes.filter((n) => n.event === 'mixer.dtmf')).toEqual([
        {
          kind: 'notification',
          event: 'mixer.dtmf',
          roomId: 'rw',
          participantId: 'W',
          digit: '*',
          durationMs: 100,
        },
        {
          kind: 'notification',
          event: 'mixer.dtmf',
          roomId: 'rw',
          participantId: 'W',
          digit: '6',
          durationMs: 120,
        },
      ]);
      expect(stats.dtmfPacketsIn).toBe(events);
      // telephone-event never reaches the audio pipeline: only the opus frames were buffered and decoded
      expect(stats.packetsIn).toBe(opusFrames);
      expect(stats.receive?.received).toBe(opusFrames);
      expect(stats.receive?.decodeErrors).toBe(0);
    });

    it('never mixes telephone-event as audio: the listener hears silence throughout', () => {
      const { toL } = run(true);
      expect(toL.length).toBeGreaterThanOrEqual(40);
      for (const p of toL) expect(rms(decodeUlaw(p.payload))).toBeLessThan(50);
    });

    it('without a DTMF payload type in the input description the events are dropped, not read and not mixed', () => {
      const { notes, stats, toL, opusFrames } = run(false);
      expect(notes.filter((n) => n.event === 'mixer.dtmf')).toEqual([]);
      expect(stats.dtmfPacketsIn).toBe(0);
      expect(stats.packetsIn).toBe(opusFrames);
      expect(stats.receive?.decodeErrors).toBe(0);
      for (const p of toL) expect(rms(decodeUlaw(p.payload))).toBeLessThan(50);
    });
  });
});
