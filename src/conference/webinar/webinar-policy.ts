import type { ParticipantRole } from '../participant/participant';

/**
 * A room's webinar policy, as declared (`conference.rooms[].webinar`, or `webinar` in POST /api/rooms).
 * `hostPin` makes a host; `panelistPin` a panelist (may speak); `attendeePin` an attendee (listens). Without
 * `attendeePin` the webinar is open: an empty PIN (a phone's lone `#`, a browser's blank field) makes an attendee.
 */
export interface WebinarSettings {
  hostPin: string;
  attendeePin?: string | undefined;
  panelistPin?: string | undefined;
  /** Non-hosts wait in the lobby (waiting room) until a host or moderator admits or denies them. */
  lobby: boolean;
  /** Panelists and attendees join muted (they may unmute themselves unless `listenOnly` holds them). */
  joinMuted: boolean;
  /** Attendees cannot be heard at all: muted, and neither they nor a moderator can unmute them (promote instead). */
  listenOnly: boolean;
  /** Nobody but hosts and moderators gets in before a host (or moderator) has joined. */
  waitForHost: boolean;
  /** How often a waiting phone is reminded why it waits (seconds). */
  reminderSeconds: number;
}

/** What keeps a participant out of the conference for now. */
export enum WaitReason {
  /** "The webinar will start when the host joins." */
  Host = 'host',
  /** "Please wait, the host will let you in." */
  Admission = 'admission',
}

/**
 * The roles of a webinar and of a plain room, and what each may do. The mapping, written down once:
 *
 * | role          | where                                   | powers                                             |
 * |---------------|-----------------------------------------|----------------------------------------------------|
 * | `moderator`   | any room's `moderatorPin`               | host powers (admit, deny, promote); never waits    |
 * | `host`        | a webinar's `hostPin`                   | the same as a moderator; its arrival starts it     |
 * | `participant` | a plain room (its `pin`, or none)       | speaks; mutes and unmutes itself                   |
 * | `panelist`    | `panelistPin`, a promoted attendee,     | speaks (joins muted under `joinMuted`, may unmute) |
 * |               | a dial-out into a webinar               |                                                    |
 * | `attendee`    | `attendeePin` (or no PIN: open webinar) | listens; under `listenOnly` never reaches the mix  |
 *
 * Pure: the conference asks it, and enforces the answers (mix membership, refusals).
 */
export class WebinarPolicy {
  constructor(readonly settings: Readonly<WebinarSettings>) {}

  /** Host powers: admit, deny, promote, demote; their arrival starts a webinar that waits for a host. */
  static hasHostPowers(role: ParticipantRole): boolean {
    return role === 'host' || role === 'moderator';
  }

  /** The role a webinar PIN gives (the room's moderator PIN is checked by the caller first); undefined: no match. */
  roleForPin(pin: string): ParticipantRole | undefined {
    const s = this.settings;
    if (pin === s.hostPin) return 'host';
    if (s.panelistPin !== undefined && pin === s.panelistPin) return 'panelist';
    if (s.attendeePin !== undefined ? pin === s.attendeePin : pin === '') return 'attendee';
    return undefined;
  }

  /** Whether a joiner without any PIN may come in (an open webinar: as an attendee). */
  get open(): boolean {
    return this.settings.attendeePin === undefined;
  }

  /** Whether `role` is muted on entering the conference. */
  joinsMuted(role: ParticipantRole): boolean {
    if (role === 'attendee') return this.settings.joinMuted || this.settings.listenOnly;
    if (role === 'panelist' || role === 'participant') return this.settings.joinMuted;
    return false;
  }

  /** Whether `role` may be unmuted, by itself (`*6`, the page) or by a moderator. */
  canUnmute(role: ParticipantRole): boolean {
    return !(role === 'attendee' && this.settings.listenOnly);
  }

  /** Why `role` must wait now, given whether a host is in; undefined: it goes straight in. */
  waitFor(role: ParticipantRole, hostPresent: boolean): WaitReason | undefined {
    if (WebinarPolicy.hasHostPowers(role)) return undefined;
    if (this.settings.waitForHost && !hostPresent) return WaitReason.Host;
    if (this.settings.lobby) return WaitReason.Admission;
    return undefined;
  }
}
