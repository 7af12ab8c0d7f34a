/**
 * Large audiences (issue 12 item 4), end to end in Debian's Chromium against the built server with two mediasoup
 * workers and `rtc.fanout.viewersPerRouterBeforeSpill: 0`: a webinar's host (a browser with the fake camera and a
 * 407 Hz tone as microphone) stays on the room's router; an attendee's browser is placed on the room's router on
 * the second worker (the server's 'browser viewer placed' log: worker 1, a router other than the room's), and there,
 * through the piped copies of the host's producers, it hears the host's tone (WebAudio in the page) and decodes the
 * camera's frames (getStats); the attendee's own camera reaches nobody (the audience is not published); the room's
 * end closes the fan-out router.
 * Needs `npx tsc -p tsconfig.build.json` and the web build (`node scripts/build-web.mjs`).
 */
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { stopAndReport } from './conference-helpers';
import { joinRoom, pageToneLevels, waitStats } from './web-helpers';

jest.setTimeout(180_000);

const ROOM = 'auditorium';
const HOST_PIN = '1111';
const ATTENDEE_PIN = '2222';
const TONE = 407;
const ABSENT = 613;

let parley: E2eParley | undefined;
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
  // The attendee's own camera (the page turns it on) is published to nobody: the audience is not seen, so a
  // large one costs no consumer per pair of attendees. The host has received only for this long.
  const hostStats = await waitStats(host.page, () => true, 'the host page stats');
  expect(hostStats.filter((c) => c.participantId === viewerId)).toEqual([]);

  // Ending the room closes the fan-out router with it (the room owns its fan-out).
  expect((await p.del(`/api/rooms/${ROOM}`)).status).toBeLessThan(300);
  await viewer.page.getByText('The room was ended.').waitFor({ timeout: 15000 });
  expect(p.logs('fan-out closed')).toEqual([
    expect.objectContaining({ routers: 1, origin: made[0]!.origin }),
  ]);
});
