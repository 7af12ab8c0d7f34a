import { AUDIENCE_COALESCE_MS, AudienceNotifier } from '../../../src/signaling/audience-notifier';

describe('AudienceNotifier (a fake clock)', () => {
  let count: Map<string, number>;
  let told: Array<[string, number]>;
  let n: AudienceNotifier;

  beforeEach(() => {
    jest.useFakeTimers();
    count = new Map([['webinar', 0]]);
    told = [];
    n = new AudienceNotifier(
      (id) => count.get(id),
      (id, attendees) => told.push([id, attendees]),
    );
  });

  afterEach(() => {
    n.close();
    jest.useRealTimers();
  });

  it('gathers a burst of joins into one message with the count at the end of the burst', () => {
    for (let i = 1; i <= 1000; i++) {
      count.set('webinar', i);
      n.changed('webinar');
    }
    expect(told).toEqual([]);
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS - 1);
    expect(told).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(told).toEqual([['webinar', 1000]]);
  });

  it('tells nothing when the count came back to what the pages were told', () => {
    count.set('webinar', 2);
    n.changed('webinar');
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS);
    count.set('webinar', 3);
    n.changed('webinar');
    count.set('webinar', 2);
    n.changed('webinar');
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS);
    expect(told).toEqual([['webinar', 2]]);
    count.set('webinar', 0);
    n.changed('webinar');
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS);
    expect(told).toEqual([
      ['webinar', 2],
      ['webinar', 0],
    ]);
  });

  it('keeps rooms apart, and forgets a closed room (its pending change is dropped)', () => {
    count.set('a', 1);
    count.set('b', 5);
    n.changed('a');
    n.changed('b');
    n.forget('b');
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS);
    expect(told).toEqual([['a', 1]]);
  });

  it('says nothing of a room that is gone when the change is read', () => {
    n.changed('gone');
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS);
    expect(told).toEqual([]);
  });

  it('close() drops every pending change', () => {
    count.set('webinar', 4);
    n.changed('webinar');
    n.close();
    jest.advanceTimersByTime(AUDIENCE_COALESCE_MS * 2);
    expect(told).toEqual([]);
  });
});
