/**
 * The chat socket handlers against a fake socket (an EventEmitter whose handlers get a capturing ack), a real
 * RoomChat and a fake attachment store: every answer arrives through the ack, nothing is thrown.
 */
import { EventEmitter } from 'node:events';
import { RoomChat } from '../../../src/conference/chat/room-chat';
import { AppError } from '../../../src/errors/app-error';
import type { AckResult, ChatMessage } from '../../../src/protocol/rtc-protocol';
import {
  registerChatHandlers,
  type ChatSessionContext,
  type ChatSocket,
} from '../../../src/signaling/chat-handlers';
import type { AttachmentStore, StoredAttachment } from '../../../src/storage/attachment-store';

class FakeSocket extends EventEmitter {
  /** Sends a client event and resolves with what the handler acknowledged. */
  request<T>(event: string, payload: unknown): Promise<AckResult<T>> {
    return new Promise((resolve) => this.emit(event, payload, resolve));
  }
}

const stored: StoredAttachment = {
  id: 'att-1',
  name: 'plan.pdf',
  size: 1234,
  contentType: 'application/pdf',
  storedAt: '2026-01-01T00:00:00.000Z',
  path: '/data/attachments/demo/att-1',
};

function setup(
  opts: { joined?: boolean; get?: (room: string, id: string) => Promise<StoredAttachment> } = {},
) {
  const socket = new FakeSocket();
  let n = 0;
  const chat = new RoomChat({ historySize: 10, now: () => Date.UTC(2026, 0, 1), newId: () => `m${++n}` });
  const lookups: Array<[string, string]> = [];
  const attachments = {
    get: async (room: string, id: string) => {
      lookups.push([room, id]);
      if (opts.get) return opts.get(room, id);
      if (room === 'demo' && id === stored.id) return stored;
      throw new AppError('ATTACHMENT_NOT_FOUND');
    },
  } as unknown as AttachmentStore;
  let context: ChatSessionContext | undefined =
    opts.joined === false
      ? undefined
      : { chat, participantId: 'alice-id', displayName: 'Alice', roomId: 'demo', attachments };
  const errors: unknown[] = [];
  registerChatHandlers(socket as unknown as ChatSocket, () => context, {
    error: (o: unknown) => void errors.push(o),
  });
  const broadcast: ChatMessage[] = [];
  chat.on('message', (m) => broadcast.push(m));
  return { socket, chat, lookups, errors, broadcast, leave: () => (context = undefined) };
}

describe('chat socket handlers', () => {
  it('chatSend posts as the session participant and acks the message', async () => {
    const { socket, broadcast } = setup();
    const r = await socket.request<ChatMessage>('chatSend', { text: '  hello  ' });
    const expected: ChatMessage = {
      id: 'm1',
      from: 'alice-id',
      fromName: 'Alice',
      text: 'hello',
      at: '2026-01-01T00:00:00.000Z',
      seenBy: ['alice-id'],
    };
    expect(r).toEqual({ ok: true, data: expected });
    expect(broadcast).toEqual([expected]); // the RoomChat event the signaling server forwards
  });

  it("chatSend with an attachmentId of the room's store carries the attachment's meta and URL", async () => {
    const { socket, lookups } = setup();
    const r = await socket.request<ChatMessage>('chatSend', { attachmentId: 'att-1' });
    expect(lookups).toEqual([['demo', 'att-1']]);
    expect(r).toEqual({
      ok: true,
      data: expect.objectContaining({
        text: '',
        attachment: {
          id: 'att-1',
          name: 'plan.pdf',
          size: 1234,
          contentType: 'application/pdf',
          url: '/api/rooms/demo/attachments/att-1',
        },
      }),
    });
  });

  it('an attachmentId the room does not have is ATTACHMENT_NOT_FOUND, and nothing is posted', async () => {
    const { socket, chat } = setup();
    const r = await socket.request('chatSend', { text: 'see this', attachmentId: 'other-room-file' });
    expect(r).toEqual({ ok: false, error: { code: 'ATTACHMENT_NOT_FOUND', message: 'no such attachment' } });
    expect(chat.size).toBe(0);
  });

  it('bad payloads are API_BAD_REQUEST with the schema message', async () => {
    const { socket, chat } = setup();
    const cases: unknown[] = [
      { text: '   ' },
      {},
      { text: 'x'.repeat(4001) },
      { text: 'hi', extra: 1 },
      { text: 42 },
      'hello',
      null,
    ];
    for (const payload of cases) {
      const r = await socket.request('chatSend', payload);
      expect(r).toMatchObject({ ok: false, error: { code: 'API_BAD_REQUEST' } });
    }
    const empty = await socket.request('chatSend', { text: ' ' });
    expect(empty).toEqual({
      ok: false,
      error: { code: 'API_BAD_REQUEST', message: 'a message needs text or an attachment' },
    });
    const long = await socket.request('chatSend', { text: 'x'.repeat(4001) });
    expect(long.ok === false && long.error.message).toMatch(/^text: /);
    expect(chat.size).toBe(0);
  });

  it('text that is only control characters passes the schema but not the chat: API_BAD_REQUEST', async () => {
    const { socket } = setup();
    expect(await socket.request('chatSend', { text: '\u0001\u0002' })).toMatchObject({
      ok: false,
      error: { code: 'API_BAD_REQUEST' },
    });
  });

  it('chatSeen marks the message seen by the session participant', async () => {
    const { socket, chat } = setup();
    const seen: Array<[string, string]> = [];
    chat.on('seen', (m, p) => seen.push([m, p]));
    const m = chat.post({ from: 'bob-id', fromName: 'Bob', text: 'hi' });
    expect(await socket.request('chatSeen', { messageId: m.id })).toEqual({ ok: true, data: null });
    expect(await socket.request('chatSeen', { messageId: m.id })).toEqual({ ok: true, data: null });
    expect(seen).toEqual([[m.id, 'alice-id']]);
    expect(chat.history()[0]!.seenBy).toEqual(['bob-id', 'alice-id']);
  });

  it('chatSeen of an unknown message is CHAT_MESSAGE_NOT_FOUND; a bad one API_BAD_REQUEST', async () => {
    const { socket } = setup();
    expect(await socket.request('chatSeen', { messageId: 'nope' })).toEqual({
      ok: false,
      error: { code: 'CHAT_MESSAGE_NOT_FOUND', message: 'no such chat message' },
    });
    expect(await socket.request('chatSeen', { messageId: '' })).toMatchObject({
      ok: false,
      error: { code: 'API_BAD_REQUEST' },
    });
  });

  it('without a session (not joined, or left) both answer RTC_NO_SESSION', async () => {
    const notJoined = setup({ joined: false });
    for (const ev of ['chatSend', 'chatSeen'])
      expect(await notJoined.socket.request(ev, { text: 'hi', messageId: 'm1' })).toMatchObject({
        ok: false,
        error: { code: 'RTC_NO_SESSION' },
      });
    const left = setup();
    left.leave();
    expect(await left.socket.request('chatSend', { text: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'RTC_NO_SESSION' },
    });
  });

  it('a closed room chat answers CONF_ROOM_CLOSED', async () => {
    const { socket, chat } = setup();
    chat.close();
    expect(await socket.request('chatSend', { text: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'CONF_ROOM_CLOSED' },
    });
  });

  it('an unexpected failure is INTERNAL and logged, with no detail to the client', async () => {
    const { socket, errors } = setup({
      get: () => Promise.reject(new Error('EIO: disk on fire')),
    });
    expect(await socket.request('chatSend', { attachmentId: 'att-1' })).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'internal error' },
    });
    expect(errors).toHaveLength(1);
  });

  it('a missing or non-function ack is ignored; an ack sent as the only argument is used', async () => {
    const { socket, chat, errors } = setup();
    socket.emit('chatSend', { text: 'no ack' });
    socket.emit('chatSend', { text: 'not a function' }, 'ack');
    socket.emit('chatSeen');
    await new Promise((r) => setImmediate(r));
    expect(chat.history().map((m) => m.text)).toEqual(['no ack', 'not a function']);
    const r = await new Promise<AckResult<unknown>>((resolve) => socket.emit('chatSeen', resolve));
    expect(r).toMatchObject({ ok: false, error: { code: 'API_BAD_REQUEST' } });
    expect(errors).toEqual([]);
  });

  it('an ack that throws does not escape the handler', async () => {
    const { socket, errors } = setup();
    socket.emit('chatSend', { text: 'x' }, () => {
      throw new Error('client gone');
    });
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
  });
});
