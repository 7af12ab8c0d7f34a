/** The in-call keypad's `*1`: raise or lower the hand, next to `*6` and PIN entry. */
import { Keypad } from '../../../../src/conference/participant/keypad';

describe('Keypad *1', () => {
  it('*1 is toggle-hand; *6 stays toggle-mute', () => {
    const k = new Keypad();
    expect(k.press('*')).toEqual({ kind: 'none' });
    expect(k.press('1')).toEqual({ kind: 'toggle-hand' });
    expect(k.press('*')).toEqual({ kind: 'none' });
    expect(k.press('6')).toEqual({ kind: 'toggle-mute' });
  });

  it('a lone 1, or 1 after another digit, does nothing', () => {
    const k = new Keypad();
    expect(k.press('1')).toEqual({ kind: 'none' });
    k.press('*');
    k.press('5');
    expect(k.press('1')).toEqual({ kind: 'none' });
  });

  it('in PIN mode *1 is not a command: the star clears the PIN and 1 is a PIN digit', () => {
    const k = new Keypad();
    k.collectPin();
    k.press('9');
    expect(k.press('*')).toEqual({ kind: 'none' });
    expect(k.press('1')).toEqual({ kind: 'none' });
    expect(k.press('#')).toEqual({ kind: 'pin', pin: '1' });
  });
});
