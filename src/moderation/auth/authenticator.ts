import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../../protocol/dashboard-protocol';

/**
 * Who a request or a dashboard socket is: resolved from the HttpOnly session cookie
 * (`SESSION_COOKIE`, set by `POST /api/auth/login` or `POST /api/auth/pin`) or from
 * `Authorization: Bearer <API token>`. Implemented by `AuthService`; the REST middleware and the dashboard's
 * socket.io handshake both use it, so both channels authenticate the same way.
 */
export interface Authenticator {
  /** The principal of an HTTP request's headers (cookie or bearer token); undefined when none is valid. */
  fromHeaders(headers: IncomingHttpHeaders): Principal | undefined;
  /**
   * The principal of a socket.io handshake: its cookie header, or `auth.token` (an API token) from the client.
   * Undefined when none is valid.
   */
  fromHandshake(headers: IncomingHttpHeaders, auth: Record<string, unknown>): Principal | undefined;
  /**
   * Adds room `roomId` to the grants of the session the headers carry, when `moderatorPin` is that room's
   * moderator PIN (throws AUTH_WRONG_PIN, or AUTH_RATE_LIMITED after too many wrong PINs from `source`);
   * returns the updated principal.
   */
  claimRoom(
    headers: IncomingHttpHeaders,
    auth: Record<string, unknown>,
    roomId: string,
    moderatorPin: string,
    source: string | null,
  ): Principal;
  /**
   * Called with the session's id hash whenever a session ends (logout, expiry): open dashboards sign out. An empty
   * hash means every session of that principal ended (account disabled, password changed). Returns the
   * unsubscribe function.
   */
  onSessionEnded(listener: (principalName: string, sessionIdHash: string) => void): () => void;
}
