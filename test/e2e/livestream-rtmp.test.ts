/**
 * Livestream to RTMP, with real parts: the built server; a room with a Node tone phone (407 Hz, PCMU) and a
 * Chromium participant (fake camera, 613 Hz microphone); Debian's nginx with libnginx-mod-rtmp on a free loopback
 * port as the ingest (its own prefix, config, pid and logs in a temp dir, no root paths, killed at the end); ffmpeg
 * reading the stream back from nginx. The stream carries the full mix (both tones: no mix-minus) and the camera's
 * frames; the HLS of the same run plays in Chromium's viewer page (/live/<room>, hls.js); stop leaves no ffmpeg.
 * RTMPS: a TLS terminator on loopback (Node's tls with a throwaway certificate from Debian's openssl, in front of
 * the same nginx, as hosted ingests put TLS in front of RTMP) receives an rtmps:// output over TLS, and the tone
 * read back from nginx proves the stream went through it; ffmpeg checked the certificate (`livestream.rtmpsCaFile`
 * names it as the trusted CA): a terminator with another certificate gets nothing past the TLS handshake.
 * Needs `npm run build` (dist/ and dist/web/).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
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

let trusted: Cert;

beforeAll(async () => {
  await startNginx();
  trusted = await makeCert('trusted');
  parley = await startE2eParley({
    conference: { joinTones: false },
    config: {
      livestream: {
        width: 640,
        height: 360,
        frameRate: 15,
        videoBitrateKbps: 800,
        rtmpsCaFile: trusted.cert,
      },
    },
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

interface Cert {
  key: string;
  cert: string;
}

/** A self-signed certificate for 127.0.0.1 (its subjectAltName is what ffmpeg checks the URL's host against). */
async function makeCert(name: string): Promise<Cert> {
  const key = path.join(nginxDir, `${name}-key.pem`);
  const cert = path.join(nginxDir, `${name}-cert.pem`);
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'];
  args.push('-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
  await new Promise<void>((resolve, reject) =>
    execFile('openssl', args, (err) => (err ? reject(err) : resolve())),
  );
  return { key, cert };
}

/**
 * A TLS terminator in front of nginx-rtmp (what an rtmps:// ingest is) with `cert`: counts the TLS sessions it
 * accepted and the bytes it passed on to the ingest.
 */
async function startRtmpsProxy(cert: Cert): Promise<{
  port: number;
  sessions: () => number;
  bytesToIngest: () => number;
  close: () => Promise<void>;
}> {
  let sessions = 0;
  let bytes = 0;
  const open = new Set<net.Socket>();
  const server = tls.createServer(
    { key: fs.readFileSync(cert.key), cert: fs.readFileSync(cert.cert) },
    (clear) => {
      sessions++;
      const upstream = net.connect(rtmpPort, '127.0.0.1');
      open.add(clear).add(upstream);
      clear.on('data', (d: Buffer) => (bytes += d.length));
      clear.pipe(upstream).pipe(clear);
      const end = (): void => {
        clear.destroy();
        upstream.destroy();
        open.delete(clear);
        open.delete(upstream);
      };
      clear.once('error', end).once('close', end);
      upstream.once('error', end).once('close', end);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sessions: () => sessions,
    bytesToIngest: () => bytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of open) c.destroy();
      }),
  };
}

test('rtmps://: the stream reaches the ingest over TLS, its certificate checked (the tone read back behind it)', async () => {
  const room = 'tls-stage';
  await dialTonePhone(parley, phones, room, 'desk2', 407);
  const proxy = await startRtmpsProxy(trusted);
  try {
    const started = await parley.post<StreamView>(`/api/rooms/${room}/livestream`, {
      rtmp: [`rtmps://127.0.0.1:${proxy.port}/live/${room}`],
    });
    expect(started.status).toBe(201);
    expect(started.body.outputs.rtmp).toEqual([`rtmps://127.0.0.1:${proxy.port}/live/***`]);
    const live = await waitStream(parley, room, (v) => v.state === 'live', 60000);
    const flv = path.join(parley.dir, 'readback-tls.flv');
    await readBack(`rtmp://127.0.0.1:${rtmpPort}/live/${room}`, 4, flv);
    expect(proxy.sessions()).toBeGreaterThanOrEqual(1);
    expect(proxy.bytesToIngest()).toBeGreaterThan(10000);
    const pcm = await decodeAudio(flv, 4);
    const level = toneDb(pcm.subarray(16000), 16000, 407);
    expect({ level, heard: level > HEARD_DB }).toEqual({ level, heard: true });
    expect(await countVideoFrames(flv, 4)).toBeGreaterThan(5);
    expect((await parley.del<StreamView>(`/api/rooms/${room}/livestream`)).body.state).toBe('stopped');
    expect(alive(live.pid!)).toBe(false);
  } finally {
    await proxy.close();
  }
});

test('rtmps:// to an ingest whose certificate is not trusted: nothing is sent to it, the stream does not go live', async () => {
  const room = 'tls-impostor';
  await dialTonePhone(parley, phones, room, 'desk3', 407);
  const impostor = await startRtmpsProxy(await makeCert('impostor'));
  try {
    const started = await parley.post<StreamView>(`/api/rooms/${room}/livestream`, {
      rtmp: [`rtmps://127.0.0.1:${impostor.port}/live/${room}`],
    });
    expect(started.status).toBe(201);
    // ffmpeg refuses the handshake and exits; the supervisor restarts it with back-off.
    const view = await waitStream(parley, room, (v) => v.restarts >= 1, 60000);
    expect(view.state).not.toBe('live');
    // ffmpeg (GnuTLS) checks the certificate once the handshake is done, then hangs up before any RTMP: the
    // terminator saw a session, and not one byte of it went on to the ingest.
    expect(impostor.sessions()).toBeGreaterThanOrEqual(1);
    expect(impostor.bytesToIngest()).toBe(0);
    expect((await parley.del<StreamView>(`/api/rooms/${room}/livestream`)).body.state).toBe('stopped');
  } finally {
    await impostor.close();
  }
});
