/**
 * An expected failure that carries the status to answer with: a SIP status for the focus, an HTTP status for the
 * REST API. Bugs stay plain `Error`s.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly sipStatus?: number,
    readonly httpStatus: number = 500,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`, 404, 404);
  }
}
