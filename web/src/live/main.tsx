/**
 * `/live/<room>`: the room's livestream for an audience (no sign-in), played with hls.js from
 * `/live/<room>/index.m3u8` (Safari plays HLS natively). Bundled at build time: no CDN. hls.js runs without its
 * Web Worker (the page's CSP has no blob: scripts). While the stream is not (yet) running the page says so and
 * tries again.
 */
import Hls from 'hls.js';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { roomName } from '../../../src/protocol/rtc-protocol';
import { Logo } from '../common/icons';

type Status = 'waiting' | 'playing' | 'ended';

const STATUS_TEXT: Record<Status, string> = {
  waiting: 'Waiting for the stream to start…',
  playing: 'Live',
  ended: 'The stream has ended. Waiting for it to start again…',
};

function roomFromPath(): string | null {
  const m = /^\/live\/([^/]+)\/?$/.exec(location.pathname);
  const r = m ? roomName.safeParse(decodeURIComponent(m[1]!)) : undefined;
  return r?.success ? r.data : null;
}

function LivePage({ room }: { room: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [status, setStatus] = useState<Status>('waiting');
  const [muted, setMuted] = useState(true);
  const src = `/live/${encodeURIComponent(room)}/index.m3u8`;

  useEffect(() => {
    const el = video.current!;
    let hls: Hls | undefined;
    let retry: number | undefined;
    let stopped = false;
    const again = (s: Status): void => {
      setStatus(s);
      hls?.destroy();
      hls = undefined;
      if (!stopped) retry = window.setTimeout(start, 3000);
    };
    const start = async (): Promise<void> => {
      const head = await fetch(src, { cache: 'no-store' }).catch(() => undefined);
      if (stopped) return;
      if (!head?.ok) return again('waiting');
      if (!Hls.isSupported()) {
        el.src = src; // native HLS (Safari)
        void el.play().catch(() => undefined);
        return;
      }
      hls = new Hls({ enableWorker: false, liveSyncDurationCount: 3 });
      hls.on(Hls.Events.MANIFEST_PARSED, () => void el.play().catch(() => undefined));
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) again('ended');
      });
      hls.loadSource(src);
      hls.attachMedia(el);
    };
    const onPlaying = (): void => setStatus('playing');
    el.addEventListener('playing', onPlaying);
    void start();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      el.removeEventListener('playing', onPlaying);
      hls?.destroy();
    };
  }, [src]);

  return (
    <main class="center-page">
      <section class="card live-card" aria-labelledby="live-title">
        <Logo />
        <h1 id="live-title" class="card-title room-title">
          {room}
        </h1>
        <video
          ref={video}
          class="live-video"
          aria-label={`Livestream of ${room}`}
          muted={muted}
          autoplay
          playsInline
          controls
        />
        <p class="muted" role="status">
          {STATUS_TEXT[status]}
        </p>
        <button class="btn btn-primary" type="button" onClick={() => setMuted(!muted)}>
          {muted ? 'Unmute' : 'Mute'}
        </button>
      </section>
    </main>
  );
}

const room = roomFromPath();
const app = document.getElementById('app')!;
if (room) render(<LivePage room={room} />, app);
else app.textContent = 'No such room.';
