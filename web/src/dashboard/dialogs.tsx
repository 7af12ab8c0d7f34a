/**
 * The modal dialogs (one at a time, from the store): confirm a destructive action, move a participant, dial out,
 * create a room, claim a room with its moderator PIN. Never `window.confirm`: a page dialog is something an
 * injected script would open, and the tests treat any as an attack.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Icon } from '../common/icons';
import { nameOf } from './live';
import type { DashboardSession } from './session';
import type { DashboardState, Dialog } from './state';

type Props = { state: DashboardState; session: DashboardSession };

function value(e: Event): string {
  return (e.currentTarget as HTMLInputElement).value;
}

/** A modal: labelled by its title, the first field (or button) focused, Escape and the backdrop close it. */
export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, .modal-body button');
    (first ?? ref.current)?.focus();
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus?.();
    };
  }, []);
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        class={`modal${wide ? ' modal-wide' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby="modal-title"
        tabIndex={-1}
      >
        <div class="modal-head">
          <h2 id="modal-title" class="modal-title">
            {title}
          </h2>
          <button class="icon-btn icon-btn-small" type="button" aria-label="Close" onClick={onClose}>
            <Icon name="close" />
          </button>
        </div>
        <div class="modal-body">{children}</div>
      </div>
    </div>
  );
}

export function Dialogs({ state, session }: Props) {
  const d = state.dialog;
  if (!d) return null;
  const close = (): void => session.closeDialog();
  switch (d.kind) {
    case 'confirm':
      return <ConfirmDialog d={d} close={close} />;
    case 'move':
      return <MoveDialog d={d} state={state} session={session} close={close} />;
    case 'dial':
      return <DialDialog d={d} session={session} close={close} />;
    case 'create':
      return <CreateDialog session={session} close={close} />;
    case 'claim':
      return <ClaimDialog session={session} close={close} />;
  }
}

function ConfirmDialog({ d, close }: { d: Extract<Dialog, { kind: 'confirm' }>; close: () => void }) {
  return (
    <Modal title={d.title} onClose={close}>
      <p class="muted">{d.text}</p>
      <div class="modal-actions">
        <button class="btn btn-ghost" type="button" onClick={close}>
          Cancel
        </button>
        <button
          class={`btn ${d.danger ? 'btn-danger' : 'btn-primary'}`}
          type="button"
          onClick={() => {
            close();
            void d.run();
          }}
        >
          {d.action}
        </button>
      </div>
    </Modal>
  );
}

function MoveDialog({
  d,
  state,
  session,
  close,
}: { d: Extract<Dialog, { kind: 'move' }>; close: () => void } & Props) {
  const others = Object.values(state.rooms)
    .filter((r) => r.id !== d.participant.roomId)
    .sort((a, b) => a.id.localeCompare(b.id));
  const [to, setTo] = useState(others[0]?.id ?? '');
  const name = nameOf(d.participant);
  return (
    <Modal title={`Move ${name}`} onClose={close}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (!to.trim()) return;
          close();
          void session.move(d.participant, to.trim());
        }}
      >
        <label class="field">
          <span class="field-label">Destination room</span>
          <input
            class="input"
            list="move-rooms"
            required
            value={to}
            onInput={(e) => setTo(value(e))}
            autoComplete="off"
          />
          <datalist id="move-rooms">
            {others.map((r) => (
              <option key={r.id} value={r.id}>
                {r.displayName}
              </option>
            ))}
          </datalist>
        </label>
        <div class="modal-actions">
          <button class="btn btn-ghost" type="button" onClick={close}>
            Cancel
          </button>
          <button class="btn btn-primary" type="submit">
            Move
          </button>
        </div>
      </form>
    </Modal>
  );
}

function DialDialog({
  d,
  session,
  close,
}: {
  d: Extract<Dialog, { kind: 'dial' }>;
  session: DashboardSession;
  close: () => void;
}) {
  const [target, setTarget] = useState('');
  return (
    <Modal title={`Dial out from ${d.roomId}`} onClose={close}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (!target.trim()) return;
          close();
          void session.dial(d.roomId, target.trim());
        }}
      >
        <label class="field">
          <span class="field-label">SIP URI or registered user</span>
          <input
            class="input mono"
            required
            placeholder="sip:alice@example.com or alice"
            value={target}
            autoComplete="off"
            onInput={(e) => setTarget(value(e))}
          />
        </label>
        <div class="modal-actions">
          <button class="btn btn-ghost" type="button" onClick={close}>
            Cancel
          </button>
          <button class="btn btn-primary" type="submit">
            <Icon name="phone" /> Dial
          </button>
        </div>
      </form>
    </Modal>
  );
}

function CreateDialog({ session, close }: { session: DashboardSession; close: () => void }) {
  const [f, setF] = useState({ roomId: '', displayName: '', pin: '', moderatorPin: '' });
  const field = (k: keyof typeof f, label: string, extra: Record<string, unknown> = {}) => (
    <label class="field">
      <span class="field-label">{label}</span>
      <input
        class="input"
        autoComplete="off"
        value={f[k]}
        onInput={(e) => setF({ ...f, [k]: value(e) })}
        {...extra}
      />
    </label>
  );
  return (
    <Modal title="Create a room" onClose={close}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const req = {
            roomId: f.roomId.trim(),
            ...(f.displayName.trim() ? { displayName: f.displayName.trim() } : {}),
            ...(f.pin.trim() ? { pin: f.pin.trim() } : {}),
            ...(f.moderatorPin.trim() ? { moderatorPin: f.moderatorPin.trim() } : {}),
          };
          if (!req.roomId) return;
          close();
          void session.createRoom(req);
        }}
      >
        {field('roomId', 'Room name', { required: true, pattern: '[A-Za-z0-9._~\\-]{1,64}' })}
        {field('displayName', 'Display name')}
        <div class="field-pair">
          {field('pin', 'PIN', { inputMode: 'numeric', pattern: '[0-9]{1,16}' })}
          {field('moderatorPin', 'Moderator PIN', { inputMode: 'numeric', pattern: '[0-9]{1,16}' })}
        </div>
        <div class="modal-actions">
          <button class="btn btn-ghost" type="button" onClick={close}>
            Cancel
          </button>
          <button class="btn btn-primary" type="submit">
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}

function ClaimDialog({ session, close }: { session: DashboardSession; close: () => void }) {
  const [roomId, setRoomId] = useState('');
  const [pin, setPin] = useState('');
  return (
    <Modal title="Claim a room with its moderator PIN" onClose={close}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          close();
          void session.claimRoom(roomId.trim(), pin.trim());
        }}
      >
        <label class="field">
          <span class="field-label">Room</span>
          <input
            class="input"
            required
            autoComplete="off"
            value={roomId}
            onInput={(e) => setRoomId(value(e))}
          />
        </label>
        <label class="field">
          <span class="field-label">Moderator PIN</span>
          <input
            class="input"
            required
            inputMode="numeric"
            pattern="[0-9]{1,16}"
            autoComplete="off"
            value={pin}
            onInput={(e) => setPin(value(e))}
          />
        </label>
        <div class="modal-actions">
          <button class="btn btn-ghost" type="button" onClick={close}>
            Cancel
          </button>
          <button class="btn btn-primary" type="submit">
            Claim
          </button>
        </div>
      </form>
    </Modal>
  );
}
