/**
 * The room's SFU view (which participant publishes which stream), driven step by step, and the Room keeping it: a
 * participant seated in the mix publishes its sources and a subscribing session is handed the feed; leaving, muting
 * and a lobby seat are reflected.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import type { MediaSource } from '../../../src/media/media-source';
import { RoomSfu, type Publication, type SfuFeed } from '../../../src/conference/room/room-sfu';
import { makeConference, FakeConnector, settle } from './fakes';

const log = pino({ level: 'silent' });

function source(kind: 'audio' | 'video'): MediaSource {
  const e = new EventEmitter();
  return {
    kind,
    acquireProducer: async () => undefined,
    releaseProducer: () => undefined,
    on: (ev: string, l: (...a: unknown[]) => void) => e.on(ev, l),
    off: (ev: string, l: (...a: unknown[]) => void) => e.off(ev, l),
  } as MediaSource;
}

function recorder(sfu: RoomSfu): string[] {
  const seen: string[] = [];
  sfu.on('published', (p) => seen.push(`+${p.participantId}:${p.source.kind}`));
  sfu.on('unpublished', (p) => seen.push(`-${p.participantId}:${p.source.kind}`));
  sfu.on('muted', (pid, m) => seen.push(`${m ? 'mute' : 'unmute'} ${pid}`));
  return seen;
}

describe('RoomSfu', () => {
  it('publishes added sources, unpublishes missing ones, keeps the rest under the same key', () => {
    const sfu = new RoomSfu(log);
    const seen = recorder(sfu);
    const mic = source('audio');
    const cam = source('video');
    sfu.sync('a', [mic]);
    const key = sfu.list()[0]!.key;
    sfu.sync('a', [mic, cam]);
    sfu.sync('a', [cam]);
    expect(seen).toEqual(['+a:audio', '+a:video', '-a:audio']);
    expect(sfu.list().map((p) => p.source)).toEqual([cam]);
    expect(sfu.list()[0]!.key).not.toBe(key);
    sfu.sync('a', [mic]);
    expect(sfu.list()[0]!.key).not.toBe(key); // a new publication, never a reused key
  });

  it('remove unpublishes everything of the participant and forgets its mute', () => {
    const sfu = new RoomSfu(log);
    const seen = recorder(sfu);
    sfu.sync('a', [source('audio'), source('video')]);
    sfu.sync('b', [source('audio')]);
    sfu.setMuted('a', true);
    sfu.remove('a');
    expect(seen).toEqual(['+a:audio', '+a:video', '+b:audio', 'mute a', '-a:audio', '-a:video']);
    expect(sfu.isMuted('a')).toBe(false);
    expect(sfu.list().map((p) => p.participantId)).toEqual(['b']);
  });

  it('mute events fire on change only', () => {
    const sfu = new RoomSfu(log);
    const seen = recorder(sfu);
    sfu.setMuted('a', true);
    sfu.setMuted('a', true);
    sfu.setMuted('a', false);
    expect(seen).toEqual(['mute a', 'unmute a']);
  });
});

describe('the Room keeps the SFU view', () => {
  it('a joined participant publishes its legs; a subscribing session gets the feed and sees later joins and leaves', async () => {
    const t = makeConference();
    const feeds: Array<SfuFeed | undefined> = [];
    const bob = new FakeConnector({ name: 'bob' });
    const alice = await t.join('demo', 'alice');
    await t.conference.join({ room: 'demo', connector: bob });
    const bobSession = bob.session!;
    // Bob subscribes like a browser would (the fake session does not by default).
    (bobSession as unknown as { subscribe(f: SfuFeed | undefined): void }).subscribe = (f) => feeds.push(f);
    const room = t.conference.getRoom('demo');
    await room.seat(bob.participant!, 'lobby');
    await room.seat(bob.participant!, 'mix');
    const feed = feeds[feeds.length - 1]!;
    expect(feed).toBe(room.feed);
    const owners = (l: Publication[]): string[] => l.map((p) => p.participantId).sort();
    expect(owners(feed.list())).toEqual([alice.participant!.id, bob.participant!.id].sort());
    const gone: string[] = [];
    feed.on('unpublished', (p) => gone.push(p.participantId));
    await t.conference.mute(alice.participant!.id, true);
    expect(feed.isMuted(alice.participant!.id)).toBe(true);
    alice.session!.remoteBye();
    await settle();
    expect(gone).toEqual([alice.participant!.id]);
    bob.session!.remoteBye();
    await settle();
    expect(feeds[feeds.length - 1]).toBeUndefined();
  });
});
