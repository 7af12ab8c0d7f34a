/**
 * RFC 3261 §17.1.1.1 / Table 4 (Appendix A): T1 (RTT estimate, 500 ms), T2 (maximum retransmit interval for
 * non-INVITE requests and INVITE responses, 4 s), T4 (maximum duration a message remains in the network, 5 s).
 * All other timers derive from these.
 */
export interface TimerConfig {
  T1: number;
  T2: number;
  T4: number;
}

export const DEFAULT_TIMERS: Readonly<TimerConfig> = Object.freeze({ T1: 500, T2: 4000, T4: 5000 });

/** Timer B / F / H / J / L / M: 64*T1 (RFC 3261 Table 4, RFC 6026 §8.11 for L and M). */
export const timeout64 = (t: TimerConfig): number => 64 * t.T1;

/** Timer D: at least 32 s for unreliable transports, 0 for reliable (§17.1.1.2). */
export const timerD = (reliable: boolean): number => (reliable ? 0 : 32000);

/** Timer I and K: T4 for unreliable transports, 0 for reliable (§17.2.1, §17.1.2.2). */
export const timerIK = (t: TimerConfig, reliable: boolean): number => (reliable ? 0 : t.T4);
