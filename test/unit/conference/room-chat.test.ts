/**
 * The room chat core on its own, step by step with a manual clock and counting ids: posting and cleaning text,
 * the bounded history and its dropped attachments, read receipts, copies, close.
 */
import {
  attachmentUrl,
  chatAttachment,
  cleanChatText,
  RoomChat,
  type RoomChatEvents,
} from '../../../src/conference/chat/room-chat';
import { AppError } from '../../../src/errors/app-error';
import type { ChatAttachment, ChatMessage } from '../../../src/protocol/rtc-protocol';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function setup(historySize = 3) {
  let t = T0;
  let n = 0;
  const chat = new RoomChat({ historySize, now: () => t, newId: () => `m${++n}` });
  const events: Array<[keyof RoomChatEvents, unknown[]]> = [];
  chat.on('message', (...a) => events.push(['message', a]));
  chat.on('seen', (...a) => events.push(['seen', a]));
  chat.on('attachmentDropped', (...a) => events.push(['attachmentDropped', a]));
  return { chat, events, advance: (ms: number) => void (t += ms) };
}

const att = (id: string): ChatAttachment =>
  chatAttachment('demo', { id, name: `${id}.png`, size: 3, contentType: 'image/png' });

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${String(err)}`;
  }
  return undefined;
}

describe('RoomChat', () => {
  it('post() returns the message with id, sender, ISO time from the clock, seen by its sender; emits it', () => {
    const { chat, events, advance } = setup();
    const m = chat.post({ from: 'alice', fromName: 'Alice', text: 'hello' });
    expect(m).toEqual({
      id: 'm1',
      from: 'alice',
      fromName: 'Alice',
      text: 'hello',
      at: '2026-01-02T03:04:05.000Z',
      seenBy: ['alice'],
    });
    advance(1500);
    const s = chat.post({ from: null, fromName: 'Parley', text: 'recording started' });
    expect(s.at).toBe('2026-01-02T03:04:06.500Z');
    expect(s.seenBy).toEqual([]); // the server is nobody
    expect(events).toEqual([
      ['message', [m]],
      ['message', [s]],
    ]);
  });

  it('text is trimmed and loses control characters except newline and tab', () => {
    const { chat } = setup();
    expect(
      chat.post({
        from: 'a',
        fromName: 'A',
        text: '  \u0007line one\r\n\tline\u0000 two\u001b[31m\u007f\u0085  ',
      }).text,
    ).toBe('line one\n\tline two[31m');
    expect(cleanChatText('x'.repeat(5000))).toHaveLength(4000);
    // A cut never leaves half a surrogate pair.
    expect(cleanChatText('x'.repeat(3999) + '😀')).toBe('x'.repeat(3999));
    // The sender's name loses its controls too.
    expect(chat.post({ from: 'a', fromName: ' Al\u0000ice\n', text: 'x' }).fromName).toBe('Al ice');
  });

  it('a message needs text or an attachment (after cleaning)', () => {
    const { chat, events } = setup();
    expect(code(() => chat.post({ from: 'a', fromName: 'A', text: ' \u0001 \n ' }))).toBe('API_BAD_REQUEST');
    expect(events).toEqual([]);
    const m = chat.post({ from: 'a', fromName: 'A', text: '', attachment: att('f1') });
    expect(m).toMatchObject({ text: '', attachment: { id: 'f1', url: '/api/rooms/demo/attachments/f1' } });
  });

  it('keeps at most historySize messages, dropping the oldest', () => {
    const { chat } = setup(3);
    for (let i = 1; i <= 5; i++) chat.post({ from: 'a', fromName: 'A', text: `#${i}` });
    expect(chat.size).toBe(3);
    expect(chat.history().map((m) => m.text)).toEqual(['#3', '#4', '#5']);
  });

  it("a dropped message's attachment is reported once no kept message refers to it", () => {
    const { chat, events } = setup(3);
    chat.post({ from: 'a', fromName: 'A', text: 'one', attachment: att('f1') });
    chat.post({ from: 'a', fromName: 'A', text: 'two', attachment: att('f2') });
    chat.post({ from: 'a', fromName: 'A', text: 'two again', attachment: att('f2') });
    events.length = 0;
    // Step 1: #4 drops "one" → f1 is free.
    chat.post({ from: 'a', fromName: 'A', text: 'four' });
    expect(events.map((e) => e[0])).toEqual(['message', 'attachmentDropped']);
    expect(events[1]![1]).toEqual([att('f1')]);
    events.length = 0;
    // Step 2: #5 drops "two", but "two again" still carries f2.
    chat.post({ from: 'a', fromName: 'A', text: 'five' });
    expect(events.map((e) => e[0])).toEqual(['message']);
    // Step 3: #6 drops "two again" → f2 is free.
    events.length = 0;
    chat.post({ from: 'a', fromName: 'A', text: 'six' });
    expect(events[1]).toEqual(['attachmentDropped', [att('f2')]]);
  });

  it('markSeen() records a reader once and emits seen once (idempotent)', () => {
    const { chat, events } = setup();
    const m = chat.post({ from: 'alice', fromName: 'Alice', text: 'hi' });
    events.length = 0;
    expect(chat.markSeen(m.id, 'bob')).toBe(true);
    expect(chat.markSeen(m.id, 'bob')).toBe(false);
    expect(chat.markSeen(m.id, 'carol')).toBe(true);
    expect(events).toEqual([
      ['seen', ['m1', 'bob']],
      ['seen', ['m1', 'carol']],
    ]);
    expect(chat.history()[0]!.seenBy).toEqual(['alice', 'bob', 'carol']);
  });

  it("the sender's own message counts as seen by it: marking it changes nothing", () => {
    const { chat, events } = setup();
    const m = chat.post({ from: 'alice', fromName: 'Alice', text: 'hi' });
    events.length = 0;
    expect(chat.markSeen(m.id, 'alice')).toBe(false);
    expect(events).toEqual([]);
  });

  it('markSeen() of an unknown or dropped message is CHAT_MESSAGE_NOT_FOUND', () => {
    const { chat } = setup(1);
    const first = chat.post({ from: 'a', fromName: 'A', text: 'one' });
    expect(code(() => chat.markSeen('nope', 'b'))).toBe('CHAT_MESSAGE_NOT_FOUND');
    chat.post({ from: 'a', fromName: 'A', text: 'two' });
    expect(code(() => chat.markSeen(first.id, 'b'))).toBe('CHAT_MESSAGE_NOT_FOUND');
  });

  it('history(), post() and events hand out copies: changing them changes nothing kept', () => {
    const { chat } = setup();
    let emitted: ChatMessage | undefined;
    chat.on('message', (m) => (emitted = m));
    const m = chat.post({ from: 'a', fromName: 'A', text: 'x', attachment: att('f1') });
    m.seenBy.push('mallory');
    m.attachment!.name = 'evil.html';
    emitted!.text = 'changed';
    const h = chat.history();
    h[0]!.seenBy.push('mallory');
    h.pop();
    expect(chat.history()).toEqual([
      expect.objectContaining({
        text: 'x',
        seenBy: ['a'],
        attachment: expect.objectContaining({ name: 'f1.png' }),
      }),
    ]);
  });

  it('ids never repeat within the history even if the id source does', () => {
    const ids = ['same', 'same', 'other'];
    const chat = new RoomChat({ historySize: 5, newId: () => ids.shift()! });
    expect(chat.post({ from: 'a', fromName: 'A', text: '1' }).id).toBe('same');
    expect(chat.post({ from: 'a', fromName: 'A', text: '2' }).id).toBe('other');
  });

  it('a listener that throws does not break posting', () => {
    const { chat } = setup();
    chat.on('message', () => {
      throw new Error('listener bug');
    });
    expect(chat.post({ from: 'a', fromName: 'A', text: 'x' }).text).toBe('x');
    expect(chat.size).toBe(1);
  });

  it('close() is idempotent, forgets the history and listeners; a closed chat refuses with CONF_ROOM_CLOSED', () => {
    const { chat, events } = setup();
    const m = chat.post({ from: 'a', fromName: 'A', text: 'x' });
    chat.close();
    chat.close();
    expect(chat.closed).toBe(true);
    expect(chat.history()).toEqual([]);
    expect(chat.listenerCount('message')).toBe(0);
    expect(code(() => chat.post({ from: 'a', fromName: 'A', text: 'y' }))).toBe('CONF_ROOM_CLOSED');
    expect(code(() => chat.markSeen(m.id, 'b'))).toBe('CONF_ROOM_CLOSED');
    expect(events).toHaveLength(1);
  });

  it('refuses a history size that is not a positive integer (a bug, not an expected error)', () => {
    expect(() => new RoomChat({ historySize: 0 })).toThrow(/historySize/);
  });

  it('attachment URLs encode the room and id', () => {
    expect(attachmentUrl('a b', 'x/y')).toBe('/api/rooms/a%20b/attachments/x%2Fy');
  });
});
