/**
 * A stored room read back at start (storedRoomDeclaration): a plain room as before, a webinar with its policy
 * re-validated by the API's schema (defaults filled), and a row the code cannot read refused naming room and key.
 */
import { storedRoomDeclaration, webinarColumn } from '../../../../src/conference/webinar/stored-room';
import type { RoomRecord } from '../../../../src/storage/store';

const row = (o: Partial<RoomRecord> = {}): RoomRecord => ({
  name: 'agm',
  displayName: null,
  pin: null,
  moderatorPin: '9999',
  maxParticipants: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'admin',
  webinar: null,
  ...o,
});

test('a plain room: only the keys it has', () => {
  expect(storedRoomDeclaration(row())).toEqual({ name: 'agm', moderatorPin: '9999' });
  expect(storedRoomDeclaration(row({ webinar: undefined }))).toEqual({ name: 'agm', moderatorPin: '9999' });
});

test('a webinar round-trips through its column, defaults filled by the schema', () => {
  const column = webinarColumn({ webinar: { hostPin: '1', lobby: true } as never });
  expect(storedRoomDeclaration(row({ webinar: column })).webinar).toEqual({
    hostPin: '1',
    lobby: true,
    joinMuted: true,
    listenOnly: true,
    waitForHost: false,
    reminderSeconds: 30,
  });
  expect(webinarColumn({})).toBeNull();
});

test('an unreadable policy is refused naming the room and the key (never opened as a plain room)', () => {
  expect(() => storedRoomDeclaration(row({ webinar: '{"hostPin":"abc"}' }))).toThrow(
    /stored room agm: webinar\.hostPin: PINs are 1-16 digits/,
  );
  expect(() => storedRoomDeclaration(row({ webinar: '{"hostPin":"1","future":true}' }))).toThrow(
    /stored room agm/,
  );
  expect(() => storedRoomDeclaration(row({ webinar: 'not json' }))).toThrow(
    /stored room agm: webinar is not JSON/,
  );
});
