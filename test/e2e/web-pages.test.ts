/**
 * The pages served by the built server, driven through Debian's Chromium by accessible names:
 * - `/` and `/r/<room>` are HTML shells with the strict CSP and security headers, hashed assets are cached for a
 *   year, a bad room name gets the 404 page; no CSP violation is reported by the browser on any page;
 * - the start page refuses a bad room name and leads to `/r/<room>`;
 * - a room with a PIN asks for it after the first try, refuses a wrong one, admits the right one;
 * - a display name and a chat message full of HTML are shown as text (no element is created from them);
 * - chat with an attachment: uploaded by one page, downloaded by the other (same bytes), "Seen by" on the sender;
 * - Leave ends the visit with a page saying so.
 * Screenshots go to test-artifacts/. Needs `npm run build` (dist/ and dist/web/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { stopAndReport } from './conference-helpers';
import { joinRoom } from './web-helpers';

jest.setTimeout(180_000);

let parley: E2eParley | undefined;
const browsers: TestBrowser[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    conference: {
      joinTones: false,
      rooms: [{ name: 'secret', displayName: 'Secret planning', pin: '4321' }],
    },
  });
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await stopAndReport(parley, __filename);
});

async function browser(name: string, toneHz?: number): Promise<TestBrowser> {
  const b = await launchBrowser({ name, ...(toneHz ? { toneHz } : {}) });
  browsers.push(b);
  return b;
}

/** Console lines where Chromium refused something because of the Content-Security-Policy. */
function cspViolations(b: TestBrowser): string[] {
  return b.console.filter((l) => /Content Security Policy|Refused to/i.test(l));
}

test('the HTML shells carry the security headers; assets are hashed and long-cached; bad rooms get a 404', async () => {
  const p = parley!;
  for (const [url, status] of [
    ['/', 200],
    ['/r/demo', 200],
    ['/r/bad%20room', 404],
  ] as const) {
    const res = await fetch(`${p.http}${url}`);
    const html = await res.text();
    expect({ url, status: res.status }).toEqual({ url, status });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(
      /default-src 'self'; script-src 'self'; style-src 'self'/,
    );
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(html).not.toMatch(/<script>|style=/); // nothing inline
  }
  const manifest = JSON.parse(
    fs.readFileSync(path.resolve(__dirname, '../../dist/web/manifest.json'), 'utf8'),
  ) as Record<string, string>;
  for (const asset of Object.values(manifest)) {
    expect(asset).toMatch(/^\/assets\/[a-z]+-[A-Z0-9]{8}\.(js|css)$/);
    const res = await fetch(`${p.http}${asset}`);
    expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
    expect(res.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
  }
});

test('start page → room form; a PIN room asks for the PIN and refuses a wrong one', async () => {
  const p = parley!;
  const b = await browser('pin');
  const page = b.page;
  await page.goto(`${p.http}/`);
  await page.getByLabel('Room name').fill('not a room!');
  await page.getByRole('button', { name: 'Join room' }).click();
  await page.getByRole('alert').filter({ hasText: 'Room names use' }).waitFor();
  await b.screenshot('web-start-page');
  await page.getByLabel('Room name').fill('secret');
  await page.getByRole('button', { name: 'Join room' }).click();
  await page.waitForURL(`${p.http}/r/secret`);

  await page.getByLabel('Name').fill('Pat');
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('alert').filter({ hasText: 'This room needs a PIN' }).waitFor({ timeout: 15000 });
  await page.getByLabel('Room PIN').fill('1111');
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('alert').filter({ hasText: 'PIN is not right' }).waitFor({ timeout: 15000 });
  await b.screenshot('web-pin-form');
  await page.getByLabel('Room PIN').fill('4321');
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20000 });
  await page.getByRole('heading', { name: 'Secret planning' }).waitFor();
  await p.waitParticipants('secret', (l) => l.length === 1);

  await page.getByRole('button', { name: 'Leave' }).click();
  await page.getByRole('heading', { name: 'You left the room' }).waitFor();
  await p.waitParticipants('secret', (l) => l.length === 0);
  expect(cspViolations(b)).toEqual([]);
});

test('names and chat are text, never markup; an attachment goes from one page to the other; seen by', async () => {
  const p = parley!;
  const room = 'chatroom';
  const alice = await browser('alice', 407);
  const mallory = await browser('mallory', 613);
  const evil = '<img src=x onerror="window.__pwned=1">Mallory';
  await joinRoom(alice, p.http, room, 'Alice');
  await joinRoom(mallory, p.http, room, evil);

  // Alice sees Mallory's tile with the literal name, and no element came out of it.
  await alice.page.getByRole('listitem', { name: evil, exact: false }).first().waitFor({ timeout: 15000 });
  await alice.page.getByText(evil).first().waitFor();
  expect(await alice.page.locator('.stage img, .chat img').count()).toBe(0);

  // Mallory sends markup with a file; Alice reads the text as text and downloads the file.
  const bytes = Buffer.from('minutes of the meeting\n\u00e9t\u00e9 ✓\n');
  await mallory.page.getByRole('button', { name: 'Open chat' }).click();
  await mallory.page.getByLabel('Attach file').setInputFiles({
    name: 'notes <b>.txt',
    mimeType: 'text/plain',
    buffer: bytes,
  });
  await mallory.page
    .getByRole('textbox', { name: 'Message' })
    .fill('<script>window.__pwned=2</script> see the notes');
  await mallory.page.getByRole('button', { name: 'Send message' }).click();

  await alice.page.getByRole('button', { name: 'Open chat' }).click();
  await alice.page.getByText('<script>window.__pwned=2</script> see the notes').waitFor({ timeout: 15000 });
  const download = alice.page.waitForEvent('download');
  await alice.page.getByRole('button', { name: 'Download notes <b>.txt' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^notes .b.\.txt$/); // Chromium replaces < > in file names
  const saved = await file.path();
  expect(fs.readFileSync(saved!)).toEqual(bytes);

  // Alice's reading shows up on Mallory's message.
  await mallory.page.getByText(/Seen by Alice/).waitFor({ timeout: 15000 });
  await alice.page.getByRole('textbox', { name: 'Message' }).fill('Got it, thanks!');
  await alice.page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await mallory.page.getByText('Got it, thanks!').waitFor({ timeout: 15000 });

  for (const b of [alice, mallory])
    expect(
      await b.page.evaluate(
        'window.__pwned === undefined && document.querySelectorAll("script:not([src])").length === 0',
      ),
    ).toBe(true);
  await alice.screenshot('web-chat-alice');
  await mallory.screenshot('web-chat-mallory');
  expect([...cspViolations(alice), ...cspViolations(mallory)]).toEqual([]);
});
