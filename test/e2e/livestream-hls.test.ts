/**
 * Livestream to HLS and a recording, with real parts: the built server, a Node tone phone (407 Hz, PCMU) in the
 * room, Debian's ffmpeg encoding the room (the full mix + a still) and ffmpeg again reading back what Parley serves
 * at /live/<room>/index.m3u8 and what it recorded. A SIGKILLed ffmpeg is restarted and the playlist grows again;
 * stopping leaves no ffmpeg process and no temp dir; an RTMP ingest nobody listens on is given up after the
 * configured restarts (failed, with ffmpeg's error); "live", "stopped" and "failed" reach a webhook receiver (a
 * local HTTP server); the REST errors come from the catalogue.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { toneDb } from '../support/tone-analysis';
import { dialTonePhone, expectCatalogue, HEARD_DB, stopAndReport } from './conference-helpers';
import { alive, decodeAudio, segments, waitStream, type StreamView } from './livestream-helpers';

jest.setTimeout(180_000);

let parley: E2eParley;
const phones: SipPhone[] = [];
const liveDirs = (): string[] => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('parley-live-'));
let dirsBefore: string[];
/** The webhook deliveries received. */
const hooks: Array<{ type: string; room: { id: string }; data: Record<string, unknown> }> = [];
let hookServer: http.Server;

beforeAll(async () => {
  dirsBefore = liveDirs();
  hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as (typeof hooks)[number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
  parley = await startE2eParley({
    config: {
      livestream: {
        width: 640,
        height: 360,
        frameRate: 15,
        videoBitrateKbps: 600,
        restartInitialMs: 200,
        maxRestarts: 2,
        maxConcurrent: 1,
      },
      webhooks: [{ url: hookUrl, secret: 'a-webhook-secret-for-tests', events: ['livestream.*'] }],
    },
  });
});

afterAll(async () => {
  for (const p of phones) await p.close().catch(() => undefined);
  await stopAndReport(parley, __filename);
  await new Promise((r) => hookServer.close(r));
});

async function hooked(type: string, room: string): Promise<(typeof hooks)[number]> {
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    const h = hooks.find((x) => x.type === type && x.room.id === room);
    if (h) return h;
    await sleep(100);
  }
  throw new Error(`no ${type} webhook for ${room}; got ${JSON.stringify(hooks.map((h) => h.type))}`);
}

async function playlist(room: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${parley.http}/live/${room}/index.m3u8`);
  return { status: r.status, text: await r.text() };
}

/** Waits until the playlist lists a segment not in `seen`. */
async function newSegment(room: string, seen: readonly string[], timeoutMs = 30000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const p = await playlist(room);
    const fresh = p.status === 200 ? segments(p.text).filter((s) => !seen.includes(s)) : [];
    if (fresh.length) return fresh.at(-1)!;
    await sleep(250);
  }
  throw new Error(`no new segment in ${room}'s playlist`);
}

test('refuses a body without output and a URL that is not RTMP, from the catalogue', async () => {
  await dialTonePhone(parley, phones, 'errs', 'eve', null);
  await parley.waitParticipants('errs', (ps) => ps.length === 1);
  expectCatalogue(
    await parley.post('/api/rooms/errs/livestream', {}),
    'LIVESTREAM_NO_OUTPUT',
    'nothing asked',
  );
  expectCatalogue(
    await parley.post('/api/rooms/errs/livestream', { rtmp: ['http://example.org/x'] }),
    'LIVESTREAM_BAD_URL',
    'http URL',
  );
  expectCatalogue(
    await parley.post('/api/rooms/errs/livestream', { rtmp: ['rtmp://h/app/a|[f=mp4]/tmp/x'] }),
    'LIVESTREAM_BAD_URL',
    'tee injection',
  );
  expectCatalogue(await parley.api('/api/rooms/errs/livestream'), 'LIVESTREAM_NOT_LIVE', 'never started');
  expectCatalogue(
    await parley.del('/api/rooms/errs/livestream'),
    'LIVESTREAM_NOT_LIVE',
    'stop without stream',
  );
  expectCatalogue(
    await parley.post('/api/rooms/nosuch/livestream', { hls: true }),
    'CONF_ROOM_NOT_FOUND',
    'no room',
  );
  expect((await parley.request('GET', '/api/rooms/errs/livestream', undefined, { auth: false })).status).toBe(
    401,
  );
});

test('HLS and a recording carry the room mix; a killed ffmpeg is restarted; stop leaves nothing', async () => {
  await dialTonePhone(parley, phones, 'show', 'alice', 407);
  await parley.waitParticipants('show', (ps) => ps.length === 1);

  const started = await parley.post<StreamView>('/api/rooms/show/livestream', { hls: true, record: true });
  expect(started.status).toBe(201);
  expect(started.body).toMatchObject({ roomId: 'show', outputs: { hls: '/live/show/index.m3u8', rtmp: [] } });
  expectCatalogue(
    await parley.post('/api/rooms/show/livestream', { hls: true }),
    'LIVESTREAM_ALREADY_LIVE',
    'twice',
  );
  const live = await waitStream(parley, 'show', (v) => v.state === 'live');
  expect(live).toMatchObject({ video: 'still', restarts: 0, lastError: null });
  const firstPid = live.pid!;
  expect(alive(firstPid)).toBe(true);
  // The still names the room and who speaks: its text file (drawtext re-reads it) in the stream's temp dir.
  const [tmp] = liveDirs().filter((d) => !dirsBefore.includes(d));
  const stillFile = path.join(os.tmpdir(), tmp!, 'still.txt');
  const end = Date.now() + 15000;
  while (!/Speaking: alice/.test(fs.readFileSync(stillFile, 'utf8')) && Date.now() < end) await sleep(200);
  expect(fs.readFileSync(stillFile, 'utf8')).toBe('show\nSpeaking: alice\n');
  // The livestream is not a participant.
  expect((await parley.participants('show')).map((p) => p.displayName)).toEqual(['alice']);

  // The playlist and its segments are served; what they carry is the phone's tone.
  const seg = await newSegment('show', []);
  const segRes = await fetch(`${parley.http}/live/show/${seg}`);
  expect(segRes.status).toBe(200);
  expect(segRes.headers.get('content-type')).toContain('video/mp2t');
  expect((await segRes.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  const pcm = await decodeAudio(`${parley.http}/live/show/index.m3u8`, 4);
  expect(pcm.length).toBeGreaterThan(16000 * 2);
  expect(toneDb(pcm.subarray(8000), 16000, 407)).toBeGreaterThan(HEARD_DB);
  // Nothing else of the disk is reachable under /live.
  expect((await fetch(`${parley.http}/live/show/stream.sdp`)).status).toBe(404);
  expect((await fetch(`${parley.http}/live/show/..%2Fstream.sdp`)).status).toBe(404);

  // SIGKILL ffmpeg: the supervisor starts a new one and the playlist grows again.
  const before = segments((await playlist('show')).text);
  process.kill(firstPid, 'SIGKILL');
  const again = await waitStream(
    parley,
    'show',
    (v) => v.state === 'live' && v.restarts === 1 && v.pid !== firstPid,
  );
  expect(alive(firstPid)).toBe(false);
  await newSegment('show', before);

  // Stop: no ffmpeg, no playlist, no temp dir; the recording stays and holds the tone.
  const stopped = await parley.del<StreamView>('/api/rooms/show/livestream');
  expect(stopped.status).toBe(200);
  expect(stopped.body.state).toBe('stopped');
  expect(alive(again.pid!)).toBe(false);
  expect((await playlist('show')).status).toBe(404);
  expect(liveDirs().filter((d) => !dirsBefore.includes(d))).toEqual([]);
  expect((await hooked('livestream.live', 'show')).data).toMatchObject({ state: 'live' });
  expect((await hooked('livestream.stopped', 'show')).data).toMatchObject({
    state: 'stopped',
    outputs: { hls: '/live/show/index.m3u8' },
  });
  const recording = stopped.body.outputs.recording!;
  expect(recording.startsWith(path.join(parley.dir, 'recordings'))).toBe(true);
  const rec = await decodeAudio(recording, 3);
  expect(rec.length).toBeGreaterThan(16000 * 2);
  expect(toneDb(rec.subarray(8000), 16000, 407)).toBeGreaterThan(HEARD_DB);
});

test('an RTMP ingest nobody listens on is given up after the restarts: failed, with the error, and a webhook', async () => {
  await dialTonePhone(parley, phones, 'nowhere', 'bob', 407);
  await parley.waitParticipants('nowhere', (ps) => ps.length === 1);
  const r = await parley.post<StreamView>('/api/rooms/nowhere/livestream', {
    rtmp: ['rtmp://127.0.0.1:9/live/key'],
  });
  expect(r.status).toBe(201);
  // maxRestarts 2: the first run and two restarts fail, then it is given up.
  const failed = await waitStream(parley, 'nowhere', (v) => v.state === 'failed', 60000);
  expect(failed.restarts).toBe(2);
  expect(failed.pid).toBeNull();
  expect(failed.lastError).toMatch(/Connection refused|rtmp|error/i);
  const hook = await hooked('livestream.failed', 'nowhere');
  expect(hook.data).toMatchObject({ state: 'failed', error: failed.lastError });
  // A failed stream is over: a new one may start.
  expectCatalogue(
    await parley.del('/api/rooms/nowhere/livestream'),
    'LIVESTREAM_NOT_LIVE',
    'stop after failed',
  );
  expect(liveDirs().filter((d) => !dirsBefore.includes(d))).toEqual([]);
});

test("the room's end stops its stream: ffmpeg ends, a stopped webhook, nothing left", async () => {
  await dialTonePhone(parley, phones, 'ends', 'carl', 407);
  await parley.waitParticipants('ends', (ps) => ps.length === 1);
  expect((await parley.post('/api/rooms/ends/livestream', { hls: true })).status).toBe(201);
  const live = await waitStream(parley, 'ends', (v) => v.state === 'live');
  // livestream.maxConcurrent is 1 here: a second room's stream is refused while this one runs.
  expectCatalogue(
    await parley.post('/api/rooms/errs/livestream', { hls: true }),
    'LIVESTREAM_TOO_MANY',
    'cap',
  );
  expect((await parley.del('/api/rooms/ends')).status).toBe(200);
  expect((await hooked('livestream.stopped', 'ends')).data).toMatchObject({ state: 'stopped' });
  expect(alive(live.pid!)).toBe(false);
  expect((await playlist('ends')).status).toBe(404);
  expect(liveDirs().filter((d) => !dirsBefore.includes(d))).toEqual([]);
});

test('a killed mediasoup worker: the room recovers and its stream is rebuilt on the new router', async () => {
  const phone = await dialTonePhone(parley, phones, 'fault', 'dora', 407);
  await parley.waitParticipants('fault', (ps) => ps.length === 1);
  expect((await parley.post('/api/rooms/fault/livestream', { hls: true })).status).toBe(201);
  const live = await waitStream(parley, 'fault', (v) => v.state === 'live');
  const before = segments((await playlist('fault')).text);

  const started = parley.logs('mediasoup worker started');
  process.kill(Number(started[started.length - 1]?.workerPid), 'SIGKILL');
  const again = await waitStream(parley, 'fault', (v) => v.state === 'live' && v.pid !== live.pid, 60000);
  expect(again.restarts).toBe(1);
  expect(again.lastError).toMatch(/router closed/);
  expect(alive(live.pid!)).toBe(false);
  // The phone stayed, and the rebuilt stream carries it again.
  expect(phone.framesHeard(Date.now() - 1000)).toBeGreaterThan(0);
  await newSegment('fault', before);
  const pcm = await decodeAudio(`${parley.http}/live/fault/index.m3u8`, 4);
  expect(toneDb(pcm.subarray(8000), 16000, 407)).toBeGreaterThan(HEARD_DB);
  expect((await parley.del<StreamView>('/api/rooms/fault/livestream')).body.state).toBe('stopped');
});
