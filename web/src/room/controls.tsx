/** The top bar (room, people, connection) and the bottom control bar (mic, camera, devices, chat, leave). */
import { useEffect, useRef } from 'preact/hooks';
import { Icon, Logo } from '../common/icons';
import type { RoomSession } from './session';
import type { RoomState } from './state';

export function TopBar({ state, session }: { state: RoomState; session: RoomSession }) {
  const me = state.me;
  // A webinar: the stage (hosts, panelists, promoted attendees) and the audience, which the page does not list.
  const stage = state.peers.length + (me && me.role !== 'attendee' ? 1 : 0);
  const count = state.peers.length + (me ? 1 : 0);
  const people =
    state.audience > 0
      ? `${stage} on stage · ${state.audience} in the audience`
      : `${count} ${count === 1 ? 'participant' : 'participants'}`;
  const copy = (): void => {
    const url = `${location.origin}/r/${encodeURIComponent(state.room)}`;
    navigator.clipboard?.writeText(url).then(
      () => session.toast('Invite link copied'),
      () => session.toast(url),
    );
  };
  return (
    <header class="topbar">
      <Logo />
      <div class="topbar-room">
        <h1 class="topbar-title">{state.roomDisplayName}</h1>
        <span class="topbar-meta">
          <Icon name="people" /> {people}
        </span>
      </div>
      {state.phase === 'reconnecting' && (
        <span class="chip chip-warn" role="status">
          <span class="spinner" aria-hidden="true" /> Reconnecting…
        </span>
      )}
      <button class="btn btn-ghost btn-small" type="button" onClick={copy}>
        Copy invite link
      </button>
    </header>
  );
}

export function ControlBar({ state, session }: { state: RoomState; session: RoomSession }) {
  const me = state.me;
  if (!me) return null;
  const micOff = me.micMuted || me.micMissing;
  const camOff = me.camOff || me.camMissing;
  return (
    <nav class="controls" aria-label="Call controls">
      <div class="controls-group">
        <button
          type="button"
          class={`ctrl${micOff ? ' ctrl-off' : ''}`}
          aria-label={
            me.listenOnly
              ? 'Unmute microphone (listen-only: a host can invite you to speak)'
              : me.micMuted
                ? 'Unmute microphone'
                : 'Mute microphone'
          }
          title={
            me.listenOnly
              ? 'Listen-only: a host can invite you to speak'
              : me.mutedByModerator
                ? 'Muted by a moderator'
                : me.micMuted
                  ? 'Unmute'
                  : 'Mute'
          }
          disabled={me.micMissing || me.listenOnly}
          onClick={() => void session.toggleMic()}
        >
          <Icon name={micOff ? 'micOff' : 'mic'} />
        </button>
        <button
          type="button"
          class={`ctrl${camOff ? ' ctrl-off' : ''}`}
          aria-label={
            me.listenOnly
              ? 'Turn camera on (listen-only: a host can invite you to speak)'
              : camOff
                ? 'Turn camera on'
                : 'Turn camera off'
          }
          title={
            me.listenOnly
              ? 'Listen-only: a host can invite you to speak'
              : camOff
                ? 'Camera on'
                : 'Camera off'
          }
          disabled={me.listenOnly}
          onClick={() => void session.toggleCamera()}
        >
          <Icon name={camOff ? 'camOff' : 'cam'} />
        </button>
        <button
          type="button"
          class={`ctrl${state.devicesOpen ? ' ctrl-active' : ''}`}
          aria-label="Microphone and camera settings"
          aria-expanded={state.devicesOpen}
          aria-controls="device-panel"
          title="Devices"
          onClick={() => session.setDevicesOpen(!state.devicesOpen)}
        >
          <Icon name="devices" />
        </button>
      </div>
      <div class="controls-group">
        <button
          type="button"
          class={`ctrl${state.chatOpen ? ' ctrl-active' : ''}`}
          aria-label={state.chatOpen ? 'Close chat' : 'Open chat'}
          aria-expanded={state.chatOpen}
          aria-controls="chat-panel"
          title="Chat"
          onClick={() => session.setChatOpen(!state.chatOpen)}
        >
          <Icon name="chat" />
          {state.unread > 0 && !state.chatOpen && (
            <span class="badge" aria-hidden="true">
              {state.unread > 9 ? '9+' : state.unread}
            </span>
          )}
        </button>
        <button type="button" class="btn btn-danger btn-leave" onClick={() => void session.leave()}>
          <Icon name="leave" />
          Leave
        </button>
      </div>
      {state.devicesOpen && <DevicePanel state={state} session={session} />}
    </nav>
  );
}

function DevicePanel({ state, session }: { state: RoomState; session: RoomSession }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector('select')?.focus();
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') session.setDevicesOpen(false);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [session]);
  const { mics, cams, micId, camId } = state.devices;
  return (
    <div ref={ref} id="device-panel" class="popover" role="dialog" aria-label="Devices">
      <div class="popover-head">
        <h2 class="popover-title">Devices</h2>
        <button
          type="button"
          class="icon-btn"
          aria-label="Close device settings"
          onClick={() => session.setDevicesOpen(false)}
        >
          <Icon name="close" />
        </button>
      </div>
      <label class="field">
        <span class="field-label">Microphone</span>
        <select
          class="input"
          value={micId ?? ''}
          disabled={mics.length === 0}
          onChange={(e) => void session.selectMic((e.currentTarget as HTMLSelectElement).value)}
        >
          {mics.length === 0 && <option value="">No microphone found</option>}
          {mics.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span class="field-label">Camera</span>
        <select
          class="input"
          value={camId ?? ''}
          disabled={cams.length === 0}
          onChange={(e) => void session.selectCamera((e.currentTarget as HTMLSelectElement).value)}
        >
          {cams.length === 0 && <option value="">No camera found</option>}
          {cams.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
