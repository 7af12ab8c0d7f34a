/**
 * RFC 4733 telephone-events (DTMF over RTP) and the in-call digit state machine.
 *
 * Payload (RFC 4733 §2.3): event (8 bits) | E (1) | R (1) | volume (6) | duration (16, in RTP clock ticks).
 * One event = one RTP timestamp (the event's start); updates repeat it with growing duration; the end packet
 * has E=1 and is sent three times (§2.5.1.4) — we report the digit once, on the first end packet (or on the
 * first packet of a following event if every end packet was lost).
 */

export const DTMF_EVENTS = '0123456789*#ABCD';

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < 4) return null; // §2.3: 4 octets
  return {
    event: payload[0],
    end: (payload[1] & 0x80) !== 0,
    volume: payload[1] & 0x3f,
    duration: (payload[2] << 8) | payload[3],
  };
}

export function serializeTelephoneEvent(ev: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  b[0] = ev.event;
  b[1] = (ev.end ? 0x80 : 0) | (ev.volume & 0x3f);
  b.writeUInt16BE(ev.duration & 0xffff, 2);
  return b;
}

export interface DtmfDigit {
  digit: string;
  /** Duration in ms (from the RTP duration field and the clock rate). */
  durationMs: number;
  /** RTP timestamp that identifies the event. */
  timestamp: number;
}

/** Turns a stream of telephone-event RTP packets into digits, de-duplicating retransmitted end packets. */
export class TelephoneEventReceiver {
  private current: { ts: number; event: number; duration: number; done: boolean } | null = null;

  constructor(private readonly clockRate = 8000) {}

  /** Feed one packet; returns the digits completed by it (usually none or one). */
  push(rtpTimestamp: number, payload: Uint8Array): DtmfDigit[] {
    const ev = parseTelephoneEvent(payload);
    if (!ev || ev.event >= DTMF_EVENTS.length) return [];
    const ts = rtpTimestamp >>> 0;
    const done: DtmfDigit[] = [];
    if (!this.current || this.current.ts !== ts) {
      // a new event; if the previous one never saw its end packet (all three lost), report it now
      if (this.current && !this.current.done) done.push(this.digit(this.current));
      this.current = { ts, event: ev.event, duration: ev.duration, done: false };
    } else {
      this.current.duration = Math.max(this.current.duration, ev.duration);
    }
    if (ev.end && !this.current.done) {
      // §2.5.1.4: the end packet is retransmitted; only the first one counts
      this.current.done = true;
      done.push(this.digit(this.current));
    }
    return done;
  }

  private digit(c: { ts: number; event: number; duration: number }): DtmfDigit {
    return {
      digit: DTMF_EVENTS[c.event],
      durationMs: Math.round((c.duration * 1000) / this.clockRate),
      timestamp: c.ts,
    };
  }
}

export type DigitAction =
  { type: 'toggle-mute' } | { type: 'pin'; pin: string } | { type: 'digit'; digit: string };

export enum DigitMode {
  InCall = 'in-call',
  Pin = 'pin',
}

/**
 * In-call digits: `*6` toggles self-mute. In PIN mode digits are collected until `#` (then a `pin` action;
 * `*` clears what was typed). Anything else is passed through as a plain `digit` action.
 */
export class DigitStateMachine {
  private _mode: DigitMode;
  private star = false;
  private pin = '';

  constructor(
    mode: DigitMode = DigitMode.InCall,
    private readonly maxPinLength = 16,
  ) {
    this._mode = mode;
  }

  get mode(): DigitMode {
    return this._mode;
  }

  setMode(mode: DigitMode): void {
    this._mode = mode;
    this.star = false;
    this.pin = '';
  }

  feed(digit: string): DigitAction | null {
    if (this._mode === DigitMode.Pin) {
      if (digit === '#') {
        const pin = this.pin;
        this.pin = '';
        return { type: 'pin', pin };
      }
      if (digit === '*') {
        this.pin = '';
        return null;
      }
      if (this.pin.length < this.maxPinLength) this.pin += digit;
      return null;
    }
    if (this.star) {
      this.star = false;
      if (digit === '6') return { type: 'toggle-mute' };
      if (digit === '*') {
        this.star = true;
        return null;
      }
      return { type: 'digit', digit };
    }
    if (digit === '*') {
      this.star = true;
      return null;
    }
    return { type: 'digit', digit };
  }
}
