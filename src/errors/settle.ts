import { ZodError } from 'zod';
import type { AckResult } from '../protocol/rtc-protocol';
import { AppError } from './app-error';

/**
 * Runs one socket.io request and turns its outcome into the acknowledgement both namespaces send (`/rtc`,
 * `/dashboard`): the result, or the catalogue error — a zod failure is API_BAD_REQUEST naming the field, an
 * AppError its own code, anything else INTERNAL (after `onUnexpected`, which logs it). Never throws.
 */
export async function settle(
  fn: () => unknown,
  onUnexpected: (err: unknown) => void,
): Promise<AckResult<unknown>> {
  try {
    return { ok: true, data: (await fn()) ?? null };
  } catch (err) {
    if (err instanceof ZodError) {
      const issue = err.issues[0];
      const where = issue?.path.join('.') || 'payload';
      return {
        ok: false,
        error: { code: 'API_BAD_REQUEST', message: `${where}: ${issue?.message ?? 'invalid'}` },
      };
    }
    if (err instanceof AppError) return { ok: false, error: { code: err.code, message: err.message } };
    onUnexpected(err);
    const e = new AppError('INTERNAL');
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
