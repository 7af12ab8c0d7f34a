/**
 * MixedRoomAudio.add with `muted`: the mixer thread's own add message (`mixer.addParticipant`) says muted, so no
 * frame of the leg is ever mixed (before, the leg was added and a `mixer.setMuted` followed: the thread's 20 ms tick
 * could mix one frame in between). The room handle is the real one; the thread records the requests it is sent.
 */
import pino from 'pino';
import type { types } from 'mediasoup';
import type { MediaThread } from '../../../../src/media/mixer/media-thread';
import { MixerRoomHandle } from '../../../../src/media/mixer/mixer-room-handle';
import { MixedRoomAudio } from '../../../../src/media/room-audio/mixed-room-audio';
import type { AudioEndpoint } from '../../../../src/media/room-audio/room-audio';

const log = pino({ level: 'silent' });

function setup() {
  const requests: [string, Record<string, unknown>][] = [];
  const thread = {
    request: async (method: string, params: Record<string, unknown>) => {
      requests.push([method, params]);
      return null;
    },
  };
  const handle = new MixerRoomHandle(
    thread as unknown as MediaThread,
    { roomId: 'r', inputIp: '127.0.0.1', inputPort: 1, outputIp: '127.0.0.1', outputPort: 2 },
    log,
  );
  const media = { createMixerRoom: async () => handle } as unknown as MediaThread;
  return { requests, media };
}

/** A phone whose audio terminates in the mixer's thread (no mediasoup object involved). */
function phone(id: string): AudioEndpoint {
  return {
    participantId: id,
    mixerLeg: {
      legId: `leg-${id}`,
      threadIndex: 0,
      codec: 'PCMU',
      payloadType: 0,
      sends: true,
      receives: true,
    },
    setSource: async () => undefined,
  };
}

async function audio(media: MediaThread): Promise<MixedRoomAudio> {
  return MixedRoomAudio.create({
    router: {} as types.Router,
    thread: media,
    roomId: 'r',
    listenIp: '127.0.0.1',
    log,
  });
}

test('added muted: the add message itself carries muted, and no setMuted follows', async () => {
  const { requests, media } = setup();
  const a = await audio(media);
  await a.add(phone('att'), { muted: true });
  expect(requests.map(([m]) => m)).toEqual(['mixer.addParticipant']);
  expect(requests[0]![1]).toMatchObject({ roomId: 'r', participantId: 'att', leg: 'leg-att', muted: true });
});

test('added without the option: not muted (as before)', async () => {
  const { requests, media } = setup();
  const a = await audio(media);
  await a.add(phone('host'));
  expect(requests).toEqual([
    ['mixer.addParticipant', expect.objectContaining({ participantId: 'host', muted: false })],
  ]);
});

test('unmuted later (a promotion): one setMuted false after the muted add', async () => {
  const { requests, media } = setup();
  const a = await audio(media);
  await a.add(phone('att'), { muted: true });
  await a.setMuted('att', false);
  expect(requests.map(([m, p]) => [m, p['muted']])).toEqual([
    ['mixer.addParticipant', true],
    ['mixer.setMuted', false],
  ]);
});
