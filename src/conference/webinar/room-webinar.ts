import type { Logger } from 'pino';
import type { Clock } from '../../sip/transaction/clock';
import { WaitingRoom } from '../lobby/waiting-room';
import { WebinarPolicy, type WebinarSettings } from './webinar-policy';

/**
 * What a webinar room owns: its policy (fixed when the room opened, like its PINs) and its waiting room. Made by
 * the `Room` from `RoomSettings.webinar` and closed with it (every wait ends with `left`), so no service keeps
 * per-room state in maps keyed by rooms.
 */
export class RoomWebinar {
  readonly policy: WebinarPolicy;
  readonly waiting: WaitingRoom;

  constructor(settings: Readonly<WebinarSettings>, clock: Clock, log: Logger) {
    this.policy = new WebinarPolicy(settings);
    this.waiting = new WaitingRoom(this.policy, clock, log);
  }

  /** The room closed: whoever still waits leaves. Idempotent. */
  close(): void {
    this.waiting.close();
  }
}
