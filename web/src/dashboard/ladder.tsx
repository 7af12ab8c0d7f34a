/**
 * The call ladder: the SIP messages of one participant's call between two vertical lines (the phone on the left,
 * Parley on the right), one arrow per message in the direction it travelled, labelled with its method or status
 * code and its time since the first message. Each arrow is a button ("INVITE at +0 ms"); pressing it shows the
 * message exactly as it was on the wire, as text.
 */
import type { LadderMessage } from '../../../src/protocol/dashboard-protocol';
import { Modal } from './dialogs';
import type { DashboardSession } from './session';
import type { DashboardState } from './state';

function statusClass(m: LadderMessage): string {
  if (m.status === null) return 'req';
  if (m.status < 200) return 'prov';
  if (m.status < 300) return 'ok';
  return 'err';
}

/** The arrow's accessible name: "INVITE at +0 ms", "200 at +35 ms". */
export function arrowName(m: LadderMessage, t0: number): string {
  return `${m.label} at +${Math.round(m.at - t0)} ms`;
}

export function LadderDialog({ state, session }: { state: DashboardState; session: DashboardSession }) {
  const view = state.ladder;
  if (!view) return null;
  const l = view.ladder;
  const t0 = l?.messages[0]?.at ?? 0;
  const selected = view.selected !== null ? l?.messages[view.selected] : undefined;
  return (
    <Modal title={`Call ladder of ${view.displayName}`} onClose={() => session.closeLadder()} wide>
      {!l && !view.error && (
        <p class="muted" role="status">
          Loading…
        </p>
      )}
      {view.error && (
        <p class="form-error" role="alert">
          {view.error}
        </p>
      )}
      {l && (
        <div class="ladder-layout">
          <div class="ladder">
            <p class="muted small">
              Call-ID <span class="mono">{l.callId}</span>
            </p>
            <div class="ladder-ends" aria-hidden="true">
              <span class="ladder-end">
                <strong>Phone</strong>
                <span class="mono">{l.remote}</span>
              </span>
              <span class="ladder-end">
                <strong>Parley</strong>
                <span class="mono">{l.local}</span>
              </span>
            </div>
            <ol class="ladder-rows" aria-label="SIP messages">
              {l.messages.map((m, i) => (
                <li key={i} class="ladder-row">
                  <span class="ladder-time mono" aria-hidden="true">
                    +{Math.round(m.at - t0)} ms
                  </span>
                  <span class="ladder-lane">
                    <button
                      type="button"
                      class={`arrow arrow-${m.direction === 'in' ? 'right' : 'left'} arrow-${statusClass(m)}${
                        view.selected === i ? ' selected' : ''
                      }`}
                      aria-label={arrowName(m, t0)}
                      aria-pressed={view.selected === i}
                      onClick={() => session.selectLadderMessage(view.selected === i ? null : i)}
                    >
                      <span class="arrow-label">
                        {m.label}
                        {m.status !== null && <span class="arrow-method"> {m.method}</span>}
                      </span>
                      <span class="arrow-line" aria-hidden="true" />
                    </button>
                  </span>
                </li>
              ))}
            </ol>
            {l.messages.length === 0 && <p class="muted">No SIP messages were kept for this call.</p>}
          </div>
          <div class="ladder-raw">
            {selected ? (
              <>
                <p class="muted small">
                  {selected.direction === 'in' ? 'Received from' : 'Sent to'}{' '}
                  <span class="mono">{selected.remote}</span> over {selected.transport.toUpperCase()} at{' '}
                  {new Date(selected.at).toISOString()}
                </p>
                <pre class="raw" aria-label={`Message ${arrowName(selected, t0)}`} tabIndex={0}>
                  {selected.raw}
                </pre>
              </>
            ) : (
              <p class="muted">Choose an arrow to see the whole message.</p>
            )}
          </div>
        </div>
      )}
    </Modal>
  );
}
