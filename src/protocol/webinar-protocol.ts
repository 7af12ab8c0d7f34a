import { z } from 'zod';

/** Phones can type digits only, so every PIN is 1-16 digits. */
const webinarPin = z.string().regex(/^[0-9]{1,16}$/, 'PINs are 1-16 digits');

/**
 * A room's webinar policy: `conference.rooms[].webinar` in the config file, `webinar` in POST /api/rooms and the
 * dashboard's createRoom. One schema for all three, so a bad key is refused the same way (at start, naming it; or
 * 400); the checks across keys are `webinarRoomIssues`.
 */
export const WebinarSchema = z
  .object({
    /** Makes a host: host powers (admit, deny, promote, demote); its arrival starts a webinar that waits for one. */
    hostPin: webinarPin,
    /** Makes an attendee (listens). Absent: an open webinar, where no PIN (a lone `#`) makes an attendee. */
    attendeePin: webinarPin.optional(),
    /** Makes a panelist (speaks). */
    panelistPin: webinarPin.optional(),
    /** A waiting room: everyone but hosts and moderators waits until a host or moderator admits or denies them. */
    lobby: z.boolean().default(false),
    /** Panelists and attendees join muted (and may unmute themselves, unless listenOnly holds attendees). */
    joinMuted: z.boolean().default(true),
    /** Attendees are never heard: muted, and neither they nor a moderator can unmute them (promote instead). */
    listenOnly: z.boolean().default(true),
    /** Nobody but hosts and moderators gets in before a host has joined ("the webinar will start when..."). */
    waitForHost: z.boolean().default(false),
    /** A waiting phone hears why it waits again every this many seconds (silence between); 0: once. */
    reminderSeconds: z.number().int().min(0).max(3600).default(30),
  })
  .strict();

export type WebinarDeclaration = z.output<typeof WebinarSchema>;

/** A problem across a room's keys and its webinar's: where (path from the room) and what. */
export interface WebinarRoomIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The checks across a room's own keys and its webinar's (config rooms and API-created rooms alike): one PIN must
 * not give two roles (the webinar's PINs and the room's `moderatorPin` all distinct); and a webinar's attendees
 * come in by `webinar.attendeePin` (or none), so the room's plain `pin` would be a second, roleless way in.
 */
export function webinarRoomIssues(room: {
  pin?: string | undefined;
  moderatorPin?: string | undefined;
  webinar?: WebinarDeclaration | undefined;
}): WebinarRoomIssue[] {
  const w = room.webinar;
  if (!w) return [];
  const out: WebinarRoomIssue[] = [];
  if (room.pin !== undefined)
    out.push({ path: ['pin'], message: 'a webinar room uses webinar.attendeePin, not pin' });
  const seen = new Map<string, string>();
  if (room.moderatorPin !== undefined) seen.set(room.moderatorPin, 'moderatorPin');
  for (const key of ['hostPin', 'panelistPin', 'attendeePin'] as const) {
    const pin = w[key];
    if (pin === undefined) continue;
    const other = seen.get(pin);
    if (other) out.push({ path: ['webinar', key], message: `the same PIN as ${other}` });
    else seen.set(pin, key);
  }
  return out;
}

/** `webinarRoomIssues` as a zod refinement of a room (the config file's `conference.rooms[]`). */
export function checkWebinarRoom(room: Parameters<typeof webinarRoomIssues>[0], ctx: z.RefinementCtx): void {
  for (const issue of webinarRoomIssues(room)) ctx.addIssue({ code: 'custom', ...issue });
}

/** Every participant role, as pages and the dashboard see them (src/conference/webinar/webinar-policy.ts maps them). */
export type ParticipantRoleName = 'participant' | 'moderator' | 'host' | 'panelist' | 'attendee';

/** What a participant in a webinar's waiting room waits for; null: it does not wait. */
export type WaitingForName = 'host' | 'admission' | null;
