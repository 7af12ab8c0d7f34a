/** The sign-in page: an account (username + password), or a room's moderator PIN for that room only. */
import { useState } from 'preact/hooks';
import { Logo } from '../common/icons';
import type { DashboardSession } from './session';
import type { DashboardState } from './state';

function value(e: Event): string {
  return (e.currentTarget as HTMLInputElement).value;
}

export function SignIn({ state, session }: { state: DashboardState; session: DashboardSession }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [roomId, setRoomId] = useState('');
  const [pin, setPin] = useState('');
  if (state.phase === 'checking')
    return (
      <main class="center-page">
        <p class="muted" role="status">
          Connecting…
        </p>
      </main>
    );
  return (
    <main class="center-page">
      <section class="card card-wide" aria-labelledby="signin-title">
        <Logo />
        <h1 id="signin-title" class="card-title">
          Moderator dashboard
        </h1>
        <p class="muted">Sign in to watch and run every conference on this server.</p>
        <form
          class="stack"
          aria-label="Sign in with an account"
          onSubmit={(e) => {
            e.preventDefault();
            void session.signIn(username.trim(), password);
          }}
        >
          <label class="field">
            <span class="field-label">Username</span>
            <input
              class="input"
              name="username"
              autoComplete="username"
              autoFocus
              required
              value={username}
              onInput={(e) => setUsername(value(e))}
            />
          </label>
          <label class="field">
            <span class="field-label">Password</span>
            <input
              class="input"
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(value(e))}
            />
          </label>
          {state.signinError && (
            <p class="form-error" role="alert">
              {state.signinError}
            </p>
          )}
          <button class="btn btn-primary btn-block" type="submit" disabled={state.signingIn}>
            {state.signingIn ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <div class="divider">
          <span>or moderate one room</span>
        </div>
        <form
          class="pin-form"
          aria-label="Sign in with a moderator PIN"
          onSubmit={(e) => {
            e.preventDefault();
            void session.signInWithPin(roomId.trim(), pin.trim());
          }}
        >
          <label class="field">
            <span class="field-label">Room</span>
            <input
              class="input"
              name="room"
              autoComplete="off"
              required
              value={roomId}
              onInput={(e) => setRoomId(value(e))}
            />
          </label>
          <label class="field">
            <span class="field-label">Moderator PIN</span>
            <input
              class="input"
              name="moderator-pin"
              inputMode="numeric"
              autoComplete="off"
              pattern="[0-9]{1,16}"
              required
              value={pin}
              onInput={(e) => setPin(value(e))}
            />
          </label>
          <button class="btn btn-ghost" type="submit" disabled={state.signingIn}>
            Sign in with PIN
          </button>
        </form>
      </section>
    </main>
  );
}
