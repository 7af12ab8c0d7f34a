/**
 * In-call keypad: `*6` toggles self-mute, `*1` raises or lowers the hand; in PIN mode digits are collected until `#` (RFC 4733 or SIP INFO
 * digits, one call per key press). Pure: the caller feeds digits and acts on the returned command.
 */
export type KeypadCommand =
  { kind: 'toggle-mute' } | { kind: 'toggle-hand' } | { kind: 'pin'; pin: string } | { kind: 'none' };

export class Keypad {
  private buffer = '';
  private pinMode = false;

  constructor(private readonly maxPinLength = 16) {}

  /** Start collecting a PIN (digits until '#'). */
  collectPin(): void {
    this.pinMode = true;
    this.buffer = '';
  }

  stopPin(): void {
    this.pinMode = false;
    this.buffer = '';
  }

  press(digit: string): KeypadCommand {
    if (this.pinMode) {
      if (digit === '#') {
        const pin = this.buffer;
        this.buffer = '';
        return { kind: 'pin', pin };
      }
      if (digit === '*') this.buffer = '';
      else if (/^[0-9]$/.test(digit) && this.buffer.length < this.maxPinLength) this.buffer += digit;
      return { kind: 'none' };
    }
    if (digit === '*') {
      this.buffer = '*';
      return { kind: 'none' };
    }
    if (this.buffer === '*' && digit === '6') {
      this.buffer = '';
      return { kind: 'toggle-mute' };
    }
    if (this.buffer === '*' && digit === '1') {
      this.buffer = '';
      return { kind: 'toggle-hand' };
    }
    this.buffer = '';
    return { kind: 'none' };
  }
}
