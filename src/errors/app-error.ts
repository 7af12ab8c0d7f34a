import { ERROR_CATALOGUE, type CatalogueEntry, type ErrorCode } from './catalogue';

export { ERROR_CATALOGUE, type ErrorCode };

/**
 * An expected failure, always one of the catalogue's codes: it carries the SIP answer (status + reason phrase)
 * for the focus and the HTTP status for the REST API. Bugs stay plain `Error`s.
 */
export class AppError extends Error {
  readonly entry: CatalogueEntry;

  constructor(
    readonly code: ErrorCode,
    /** Detail for logs and the API's `message` (default: the catalogue's). */
    message?: string,
  ) {
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    super(message ?? entry.message);
    this.entry = entry;
    this.name = 'AppError';
  }

  get sipStatus(): number | undefined {
    return this.entry.sip?.status;
  }

  get sipReason(): string | undefined {
    return this.entry.sip?.reason;
  }

  get httpStatus(): number {
    return this.entry.http;
  }
}
