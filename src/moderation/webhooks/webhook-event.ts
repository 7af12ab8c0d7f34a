/** The events a webhook target can receive (speaking and quality are too chatty for HTTP: the dashboard has them). */
export const WEBHOOK_EVENT_TYPES = [
  'room.created',
  'room.closed',
  'room.locked',
  'room.unlocked',
  'participant.joined',
  'participant.left',
  'participant.muted',
  'participant.unmuted',
  'participant.moved',
  'participant.hand',
  // A room's livestream (src/livestream): ffmpeg encodes; it was stopped; it was given up.
  'livestream.live',
  'livestream.stopped',
  'livestream.failed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The JSON body of every webhook POST. */
export interface WebhookEvent {
  /** A UUID, also sent as `X-Parley-Delivery`: the same on every retry, so a receiver can deduplicate. */
  id: string;
  type: WebhookEventType;
  /** When it happened (ISO 8601, UTC). */
  at: string;
  /** The room it happened in (for `participant.moved`, the room it moved to). */
  room: { id: string; displayName: string };
  participant?: { id: string; displayName: string; uri: string; kind: string };
  /**
   * Per type: `participant.joined` {role}; `participant.left` {reason}; `participant.muted|unmuted` {by:
   * "self"|"moderator"}; `participant.moved` {from, to}; `participant.hand` {raised}; `livestream.*` {state,
   * outputs (stream keys redacted), restarts, error}; the others {}.
   */
  data: Record<string, unknown>;
}

/**
 * A target's `events` filter: exact type names, or a family (`room.*`, `participant.*`), or `*`. Absent: every
 * event. Returns the predicate and the filter entries that match no event type (a typo the operator should see).
 */
export function eventFilter(events: readonly string[] | undefined): {
  accepts: (type: WebhookEventType) => boolean;
  unknown: string[];
} {
  if (events === undefined) return { accepts: () => true, unknown: [] };
  const matches = (pattern: string, type: string): boolean =>
    pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1)));
  const wanted = new Set<string>(WEBHOOK_EVENT_TYPES.filter((t) => events.some((e) => matches(e, t))));
  return {
    accepts: (type) => wanted.has(type),
    unknown: events.filter((e) => !WEBHOOK_EVENT_TYPES.some((t) => matches(e, t))),
  };
}
