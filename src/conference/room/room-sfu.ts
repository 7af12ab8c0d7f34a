import type { Logger } from 'pino';
import type { MediaSource } from '../../media/media-source';
import { TypedEmitter } from '../../util/typed-emitter';

/** One stream of one participant in the room, as SFU consumers (browsers) see it. */
export interface Publication {
  /** Unique in the room for the publication's lifetime. */
  readonly key: string;
  readonly participantId: string;
  readonly source: MediaSource;
}

export interface SfuFeedEvents {
  published: [pub: Publication];
  unpublished: [pub: Publication];
  /** A participant's audio was muted or unmuted by the focus: its consumers pause (it is out of the mix too). */
  muted: [participantId: string, muted: boolean];
}

/** What a session that consumes the room (a browser) is given: the streams to receive, and their changes. */
export interface SfuFeed {
  list(): Publication[];
  isMuted(participantId: string): boolean;
  on<K extends keyof SfuFeedEvents>(event: K, listener: (...args: SfuFeedEvents[K]) => void): unknown;
  off<K extends keyof SfuFeedEvents>(event: K, listener: (...args: SfuFeedEvents[K]) => void): unknown;
}

/**
 * The room's SFU view: which participant publishes which streams (a phone's legs, a browser's mic and camera),
 * kept by the Room for the participants seated in the conference. Pure bookkeeping: consumers acquire and
 * release the sources' Producers themselves.
 */
export class RoomSfu extends TypedEmitter<SfuFeedEvents> implements SfuFeed {
  private readonly pubs = new Map<string, Publication[]>();
  private readonly mutedIds = new Set<string>();
  private seq = 0;

  constructor(log: Logger) {
    super(log);
  }

  list(): Publication[] {
    return [...this.pubs.values()].flat();
  }

  isMuted(participantId: string): boolean {
    return this.mutedIds.has(participantId);
  }

  /** The participant now publishes exactly `sources` (added ones are published, missing ones unpublished). */
  sync(participantId: string, sources: readonly MediaSource[]): void {
    const current = this.pubs.get(participantId) ?? [];
    const kept = current.filter((p) => sources.includes(p.source));
    const gone = current.filter((p) => !sources.includes(p.source));
    const added = sources
      .filter((s) => !current.some((p) => p.source === s))
      .map((source) => ({ key: `${participantId}/${++this.seq}`, participantId, source }));
    const next = [...kept, ...added];
    if (next.length) this.pubs.set(participantId, next);
    else this.pubs.delete(participantId);
    for (const p of gone) this.safeEmit('unpublished', p);
    for (const p of added) this.safeEmit('published', p);
  }

  remove(participantId: string): void {
    this.sync(participantId, []);
    this.mutedIds.delete(participantId);
  }

  setMuted(participantId: string, muted: boolean): void {
    if (muted === this.mutedIds.has(participantId)) return;
    if (muted) this.mutedIds.add(participantId);
    else this.mutedIds.delete(participantId);
    this.safeEmit('muted', participantId, muted);
  }

  close(): void {
    for (const pid of [...this.pubs.keys()]) this.remove(pid);
  }
}
