/**
 * Livestream to RTMP, with real parts: the built server; a room with a Node tone phone (407 Hz, PCMU) and a
 * Chromium participant (fake camera, 613 Hz microphone); Debian's nginx with libnginx-mod-rtmp on a free loopback
 * port as the ingest (its own prefix, config, pid and logs in a temp dir, no root paths, killed at the end); ffmpeg
 * reading the stream back from nginx. The stream carries the full mix (both tones: no mix-minus) and the camera's
 * frames; the HLS of the same run plays in Chromium's viewer page (/live/<room>, hls.js); stop leaves no ffmpeg.
 * Needs `npm run build` (dist/ and dist/web/).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { toneDb } from '../support/tone-analysis';
import { dialTonePhone, HEARD_DB, stopAndReport } from './conference-helpers';
import { joinRoom } from './web-helpers';
import { alive, countVideoFrames, decodeAudio, waitStream, type StreamView } from './livestream-helpers';

jest.setTimeout(240_000);

let parley: E2eParley;
const phones: SipPhone[] = [];
let browser: TestBrowser | undefined;
let nginx: ChildProcess | undefined;
let nginxDir: string;
let rtmpPort: number;

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** nginx-rtmp as a non-root process with everything under its own temp prefix; resolves once it accepts. */
async function startNginx(): Promise<void> {
  nginxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-'));
  rtmpPort = await freeTcpPort();
  const conf = path.join(nginxDir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      'load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;',
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${nginxDir}/nginx.pid;`,
      `error_log ${nginxDir}/error.log info;`,
      'events { worker_connections 64; }',
      `rtmp { server { listen 127.0.0.1:${rtmpPort}; chunk_size 4096; application live { live on; record off; } } }`,
      '',
    ].join('\n'),
  );
  nginx = spawn('/usr/sbin/nginx', ['-p', nginxDir, '-c', conf, '-e', `${nginxDir}/error.log`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const end = Date.now() + 10000;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(rtmpPort, '127.0.0.1', () => {
        c.destroy();
        r(true);
      });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (nginx.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`nginx did not listen: ${fs.readFileSync(path.join(nginxDir, 'error.log'), 'utf8')}`);
}

beforeAll(async () => {
  await startNginx();
  parley = await startE2eParley({
    conference: { joinTones: false },
    config: { livestream: { width: 640, height: 360, frameRate: 15, videoBitrateKbps: 800 } },
  });
});

afterAll(async () => {
  await browser?.close();
  for (const p of phones) await p.close().catch(() => undefined);
  await stopAndReport(parley, __filename);
  if (nginx && nginx.exitCode === null) {
    nginx.kill('SIGKILL');
    await new Promise((r) => nginx!.once('exit', r));
  }
  fs.rmSync(nginxDir, { recursive: true, force: true });
});

/** Records `seconds` of the RTMP stream as nginx serves it to a player, without re-encoding. */
function readBack(url: string, seconds: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-y', '-i', url, '-t', String(seconds), '-c', 'copy', file],
      { timeout: 60000 },
      (err, _o, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
    );
  });
}

test('nginx-rtmp receives the room: the full mix (both tones) and the camera; HLS plays in Chromium; stop ends ffmpeg', async () => {
  const room = 'stage';
  await dialTonePhone(parley, phones, room, 'desk', 407);
  browser = await launchBrowser({ toneHz: 613, name: 'carol' });
  await joinRoom(browser, parley.http, room, 'Carol', { query: '?audio=raw' });
  await parley.waitParticipants(room, (ps) => ps.length === 2 && ps.some((p) => p.video === true), 20000);

  const url = `rtmp://127.0.0.1:${rtmpPort}/live/${room}`;
  const started = await parley.post<StreamView>(`/api/rooms/${room}/livestream`, { rtmp: [url], hls: true });
  expect(started.status).toBe(201);
  // The stream key (the path's last part) is not shown back.
  expect(started.body.outputs.rtmp).toEqual([`rtmp://127.0.0.1:${rtmpPort}/live/***`]);
  const live = await waitStream(parley, room, (v) => v.state === 'live' && v.video === 'camera', 60000);

  const flv = path.join(parley.dir, 'readback.flv');
  await readBack(url, 6, flv);
  const pcm = await decodeAudio(flv, 6);
  expect(pcm.length).toBeGreaterThan(16000 * 3);
  const tail = pcm.subarray(16000);
  const levels = { 407: toneDb(tail, 16000, 407), 613: toneDb(tail, 16000, 613) };
  expect({ levels, phone: levels[407] > HEARD_DB, browser: levels[613] > HEARD_DB }).toEqual({
    levels,
    phone: true,
    browser: true,
  });
  expect(await countVideoFrames(flv, 6)).toBeGreaterThan(15);

  // The same encode's HLS plays in the viewer page: its <video> advances.
  const viewer = await browser.context.newPage();
  await viewer.goto(`${parley.http}/live/${room}`);
  const video = viewer.getByLabel(`Livestream of ${room}`);
  await video.waitFor();
  const time = (): Promise<number> =>
    viewer.evaluate('document.querySelector("video").currentTime') as Promise<number>;
  const end = Date.now() + 40000;
  while ((await time()) < 1 && Date.now() < end) await sleep(250);
  const t1 = await time();
  await sleep(2000);
  const t2 = await time();
  expect({ t1: t1 >= 1, advances: t2 > t1 }).toEqual({ t1: true, advances: true });
  await viewer.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  fs.mkdirSync('test-artifacts', { recursive: true });
  await viewer.screenshot({ path: 'test-artifacts/livestream-viewer.png' });
  await viewer.close();

  const stopped = await parley.del<StreamView>(`/api/rooms/${room}/livestream`);
  expect(stopped.body.state).toBe('stopped');
  expect(alive(live.pid!)).toBe(false);
});
