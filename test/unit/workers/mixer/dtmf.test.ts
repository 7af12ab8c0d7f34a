import {
  DigitMode,
  DigitStateMachine,
  TelephoneEventReceiver,
  parseTelephoneEvent,
  serializeTelephoneEvent,
} from '../../../../workers/mixer/dtmf';

const ev = (event: number, end: boolean, duration: number): Buffer =>
  serializeTelephoneEvent({ event, end, volume: 10, duration });

describe('RFC 4733 telephone-event payload', () => {
  it('parses event, E bit, volume and duration (§2.3)', () => {
    expect(parseTelephoneEvent(Buffer.from([0x0b, 0x8a, 0x03, 0x20]))).toEqual({
      event: 11,
      end: true,
      volume: 10,
      duration: 800,
    });
    expect(parseTelephoneEvent(Buffer.from([1, 2, 3]))).toBeNull();
  });
  it('serialize/parse round-trip, R bit ignored', () => {
    const b = ev(5, false, 1234);
    b[1] |= 0x40; // reserved bit set by the sender
    expect(parseTelephoneEvent(b)).toEqual({ event: 5, end: false, volume: 10, duration: 1234 });
  });
});

describe('TelephoneEventReceiver', () => {
  it('reports a digit once on its end packet; the 3 retransmitted end packets are de-duplicated', () => {
    const rx = new TelephoneEventReceiver(8000);
    const digits = [
      rx.push(1000, ev(1, false, 160)),
      rx.push(1000, ev(1, false, 320)),
      rx.push(1000, ev(1, true, 800)),
      rx.push(1000, ev(1, true, 800)),
      rx.push(1000, ev(1, true, 800)),
    ].flat();
    expect(digits).toEqual([{ digit: '1', durationMs: 100, timestamp: 1000 }]);
  });

  it('the same digit pressed twice is two events (new RTP timestamp)', () => {
    const rx = new TelephoneEventReceiver();
    const d = [
      rx.push(1000, ev(7, true, 400)),
      rx.push(1000, ev(7, true, 400)),
      rx.push(3000, ev(7, true, 400)),
    ].flat();
    expect(d.map((x) => x.digit)).toEqual(['7', '7']);
  });

  it('an event whose end packets were all lost is reported when the next event starts', () => {
    const rx = new TelephoneEventReceiver();
    expect(rx.push(1000, ev(10, false, 160))).toEqual([]);
    expect(rx.push(1000, ev(10, false, 480))).toEqual([]);
    const d = rx.push(5000, ev(11, true, 400));
    expect(d.map((x) => x.digit)).toEqual(['*', '#']);
    expect(d[0].durationMs).toBe(60);
  });

  it('maps events 12–15 to A–D and ignores non-DTMF events (e.g. 32+ tones)', () => {
    const rx = new TelephoneEventReceiver();
    expect(rx.push(1, ev(15, true, 160))[0].digit).toBe('D');
    expect(rx.push(2, ev(32, true, 160))).toEqual([]);
  });
});

describe('DigitStateMachine', () => {
  it('*6 toggles self-mute', () => {
    const sm = new DigitStateMachine();
    expect(sm.feed('*')).toBeNull();
    expect(sm.feed('6')).toEqual({ type: 'toggle-mute' });
    expect(sm.feed('6')).toEqual({ type: 'digit', digit: '6' });
    expect(sm.feed('*')).toBeNull();
    expect(sm.feed('*')).toBeNull();
    expect(sm.feed('6')).toEqual({ type: 'toggle-mute' });
  });

  it('* followed by another digit passes that digit through', () => {
    const sm = new DigitStateMachine();
    sm.feed('*');
    expect(sm.feed('5')).toEqual({ type: 'digit', digit: '5' });
  });

  it('PIN mode collects digits until #, * clears, length is capped', () => {
    const sm = new DigitStateMachine(DigitMode.Pin, 6);
    for (const d of '99') expect(sm.feed(d)).toBeNull();
    sm.feed('*');
    for (const d of '12345678') sm.feed(d);
    expect(sm.feed('#')).toEqual({ type: 'pin', pin: '123456' });
    expect(sm.feed('#')).toEqual({ type: 'pin', pin: '' });
    sm.setMode(DigitMode.InCall);
    expect(sm.mode).toBe(DigitMode.InCall);
    expect(sm.feed('#')).toEqual({ type: 'digit', digit: '#' });
  });
});
