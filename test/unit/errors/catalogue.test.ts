import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../../../src/errors/app-error';

describe('error catalogue', () => {
  test.each(Object.keys(ERROR_CATALOGUE) as ErrorCode[])(
    '%s: an HTTP error status, a SIP final status with its reason',
    (code) => {
      const e = new AppError(code);
      expect(e.httpStatus).toBeGreaterThanOrEqual(400);
      expect(e.httpStatus).toBeLessThan(600);
      expect(e.message.length).toBeGreaterThan(0);
      if (e.sipStatus !== undefined) {
        // RFC 3261 §21: failures are 4xx-6xx, with a reason phrase
        expect(e.sipStatus).toBeGreaterThanOrEqual(400);
        expect(e.sipStatus).toBeLessThan(700);
        expect(e.sipReason).toMatch(/\S/);
      }
    },
  );

  test("a detail message replaces the default; the statuses stay the entry's", () => {
    const e = new AppError('CONF_ROOM_LOCKED', 'room x is locked');
    expect([e.message, e.sipStatus, e.sipReason, e.httpStatus]).toEqual([
      'room x is locked',
      403,
      'Forbidden (conference locked)',
      423,
    ]);
  });
});
