/**
 * Large audiences (issue 12 item 4), end to end in Debian's Chromium against the built server with two mediasoup
 * workers and `rtc.fanout.viewersPerRouterBeforeSpill: 0`: a webinar's host (a browser with the fake camera and a
 * 407 Hz tone as microphone) stays on the room's router; an attendee's browser is placed on the room's router on
 * the second worker (the server's 'browser viewer placed' log: worker 1, a router other than the room's), and there,
 * through the piped copies of the host's producers, it hears the host's tone (WebAudio in the page) and decodes the
 * camera's frames (getStats). The attendee's page opens neither microphone nor camera (no live track, no producer
 * on the server, the camera button disabled), and the server refuses a produce from an attendee over the raw
 * protocol (the rtc-probe client: RTC_ATTENDEE_CANNOT_PUBLISH); promoted over REST the page opens both and the host
 * receives its camera and sound, demoted it closes them again (the host's consumers go, the tracks stop). The
 * audience is not on stage: no page lists an attendee; a promoted one appears on the host's page and goes when
 * demoted. The room's end closes the fan-out router.
 * Needs `npx tsc -p tsconfig.build.json` and the web build (`node scripts/build-web.mjs`).
 */
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { stopAndReport } from './conference-helpers';
import { probeJoin, serveProbe, type ProbeServer } from '../support/rtc-probe';
import { inPage, joinRoom, pageToneLevels, waitStats } from './web-helpers';

jest.setTimeout(180_000);

const ROOM = 'auditorium';
const HOST_PIN = '1111';
const ATTENDEE_PIN = '2222';
const TONE = 407;
const ABSENT = 613;

let parley: E2eParley | undefined;
let probe: ProbeServer | undefined;
const browsers: TestBrowser[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    conference: {
      joinTones: false,
      rooms: [{ name: ROOM, webinar: { hostPin: HOST_PIN, attendeePin: ATTENDEE_PIN } }],
    },
    config: { rtc: { fanout: { enabled: true, viewersPerRouterBeforeSpill: 0 } } },
    env: { PARLEY_RTC_NUM_WORKERS: '2' },
  });
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await probe?.close();
  await stopAndReport(parley, __filename);
});

test('an attendee on the second worker hears the host and sees its camera through piped producers', async () => {
  const p = parley!;
  const host = await launchBrowser({ toneHz: TONE, name: 'host' });
  const viewer = await launchBrowser({ name: 'attendee' });
  browsers.push(host, viewer);

  // Original sound (?audio=raw): Chromium's noise suppression would fade a steady test tone.
  const hostId = await joinRoom(host, p.http, ROOM, 'Presenter', { pin: HOST_PIN, query: '?audio=raw' });
  const viewerId = await joinRoom(viewer, p.http, ROOM, 'Viewer', { pin: ATTENDEE_PIN });
  const parties = await p.waitParticipants(ROOM, (l) => l.length === 2, 15000);
  expect(parties.find((x) => x.id === viewerId)?.role).toBe('attendee');
  expect(parties.find((x) => x.id === hostId)?.role).toBe('host');

  // Placement: only the attendee is a viewer, and it receives on worker 1's router, not the room's.
  const placed = p.logs('browser viewer placed');
  expect(placed.map((l) => [l.participantId, l.workerIndex])).toEqual([[viewerId, 1]]);
  const made = p.logs('fan-out router made');
  expect(made).toHaveLength(1);
  expect(made[0]).toMatchObject({ workerIndex: 1, routerId: placed[0]!.receiveRouterId });
  expect(made[0]!.origin).not.toBe(placed[0]!.receiveRouterId);
  // The operator sees it too: GET /api/rooms/:id lists each worker's viewers and consumers.
  const detail = await p.api<{ audience?: Array<{ workerIndex: number; origin: boolean; viewers: number }> }>(
    `/api/rooms/${ROOM}`,
  );
  expect(detail.body.audience?.map((a) => [a.workerIndex, a.origin, a.viewers])).toEqual([
    [0, true, 0],
    [1, false, 1],
  ]);

  // What the attendee receives there: the host's audio and the camera's decoded frames.
  await waitStats(
    viewer.page,
    (s) =>
      s.some((c) => c.participantId === hostId && c.kind === 'audio' && c.bytesReceived > 0) &&
      s.some((c) => c.participantId === hostId && c.kind === 'video' && c.framesDecoded > 10),
    "the attendee receives the host's audio and video",
  );
  const levels = await pageToneLevels(viewer.page, hostId, [TONE, ABSENT]);
  const ctx = `attendee heard ${JSON.stringify(levels)}`;
  expect({ ctx, heard: levels[TONE]! > -25 }).toEqual({ ctx, heard: true });
  expect({ ctx, clean: levels[ABSENT]! < levels[TONE]! - 20 }).toEqual({ ctx, clean: true });
  await viewer.screenshot('webinar-fanout-attendee');
  // The attendee sends nothing: its page opened no microphone or camera (the camera button is disabled, the light
  // off), so the server has no producer of it and the host receives nothing from it. A large audience costs no
  // ingest and no consumer per pair of attendees.
  const localTracks = (): Promise<string[]> => inPage<string[]>(viewer.page, 'window.__parley.localTracks()');
  expect(await localTracks()).toEqual([]);
  expect(await viewer.page.getByRole('button', { name: /^Turn camera on \(listen-only/ }).isDisabled()).toBe(
    true,
  );
  const producing = (): unknown[] => p.logs('browser producing').filter((l) => l.participantId === viewerId);
  expect(producing()).toEqual([]);
  const hostStats = await waitStats(host.page, () => true, 'the host page stats');
  expect(hostStats.filter((c) => c.participantId === viewerId)).toEqual([]);

  // A client that tries anyway (the protocol by hand, the attendee PIN) is refused at its first produce.
  probe = await serveProbe();
  const rogue = await launchBrowser({ name: 'rogue-attendee' });
  browsers.push(rogue);
  await expect(
    probeJoin(rogue, probe.url, { server: p.http, room: ROOM, name: 'Rogue', pin: ATTENDEE_PIN }),
  ).rejects.toThrow(/RTC_ATTENDEE_CANNOT_PUBLISH/);
  await p.waitParticipants(ROOM, (l) => l.some((x) => x.displayName === 'Rogue' && x.role === 'attendee'));

  // Promoted, the page opens its microphone and camera: the host receives both.
  expect((await p.post(`/api/rooms/${ROOM}/participants/${viewerId}/promote`, {})).status).toBe(200);
  await waitStats(
    host.page,
    (s) =>
      s.some((c) => c.participantId === viewerId && c.kind === 'audio' && c.bytesReceived > 0) &&
      s.some((c) => c.participantId === viewerId && c.kind === 'video' && c.framesDecoded > 5),
    "the host receives the promoted attendee's sound and camera",
  );
  expect(new Set(producing().map((l) => (l as { source?: string }).source))).toEqual(
    new Set(['mic', 'camera']),
  );
  expect((await localTracks()).sort()).toEqual(['audio', 'video']);
  // The audience is not on stage: no page lists an attendee (Rogue, still in the room as one), while the
  // promoted attendee came on stage on the host's page.
  await host.page.getByText('Viewer', { exact: true }).waitFor({ timeout: 15000 });
  expect(await host.page.getByText('Rogue').count()).toBe(0);
  expect(await viewer.page.getByText('Rogue').count()).toBe(0);
  expect((await p.waitParticipants(ROOM, () => true)).find((x) => x.displayName === 'Rogue')?.role).toBe(
    'attendee',
  );
  await rogue.close();
  await viewer.screenshot('webinar-fanout-promoted');

  // Demoted, it closes them again: the host's consumers of it go, the page's tracks stop.
  expect((await p.post(`/api/rooms/${ROOM}/participants/${viewerId}/demote`, {})).status).toBe(200);
  await waitStats(
    host.page,
    (s) => s.every((c) => c.participantId !== viewerId),
    "the host's consumers of the demoted attendee closed",
  );
  expect(await localTracks()).toEqual([]);
  await host.page.getByText('Viewer', { exact: true }).waitFor({ state: 'detached', timeout: 15000 });

  // Ending the room closes the fan-out router with it (the room owns its fan-out).
  expect((await p.del(`/api/rooms/${ROOM}`)).status).toBeLessThan(300);
  await viewer.page.getByText('The room was ended.').waitFor({ timeout: 15000 });
  expect(p.logs('fan-out closed')).toEqual([
    expect.objectContaining({ routers: 1, origin: made[0]!.origin }),
  ]);
});
