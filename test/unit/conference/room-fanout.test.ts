/**
 * Where a receive-only browser (a webinar attendee) is placed: the pure rule of RoomFanout (`rtc.fanout`).
 */
import { pickViewerWorker, type PlacementLoad } from '../../../src/conference/room/room-fanout';

const on = { enabled: true, viewersPerRouterBeforeSpill: 2 };

function loads(...l: Array<[consumers: number, viewers: number]>): PlacementLoad[] {
  return l.map(([consumers, viewers], i) => ({ workerIndex: i, origin: i === 0, consumers, viewers }));
}

describe('pickViewerWorker', () => {
  it('keeps everyone on the room router when fan-out is off', () => {
    expect(pickViewerWorker(loads([500, 500], [0, 0]), { ...on, enabled: false })).toBeUndefined();
  });

  it('keeps everyone on the room router with one worker', () => {
    expect(pickViewerWorker(loads([500, 500]), on)).toBeUndefined();
  });

  it('fills the room router up to viewersPerRouterBeforeSpill first', () => {
    expect(pickViewerWorker(loads([10, 0], [0, 0]), on)).toBeUndefined();
    expect(pickViewerWorker(loads([10, 1], [0, 0]), on)).toBeUndefined();
    expect(pickViewerWorker(loads([10, 2], [0, 0]), on)).toBe(1);
  });

  it('spills at once with viewersPerRouterBeforeSpill 0', () => {
    expect(
      pickViewerWorker(loads([0, 0], [0, 0]), { ...on, viewersPerRouterBeforeSpill: 0 }),
    ).toBeUndefined();
    expect(pickViewerWorker(loads([2, 0], [0, 0]), { ...on, viewersPerRouterBeforeSpill: 0 })).toBe(1);
  });

  it('then picks the worker with the fewest consumers plus viewers placed, the room router included', () => {
    expect(pickViewerWorker(loads([6, 2], [4, 2], [2, 1]), on)).toBe(2);
    expect(pickViewerWorker(loads([2, 2], [4, 2], [8, 1]), on)).toBeUndefined();
    // A viewer placed counts before its consumers exist: a burst of joins spreads.
    expect(pickViewerWorker(loads([4, 2], [0, 3], [0, 0]), on)).toBe(2);
  });

  it('breaks ties by the lower index', () => {
    expect(pickViewerWorker(loads([9, 2], [3, 1], [3, 1]), on)).toBe(1);
  });
});
