/** An opaque timer handle returned by a Clock. */
export type TimerHandle = unknown;

/**
 * The time source of the SIP layers. Transactions and dialogs take a Clock so that unit tests can drive the RFC 3261
 * timers step by step with a fake one (test/support/fake-clock.ts) instead of waiting.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. Timers are unref'ed: a pending retransmission never keeps the process alive on its own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
