import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error';
import { systemClock, type Clock } from '../../sip/transaction/clock';
import { WaiterState, WaitingRoom, type WaiterView } from '../lobby/waiting-room';
import type { Participant, ParticipantWait } from '../participant/participant';
import type { PromptName } from '../room/prompts';
import type { Room } from '../room/room';
import type { RoomDeclaration } from '../room/room-manager';
import { WaitReason, WebinarPolicy } from './webinar-policy';

/** One open webinar room: its policy (fixed when the room opened, like its PINs) and its waiting room. */
interface WebinarRoom {
  policy: WebinarPolicy;
  waiting: WaitingRoom;
}

export interface WebinarsOptions {
  /** The room's declaration (config file or run time), if declared: a webinar is always a declared room. */
  declarationOf(roomName: string): RoomDeclaration | undefined;
  clock?: Clock;
  log: Logger;
}

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
 * The webinar side of the conference service: each open webinar room's policy and waiting room, the wait of one
 * joiner (prompts, reminders, the outcome) and the moderators' admit/deny. The per-room state is kept in a
 * WeakMap here only because `Room` has no slot for it yet (see the report of issue 12: `Room.webinar`); it goes
 * with the room (closed on the room's `closed`).
 */
export class Webinars {
  private readonly rooms = new WeakMap<Room, WebinarRoom | null>();
  private readonly clock: Clock;

  constructor(private readonly opts: WebinarsOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** The room's webinar policy; undefined: a plain room. */
  policyFor(room: Room): WebinarPolicy | undefined {
    return this.of(room)?.policy;
  }

  /** The waiting room's list of one webinar (empty for a plain room). */
  waitingIn(room: Room): WaiterView[] {
    return this.of(room)?.waiting.list() ?? [];
  }

  /**
   * Runs one joiner through the waiting room of its webinar: prompts (and reminders) while it waits, "you are now
   * in the conference" when admitted, "the host declined" when denied. Resolves with the outcome; the caller
   * seats an admitted participant in the mix and ends a denied one's call.
   */
  async wait(room: Room, p: Participant, hooks: WaitHooks): Promise<WaiterState> {
    const w = this.of(room);
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
    if (WebinarPolicy.hasHostPowers(p.role)) this.of(room)?.waiting.start();
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
  required(room: Room): WebinarRoom {
    const w = this.of(room);
    if (!w) throw new AppError('CONF_NOT_WEBINAR', `room ${room.id} is not a webinar`);
    return w;
  }

  private of(room: Room): WebinarRoom | undefined {
    const known = this.rooms.get(room);
    if (known !== undefined) return known ?? undefined;
    const d = this.opts.declarationOf(room.id)?.webinar;
    if (!d || room.isClosed) {
      this.rooms.set(room, null);
      return undefined;
    }
    const policy = new WebinarPolicy(d);
    const w: WebinarRoom = {
      policy,
      waiting: new WaitingRoom(policy, this.clock, room.log.child({ webinar: true })),
    };
    this.rooms.set(room, w);
    room.once('closed', () => w.waiting.close());
    return w;
  }
}
