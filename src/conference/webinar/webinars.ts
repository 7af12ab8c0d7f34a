import { AppError } from '../../errors/app-error';
import { WaiterState, type WaiterView } from '../lobby/waiting-room';
import type { Participant, ParticipantWait } from '../participant/participant';
import type { PromptName } from '../room/prompts';
import type { Room } from '../room/room';
import type { RoomWebinar } from './room-webinar';
import { WaitReason, WebinarPolicy } from './webinar-policy';

/** What the waiting room's flow needs of the conference for one participant. */
export interface WaitHooks {
  prompt(name: PromptName): Promise<void>;
  stopPrompt(): Promise<void>;
  /** Told of each change (a browser's page shows "waiting for the host to admit you"). */
  onWaiting?: ((waiting: ParticipantWait | 'denied' | 'admitted') => void) | undefined;
}

const PROMPT_FOR: Record<WaitReason, PromptName> = {
  [WaitReason.Host]: 'webinar-wait-host',
  [WaitReason.Admission]: 'lobby-wait',
};

/**
 * The webinar side of the conference service: the wait of one joiner in its room's waiting room (prompts,
 * reminders, the outcome) and the moderators' admit/deny. Keeps no per-room state: each webinar room owns its
 * policy and waiting room (`Room.webinar`, made from `RoomSettings.webinar`, closed with the room).
 */
export class Webinars {
  /** The room's webinar policy; undefined: a plain room. */
  policyFor(room: Room): WebinarPolicy | undefined {
    return room.webinar?.policy;
  }

  /** The waiting room's list of one webinar (empty for a plain room). */
  waitingIn(room: Room): WaiterView[] {
    return room.webinar?.waiting.list() ?? [];
  }

  /**
   * Runs one joiner through the waiting room of its webinar: prompts (and reminders) while it waits, "you are now
   * in the conference" when admitted, "the host declined" when denied. Resolves with the outcome; the caller
   * seats an admitted participant in the mix and ends a denied one's call.
   */
  async wait(room: Room, p: Participant, hooks: WaitHooks): Promise<WaiterState> {
    const w = room.webinar;
    if (!w) return WaiterState.Admitted;
    let waited = false;
    const outcome = await w.waiting.wait(p.id, {
      role: p.role,
      signal: p.signal,
      onState: (s) => {
        const waiting: ParticipantWait =
          s === WaiterState.WaitingForHost
            ? 'host'
            : s === WaiterState.WaitingForAdmission
              ? 'admission'
              : null;
        if (waiting) waited = true;
        if (!p.hasLeft()) p.setWaiting(waiting);
        hooks.onWaiting?.(
          waiting ?? (s === WaiterState.Denied ? 'denied' : s === WaiterState.Admitted ? 'admitted' : null),
        );
      },
      remind: (reason) => {
        // A reminder cuts the previous one (a short reminderSeconds must not queue clips).
        void hooks
          .stopPrompt()
          .then(() => hooks.prompt(PROMPT_FOR[reason]))
          .catch(() => undefined);
      },
    });
    if (p.hasLeft() || outcome === WaiterState.Left) return WaiterState.Left;
    if (waited) {
      await hooks.stopPrompt().catch(() => undefined);
      await hooks.prompt(outcome === WaiterState.Admitted ? 'lobby-admitted' : 'lobby-denied');
    }
    return outcome;
  }

  /** A participant with host powers is in: the webinar has started (those waiting for the host move on). */
  hostJoined(room: Room, p: Participant): void {
    if (WebinarPolicy.hasHostPowers(p.role)) room.webinar?.waiting.start();
  }

  /** A moderator lets `pid` in. CONF_NOT_WEBINAR, CONF_NOT_WAITING. */
  admit(room: Room, pid: string): void {
    this.required(room).waiting.admit(pid);
  }

  /** A moderator turns `pid` away. CONF_NOT_WEBINAR, CONF_NOT_WAITING. */
  deny(room: Room, pid: string): void {
    this.required(room).waiting.deny(pid);
  }

  /** The room's webinar; CONF_NOT_WEBINAR for a plain room. */
  required(room: Room): RoomWebinar {
    const w = room.webinar;
    if (!w) throw new AppError('CONF_NOT_WEBINAR', `room ${room.id} is not a webinar`);
    return w;
  }
}
