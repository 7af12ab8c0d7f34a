/**
 * The live view: the rooms (a list of cards with counts, lock, PIN, recording/streaming and a ticking duration),
 * and the selected room's participants in a table with every moderation action. Caller-supplied strings (display
 * names, URIs) are JSX text children only: Preact sets them as text nodes, never as markup.
 */
import type { DashboardParticipant, DashboardRoom } from '../../../src/protocol/dashboard-protocol';
import { Icon } from '../common/icons';
import {
  formatClock,
  formatDuration,
  formatLoss,
  formatMs,
  GRADE_LABEL,
  KIND_LABEL,
  mosGrade,
} from './format';
import type { DashboardSession } from './session';
import type { DashboardState } from './state';
import { RegisteredUsers } from './registered-users';

type Props = { state: DashboardState; session: DashboardSession };

/** The name a participant's buttons carry: the display name, or the URI when it has none. */
export function nameOf(p: DashboardParticipant): string {
  return p.displayName.trim() || p.uri;
}

function roomsSorted(state: DashboardState): DashboardRoom[] {
  return Object.values(state.rooms).sort(
    (a, b) => b.participants - a.participants || a.id.localeCompare(b.id),
  );
}

export function LiveView({ state, session }: Props) {
  const rooms = roomsSorted(state);
  const room = state.selectedRoom ? state.rooms[state.selectedRoom] : undefined;
  return (
    <div class="dash-live">
      <RoomsList state={state} session={session} rooms={rooms} />
      <section class="dash-room" aria-label="Room">
        {room ? (
          <RoomPanel state={state} session={session} room={room} />
        ) : (
          <div class="dash-empty">
            <h2>No rooms yet</h2>
            <p class="muted">Rooms appear here as soon as someone calls in, or create one.</p>
          </div>
        )}
      </section>
    </div>
  );
}

function RoomsList({ state, session, rooms }: Props & { rooms: DashboardRoom[] }) {
  const now = session.serverNow();
  const isPin = state.principal?.kind === 'pin';
  return (
    <nav class="dash-rooms" aria-label="Rooms">
      <div class="dash-rooms-head">
        <h2 class="dash-h2">
          Rooms <span class="count">{rooms.length}</span>
        </h2>
        <div class="row">
          {!isPin && (
            <button
              class="btn btn-primary btn-small"
              type="button"
              onClick={() => session.open({ kind: 'create' })}
            >
              Create room
            </button>
          )}
          <button
            class="btn btn-ghost btn-small"
            type="button"
            onClick={() => session.open({ kind: 'claim' })}
          >
            Claim room with moderator PIN
          </button>
        </div>
      </div>
      <ul class="room-list">
        {rooms.map((r) => (
          <li key={r.id}>
            <button
              type="button"
              class={`room-card${r.id === state.selectedRoom ? ' selected' : ''}`}
              aria-current={r.id === state.selectedRoom ? 'true' : undefined}
              onClick={() => session.selectRoom(r.id)}
            >
              <span class="room-card-top">
                <span class="room-card-name">{r.displayName || r.id}</span>
                <span class="room-card-count" title="Participants">
                  <Icon name="people" /> {r.participants}
                </span>
              </span>
              <span class="room-card-meta">
                <span class="mono">{r.id}</span>
                <span class="mono">{formatDuration(now - Date.parse(r.createdAt))}</span>
              </span>
              <RoomBadges room={r} />
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function RoomBadges({ room }: { room: DashboardRoom }) {
  return (
    <span class="badges">
      {room.locked && <span class="tag tag-warn">Locked</span>}
      {room.hasPin && <span class="tag">PIN</span>}
      {room.recording && <span class="tag tag-danger">Recording</span>}
      {room.streaming && <span class="tag tag-danger">Live</span>}
      {room.declared && <span class="tag tag-quiet">Declared</span>}
    </span>
  );
}

function RoomPanel({ state, session, room }: Props & { room: DashboardRoom }) {
  const people = Object.values(state.participants)
    .filter((p) => p.roomId === room.id)
    .sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
  const left = state.left.filter((l) => l.participant.roomId === room.id);
  const busy = (k: string): boolean => !!state.busy[`${k}:${room.id}`];
  const speaking = people.filter((p) => p.speaking).length;
  const isPin = state.principal?.kind === 'pin';
  const waiting = people.filter((p) => p.waiting !== null);
  return (
    <>
      <header class="room-head">
        <div class="room-head-title">
          <h2 class="dash-h1">{room.displayName || room.id}</h2>
          <p class="muted">
            <span class="mono">{room.id}</span> · {room.participants}{' '}
            {room.participants === 1 ? 'participant' : 'participants'} · {speaking} speaking · up for{' '}
            {formatDuration(session.serverNow() - Date.parse(room.createdAt))}
          </p>
          <RoomBadges room={room} />
        </div>
        <div class="room-actions" role="group" aria-label="Room actions">
          <button
            class="btn btn-ghost btn-small"
            type="button"
            disabled={busy('muteAll')}
            onClick={() => void session.muteAll(room.id, true)}
          >
            Mute all
          </button>
          <button
            class="btn btn-ghost btn-small"
            type="button"
            disabled={busy('muteAll')}
            onClick={() => void session.muteAll(room.id, false)}
          >
            Unmute all
          </button>
          <button
            class="btn btn-ghost btn-small"
            type="button"
            disabled={busy('lock')}
            onClick={() => void session.lock(room.id, !room.locked)}
          >
            <Icon name="lock" /> {room.locked ? 'Unlock room' : 'Lock room'}
          </button>
          <button
            class="btn btn-ghost btn-small"
            type="button"
            onClick={() => session.open({ kind: 'dial', roomId: room.id })}
          >
            <Icon name="phone" /> Dial out
          </button>
          <button
            class="btn btn-ghost btn-small"
            type="button"
            disabled={busy('stream')}
            onClick={() => void session.livestream(room.id, !room.streaming)}
          >
            {room.streaming ? 'Stop livestream' : 'Start livestream'}
          </button>
          <button
            class="btn btn-danger btn-small"
            type="button"
            disabled={busy('end')}
            onClick={() =>
              session.open({
                kind: 'confirm',
                title: `End ${room.displayName || room.id}?`,
                text: `Everyone in the room (${room.participants}) is disconnected.`,
                action: 'End room',
                danger: true,
                run: async () => void (await session.endRoom(room.id)),
              })
            }
          >
            End room
          </button>
          {room.declared && !isPin ? (
            <button
              class="btn btn-danger btn-small"
              type="button"
              disabled={busy('delete')}
              onClick={() =>
                session.open({
                  kind: 'confirm',
                  title: `Delete ${room.displayName || room.id}?`,
                  text: `Everyone in the room (${room.participants}) is disconnected, and a room created here is forgotten (a room of the configuration file only ends).`,
                  action: 'Delete room',
                  danger: true,
                  run: async () => void (await session.deleteRoom(room.id)),
                })
              }
            >
              Delete room
            </button>
          ) : null}
        </div>
      </header>
      {waiting.length > 0 && <WaitingList waiting={waiting} state={state} session={session} />}
      <div class="table-wrap">
        <table class="dash-table" aria-label={`Participants of ${room.displayName || room.id}`}>
          <thead>
            <tr>
              <th scope="col">Participant</th>
              <th scope="col">Kind</th>
              <th scope="col">Media</th>
              <th scope="col">State</th>
              <th scope="col">Joined</th>
              <th scope="col">Quality</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {people.length === 0 && (
              <tr>
                <td colSpan={7} class="table-empty">
                  Nobody is in this room.
                </td>
              </tr>
            )}
            {people.map((p) => (
              <ParticipantRow key={p.id} p={p} state={state} session={session} />
            ))}
          </tbody>
        </table>
      </div>
      <RegisteredUsers state={state} session={session} room={room} />
      {left.length > 0 && (
        <section class="left-list" aria-label="Recently left">
          <h3 class="dash-h3">Recently left</h3>
          <ul>
            {left.map((l) => (
              <li key={`${l.participant.id}-${l.leftAt}`}>
                <span class="left-name">{nameOf(l.participant)}</span>
                <span class="mono muted">{l.participant.uri}</span>
                <span class="muted">
                  left {formatClock(new Date(l.leftAt).toISOString())} ({l.reason})
                </span>
                <button
                  class="btn btn-ghost btn-tiny"
                  type="button"
                  aria-label={`Call ladder of ${nameOf(l.participant)}`}
                  onClick={() => void session.openLadder(l.participant)}
                >
                  Ladder
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

/** A webinar's waiting room: each person with "Admit X" and "Deny X" (a phone hears the outcome; a denied one is hung up). */
function WaitingList({ waiting, state, session }: { waiting: DashboardParticipant[] } & Props) {
  return (
    <section class="left-list" aria-label="Waiting">
      <h3 class="dash-h3">Waiting</h3>
      <ul>
        {waiting.map((p) => {
          const name = nameOf(p);
          const busy = !!state.busy[`admit:${p.id}`];
          return (
            <li key={p.id}>
              <span class="left-name">{name}</span>
              <span class="mono muted">{p.uri}</span>
              <span class="muted">
                {p.role} · {p.waiting === 'host' ? 'waiting for the host' : 'waiting to be admitted'}
              </span>
              <button
                class="btn btn-ghost btn-tiny"
                type="button"
                aria-label={`Admit ${name}`}
                disabled={busy}
                onClick={() => void session.admit(p, true)}
              >
                Admit
              </button>
              <button
                class="btn btn-danger-ghost btn-tiny"
                type="button"
                aria-label={`Deny ${name}`}
                disabled={busy}
                onClick={() => void session.admit(p, false)}
              >
                Deny
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ParticipantRow({ p, state, session }: { p: DashboardParticipant } & Props) {
  const name = nameOf(p);
  const busy = (k: string): boolean => !!state.busy[`${k}:${p.id}`];
  const joined = Date.parse(p.joinedAt);
  const grade = mosGrade(p.quality.mos);
  return (
    <tr class={p.speaking ? 'speaking' : undefined}>
      <td>
        <div class="cell-who">
          <span
            class={`speak-dot${p.speaking ? ' on' : ''}`}
            role="img"
            aria-label={p.speaking ? 'speaking' : 'silent'}
          />
          <span class="who">
            <span class="who-name">
              {p.displayName}
              {p.role === 'moderator' && <span class="tag tag-accent">Moderator</span>}
            </span>
            <span class="who-uri mono">{p.uri}</span>
            {p.referredBy !== undefined && <span class="who-uri muted">Referred by {p.referredBy}</span>}
          </span>
        </div>
      </td>
      <td>
        <span class={`kind kind-${p.kind}`}>{KIND_LABEL[p.kind] ?? p.kind}</span>
      </td>
      <td class="cell-media">
        <span class="mono">
          {p.transport.toUpperCase()} · {p.codec ?? '—'}
        </span>
        <span class="cell-line">
          <span class={p.srtp ? 'srtp on' : 'srtp'}>{p.srtp ? 'SRTP' : 'RTP'}</span>
          {p.video && <span class="tag tag-quiet">Video</span>}
        </span>
      </td>
      <td>
        <div class="cell-state">
          {p.speaking && <span class="tag tag-speaking">Speaking</span>}
          {p.muted && <span class="tag tag-danger">Muted</span>}
          {p.onHold && <span class="tag tag-warn">On hold</span>}
          {p.handRaised && <span class="tag tag-accent">Hand raised</span>}
          {p.role !== 'participant' && <span class="tag tag-quiet">{p.role}</span>}
          {p.waiting !== null && <span class="tag tag-warn">Waiting</span>}
          {!p.speaking && !p.muted && !p.onHold && !p.handRaised && <span class="muted">Listening</span>}
          {p.state !== 'connected' && p.state !== 'joined' && <span class="muted small">{p.state}</span>}
        </div>
      </td>
      <td class="cell-joined">
        <span class="mono">{formatClock(p.joinedAt)}</span>
        <span class="mono muted">{formatDuration(session.serverNow() - joined)}</span>
      </td>
      <td class="cell-quality">
        <span class={`mos mos-${grade}`}>
          <span class="mos-value mono">{p.quality.mos === null ? '—' : p.quality.mos.toFixed(1)}</span>
          <span class="mos-label">{GRADE_LABEL[grade]}</span>
        </span>
        <span class="quality-figures mono">
          <span>loss {formatLoss(p.quality)}</span>
          <span>jitter {formatMs(p.quality.jitterMs)}</span>
          <span>RTT {formatMs(p.quality.rttMs)}</span>
        </span>
      </td>
      <td>
        <div class="cell-actions">
          <button
            type="button"
            class={`btn btn-tiny ${p.muted ? 'btn-warn' : 'btn-ghost'}`}
            aria-label={`${p.muted ? 'Unmute' : 'Mute'} ${name}`}
            disabled={busy('mute')}
            onClick={() => void session.mute(p, !p.muted)}
          >
            <Icon name={p.muted ? 'micOff' : 'mic'} /> {p.muted ? 'Unmute' : 'Mute'}
          </button>
          {(p.role === 'attendee' || p.role === 'panelist') && (
            <button
              type="button"
              class="btn btn-ghost btn-tiny"
              aria-label={`${p.role === 'attendee' ? 'Promote' : 'Demote'} ${name}`}
              disabled={busy('promote')}
              onClick={() => void session.promote(p, p.role === 'attendee')}
            >
              {p.role === 'attendee' ? 'Promote' : 'Demote'}
            </button>
          )}
          <button
            type="button"
            class="btn btn-ghost btn-tiny"
            aria-label={`Move ${name}`}
            disabled={busy('move')}
            onClick={() => session.open({ kind: 'move', participant: p })}
          >
            Move
          </button>
          <button
            type="button"
            class="btn btn-ghost btn-tiny"
            aria-label={`Call ladder of ${name}`}
            onClick={() => void session.openLadder(p)}
          >
            Ladder
          </button>
          <button
            type="button"
            class="btn btn-danger-ghost btn-tiny"
            aria-label={`Kick ${name}`}
            disabled={busy('kick')}
            onClick={() =>
              session.open({
                kind: 'confirm',
                title: `Remove ${name}?`,
                text: 'Their call is ended (a phone gets a BYE, a browser is disconnected).',
                action: 'Kick',
                danger: true,
                run: async () => void (await session.kick(p)),
              })
            }
          >
            Kick
          </button>
        </div>
      </td>
    </tr>
  );
}
