import { DigestClient, type DigestServer } from '../auth/digest';
import type { AuthHook, DigestAuthorizer } from './user-agent-core';

/**
 * Dial-out: answers a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge with the strongest supported
 * digest (RFC 3261 §22.2, RFC 8760), using DigestClient.
 */
export const digestAuthorizer: DigestAuthorizer = (challenge, req, credentials) => {
  const proxy = challenge.status === 407;
  const picked = DigestClient.pickChallenge(
    challenge.headers.getAll(proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate'),
  );
  if (!picked) return undefined;
  const value = new DigestClient(credentials).authorize(req.method, req.uri.toString(), picked);
  return { name: proxy ? 'Proxy-Authorization' : 'Authorization', value };
};

export interface DigestAuthHookOptions {
  /** challenge with 407/Proxy-Authenticate instead of 401/WWW-Authenticate */
  proxy?: boolean;
  /** only these methods are challenged (default: INVITE) */
  methods?: string[];
}

/**
 * The UAS auth hook built on DigestServer (RFC 3261 §22.1): requests without valid credentials get 401 (or 407)
 * with one challenge per algorithm; a correct digest on an expired nonce gets a challenge with stale=true.
 */
export function digestAuthHook(
  server: DigestServer,
  lookupPassword: (username: string) => string | undefined,
  opts: DigestAuthHookOptions = {},
): AuthHook {
  const methods = new Set(opts.methods ?? ['INVITE']);
  const status = opts.proxy ? 407 : 401;
  const challengeHeader = opts.proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
  const credentialsHeader = opts.proxy ? 'Proxy-Authorization' : 'Authorization';
  return (req) => {
    if (!methods.has(req.method)) return undefined;
    let stale = false;
    for (const value of req.headers.getAll(credentialsHeader)) {
      const v = server.verify(req.method, value, lookupPassword);
      if (v.result === 'ok') return undefined;
      if (v.result === 'stale') stale = true;
    }
    return { status, headers: { [challengeHeader]: server.challenges({ stale }) } };
  };
}
