/** The page's end of the /rtc socket.io protocol: typed requests with an acknowledgement, as promises. */
import { io, type Socket } from 'socket.io-client';
import {
  RTC_NAMESPACE,
  type Ack,
  type AckResult,
  type RtcClientToServer,
  type RtcServerToClient,
} from '../../../src/protocol/rtc-protocol';

export type RtcSocket = Socket<RtcServerToClient, RtcClientToServer>;

/** A request the server refused: `code` is a code of its error catalogue (RTC_PIN_REQUIRED, ...). */
export class RtcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RtcError';
  }
}

/** The requests without a payload (only an acknowledgement). */
type BareRequest = 'leave' | 'capabilities';
type RequestName = Exclude<keyof RtcClientToServer, BareRequest>;
type PayloadOf<E extends RequestName> = Parameters<RtcClientToServer[E]>[0];
type ResultOf<E extends keyof RtcClientToServer> =
  Parameters<RtcClientToServer[E]> extends [...unknown[], Ack<infer T>] ? T : never;

const TIMEOUT_MS = 15000;

export function connectRtc(): RtcSocket {
  return io(location.origin + RTC_NAMESPACE, { transports: ['websocket'], autoConnect: true });
}

function settle<T>(event: string, resolve: (v: T) => void, reject: (e: Error) => void) {
  let done = false;
  const timer = setTimeout(() => {
    done = true;
    reject(new RtcError('TIMEOUT', `no answer to ${event}`));
  }, TIMEOUT_MS);
  return (r: AckResult<T>): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (r && r.ok) resolve(r.data);
    else reject(new RtcError(r?.error?.code ?? 'UNKNOWN', r?.error?.message ?? `${event} failed`));
  };
}

/** Sends `event` with `payload` and resolves with the acknowledgement's data (rejects with an RtcError). */
export function request<E extends RequestName>(
  socket: RtcSocket,
  event: E,
  payload: PayloadOf<E>,
): Promise<ResultOf<E>> {
  return new Promise((resolve, reject) => {
    const emit = socket.emit.bind(socket) as unknown as (e: string, p: unknown, ack: unknown) => void;
    emit(event, payload, settle<ResultOf<E>>(event, resolve, reject));
  });
}

/** A request without a payload (`leave`, `capabilities`). */
export function requestBare<E extends BareRequest>(socket: RtcSocket, event: E): Promise<ResultOf<E>> {
  return new Promise((resolve, reject) => {
    const emit = socket.emit.bind(socket) as unknown as (e: string, ack: unknown) => void;
    emit(event, settle<ResultOf<E>>(event, resolve, reject));
  });
}
