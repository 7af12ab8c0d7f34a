/**
 * "Registered users" in a room's panel: our SIP users (registrar accounts) with their availability — available
 * (registered, in no call), in a call (and in which room), offline — and an "Invite <user>" button for each
 * available one, which dials the user by name through the ordinary dial-out command (the server finds the
 * registered contact). Accounts and API tokens only: a moderator-PIN session never receives the list.
 */
import type { DashboardRoom, UserAvailabilityView } from '../../../src/protocol/dashboard-protocol';
import type { DashboardSession } from './session';
import type { DashboardState } from './state';

const STATE_TEXT: Record<UserAvailabilityView['state'], string> = {
  available: 'Available',
  'in-call': 'In a call',
  offline: 'Offline',
};

export function RegisteredUsers({
  state,
  session,
  room,
}: {
  state: DashboardState;
  session: DashboardSession;
  room: DashboardRoom;
}) {
  if (state.principal?.kind === 'pin') return null;
  const users = Object.values(state.users).sort((a, b) => a.user.localeCompare(b.user));
  const busy = !!state.busy[`dial:${room.id}`];
  return (
    <section class="left-list" aria-label="Registered users">
      <h3 class="dash-h3">
        Registered users <span class="count">{users.filter((u) => u.registered).length}</span>
      </h3>
      {users.length === 0 ? (
        <p class="muted">No phone has registered.</p>
      ) : (
        <ul>
          {users.map((u) => (
            <li key={u.user}>
              <span class="left-name">{u.user}</span>
              <span class={`tag${u.state === 'available' ? '' : ' tag-quiet'}`}>{STATE_TEXT[u.state]}</span>
              <span class="muted">
                {u.calls.length > 0
                  ? `in ${u.calls.map((c) => c.roomId).join(', ')}`
                  : u.contacts[0]
                    ? u.contacts[0].uri
                    : ''}
              </span>
              {u.registered && !u.calls.some((c) => c.roomId === room.id) && (
                <button
                  class="btn btn-ghost btn-small"
                  type="button"
                  disabled={busy}
                  onClick={() => void session.dial(room.id, u.user)}
                >
                  Invite {u.user}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
