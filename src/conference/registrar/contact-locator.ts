/**
 * Dial-by-name (issue 13 contract): the registered contact URIs of one of our users, best first (highest q, then
 * the most recently registered). Empty when the user has no live binding. The registrar implements it; the
 * conference's dial-out uses it (through `LocatingDialer`) for targets that are a user name rather than a SIP URI.
 */
export interface ContactLocator {
  locate(user: string): Promise<string[]>;
}
