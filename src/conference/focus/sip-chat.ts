import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import type { ChatMessage } from '../../protocol/rtc-protocol';
import type { InDialogRequest, SessionDialog } from '../../sip/dialog/session-dialog';
import { SipError } from '../../sip/errors';
import type { IncomingRequest } from '../../sip/ua/incoming-request';
import type { Conference } from '../conference';
import { ParticipantState, type Participant } from '../participant/participant';
import { ParticipantKind } from '../participant/participant-kind';
import type { Room } from '../room/room';
import { SipUri } from '../../sip/message/uri';
import { chatMessageBody, readChatBody, sameAddress, SIP_CHAT_MAX_BYTES } from './sip-chat-body';

/** The parts of the SIP stack the chat uses: new dialogs (either role) and out-of-dialog MESSAGE. */
export interface ChatSipStack {
  on(event: 'dialog', listener: (d: SessionDialog) => void): unknown;
  off(event: 'dialog', listener: (d: SessionDialog) => void): unknown;
  routeMethod(method: string, handler: (r: IncomingRequest) => void): void;
}

export interface SipChatOptions {
  sip: ChatSipStack;
  conference: Conference;
  log: Logger;
  /** MESSAGE bodies over this many bytes get 413 (default SIP_CHAT_MAX_BYTES). */
  maxBodyBytes?: number;
}

/** Final responses to our MESSAGE that say "this phone does not do chat": it gets no more (RFC 3428 §7). */
const NOT_FOR_CHAT = new Set([405, 415, 501]);

/** How a SIP participant takes the room chat. */
export enum SipChatReach {
  /** Gets every room message by MESSAGE. */
  Active = 'active',
  /** Answered 405/415/501 or let a MESSAGE time out: left out quietly from then on. */
  LeftOut = 'left-out',
}

const SIP_KINDS: ReadonlySet<ParticipantKind> = new Set([ParticipantKind.Sip, ParticipantKind.SipWs]);

/**
 * SIP chat (RFC 3428 MESSAGE) into and out of the room chat (`Room.chat`, the one browsers use):
 * - a MESSAGE in a participant's INVITE dialog is posted as that participant;
 * - a MESSAGE outside any dialog to `sip:<room>@host` is posted as the participant whose address its From names
 *   and whose call is signalled from the same IP address (403 when none does; 404 for a room that is not open);
 * - every room message (browser, REST, another phone) goes to each joined SIP participant but its sender as an
 *   in-dialog MESSAGE, text/plain, the sender's name first; a phone answering 405/415/501 or never answering is
 *   left out from then on.
 * Bodies: text/plain (any case, with a UTF-8, US-ASCII or ISO-8859-1 charset), else 415 with Accept; larger than
 * `maxBodyBytes` 413.
 *
 * State is the participants' own: the dialog of each call is found by its Call-ID when needed (a transfer's
 * Replaces gives the call a new one), and who was left out is kept per participant (a WeakMap: it goes with it).
 */
export class SipChat {
  private readonly maxBytes: number;
  /** Call-ID → the confirmed INVITE dialog of that call (either role), while it lasts. */
  private readonly dialogs = new Map<string, SessionDialog>();
  private readonly reach = new WeakMap<Participant, SipChatReach>();
  private readonly onDialog = (d: SessionDialog): void => this.watchDialog(d);
  private readonly onRoom = (room: Room): void => this.watchRoom(room);
  private closed = false;

  constructor(private readonly opts: SipChatOptions) {
    this.maxBytes = opts.maxBodyBytes ?? SIP_CHAT_MAX_BYTES;
    opts.sip.on('dialog', this.onDialog);
    opts.sip.routeMethod('MESSAGE', (r) => this.outOfDialog(r));
    opts.conference.observer.on('roomCreated', this.onRoom);
    for (const room of opts.conference.listRooms()) this.watchRoom(room);
  }

  /** How `p` takes the room chat (undefined: not a SIP participant with a dialog). */
  reachOf(p: Participant): SipChatReach | undefined {
    if (!SIP_KINDS.has(p.kind) || !this.dialogOf(p)) return undefined;
    return this.reach.get(p) ?? SipChatReach.Active;
  }

  /** Stops taking MESSAGEs into the chat and sending room messages out. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.sip.off('dialog', this.onDialog);
    this.opts.conference.observer.off('roomCreated', this.onRoom);
    this.dialogs.clear();
  }

  // ------------------------------------------------------------------ in

  private watchDialog(d: SessionDialog): void {
    if (this.closed) return;
    this.dialogs.set(d.callId, d);
    d.on('request', (r) => this.inDialog(d, r));
    d.once('terminated', () => {
      if (this.dialogs.get(d.callId) === d) this.dialogs.delete(d.callId);
    });
  }

  /** A request the dialog hands to the application (MESSAGE and methods without their own event). */
  private inDialog(d: SessionDialog, r: InDialogRequest): void {
    if (r.method !== 'MESSAGE') {
      // Ours is the only listener: keep the dialog's own answer for methods nobody serves (RFC 3261 §8.2.1).
      if (d.listenerCount('request') === 1) r.reply(501);
      return;
    }
    const found = this.findByCallId(d.callId);
    if (!found || found.participant.state !== ParticipantState.Joined) {
      // The call is not (or no longer, or not yet: the PIN lobby) in the conference: nobody to speak for.
      r.reply(403, { reason: 'Not in the conference' });
      return;
    }
    this.post(found.participant, found.room, r.request.headers.get('Content-Type'), r.body, (status, o) =>
      r.reply(status, o),
    );
  }

  /** RFC 3428 §7 outside a dialog: to `sip:<room>@host`, From a participant of that room. */
  private outOfDialog(r: IncomingRequest): void {
    const req = r.request;
    const roomName = req.uri.user;
    const room = roomName ? this.openRoom(roomName) : undefined;
    if (!room) {
      r.reply(404, { reason: roomName ? 'No such conference' : 'No conference in the Request-URI' });
      return;
    }
    const from = req.from.uri;
    // From is the sender's word only: it must also come from where that participant's call is signalled (the same
    // IP address as its dialog's flow), so knowing a participant's address is not enough to speak as it.
    const sender = room
      .participants()
      .find(
        (p) =>
          p.state === ParticipantState.Joined &&
          sameAddress(from, addressOf(p.uri)) &&
          this.dialogs.get(p.session?.callId ?? '')?.flow.address === r.flow.address,
      );
    const body = readChatBody(req.headers.get('Content-Type'), req.body, this.maxBytes);
    if (!body.ok) {
      r.reply(body.status, { reason: body.reason, ...(body.headers ? { headers: body.headers } : {}) });
      return;
    }
    if (!sender) {
      r.reply(403, { reason: 'Not a participant of this conference' });
      return;
    }
    this.post(sender, room, req.headers.get('Content-Type'), req.body, (status, o) => r.reply(status, o));
  }

  private post(
    p: Participant,
    room: Room,
    contentType: string | undefined,
    raw: Buffer,
    reply: (status: number, o?: { reason?: string; headers?: Record<string, string> }) => void,
  ): void {
    const body = readChatBody(contentType, raw, this.maxBytes);
    if (!body.ok) {
      reply(body.status, { reason: body.reason, ...(body.headers ? { headers: body.headers } : {}) });
      return;
    }
    try {
      const m = room.chat.post({ from: p.id, fromName: p.displayName, text: body.text });
      p.log.info({ messageId: m.id, roomId: room.id }, 'SIP MESSAGE posted to the room chat');
      // RFC 3428 §7: 200 when delivered (the chat has it), not 202 (store and forward).
      reply(200);
    } catch (err) {
      if (err instanceof AppError && err.code === 'API_BAD_REQUEST') reply(400, { reason: 'Empty message' });
      else if (err instanceof AppError) reply(480, { reason: 'Conference chat closed' });
      else {
        p.log.error({ err }, 'SIP MESSAGE into the chat failed');
        reply(500);
      }
    }
  }

  // ------------------------------------------------------------------ out

  private watchRoom(room: Room): void {
    if (this.closed || room.isClosed) return;
    // The chat drops its listeners when it closes with the room.
    room.chat.on('message', (m) => this.fanOut(room, m));
  }

  private fanOut(room: Room, m: ChatMessage): void {
    if (this.closed) return;
    const body = chatMessageBody(m);
    if (!body) return;
    for (const p of room.participants()) {
      if (p.id === m.from || p.state !== ParticipantState.Joined || !SIP_KINDS.has(p.kind)) continue;
      if (this.reach.get(p) === SipChatReach.LeftOut) continue;
      const d = this.dialogOf(p);
      if (!d || d.terminated) continue;
      void this.send(p, d, body);
    }
  }

  private async send(p: Participant, d: SessionDialog, body: string): Promise<void> {
    try {
      const res = await d.request('MESSAGE', { body, contentType: 'text/plain;charset=UTF-8' });
      if (res.status >= 300) {
        if (NOT_FOR_CHAT.has(res.status)) this.leaveOut(p, `${res.status} ${res.reason}`);
        else p.log.info({ status: res.status }, 'chat MESSAGE refused');
      }
    } catch (err) {
      // A timeout (the phone drops MESSAGE silently): the call goes on (SessionDialog keeps it), the chat stops.
      if (err instanceof SipError && err.status === 408) this.leaveOut(p, 'no answer');
      else p.log.info({ err: (err as Error).message }, 'chat MESSAGE not sent');
    }
  }

  private leaveOut(p: Participant, why: string): void {
    if (this.reach.get(p) === SipChatReach.LeftOut) return;
    this.reach.set(p, SipChatReach.LeftOut);
    p.log.info({ why }, 'phone takes no chat MESSAGE: left out of the room chat');
  }

  // ------------------------------------------------------------------ lookups

  private dialogOf(p: Participant): SessionDialog | undefined {
    const callId = p.session?.callId;
    return callId === undefined ? undefined : this.dialogs.get(callId);
  }

  private findByCallId(callId: string): { participant: Participant; room: Room } | undefined {
    for (const room of this.opts.conference.listRooms())
      for (const participant of room.participants())
        if (SIP_KINDS.has(participant.kind) && participant.session?.callId === callId)
          return { participant, room };
    return undefined;
  }

  private openRoom(name: string): Room | undefined {
    try {
      return this.opts.conference.getRoom(name);
    } catch {
      return undefined;
    }
  }
}

/** A participant's address as its URI string names it (`sip:alice@host;transport=tcp`); none for `webrtc:`. */
function addressOf(uri: string): { user?: string; host: string } {
  try {
    const u = SipUri.parse(uri);
    return { user: u.user, host: u.host };
  } catch {
    return { host: '' };
  }
}
