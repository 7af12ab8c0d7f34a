/** `/r/<room>`: the join form, then the room (tiles, controls, chat). */
import { render } from 'preact';
import { useStore } from '../common/store';
import { ChatPanel } from './chat';
import { ControlBar, TopBar } from './controls';
import { Goodbye, JoinForm, Waiting } from './form';
import { RoomSession } from './session';
import { Stage } from './stage';
import { createRoomStore } from './state';

const room = decodeURIComponent(location.pathname.replace(/^\/r\//, '').replace(/\/$/, ''));
const store = createRoomStore(room);
const session = new RoomSession(store);
document.title = `${room} · Parley`;

function App() {
  const state = useStore(store);
  if (state.phase === 'form' || state.phase === 'joining')
    return <JoinForm state={state} session={session} />;
  if (state.phase === 'waiting') return <Waiting state={state} session={session} />;
  if (state.phase === 'left' || state.phase === 'ended') return <Goodbye state={state} session={session} />;
  return (
    <div class={`room${state.chatOpen ? ' with-chat' : ''}`}>
      <TopBar state={state} session={session} />
      <main class="room-main">
        <Stage state={state} session={session} />
        {state.chatOpen && <ChatPanel state={state} session={session} />}
      </main>
      <ControlBar state={state} session={session} />
      {state.toast && (
        <div class="toast" role="status" key={state.toast.id}>
          {state.toast.text}
        </div>
      )}
    </div>
  );
}

window.addEventListener('pagehide', () => {
  if (store.get().phase === 'in-room') void session.leave();
});

render(<App />, document.getElementById('app')!);
