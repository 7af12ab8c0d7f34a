/** The side chat panel: messages with sender and time, attachments, "Seen by …", a composer with a file. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage } from '../../../src/protocol/rtc-protocol';
import { Icon } from '../common/icons';
import { formatBytes, type RoomSession } from './session';
import type { RoomState } from './state';

function timeOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Names for participant ids: the people here now, and the senders of earlier messages. */
function nameBook(state: RoomState): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of state.chat) if (m.from) names.set(m.from, m.fromName);
  for (const p of state.peers) names.set(p.id, p.displayName);
  if (state.me) names.set(state.me.id, 'you');
  return names;
}

export function ChatPanel({ state, session }: { state: RoomState; session: RoomSession }) {
  const list = useRef<HTMLOListElement>(null);
  const names = nameBook(state);
  const atBottom = useRef(true);
  const last = state.chat[state.chat.length - 1]?.id;

  // Keep the newest message in view unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = list.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [last]);

  // A message counts as seen when it is on screen in the open panel while the page is visible.
  useEffect(() => {
    const root = list.current;
    if (!root) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (document.visibilityState !== 'visible') return;
        for (const e of entries)
          if (e.isIntersecting) session.markSeen((e.target as HTMLElement).dataset['messageId']!);
      },
      { root, threshold: 0.6 },
    );
    root.querySelectorAll('[data-message-id]').forEach((el) => io.observe(el));
    return () => io.disconnect();
  }, [session, state.chat.length]);

  return (
    <aside id="chat-panel" class="chat" aria-label="Chat">
      <div class="chat-head">
        <h2 class="chat-title">Chat</h2>
        <button
          type="button"
          class="icon-btn"
          aria-label="Close chat panel"
          onClick={() => session.setChatOpen(false)}
        >
          <Icon name="close" />
        </button>
      </div>
      <ol
        ref={list}
        class="chat-list"
        aria-label="Messages"
        aria-live="polite"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLElement;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {state.chat.length === 0 && <li class="chat-empty">No messages yet. Say hello!</li>}
        {state.chat.map((m) => (
          <Message
            key={m.id}
            m={m}
            mine={m.from !== null && m.from === state.me?.id}
            names={names}
            session={session}
          />
        ))}
      </ol>
      <Composer state={state} session={session} />
    </aside>
  );
}

function Message({
  m,
  mine,
  names,
  session,
}: {
  m: ChatMessage;
  mine: boolean;
  names: Map<string, string>;
  session: RoomSession;
}) {
  // Receipts on one's own messages ("Seen by Alice, Bob").
  const seen = mine ? m.seenBy.filter((id) => id !== m.from).map((id) => names.get(id) ?? 'someone') : [];
  return (
    <li class={`msg${mine ? ' msg-mine' : ''}${m.from === null ? ' msg-system' : ''}`} data-message-id={m.id}>
      <div class="msg-meta">
        <span class="msg-from">{mine ? 'You' : m.fromName}</span>
        <time class="msg-time" dateTime={m.at}>
          {timeOf(m.at)}
        </time>
      </div>
      {m.text && <p class="msg-text">{m.text}</p>}
      {m.attachment && (
        <div class="attachment">
          <Icon name="file" class="attachment-icon" />
          <div class="attachment-info">
            <span class="attachment-name">{m.attachment.name}</span>
            <span class="attachment-size">{formatBytes(m.attachment.size)}</span>
          </div>
          <button
            type="button"
            class="icon-btn"
            aria-label={`Download ${m.attachment.name}`}
            onClick={() => void session.download(m.attachment!)}
          >
            <Icon name="download" />
          </button>
        </div>
      )}
      {seen.length > 0 && <p class="msg-seen">Seen by {seen.join(', ')}</p>}
    </li>
  );
}

function Composer({ state, session }: { state: RoomState; session: RoomSession }) {
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const send = async (e?: Event): Promise<void> => {
    e?.preventDefault();
    if (busy || (!text.trim() && !file)) return;
    setBusy(true);
    const ok = await session.sendChat(text, file);
    setBusy(false);
    if (ok) {
      setText('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
    }
  };
  return (
    <form class="composer" onSubmit={(e) => void send(e)}>
      {file && (
        <div class="composer-file">
          <Icon name="file" />
          <span class="attachment-name">{file.name}</span>
          <span class="attachment-size">{formatBytes(file.size)}</span>
          <button
            type="button"
            class="icon-btn icon-btn-small"
            aria-label="Remove attachment"
            onClick={() => {
              setFile(null);
              if (fileInput.current) fileInput.current.value = '';
            }}
          >
            <Icon name="close" />
          </button>
        </div>
      )}
      <div class="composer-row">
        <input
          ref={fileInput}
          id="chat-file"
          type="file"
          class="sr-only"
          aria-label="Attach file"
          onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
        />
        <label for="chat-file" class="icon-btn" title="Attach a file" aria-hidden="true">
          <Icon name="attach" />
        </label>
        <textarea
          class="composer-input"
          rows={1}
          aria-label="Message"
          placeholder="Send a message"
          maxLength={4000}
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) void send(e);
          }}
        />
        <button
          type="submit"
          class="icon-btn icon-btn-accent"
          aria-label="Send message"
          disabled={busy || state.uploading || (!text.trim() && !file)}
        >
          {busy || state.uploading ? <span class="spinner" aria-hidden="true" /> : <Icon name="send" />}
        </button>
      </div>
    </form>
  );
}
