/**
 * A webinar's attendees are the audience (issue 12 item 4): the Room publishes none of their streams to the SFU
 * feed, so no browser consumes them (with a large audience that would be a consumer per pair of attendees); a
 * promoted attendee publishes its streams, a demoted panelist stops. Fake media (the conference core's fakes).
 */
import type { Publication } from '../../../../src/conference/room/room-sfu';
import { WebinarSchema } from '../../../../src/protocol/webinar-protocol';
import { FakeConnector, makeConference, settle, type TestConference } from '../fakes';

const ROOM = 'hall';

async function phone(t: TestConference, name: string, pin: string): Promise<FakeConnector> {
  const c = new FakeConnector({ name });
  const joining = t.conference.join({ room: ROOM, connector: c });
  await settle();
  c.session!.press(`${pin}#`);
  await joining;
  return c;
}

it('attendees publish nothing; promoted they publish, demoted they stop', async () => {
  const t = makeConference({
    joinTones: false,
    rooms: [{ name: ROOM, webinar: WebinarSchema.parse({ hostPin: '1111', attendeePin: '2222' }) }],
  });
  const host = await phone(t, 'host', '1111');
  const att = await phone(t, 'att', '2222');
  const feed = t.conference.getRoom(ROOM).feed;
  const owners = (): string[] => [...new Set(feed.list().map((p: Publication) => p.participantId))];
  const hostId = host.participant!.id;
  const attId = att.participant!.id;
  expect(att.participant!.role).toBe('attendee');
  expect(owners()).toEqual([hostId]);

  await t.conference.promote(attId);
  await settle();
  expect(owners().sort()).toEqual([hostId, attId].sort());

  await t.conference.demote(attId);
  await settle();
  expect(owners()).toEqual([hostId]);
});

it('in a plain room everyone publishes', async () => {
  const t = makeConference({ joinTones: false });
  const a = await t.join('demo', 'a');
  const b = await t.join('demo', 'b');
  const feed = t.conference.getRoom('demo').feed;
  expect(new Set(feed.list().map((p) => p.participantId))).toEqual(
    new Set([a.participant!.id, b.participant!.id]),
  );
});
