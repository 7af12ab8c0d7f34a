import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { ChatAttachment, ChatMessage } from '../../protocol/rtc-protocol';
import { TypedEmitter } from '../../util/typed-emitter';

/** Longest message text kept (the wire schema caps it too). */
export const CHAT_TEXT_MAX = 4000;
/** Longest sender name kept (the join schema caps display names at 64). */
export const CHAT_NAME_MAX = 64;

export interface RoomChatEvents {
  /** A new message (a copy: listeners may keep it). */
  message: [message: ChatMessage];
  /** A participant saw a message for the first time. */
  seen: [messageId: string, participantId: string];
  /**
   * An attachment no message of the history refers to any more (its message was dropped from the bounded
   * history): its file may be deleted.
   */
  attachmentDropped: [attachment: ChatAttachment];
}

export interface RoomChatOptions {
  /** Messages kept; the oldest is dropped beyond it. */
  historySize: number;
  /** Wall clock in ms since the epoch (default Date.now): a message's `at`. */
  now?: () => number;
  /** Message ids (default randomUUID). */
  newId?: () => string;
  log?: Pick<Logger, 'error'>;
}

export interface ChatPost {
  /** Participant id of the sender; null: the server itself. */
  from: string | null;
  fromName: string;
  text: string;
  attachment?: ChatAttachment;
}

/** Where a room's participants download an attachment (with their session token as a Bearer token). */
export function attachmentUrl(roomId: string, attachmentId: string): string {
  return `/api/rooms/${encodeURIComponent(roomId)}/attachments/${encodeURIComponent(attachmentId)}`;
}

/** The wire shape of a stored attachment of a room. */
export function chatAttachment(
  roomId: string,
  meta: { id: string; name: string; size: number; contentType: string },
): ChatAttachment {
  return {
    id: meta.id,
    name: meta.name,
    size: meta.size,
    contentType: meta.contentType,
    url: attachmentUrl(roomId, meta.id),
  };
}

// C0 and C1 control characters, DEL; \t and \n are kept in message text.
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_TAB_LF = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\u0000-\u001F\u007F-\u009F]/g;

/** Cuts to at most `max` UTF-16 units without leaving half a surrogate pair behind. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const c = s.charCodeAt(max - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

/** Message text as kept: control characters but \n and \t removed, trimmed, at most CHAT_TEXT_MAX. */
export function cleanChatText(text: string): string {
  return cut(text.replace(CONTROL_BUT_TAB_LF, '').trim(), CHAT_TEXT_MAX).trimEnd();
}

function cleanName(name: string): string {
  return cut(name.replace(CONTROL_ALL, ' ').trim(), CHAT_NAME_MAX).trimEnd();
}

function copy(m: ChatMessage): ChatMessage {
  return {
    ...m,
    ...(m.attachment ? { attachment: { ...m.attachment } } : {}),
    seenBy: [...m.seenBy],
  };
}

/**
 * The chat of one room, a pure core: bounded history, read receipts, typed events. It knows no sockets and no
 * files: the signaling layer forwards its events to the room's browsers, and whoever stores attachments deletes
 * the file of an `attachmentDropped` one. One per room, closed with it.
 */
export class RoomChat extends TypedEmitter<RoomChatEvents> {
  private readonly messages: ChatMessage[] = [];
  private readonly byId = new Map<string, ChatMessage>();
  /** Attachment id → messages of the history that carry it. */
  private readonly attachmentRefs = new Map<string, number>();
  private readonly historySize: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  private isClosed = false;

  constructor(opts: RoomChatOptions) {
    super(opts.log);
    if (!Number.isInteger(opts.historySize) || opts.historySize < 1)
      throw new Error(`RoomChat: historySize must be a positive integer (got ${opts.historySize})`);
    this.historySize = opts.historySize;
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? randomUUID;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Number of messages kept. */
  get size(): number {
    return this.messages.length;
  }

  /**
   * Adds a message (text cleaned: see `cleanChatText`) and emits `message`; the sender (if a participant) has
   * seen it. A message with neither text nor attachment is API_BAD_REQUEST; a closed chat is CONF_ROOM_CLOSED.
   */
  post(p: ChatPost): ChatMessage {
    this.assertOpen();
    const text = cleanChatText(p.text);
    if (text.length === 0 && !p.attachment)
      throw new AppError('API_BAD_REQUEST', 'a message needs text or an attachment');
    let id = this.newId();
    for (let tries = 1; this.byId.has(id); tries++) {
      if (tries >= 10) throw new Error('RoomChat: newId() keeps returning ids in use');
      id = this.newId();
    }
    const message: ChatMessage = {
      id,
      from: p.from,
      fromName: cleanName(p.fromName) || 'unknown',
      text,
      at: new Date(this.now()).toISOString(),
      ...(p.attachment ? { attachment: { ...p.attachment } } : {}),
      seenBy: p.from === null ? [] : [p.from],
    };
    this.messages.push(message);
    this.byId.set(id, message);
    if (message.attachment)
      this.attachmentRefs.set(
        message.attachment.id,
        (this.attachmentRefs.get(message.attachment.id) ?? 0) + 1,
      );
    const dropped =
      this.messages.length > this.historySize
        ? this.messages.splice(0, this.messages.length - this.historySize)
        : [];
    for (const d of dropped) this.byId.delete(d.id);
    this.safeEmit('message', copy(message));
    for (const d of dropped) this.release(d);
    return copy(message);
  }

  /**
   * Records that a participant saw a message and emits `seen` the first time only (idempotent: a repeat, or the
   * sender's own message, changes nothing and returns false). An id not in the history (never posted or dropped
   * since) is CHAT_MESSAGE_NOT_FOUND.
   */
  markSeen(messageId: string, participantId: string): boolean {
    this.assertOpen();
    const m = this.byId.get(messageId);
    if (!m) throw new AppError('CHAT_MESSAGE_NOT_FOUND');
    if (m.seenBy.includes(participantId)) return false;
    m.seenBy.push(participantId);
    this.safeEmit('seen', messageId, participantId);
    return true;
  }

  /** The kept messages, oldest first (copies). */
  history(): ChatMessage[] {
    return this.messages.map(copy);
  }

  /**
   * Ends the chat: the history is forgotten and listeners removed. Attachments still referred to are not
   * reported: the room's attachment folder goes as a whole. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.messages.length = 0;
    this.byId.clear();
    this.attachmentRefs.clear();
    this.removeAllListeners();
  }

  private release(m: ChatMessage): void {
    if (!m.attachment) return;
    const n = (this.attachmentRefs.get(m.attachment.id) ?? 1) - 1;
    if (n > 0) {
      this.attachmentRefs.set(m.attachment.id, n);
      return;
    }
    this.attachmentRefs.delete(m.attachment.id);
    this.safeEmit('attachmentDropped', { ...m.attachment });
  }

  private assertOpen(): void {
    if (this.isClosed) throw new AppError('CONF_ROOM_CLOSED', 'the room chat is closed');
  }
}
