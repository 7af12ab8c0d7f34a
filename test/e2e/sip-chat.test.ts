/**
 * SIP chat (RFC 3428 MESSAGE) and room OPTIONS, against the built server with real peers:
 * - a browser-protocol client (socket.io-client on /rtc, joined without media) posts to the room chat: a SIPp phone
 *   in the room (test/e2e/sipp/message-call.xml) receives it as an in-dialog MESSAGE, text/plain, "Web: ..."; a
 *   SIPp phone answering 405 (message-refuse.xml) is left out: a second chat message reaches the first phone only
 *   (a MESSAGE to the second would fail its run, which expects only the BYE);
 * - the first phone's own MESSAGE inside its dialog arrives in the browser's chat as that participant, and in the
 *   history a new browser gets at join;
 * - out-of-dialog MESSAGEs to `sip:chat@host` from a UDP socket: From a participant → 200 and in the chat; the same
 *   From sent from another address (127.0.0.2) 403; From anyone else 403; an unknown room 404; text/html 415 with Accept; an oversize body 413;
 * - OPTIONS to the room: 200 with Allow (MESSAGE among them), Accept (text/plain), Allow-Events and a Contact for
 *   the room with `isfocus`; an unknown room (rooms are not created on demand here) 404; OPTIONS to the server
 *   itself keeps its plain answer.
 * Needs `npx tsc -p tsconfig.build.json` (dist/).
 */
import dgram from 'node:dgram';
import path from 'node:path';
import { io as connect, type Socket as Client } from 'socket.io-client';
import { startFocusSipp, type FocusSippRun } from '../support/focus-sipp';
import { Linphone } from '../support/linphone';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { freePort } from '../support/sipp';
import { stopAndReport } from './conference-helpers';

jest.setTimeout(120_000);

const ROOM = 'chat';
const SCENARIOS = '../../../e2e/sipp';

interface ChatMessage {
  id: string;
  from: string | null;
  fromName: string;
  text: string;
}
type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

let parley: E2eParley;
const clients: Client[] = [];
const sipps: FocusSippRun[] = [];
let udp: dgram.Socket;
/** A UDP socket on another loopback address: a sender that is not where any participant's call comes from. */
let elsewhere: dgram.Socket;
let linphone: Linphone | undefined;

beforeAll(async () => {
  parley = await startE2eParley({
    conference: { joinTones: false, unknownRooms: 'reject', rooms: [{ name: ROOM }, { name: 'other' }] },
  });
  udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  elsewhere = dgram.createSocket('udp4');
  await new Promise<void>((r) => elsewhere.bind(0, '127.0.0.2', r));
});

afterAll(async () => {
  await linphone?.stop();
  for (const c of clients) c.disconnect();
  udp?.close();
  elsewhere?.close();
  await stopAndReport(parley, __filename);
  await Promise.all(sipps.map((s) => s.done));
});

function emit<T>(c: Client, event: string, payload?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (a: Ack<T>): void =>
      a.ok ? resolve(a.data) : reject(new Error(`${event}: ${a.error.code} ${a.error.message}`));
    if (payload === undefined) c.emit(event, done);
    else c.emit(event, payload, done);
  });
}

/** A browser's signalling client (the page's protocol from Node), joined to the room without media. */
async function browser(
  displayName: string,
  room = ROOM,
): Promise<{ c: Client; history: ChatMessage[]; received: ChatMessage[] }> {
  const c = connect(`${parley.http}/rtc`, { transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(c);
  const received: ChatMessage[] = [];
  c.on('chatMessage', (m: ChatMessage) => received.push(m));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('connect_error', reject);
  });
  const caps = await emit<{ routerRtpCapabilities: unknown }>(c, 'capabilities');
  const joined = await emit<{ chat: ChatMessage[] }>(c, 'join', {
    room,
    displayName,
    rtpCapabilities: caps.routerRtpCapabilities,
  });
  return { c, history: joined.chat, received };
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 10000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

let seq = 0;
/** Sends one SIP request from our UDP socket and resolves with the final response's text. */
async function request(
  method: string,
  uri: string,
  headers: string[],
  body = '',
  sock: dgram.Socket = udp,
): Promise<string> {
  const local = sock.address() as { address: string; port: number };
  const callId = `chat-e2e-${++seq}-${Date.now()}`;
  const msg = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=z9hG4bK-${callId};rport`,
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    `To: <${uri}>`,
    ...headers,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sock.off('message', onMessage);
      reject(new Error(`${method} ${uri}: no final response`));
    }, 10000);
    const onMessage = (b: Buffer): void => {
      const text = b.toString('utf8');
      if (!text.includes(`Call-ID: ${callId}`) || !/^SIP\/2\.0 [2-6]\d\d/.test(text)) return;
      clearTimeout(t);
      sock.off('message', onMessage);
      resolve(text);
    };
    sock.on('message', onMessage);
    sock.send(msg, parley.sipPort, '127.0.0.1');
  });
}

const statusOf = (res: string): number => Number(/^SIP\/2\.0 (\d{3})/.exec(res)![1]);
const headerOf = (res: string, name: string): string | undefined =>
  new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(res)?.[1]?.trim();

async function phone(scenario: string, user: string, text = ''): Promise<FocusSippRun> {
  const run = await startFocusSipp(parley, {
    scenario: `${SCENARIOS}/${scenario}`,
    room: ROOM,
    keys: { user, text, rtp_port: await freePort() },
    timeoutSec: 90,
  });
  sipps.push(run);
  return run;
}

test('room chat ↔ SIP MESSAGE: a browser reaches the phones, a phone answering 405 is left out, a phone’s in-dialog MESSAGE reaches the browser', async () => {
  const alice = await phone('message-call.xml', 'alice', 'hello from alice');
  const bob = await phone('message-refuse.xml', 'bob');
  await alice.waitEvent('joined');
  await bob.waitEvent('joined');
  await parley.waitParticipants(ROOM, (l) => l.filter((p) => p.state === 'joined').length === 2);
  const web = await browser('Web');

  // Out: the browser's message reaches both phones; bob refuses (405).
  await emit(web.c, 'chatSend', { text: 'first to the phones' });
  const m1 = await alice.waitEvent('message1');
  expect(m1.join(' ')).toBe('message1 text/plain;charset=UTF-8 | Web: first to the phones');
  await bob.waitEvent('refused');
  await parley.run.waitForLog((l) => l.msg === 'phone takes no chat MESSAGE: left out of the room chat');

  // The second reaches alice only: a MESSAGE to bob would end his run with an unexpected message.
  await emit(web.c, 'chatSend', { text: 'second, alice only' });
  const m2 = await alice.waitEvent('message2');
  expect(m2.join(' ')).toBe('message2 text/plain;charset=UTF-8 | Web: second, alice only');

  // In: alice's MESSAGE in her dialog arrives in the browser's chat as alice.
  await alice.waitEvent('sent');
  const fromAlice = await until('alice in the browser chat', () =>
    web.received.find((m) => m.text === 'hello from alice'),
  );
  const roster = await parley.participants(ROOM);
  const aliceId = roster.find((p) => p.displayName === 'alice')!.id;
  expect(fromAlice).toMatchObject({ from: aliceId, fromName: 'alice' });

  // Out of dialog, to the room URI, From alice's address: posted as alice (RFC 3428 §7: 200 when delivered).
  const ood = await request(
    'MESSAGE',
    `sip:${ROOM}@127.0.0.1:${parley.sipPort}`,
    [`From: "Alice" <sip:alice@127.0.0.1>;tag=ood1`, 'Content-Type: text/plain'],
    'out of dialog from alice',
  );
  expect(statusOf(ood)).toBe(200);
  const oodMsg = await until('the out-of-dialog message in the chat', () =>
    web.received.find((m) => m.text === 'out of dialog from alice'),
  );
  expect(oodMsg).toMatchObject({ from: aliceId, fromName: 'alice' });
  // The same From from another address (127.0.0.2, not where alice's call is signalled from): not alice.
  const spoofed = await request(
    'MESSAGE',
    `sip:${ROOM}@127.0.0.1:${parley.sipPort}`,
    [`From: "Alice" <sip:alice@127.0.0.1>;tag=spoof1`, 'Content-Type: text/plain'],
    'spoofed alice',
    elsewhere,
  );
  expect(statusOf(spoofed)).toBe(403);

  // A new browser gets both in its join history.
  const late = await browser('Late');
  expect(late.history.map((m) => [m.fromName, m.text])).toEqual([
    ['Web', 'first to the phones'],
    ['Web', 'second, alice only'],
    ['alice', 'hello from alice'],
    ['alice', 'out of dialog from alice'],
  ]);

  // End both calls; both runs end cleanly (bob got no second MESSAGE, alice not her own back).
  for (const p of roster) await parley.post(`/api/rooms/${ROOM}/participants/${p.id}/kick`, {});
  await alice.waitEvent('bye');
  await bob.waitEvent('bye');
  for (const run of [alice, bob]) {
    const done = await run.done;
    expect({ code: done.code, errors: done.errors }).toEqual({ code: 0, errors: '' });
  }
});

test('out-of-dialog MESSAGE refusals: not a participant 403, unknown room 404, text/html 415 with Accept, oversize 413', async () => {
  const uri = `sip:${ROOM}@127.0.0.1:${parley.sipPort}`;
  const from = `From: <sip:mallory@127.0.0.1>;tag=m1`;
  const stranger = await request('MESSAGE', uri, [from, 'Content-Type: text/plain'], 'let me in');
  expect([statusOf(stranger), stranger.split('\r\n')[0]]).toEqual([
    403,
    'SIP/2.0 403 Not a participant of this conference',
  ]);
  const nowhere = await request(
    'MESSAGE',
    `sip:nosuchroom@127.0.0.1:${parley.sipPort}`,
    [from, 'Content-Type: text/plain'],
    'hello?',
  );
  expect(statusOf(nowhere)).toBe(404);
  const html = await request('MESSAGE', uri, [from, 'Content-Type: text/html'], '<b>hi</b>');
  expect(statusOf(html)).toBe(415);
  expect(headerOf(html, 'Accept')).toBe('text/plain');
  const big = await request('MESSAGE', uri, [from, 'Content-Type: text/plain'], 'x'.repeat(9000));
  expect(statusOf(big)).toBe(413);
  // None of them reached the chat.
  const web = await browser('Checker');
  expect(web.history.map((m) => m.text)).not.toContain('let me in');
  expect(web.history.some((m) => m.text.startsWith('x'))).toBe(false);
});

test('OPTIONS to a room: capabilities with Contact ;isfocus; unknown room 404; the server itself keeps its plain answer', async () => {
  const from = `From: <sip:probe@127.0.0.1>;tag=o1`;
  const res = await request('OPTIONS', `sip:${ROOM}@127.0.0.1:${parley.sipPort}`, [from]);
  expect(statusOf(res)).toBe(200);
  const allow = headerOf(res, 'Allow')!.split(/\s*,\s*/);
  expect(allow).toEqual(expect.arrayContaining(['INVITE', 'BYE', 'OPTIONS', 'MESSAGE', 'REFER', 'NOTIFY']));
  expect(headerOf(res, 'Accept')!.split(/\s*,\s*/)).toEqual(
    expect.arrayContaining([
      'application/sdp',
      'text/plain',
      'message/sipfrag',
      'application/conference-info+xml',
    ]),
  );
  expect(
    headerOf(res, 'Allow-Events')!
      .split(/\s*,\s*/)
      .sort(),
  ).toEqual(['conference', 'refer']);
  expect(headerOf(res, 'Supported')).toBeDefined();
  expect(headerOf(res, 'Contact')).toBe(`<sip:${ROOM}@127.0.0.1:${parley.sipPort}>;isfocus`);

  const unknown = await request('OPTIONS', `sip:nosuchroom@127.0.0.1:${parley.sipPort}`, [from]);
  expect([statusOf(unknown), unknown.split('\r\n')[0]]).toEqual([404, 'SIP/2.0 404 No such conference']);

  const server = await request('OPTIONS', `sip:127.0.0.1:${parley.sipPort}`, [from]);
  expect(statusOf(server)).toBe(200);
  expect(headerOf(server, 'Accept')).toBe('application/sdp');
  expect(headerOf(server, 'Contact')).toBeUndefined();
});

test('linphonec chats with the room: its chat message appears in the room chat, a room message reaches it', async () => {
  const room = 'other';
  // Parley as its outbound proxy (a proxy config that does not register): linphone addresses a chat to the room's
  // identity, user and host only (liblinphone's IdentityAddress drops the port), so without a proxy its MESSAGE
  // would go to port 5060.
  linphone = await Linphone.start({
    dir: path.join(parley.dir, 'linphone'),
    extraConfig: [
      '[proxy_0]',
      `reg_proxy=<sip:127.0.0.1:${parley.sipPort}>`,
      `reg_route=<sip:127.0.0.1:${parley.sipPort};lr>`,
      'reg_identity=sip:linphone@127.0.0.1',
      'reg_sendregister=0',
      'publish=0',
    ],
  });
  await linphone.command('proxy use 0', /linphonec> /);
  await linphone.call(`sip:${room}@127.0.0.1:${parley.sipPort}`, 20000);
  const [lp] = await parley.waitParticipants(room, (l) => l.length === 1 && l[0]!.state === 'joined');
  const web = await browser('Web', room);

  // linphonec → room: its chat (a MESSAGE to the room URI from its own address) appears in the chat as it.
  await linphone.sendChat(`sip:${room}@127.0.0.1`, 'hello from linphone');
  const got = await until('linphone in the browser chat', () =>
    web.received.find((m) => m.text === 'hello from linphone'),
  );
  expect(got).toMatchObject({ from: lp!.id, fromName: lp!.displayName });

  // room → linphonec: a browser's message reaches it (an in-dialog MESSAGE, text/plain).
  await emit(web.c, 'chatSend', { text: 'hi linphone, from the web' });
  const chat = await linphone.waitChat(/hi linphone, from the web/);
  expect(chat.text).toBe('Web: hi linphone, from the web');
  const sent = parley
    .logs('phone takes no chat MESSAGE: left out of the room chat')
    .filter((l) => l.participantId === lp!.id);
  expect(sent).toEqual([]);
});
