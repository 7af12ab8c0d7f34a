import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/rtc-protocol';

export interface TurnSettings {
  urls: readonly string[];
  /** The secret shared with the TURN server (coturn: `use-auth-secret` + `static-auth-secret`). */
  secret: string | null;
  ttlSeconds: number;
}

/**
 * Short-lived TURN credentials, the "TURN REST API" scheme (draft-uberti-behave-turn-rest-00) that coturn's
 * `use-auth-secret` implements: username = "<expiry unix time>:<user>", password = base64(HMAC-SHA1(secret,
 * username)). The TURN server checks the HMAC and the expiry; Parley never stores a TURN password.
 */
export function turnCredentials(
  settings: TurnSettings,
  user: string,
  nowMs = Date.now(),
): IceServer | undefined {
  if (!settings.secret || settings.urls.length === 0) return undefined;
  const username = `${Math.floor(nowMs / 1000) + settings.ttlSeconds}:${user}`;
  const credential = createHmac('sha1', settings.secret).update(username).digest('base64');
  return { urls: [...settings.urls], username, credential };
}
