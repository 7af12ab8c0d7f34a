/**
 * The PIN lobby on its own: three tries, the moderator PIN, type-ahead, barge-in, the entry timeout and a caller
 * who leaves, with prompts recorded and a fake clock.
 */
import { PinLobby, PIN_TIMEOUT_MS } from '../../../src/conference/lobby/pin-lobby';
import type { PromptName } from '../../../src/conference/room/prompts';
import { log } from './fakes';

function lobby(opts: { pin?: string; moderatorPin?: string } = { pin: '1234', moderatorPin: '9999' }) {
  const played: PromptName[] = [];
  let stops = 0;
  const leave = new AbortController();
  const l = new PinLobby({
    ...opts,
    play: async (name) => void played.push(name),
    stopPlay: async () => void stops++,
    signal: leave.signal,
    log,
  });
  return { l, played, leave, stops: () => stops };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('PinLobby', () => {
  it('the participant PIN gives the participant role; the moderator PIN the moderator role', async () => {
    const a = lobby();
    const ra = a.l.run();
    a.l.submit('1234');
    expect(await ra).toBe('participant');
    expect(a.played).toEqual(['enter-pin']);
    const b = lobby();
    const rb = b.l.run();
    b.l.submit('9999');
    expect(await rb).toBe('moderator');
  });

  it('a wrong PIN: "wrong PIN", then the prompt again; three wrong ones: null', async () => {
    const t = lobby();
    const r = t.l.run();
    for (const pin of ['1', '2', '3']) {
      await flush();
      t.l.submit(pin);
    }
    expect(await r).toBeNull();
    expect(t.played).toEqual(['enter-pin', 'wrong-pin', 'enter-pin', 'wrong-pin', 'enter-pin']);
  });

  it('PINs typed ahead are kept for the next tries (no prompt in between)', async () => {
    const t = lobby();
    t.l.submit('0000');
    t.l.submit('1234');
    expect(await t.l.run()).toBe('participant');
    expect(t.played).toEqual([]);
  });

  it('a key press stops the prompt (barge-in)', () => {
    const t = lobby();
    void t.l.run();
    t.l.keyPressed();
    expect(t.stops()).toBe(1);
  });

  it('a room with only a moderator PIN does not take an empty PIN', async () => {
    const t = lobby({ moderatorPin: '9999' });
    const r = t.l.run();
    t.l.submit('');
    await flush();
    t.l.submit('9999');
    expect(await r).toBe('moderator');
  });

  it(`no PIN within ${PIN_TIMEOUT_MS / 1000} s ends the entry`, async () => {
    jest.useFakeTimers();
    try {
      const t = lobby();
      const r = t.l.run();
      await flush();
      jest.advanceTimersByTime(PIN_TIMEOUT_MS);
      expect(await r).toBeNull();
    } finally {
      jest.useRealTimers();
    }
  });

  it('a caller who leaves ends the entry at once', async () => {
    const t = lobby();
    const r = t.l.run();
    await flush();
    t.leave.abort();
    expect(await r).toBeNull();
  });
});
