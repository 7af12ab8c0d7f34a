import { z } from 'zod';

/** Phones can type digits only, so every PIN is 1-16 digits. */
const webinarPin = z.string().regex(/^[0-9]{1,16}$/, 'PINs are 1-16 digits');

/**
 * A room's webinar policy: `conference.rooms[].webinar` in the config file, `webinar` in POST /api/rooms and the
 * dashboard's createRoom. One schema for all three, so a bad key is refused the same way (at start, naming it; or
 * 400). Distinct PINs: one PIN must not give two roles.
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
  .strict()
  .superRefine((w, ctx) => {
    const seen = new Map<string, string>();
    for (const key of ['hostPin', 'panelistPin', 'attendeePin'] as const) {
      const pin = w[key];
      if (pin === undefined) continue;
      const other = seen.get(pin);
      if (other) ctx.addIssue({ code: 'custom', path: [key], message: `the same PIN as ${other}` });
      else seen.set(pin, key);
    }
  });

export type WebinarDeclaration = z.output<typeof WebinarSchema>;

/**
 * The checks across a room's own keys and its webinar's (config rooms and API-created rooms alike): a webinar's
 * attendees come in by `webinar.attendeePin` (or none), so the room's plain `pin` would be a second, roleless way
 * in; and the room's `moderatorPin` must not be one of the webinar's PINs.
 */
export function checkWebinarRoom(
  room: {
    pin?: string | undefined;
    moderatorPin?: string | undefined;
    webinar?: WebinarDeclaration | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const w = room.webinar;
  if (!w) return;
  if (room.pin !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['pin'],
      message: 'a webinar room uses webinar.attendeePin, not pin',
    });
  const m = room.moderatorPin;
  if (m !== undefined && (m === w.hostPin || m === w.attendeePin || m === w.panelistPin))
    ctx.addIssue({
      code: 'custom',
      path: ['moderatorPin'],
      message: 'the same PIN as one of the webinar PINs',
    });
}

/** Every participant role, as pages and the dashboard see them (src/conference/webinar/webinar-policy.ts maps them). */
export type ParticipantRoleName = 'participant' | 'moderator' | 'host' | 'panelist' | 'attendee';

/** What a participant in a webinar's waiting room waits for; null: it does not wait. */
export type WaitingForName = 'host' | 'admission' | null;
