/** The tiles: one per participant (video, or an avatar with the name), the active speaker outlined. */
import { useEffect, useRef } from 'preact/hooks';
import type { PeerKind } from '../../../src/protocol/rtc-protocol';
import { Icon } from '../common/icons';
import type { RoomSession } from './session';
import type { RoomState } from './state';

const AVATAR_COLOURS = 8;

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]!, parts[parts.length - 1]!] : parts.slice(0, 1);
  return letters.map((p) => Array.from(p)[0]!.toUpperCase()).join('') || '?';
}

function colourOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % AVATAR_COLOURS;
}

/** The grid's shape class for this many tiles. */
function gridClass(n: number): string {
  if (n <= 1) return 'grid-1';
  if (n === 2) return 'grid-2';
  if (n <= 4) return 'grid-4';
  if (n <= 6) return 'grid-6';
  if (n <= 9) return 'grid-9';
  return 'grid-many';
}

interface TileProps {
  id: string;
  name: string;
  kind: PeerKind;
  self: boolean;
  muted: boolean;
  speaking: boolean;
  onHold: boolean;
  stream: MediaStream | null;
  /** Remote tiles report their visibility and size (consumers are paused off screen, layers follow the size). */
  session?: RoomSession;
}

function Tile(p: TileProps) {
  const ref = useRef<HTMLLIElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (video.current && video.current.srcObject !== p.stream) video.current.srcObject = p.stream;
  }, [p.stream]);
  useEffect(() => {
    const el = ref.current;
    const session = p.session;
    if (!el || !session) return;
    let visible = false;
    let width = el.clientWidth;
    const report = (): void => session.tileView(p.id, { visible, width });
    const io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) visible = e.isIntersecting && e.intersectionRatio > 0;
        report();
      },
      { threshold: [0, 0.01] },
    );
    const ro = new ResizeObserver((entries) => {
      for (const e of entries) width = Math.round(e.contentRect.width);
      report();
    });
    io.observe(el);
    ro.observe(el);
    return () => {
      io.disconnect();
      ro.disconnect();
      session.tileView(p.id, { visible: false, width });
    };
  }, [p.id, p.session]);
  const phone = p.kind === 'sip' || p.kind === 'sip-ws';
  const status = [p.self ? 'you' : null, phone ? 'on the phone' : null, p.muted ? 'microphone off' : null]
    .concat(p.speaking ? ['speaking'] : [], p.onHold ? ['on hold'] : [])
    .filter(Boolean)
    .join(', ');
  return (
    <li
      ref={ref}
      class={`tile${p.speaking ? ' speaking' : ''}${p.stream ? ' has-video' : ''}`}
      aria-label={status ? `${p.name} (${status})` : p.name}
      data-participant={p.id}
    >
      {p.stream ? (
        <video ref={video} class={`tile-video${p.self ? ' mirror' : ''}`} autoplay playsInline muted />
      ) : (
        <div class="tile-avatar" aria-hidden="true">
          <span class={`avatar avatar-c${colourOf(p.id + p.name)}`}>{initials(p.name)}</span>
          {phone && (
            <span class="tile-phone">
              <Icon name="phone" /> Phone
            </span>
          )}
        </div>
      )}
      <div class="tile-footer" aria-hidden="true">
        {p.muted && (
          <span class="tile-muted">
            <Icon name="micOff" />
          </span>
        )}
        <span class="tile-name">{p.self ? `${p.name} (you)` : p.name}</span>
        {p.onHold && <span class="tile-tag">on hold</span>}
      </div>
      {p.speaking && <span class="speaking-bars" aria-hidden="true" />}
    </li>
  );
}

export function Stage({ state, session }: { state: RoomState; session: RoomSession }) {
  const me = state.me;
  const count = state.peers.length + (me ? 1 : 0);
  return (
    <section class="stage" aria-label="Participants">
      <ul class={`grid ${gridClass(count)}`}>
        {me && (
          <Tile
            id={me.id}
            name={me.displayName}
            kind="webrtc"
            self
            muted={me.micMuted}
            speaking={me.speaking && !me.micMuted}
            onHold={false}
            stream={me.camOff ? null : state.localVideo}
          />
        )}
        {state.peers.map((p) => {
          const v = state.remote[p.id]?.video;
          return (
            <Tile
              key={p.id}
              id={p.id}
              name={p.displayName}
              kind={p.kind}
              self={false}
              muted={p.muted}
              speaking={p.speaking && !p.muted}
              onHold={p.onHold}
              stream={v && p.video !== false ? streamOf(v.track) : null}
              session={session}
            />
          );
        })}
      </ul>
      <AudioSinks state={state} />
    </section>
  );
}

const trackStreams = new WeakMap<MediaStreamTrack, MediaStream>();
/** One MediaStream per track, kept (a new one each render would restart the video element). */
function streamOf(track: MediaStreamTrack): MediaStream {
  let s = trackStreams.get(track);
  if (!s) trackStreams.set(track, (s = new MediaStream([track])));
  return s;
}

/** Every remote audio track plays in its own element, whether its tile is on screen or not. */
function AudioSinks({ state }: { state: RoomState }) {
  return (
    <div class="audio-sinks" aria-hidden="true">
      {Object.entries(state.remote).map(([id, r]) =>
        r.audio ? <AudioSink key={id} track={r.audio} /> : null,
      )}
    </div>
  );
}

function AudioSink({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = streamOf(track);
    void el.play().catch(() => undefined);
  }, [track]);
  return <audio ref={ref} autoplay />;
}
