/** The page's end of the /dashboard socket.io protocol and of the sign-in REST routes, as promises. */
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type Ack,
  type AckResult,
  type DashboardClientToServer,
  type DashboardServerToClient,
} from '../../../src/protocol/dashboard-protocol';

export type DashboardSocket = Socket<DashboardServerToClient, DashboardClientToServer>;

/** A request the server refused: `code` is a code of its error catalogue (AUTH_FORBIDDEN, ...). */
export class DashboardError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** For AUTH_RATE_LIMITED: seconds until trying again is useful, when the server said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DashboardError';
  }
}

type BareRequest = 'snapshot';
type RequestName = Exclude<keyof DashboardClientToServer, BareRequest>;
type PayloadOf<E extends RequestName> = Parameters<DashboardClientToServer[E]>[0];
type ResultOf<E extends keyof DashboardClientToServer> =
  Parameters<DashboardClientToServer[E]> extends [...unknown[], Ack<infer T>] ? T : never;

const TIMEOUT_MS = 20000;

/** Opens the namespace on this origin; the session cookie (HttpOnly, sent with the upgrade) authenticates it. */
export function connectDashboard(): DashboardSocket {
  return io(location.origin + DASHBOARD_NAMESPACE, {
    transports: ['websocket'],
    withCredentials: true,
    forceNew: true,
  });
}

/** Sends `event` with `payload`; resolves with the acknowledgement's data or rejects with a DashboardError. */
export function request<E extends RequestName>(
  socket: DashboardSocket,
  event: E,
  payload: PayloadOf<E>,
): Promise<ResultOf<E>> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new DashboardError('TIMEOUT', `the server did not answer (${event})`));
    }, TIMEOUT_MS);
    const ack = (r: AckResult<ResultOf<E>>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (r && r.ok) resolve(r.data);
      else reject(new DashboardError(r?.error?.code ?? 'UNKNOWN', r?.error?.message ?? `${event} failed`));
    };
    const emit = socket.emit.bind(socket) as unknown as (e: string, p: unknown, a: unknown) => void;
    emit(event, payload, ack);
  });
}

/** The error a socket.io handshake was refused with: the catalogue code when the server sent one. */
export function connectErrorCode(err: Error): string {
  const data = (err as Error & { data?: { code?: unknown } }).data;
  if (data && typeof data.code === 'string') return data.code;
  return err.message;
}

/**
 * POSTs JSON to one of the sign-in routes (same origin, so the HttpOnly cookie it sets is kept); rejects with a
 * DashboardError carrying the JSON error's code and message (and Retry-After for a 429).
 */
export async function postJson(path: string, body: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new DashboardError('NETWORK', 'The server cannot be reached.');
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // not JSON: keep the status only
  }
  if (res.ok) return json;
  const header = Number(res.headers.get('retry-after'));
  const fromBody = Number(json['retryAfterSeconds'] ?? json['retryAfter']);
  const retry = Number.isFinite(fromBody) && fromBody > 0 ? fromBody : header > 0 ? header : undefined;
  throw new DashboardError(
    typeof json['error'] === 'string' ? json['error'] : `HTTP_${res.status}`,
    typeof json['message'] === 'string' ? json['message'] : `The server answered ${res.status}.`,
    retry,
  );
}
