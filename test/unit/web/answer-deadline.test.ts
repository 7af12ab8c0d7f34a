/**
 * The room page's answer deadline (web/src/room/answer-deadline.ts) on a fake clock: a request unanswered for
 * 15 s fails, except a `join` the server says waits in a webinar's lobby, which waits as long as the host takes.
 */
import { AnswerDeadline, DeadlineState } from '../../../web/src/room/answer-deadline';
import { FakeClock } from '../../support/fake-clock';

const MS = 15_000;

function deadline() {
  const clock = new FakeClock();
  const expired: number[] = [];
  const d = new AnswerDeadline(
    MS,
    {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as number),
    },
    () => expired.push(clock.now()),
  );
  return { clock, d, expired };
}

test('an unanswered request expires after the full time, once', () => {
  const { clock, d, expired } = deadline();
  d.start();
  clock.advance(MS - 1);
  expect(expired).toEqual([]);
  clock.advance(1);
  expect(expired).toEqual([MS]);
  expect(d.state).toBe(DeadlineState.Done);
  clock.advance(10 * MS);
  expect(expired).toEqual([MS]);
});

test('an answer in time stops it for good', () => {
  const { clock, d, expired } = deadline();
  d.start();
  clock.advance(MS - 1);
  d.settle();
  clock.advance(10 * MS);
  expect(expired).toEqual([]);
  expect(clock.pending).toBe(0);
});

test('waiting for admission (or for the host) holds it: an hour in the lobby does not expire the join', () => {
  const { clock, d, expired } = deadline();
  d.start();
  clock.advance(1000);
  d.lobby('host');
  expect(d.state).toBe(DeadlineState.Held);
  clock.advance(30 * 60_000);
  d.lobby('admission');
  clock.advance(30 * 60_000);
  expect(expired).toEqual([]);
  expect(clock.pending).toBe(0);
});

test('admitted: the whole time again from the admission, then it expires if the answer never comes', () => {
  const { clock, d, expired } = deadline();
  d.start();
  d.lobby('admission');
  clock.advance(3_600_000);
  d.lobby('admitted');
  expect(d.state).toBe(DeadlineState.Running);
  clock.advance(MS - 1);
  expect(expired).toEqual([]);
  clock.advance(1);
  expect(expired).toEqual([3_600_000 + MS]);
});

test('denied changes nothing (the refusal is on its way); events after the answer are ignored', () => {
  const { clock, d, expired } = deadline();
  d.start();
  d.lobby('admission');
  d.lobby('denied');
  expect(d.state).toBe(DeadlineState.Held);
  d.settle();
  d.lobby('admitted');
  d.lobby('admission');
  clock.advance(10 * MS);
  expect(expired).toEqual([]);
  expect(d.state).toBe(DeadlineState.Done);
});

test('a lobby event before the request is sent does not arm or hold anything', () => {
  const { clock, d, expired } = deadline();
  d.lobby('admitted');
  d.lobby('host');
  clock.advance(10 * MS);
  expect(expired).toEqual([]);
  d.start();
  clock.advance(MS);
  expect(expired).toEqual([10 * MS + MS]);
});
