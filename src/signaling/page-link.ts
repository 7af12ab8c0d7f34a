import type { Socket } from 'socket.io';
import type { RtcClientToServer, RtcServerToClient } from '../protocol/rtc-protocol';
import type { PageLink } from './webrtc-session';

export type RtcSocket = Socket<RtcClientToServer, RtcServerToClient>;

/** Events kept for a page whose connection dropped; past this the session cannot be resumed faithfully. */
const MAX_QUEUED = 1000;

/**
 * The link from a browser session to its page, across reconnections: events go to the current socket, and are
 * queued (in order) while there is none (before the join answer reached the page; while the connection is down).
 */
export class SocketLink implements PageLink {
  private socket?: RtcSocket;
  private queue: Array<{ event: keyof RtcServerToClient; args: unknown[] }> = [];
  /** The queue overflowed while detached: the page missed events, resuming would show a wrong room. */
  overflowed = false;

  emit<K extends keyof RtcServerToClient>(event: K, ...args: Parameters<RtcServerToClient[K]>): void {
    if (this.socket?.connected) {
      (this.socket.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      return;
    }
    if (this.queue.length >= MAX_QUEUED) {
      this.overflowed = true;
      return;
    }
    this.queue.push({ event, args });
  }

  get current(): RtcSocket | undefined {
    return this.socket;
  }

  /** Events go to `socket` from now on, after whatever was queued. */
  attach(socket: RtcSocket): void {
    this.socket = socket;
    const queued = this.queue;
    this.queue = [];
    for (const q of queued) (socket.emit as (e: string, ...a: unknown[]) => boolean)(q.event, ...q.args);
  }

  detach(socket: RtcSocket): void {
    if (this.socket === socket) this.socket = undefined;
  }
}
