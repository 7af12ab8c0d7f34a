import type { Logger } from 'pino';
import type { IncomingRequest } from '../../sip/ua/incoming-request';
import type { TransportProtocol } from '../../sip/transport/transport';
import { DEFAULT_ACCEPT } from '../../sip/ua/user-agent-core';
import type { Conference } from '../conference';

/** The parts of the SIP stack the room OPTIONS answer uses. */
export interface OptionsSipStack {
  on(event: 'options', listener: (r: IncomingRequest) => void): unknown;
  off(event: 'options', listener: (r: IncomingRequest) => void): unknown;
  readonly routing: { contactHostPort(protocol: TransportProtocol): { host: string; port: number } };
}

export interface RoomOptionsOptions {
  sip: OptionsSipStack;
  conference: Pick<Conference, 'getRoom' | 'isDeclared'>;
  /** `conference.unknownRooms === 'create'`: any room name is a conference URI (created on the first call). */
  roomsOnDemand: boolean;
  /**
   * Body types the room accepts in requests, beyond SDP: text/plain (MESSAGE, sip-chat.ts), message/sipfrag
   * (NOTIFY of a REFER we sent), application/conference-info+xml when the conference event package is served.
   */
  accept: readonly string[];
  /** Event packages the room serves (RFC 6665 §8.2.2 Allow-Events): `refer`, `conference` when served. */
  events: readonly string[];
  log: Logger;
}

/**
 * Answers out-of-dialog OPTIONS (RFC 3261 §11.2) to a room URI `sip:<room>@host` with the room's capabilities: the
 * stack adds Allow and Supported (§11.2: "Allow, Accept, Accept-Encoding, Accept-Language, and Supported header
 * fields SHOULD be present"); here Accept, Allow-Events and a Contact for the room carrying `isfocus` (RFC 4579 §3:
 * the conference URI's Contact says it is a focus; RFC 3840 §6: capabilities in an OPTIONS response's Contact).
 * A room that is neither open nor declared, when rooms are not created on demand, is 404 (§11.2: the answer an
 * INVITE would have had). An OPTIONS to the server itself (no user part: keep-alives, load balancers, the drain
 * probe) keeps the stack's own answer; while draining the stack answers 503 before this is asked.
 */
export class RoomOptions {
  private readonly onOptions = (r: IncomingRequest): void => this.answer(r);
  private closed = false;

  constructor(private readonly opts: RoomOptionsOptions) {
    opts.sip.on('options', this.onOptions);
  }

  /** Stops answering (the stack's default answer again). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.sip.off('options', this.onOptions);
  }

  /** The Accept header value for a room (SDP first). */
  get acceptHeader(): string {
    return [...new Set([...DEFAULT_ACCEPT, ...this.opts.accept])].join(', ');
  }

  private answer(r: IncomingRequest): void {
    const room = r.request.uri.user;
    if (room === undefined || room === '') {
      // The server itself: the stack's default answer (RFC 3261 §11.2 with Accept; Allow/Supported decorated).
      r.reply(200, { headers: { Accept: DEFAULT_ACCEPT.join(', ') } });
      return;
    }
    if (!this.exists(room)) {
      r.reply(404, { reason: 'No such conference' });
      return;
    }
    const { host, port } = this.opts.sip.routing.contactHostPort(r.flow.protocol);
    const tp = r.flow.protocol === 'UDP' ? '' : `;transport=${r.flow.protocol.toLowerCase()}`;
    const headers: Record<string, string> = {
      Accept: this.acceptHeader,
      Contact: `<sip:${escapeUser(room)}@${host}:${port}${tp}>;isfocus`,
    };
    if (this.opts.events.length > 0) headers['Allow-Events'] = this.opts.events.join(', ');
    r.reply(200, { headers });
  }

  private exists(room: string): boolean {
    if (this.opts.roomsOnDemand || this.opts.conference.isDeclared(room)) return true;
    try {
      this.opts.conference.getRoom(room);
      return true;
    } catch {
      return false;
    }
  }
}

/** A room name as a URI user part (names are A-Z a-z 0-9 . _ ~ - when declared; anything else is escaped). */
function escapeUser(s: string): string {
  return s.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}
