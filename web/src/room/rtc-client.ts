/** The page's end of the /rtc socket.io protocol: typed requests with an acknowledgement, as promises. */
import { io, type Socket } from 'socket.io-client';
import {
  RTC_NAMESPACE,
  type Ack,
  type AckResult,
  type RtcClientToServer,
  type RtcServerToClient,
} from '../../../src/protocol/rtc-protocol';
import { AnswerDeadline, DeadlineState, type DeadlineClock, type LobbyState } from './answer-deadline';

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

const pageClock: DeadlineClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** The acknowledgement callback of one request, and the deadline it runs under (TIMEOUT_MS unless held). */
function settle<T>(
  event: string,
  resolve: (v: T) => void,
  reject: (e: Error) => void,
): { ack: (r: AckResult<T>) => void; deadline: AnswerDeadline } {
  const deadline = new AnswerDeadline(TIMEOUT_MS, pageClock, () =>
    reject(new RtcError('TIMEOUT', `no answer to ${event}`)),
  );
  deadline.start();
  const ack = (r: AckResult<T>): void => {
    if (deadline.state === DeadlineState.Done) return;
    deadline.settle();
    if (r && r.ok) resolve(r.data);
    else reject(new RtcError(r?.error?.code ?? 'UNKNOWN', r?.error?.message ?? `${event} failed`));
  };
  return { ack, deadline };
}

/** Sends `event` with `payload` and resolves with the acknowledgement's data (rejects with an RtcError). */
export function request<E extends RequestName>(
  socket: RtcSocket,
  event: E,
  payload: PayloadOf<E>,
): Promise<ResultOf<E>> {
  return new Promise((resolve, reject) => {
    const emit = socket.emit.bind(socket) as unknown as (e: string, p: unknown, ack: unknown) => void;
    emit(event, payload, settle<ResultOf<E>>(event, resolve, reject).ack);
  });
}

/**
 * `join`, which may wait in a webinar's lobby for as long as a host takes: the server's `lobby` events hold the
 * deadline while it waits (see AnswerDeadline) and are passed on to `onLobby` (the page shows why it waits).
 */
export function requestJoin(
  socket: RtcSocket,
  payload: PayloadOf<'join'>,
  onLobby: (state: LobbyState) => void,
): Promise<ResultOf<'join'>> {
  return new Promise((resolve, reject) => {
    const listener = (e: { state: LobbyState }): void => {
      deadline.lobby(e.state);
      onLobby(e.state);
    };
    const done =
      <A extends unknown[]>(f: (...a: A) => void) =>
      (...a: A) => {
        socket.off('lobby', listener);
        f(...a);
      };
    const { ack, deadline } = settle<ResultOf<'join'>>('join', done(resolve), done(reject));
    socket.on('lobby', listener);
    const emit = socket.emit.bind(socket) as unknown as (e: string, p: unknown, ack: unknown) => void;
    emit('join', payload, ack);
  });
}

/** A request without a payload (`leave`, `capabilities`). */
export function requestBare<E extends BareRequest>(socket: RtcSocket, event: E): Promise<ResultOf<E>> {
  return new Promise((resolve, reject) => {
    const emit = socket.emit.bind(socket) as unknown as (e: string, ack: unknown) => void;
    emit(event, settle<ResultOf<E>>(event, resolve, reject).ack);
  });
}
