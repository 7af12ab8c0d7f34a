import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { ZodError } from 'zod';
import { chatAttachment, type RoomChat } from '../conference/chat/room-chat';
import { AppError } from '../errors/app-error';
import {
  ChatSeenSchema,
  ChatSendSchema,
  type AckResult,
  type ChatAttachment,
  type RtcClientToServer,
  type RtcServerToClient,
} from '../protocol/rtc-protocol';
import type { AttachmentStore } from '../storage/attachment-store';

/** What a joined connection chats with. */
export interface ChatSessionContext {
  chat: RoomChat;
  participantId: string;
  displayName: string;
  roomId: string;
  attachments: AttachmentStore;
}

/** The part of a socket.io socket the handlers use (a real `Socket<RtcClientToServer, RtcServerToClient>` is one). */
export type ChatSocket = Pick<Socket<RtcClientToServer, RtcServerToClient>, 'on'>;

/** `path: message; …` of a zod error, for the client. */
function zodMessage(err: ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * Registers `chatSend` and `chatSeen` on a browser's socket. Every request is answered through its ack, never by
 * a throw: no session → RTC_NO_SESSION, a bad payload → API_BAD_REQUEST (zod's message), an AppError → its code,
 * anything else → INTERNAL (logged). A missing ack is tolerated. Broadcasting is the caller's: it forwards the
 * RoomChat's `message`/`seen` events to the room's sockets, the sender's included.
 */
export function registerChatHandlers(
  socket: ChatSocket,
  ctx: () => ChatSessionContext | undefined,
  log?: Pick<Logger, 'error'>,
): void {
  function handle<T>(
    event: string,
    payload: unknown,
    ack: unknown,
    run: (c: ChatSessionContext, payload: unknown) => T | Promise<T>,
  ): void {
    // socket.io passes the ack as the first argument when the client sent no payload.
    if (typeof payload === 'function' && ack === undefined) [payload, ack] = [undefined, payload];
    const reply = (r: AckResult<T>): void => {
      if (typeof ack !== 'function') return;
      try {
        (ack as (r: AckResult<T>) => void)(r);
      } catch (err) {
        log?.error({ err, event }, 'chat ack threw');
      }
    };
    const fail = (code: string, message: string): void => reply({ ok: false, error: { code, message } });
    void (async () => {
      const c = ctx();
      if (!c) {
        const e = new AppError('RTC_NO_SESSION');
        fail(e.code, e.message);
        return;
      }
      try {
        reply({ ok: true, data: await run(c, payload) });
      } catch (err) {
        if (err instanceof AppError) fail(err.code, err.message);
        else if (err instanceof ZodError) fail('API_BAD_REQUEST', zodMessage(err));
        else {
          log?.error({ err, event, participantId: c.participantId, roomId: c.roomId }, 'chat handler failed');
          const e = new AppError('INTERNAL');
          fail(e.code, e.message);
        }
      }
    })();
  }

  socket.on('chatSend', (payload, ack) =>
    handle('chatSend', payload, ack, async (c, p) => {
      const req = ChatSendSchema.parse(p);
      let attachment: ChatAttachment | undefined;
      if (req.attachmentId !== undefined)
        attachment = chatAttachment(c.roomId, await c.attachments.get(c.roomId, req.attachmentId));
      return c.chat.post({ from: c.participantId, fromName: c.displayName, text: req.text, attachment });
    }),
  );

  socket.on('chatSeen', (payload, ack) =>
    handle('chatSeen', payload, ack, (c, p) => {
      const req = ChatSeenSchema.parse(p);
      c.chat.markSeen(req.messageId, c.participantId);
      return null;
    }),
  );
}
