/**
 * The room's speaker video, driven with the real ActiveSpeaker (fake clock) and SFU view, and recording outputs in
 * place of mediasoup: every H.264-receiving video leg gets its own output; an output follows the active speaker
 * but never shows its own phone's participant (then the previous speaker); cameras of another codec are skipped;
 * the browsers' camera codec follows whether a video phone watches.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import type { types } from 'mediasoup';
import type { MediaSource } from '../../../../src/media/media-source';
import type { SpeakerVideo } from '../../../../src/media/video/speaker-video';
import { ActiveSpeaker } from '../../../../src/conference/room/active-speaker';
import { RoomSfu } from '../../../../src/conference/room/room-sfu';
import { RoomVideo } from '../../../../src/conference/video/room-video';
import { FakeClock } from '../../../support/fake-clock';

const log = pino({ level: 'silent' });
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function producer(id: string, mimeType = 'video/H264'): types.Producer {
  return {
    id,
    kind: 'video',
    closed: false,
    rtpParameters: { codecs: [{ mimeType }] },
  } as unknown as types.Producer;
}

/** A camera (and, with `receives`, a video phone's leg that receives H.264). */
function source(
  p: types.Producer | undefined,
  receives = false,
  profileLevelId = '42e01f',
): MediaSource & { sourceSet: (string | null)[] } {
  const e = new EventEmitter();
  const sourceSet: (string | null)[] = [];
  return {
    kind: 'video',
    sourceSet,
    acquireProducer: async () => p,
    releaseProducer: () => undefined,
    on: (ev: string, l: (...a: unknown[]) => void) => e.on(ev, l),
    off: (ev: string, l: (...a: unknown[]) => void) => e.off(ev, l),
    ...(receives
      ? {
          negotiated: {
            kind: 'video',
            phoneReceives: true,
            codec: { mimeType: 'video/H264', parameters: { 'profile-level-id': profileLevelId } },
          },
          setSource: async (id: string | null) => void sourceSet.push(id),
        }
      : {}),
  } as unknown as MediaSource & { sourceSet: (string | null)[] };
}

interface FakeOutput {
  shows: (string | null)[];
  layerCap: (number | undefined)[];
  video: SpeakerVideo;
}

function make(): {
  clock: FakeClock;
  speaker: ActiveSpeaker;
  sfu: RoomSfu;
  video: RoomVideo;
  outputs: FakeOutput[];
} {
  const clock = new FakeClock();
  const speaker = new ActiveSpeaker({ clock, holdMs: 500 });
  const sfu = new RoomSfu(log);
  const outputs: FakeOutput[] = [];
  let n = 0;
  const video = new RoomVideo({
    feed: sfu,
    speaker,
    log,
    open: async () => {
      const shows: (string | null)[] = [];
      const layerCap: (number | undefined)[] = [];
      let current: string | null = null;
      const v = {
        producer: { id: `out-${++n}`, observer: new EventEmitter() },
        get current() {
          return current;
        },
        canShow: (p: types.Producer) => p.rtpParameters.codecs[0].mimeType === 'video/H264',
        select: async (id: string | null) => {
          if (id !== current) shows.push(id);
          current = id;
        },
        setMaxSpatialLayer: (l: number | undefined) => void layerCap.push(l),
        close: () => undefined,
      } as unknown as SpeakerVideo;
      outputs.push({ shows, layerCap, video: v });
      return v;
    },
  });
  return { clock, speaker, sfu, video, outputs };
}

describe('RoomVideo', () => {
  it("gives each video phone its own output, never showing the phone's own participant", async () => {
    const { clock, speaker, sfu, video, outputs } = make();
    const aliceLeg = source(producer('alice-cam'), true);
    const bobLeg = source(producer('bob-cam'), true);
    sfu.sync('alice', [aliceLeg]);
    sfu.sync('bob', [bobLeg]);
    video.watch('alice', [aliceLeg]);
    video.watch('bob', [bobLeg]);
    await settle();
    speaker.setEligible('alice', true);
    speaker.setEligible('bob', true);
    await settle();
    expect(outputs).toHaveLength(2);
    expect(aliceLeg.sourceSet).toEqual(['out-1']);
    expect(bobLeg.sourceSet).toEqual(['out-2']);
    // alice is current (first with a camera): alice's phone sees bob, bob's phone alice.
    expect(outputs[0].shows).toEqual(['bob-cam']);
    expect(outputs[1].shows).toEqual(['alice-cam']);
    // bob speaks past the hold time: alice's phone keeps bob; bob's phone keeps the previous speaker, alice.
    speaker.speaking('bob', true);
    clock.advance(600);
    expect(speaker.current).toBe('bob');
    expect(outputs[0].shows).toEqual(['bob-cam']);
    expect(outputs[1].shows).toEqual(['alice-cam']);
  });

  it('a viewer without a camera follows the speaker; cameras of another codec are skipped', async () => {
    const { clock, speaker, sfu, video, outputs } = make();
    // A webinar attendee: publishes nothing, watches all the same.
    video.watch('viewer', [source(undefined, true)]);
    sfu.sync('alice', [source(producer('alice-cam'))]);
    sfu.sync('carol', [source(producer('carol-vp8', 'video/VP8'))]);
    sfu.sync('bob', [source(producer('bob-cam'))]);
    await settle();
    for (const p of ['alice', 'carol', 'bob']) speaker.setEligible(p, true);
    await settle();
    expect(outputs[0].shows).toEqual(['alice-cam']);
    speaker.speaking('bob', true);
    clock.advance(600);
    expect(outputs[0].shows).toEqual(['alice-cam', 'bob-cam']);
    // carol (VP8 only) takes the floor: the phone cannot be shown her camera and keeps the previous speaker.
    speaker.speaking('bob', false);
    speaker.speaking('carol', true);
    clock.advance(600);
    expect(speaker.current).toBe('carol');
    expect(outputs[0].shows).toEqual(['alice-cam', 'bob-cam']);
    // bob leaves: the next in line (alice) is shown.
    sfu.remove('bob');
    speaker.remove('bob');
    await settle();
    expect(outputs[0].shows).toEqual(['alice-cam', 'bob-cam', 'alice-cam']);
  });

  it('asks browsers for H.264 while a video phone watches, VP8 once the last one goes', async () => {
    const { sfu, video } = make();
    const codecs: string[] = [];
    video.on('codec', (c) => codecs.push(c));
    expect(video.codec).toBe('VP8');
    sfu.sync('cam', [source(producer('cam'))]);
    expect(video.codec).toBe('VP8');
    const leg = source(undefined, true);
    video.watch('phone', [leg]);
    video.watch('phone', [leg]);
    expect(video.codec).toBe('H264');
    video.watch('phone', []);
    expect(video.codec).toBe('VP8');
    expect(codecs).toEqual(['H264', 'VP8']);
    video.close();
    video.close();
  });

  it("caps browsers' simulcast at a layer that fits the phone's H.264 level", async () => {
    const { video, outputs } = make();
    video.watch('cif', [source(undefined, true, '42e00d')]);
    video.watch('hd', [source(undefined, true, '42e01f')]);
    await settle();
    expect(outputs.map((o) => o.layerCap)).toEqual([[0], [undefined]]);
  });
});
