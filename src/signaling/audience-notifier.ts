/** How long changes of a room's audience are gathered before its pages are told (one message per burst of joins). */
export const AUDIENCE_COALESCE_MS = 500;

interface Pending {
  timer?: NodeJS.Timeout;
  /** What the room's pages were last told. */
  told: number;
}

/**
 * Tells a room's pages how many attendees listen (a webinar's audience, which the pages do not list: onStage in
 * rtc-signaling.ts). A thousand attendees joining within a second cost each page one or two messages, not a
 * thousand: changes are gathered for `delayMs`, then the count is read and sent only if it differs from what the
 * pages were last told. A page joining meanwhile gets the count in its join answer.
 */
export class AudienceNotifier {
  private readonly rooms = new Map<string, Pending>();

  constructor(
    /** The room's audience now (undefined: the room is gone). */
    private readonly count: (roomId: string) => number | undefined,
    private readonly tell: (roomId: string, attendees: number) => void,
    private readonly delayMs = AUDIENCE_COALESCE_MS,
  ) {}

  /** Someone joined, left, moved, or changed role in the room. */
  changed(roomId: string): void {
    let r = this.rooms.get(roomId);
    if (!r) this.rooms.set(roomId, (r = { told: 0 }));
    if (r.timer) return;
    const pending = r;
    pending.timer = setTimeout(() => {
      pending.timer = undefined;
      const n = this.count(roomId);
      if (n === undefined) {
        this.rooms.delete(roomId);
        return;
      }
      if (n === pending.told) return;
      pending.told = n;
      this.tell(roomId, n);
    }, this.delayMs);
    pending.timer.unref();
  }

  /** The room closed. */
  forget(roomId: string): void {
    clearTimeout(this.rooms.get(roomId)?.timer);
    this.rooms.delete(roomId);
  }

  close(): void {
    for (const id of [...this.rooms.keys()]) this.forget(id);
  }
}
