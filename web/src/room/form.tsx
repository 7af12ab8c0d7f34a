/** Before the room: a name (remembered on this device), the PIN when the room has one, then "Join". */
import { useState } from 'preact/hooks';
import { Icon, Logo } from '../common/icons';
import type { RoomSession } from './session';
import type { RoomState } from './state';

const NAME_KEY = 'parley.displayName';

function savedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

export function JoinForm({ state, session }: { state: RoomState; session: RoomSession }) {
  const [name, setName] = useState(savedName);
  const [pin, setPin] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);
  const joining = state.phase === 'joining';
  const error = localError ?? state.formError;
  const submit = (e: Event): void => {
    e.preventDefault();
    const n = name.trim();
    if (!n) return setLocalError('Type your name: the others see it on your tile.');
    if (state.pinRequired && !/^[0-9]{1,16}$/.test(pin)) return setLocalError('The PIN is 1 to 16 digits.');
    setLocalError(null);
    try {
      localStorage.setItem(NAME_KEY, n);
    } catch {
      /* private mode: not remembered */
    }
    void session.join(n.slice(0, 64), state.pinRequired ? pin : undefined);
  };
  return (
    <main class="center-page">
      <section class="card" aria-labelledby="form-title">
        <Logo />
        <p class="eyebrow">You are joining</p>
        <h1 id="form-title" class="card-title room-title">
          {state.room}
        </h1>
        <form class="stack" onSubmit={submit} noValidate>
          <label class="field">
            <span class="field-label">Name</span>
            <input
              class="input"
              name="name"
              autoComplete="name"
              maxLength={64}
              autoFocus={!name}
              value={name}
              placeholder="How others see you"
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          {state.pinRequired && (
            <label class="field">
              <span class="field-label">Room PIN</span>
              <input
                class="input mono"
                name="pin"
                inputMode="numeric"
                autoComplete="off"
                maxLength={16}
                autoFocus
                value={pin}
                onInput={(e) => setPin((e.currentTarget as HTMLInputElement).value.replace(/\D/g, ''))}
              />
            </label>
          )}
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <button class="btn btn-primary btn-block" type="submit" disabled={joining}>
            {joining && <span class="spinner" aria-hidden="true" />}
            Join
          </button>
        </form>
        <p class="hint">
          <Icon name="lock" /> Your browser will ask to use your microphone and camera.
        </p>
      </section>
    </main>
  );
}

/**
 * The join waits in a webinar's lobby: says why (the server's `lobby` event), for as long as it takes (the join has
 * no time limit meanwhile). Announced to screen readers as a status.
 */
export function Waiting({ state, session }: { state: RoomState; session: RoomSession }) {
  const text =
    state.waitingFor === 'host'
      ? 'The webinar will start when the host joins'
      : 'Waiting for the host to admit you';
  return (
    <main class="center-page">
      <section class="card" aria-labelledby="wait-title">
        <Logo />
        <p class="eyebrow">You are joining</p>
        <h1 id="wait-title" class="card-title room-title">
          {state.room}
        </h1>
        <p class="row" role="status">
          <span class="spinner" aria-hidden="true" /> {text}
        </p>
        <button class="btn btn-ghost btn-block" type="button" onClick={() => session.cancelWaiting()}>
          Stop waiting
        </button>
      </section>
    </main>
  );
}

/** After leaving, or when the server ended this participant's session. */
export function Goodbye({ state, session }: { state: RoomState; session: RoomSession }) {
  const ended = state.phase === 'ended' ? state.ended : null;
  return (
    <main class="center-page">
      <section class="card" aria-labelledby="bye-title">
        <Logo />
        <h1 id="bye-title" class="card-title">
          {ended ? 'You are no longer in the room' : 'You left the room'}
        </h1>
        <p class="muted">{ended ? ended.message : `Thanks for joining ${state.roomDisplayName}.`}</p>
        <div class="row">
          <button class="btn btn-primary" type="button" onClick={() => session.rejoin()}>
            Rejoin
          </button>
          <a class="btn btn-ghost" href="/">
            Back to start
          </a>
        </div>
      </section>
    </main>
  );
}
