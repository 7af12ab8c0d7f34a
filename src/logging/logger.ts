import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Fields that child loggers carry, so every line of a call can be found by its ids. */
export interface LogContext {
  callId?: string;
  roomId?: string;
  participantId?: string;
  component?: string;
  [key: string]: unknown;
}

/** Header values that must never reach a log (credentials). */
const REDACT = ['*.authorization', '*.proxyAuthorization', 'req.headers.authorization'];

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { app: 'parley' },
    redact: REDACT,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything (tests and benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
