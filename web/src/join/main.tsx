/** `/`: type a room name (nothing private is listed here), or start a new room with a random name. */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { roomName } from '../../../src/protocol/rtc-protocol';
import { Icon, Logo } from '../common/icons';

const WORDS_A = ['amber', 'bright', 'calm', 'clever', 'coral', 'golden', 'lucky', 'quiet', 'rapid', 'silver'];
const WORDS_B = [
  'otter',
  'falcon',
  'harbor',
  'meadow',
  'comet',
  'maple',
  'river',
  'summit',
  'willow',
  'lynx',
];

function randomRoom(): string {
  const n = crypto.getRandomValues(new Uint32Array(3));
  return `${WORDS_A[n[0]! % WORDS_A.length]}-${WORDS_B[n[1]! % WORDS_B.length]}-${100 + (n[2]! % 900)}`;
}

function go(room: string): void {
  location.assign(`/r/${encodeURIComponent(room)}`);
}

function JoinPage() {
  const [room, setRoom] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: Event): void => {
    e.preventDefault();
    const r = roomName.safeParse(room.trim());
    if (!r.success) {
      setError(room.trim() ? 'Room names use letters, digits and . _ ~ - (up to 64).' : 'Type a room name.');
      return;
    }
    go(r.data);
  };
  return (
    <main class="center-page">
      <section class="card card-wide" aria-labelledby="join-title">
        <Logo />
        <h1 id="join-title" class="card-title">
          Meetings for browsers and phones
        </h1>
        <p class="muted">
          Join a room from here, or dial <span class="mono">sip:&lt;room&gt;@this-server</span> from any
          phone.
        </p>
        <form class="stack" onSubmit={submit} noValidate>
          <label class="field">
            <span class="field-label">Room name</span>
            <input
              class="input"
              name="room"
              autoComplete="off"
              autoFocus
              placeholder="e.g. weekly-sync"
              value={room}
              aria-invalid={error ? 'true' : 'false'}
              aria-describedby={error ? 'room-error' : undefined}
              onInput={(e) => {
                setRoom((e.currentTarget as HTMLInputElement).value);
                setError(null);
              }}
            />
          </label>
          {error && (
            <p id="room-error" class="form-error" role="alert">
              {error}
            </p>
          )}
          <button class="btn btn-primary btn-block" type="submit">
            Join room <Icon name="arrow" />
          </button>
        </form>
        <div class="divider">
          <span>or</span>
        </div>
        <button class="btn btn-ghost btn-block" type="button" onClick={() => go(randomRoom())}>
          Start a new room
        </button>
      </section>
    </main>
  );
}

render(<JoinPage />, document.getElementById('app')!);
