import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

/**
 * An event map: event name → tuple of listener arguments. Constrained by its own keys, not by a string index
 * signature, so `on('participantLfet')` on an emitter of a map without that key does not compile.
 */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/**
 * EventEmitter with a typed event map (mediasoup's EnhancedEventEmitter in spirit). `safeEmit` never lets a
 * listener's exception escape into the emitter's own logic.
 */
export class TypedEmitter<E extends EventMap<E>> extends EventEmitter {
  constructor(protected readonly emitterLog?: Pick<Logger, 'error'>) {
    super();
    this.setMaxListeners(Infinity);
  }

  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  override emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return super.emit(event, ...args);
  }

  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      this.emitterLog?.error({ err, event }, 'event listener threw');
      return true;
    }
  }
}
