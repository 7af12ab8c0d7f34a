/**
 * DTMF by SIP INFO (RFC 6086 with the de-facto application/dtmf-relay and application/dtmf bodies: what browser SIP
 * libraries such as SIP.js's SimpleUser send, since their WebRTC legs carry no RFC 4733 we could read), from a second
 * instance of our SIP stack acting as the caller over loopback UDP into the real Focus and Conference: `*6` by INFO
 * toggles the caller's self-mute; unknown bodies get 415; an empty INFO (a keep-alive) gets 200.
 */
import { Conference } from '../../../src/conference/conference';
import { Focus } from '../../../src/conference/focus/focus';
import { parseInfoDtmf } from '../../../src/conference/focus/sip-call';
import { SipDialer } from '../../../src/conference/focus/sip-dialer';
import type { Participant } from '../../../src/conference/participant/participant';
import { RoomManager } from '../../../src/conference/room/room-manager';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import type { CreateLegOptions, MediaLeg, MediaLegFactory } from '../../../src/media/media-leg';
import type { SessionDialog } from '../../../src/sip/dialog/session-dialog';
import { SipStack } from '../../../src/sip/ua/sip-stack';
import { conferenceConfig, fakePrompts, FakeMediaProvider, log, threadLeg } from './fakes';

jest.setTimeout(20_000);

describe('parseInfoDtmf (application/dtmf-relay, application/dtmf)', () => {
  it('reads Signal= of dtmf-relay, with 10/11 as * and #, and the bare digit of application/dtmf', () => {
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')).toBe('5');
    expect(parseInfoDtmf('Application/DTMF-Relay', 'signal = *\r\nDuration=100')).toBe('*');
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=10\r\n')).toBe('*');
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=11\r\n')).toBe('#');
    expect(parseInfoDtmf('application/dtmf', '#')).toBe('#');
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=a')).toBe('A');
  });

  it('ignores other bodies and non-digits', () => {
    expect(parseInfoDtmf('application/dtmf-relay', 'Duration=160')).toBeUndefined();
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=12')).toBeUndefined();
    expect(parseInfoDtmf('text/plain', 'Signal=5')).toBeUndefined();
    expect(parseInfoDtmf(undefined, '5')).toBeUndefined();
  });
});

/** A room whose legs terminate in a (fake) media thread: no sockets, the real offer/answer. */
class ThreadLegFactory implements MediaLegFactory {
  readonly codecs = ROOM_MEDIA_CODECS;
  async create(o: CreateLegOptions): Promise<MediaLeg> {
    return Object.assign(threadLeg(0), { negotiated: o.media, localRtcpPort: 40001 });
  }
}

const callerSdp =
  'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  'm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let server: SipStack;
let caller: SipStack;
let conference: Conference;
let rooms: RoomManager;

beforeAll(async () => {
  server = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: 0 },
    contactUser: 'parley',
    tryingDelayMs: 0,
  });
  caller = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, contactUser: 'caller' });
  const media = new FakeMediaProvider();
  media.legsFor = () => new ThreadLegFactory();
  rooms = new RoomManager(conferenceConfig({ joinTones: false }), media, log);
  const settings = { announcedIp: '127.0.0.1', rtpTimeoutMs: 0 };
  conference = new Conference({
    rooms,
    prompts: fakePrompts,
    joinTones: false,
    dialer: new SipDialer({ sip: server, ...settings, ringTimeoutMs: 5000 }),
    log,
  });
  new Focus({ sip: server, conference, ...settings, log });
});

afterAll(async () => {
  conference.close();
  rooms.close();
  await caller.close();
  await server.close();
});

async function join(room: string, user: string): Promise<{ dialog: SessionDialog; p: Participant }> {
  const dialog = await caller.invite(`sip:${room}@127.0.0.1:${server.ports.udp}`, {
    sdp: callerSdp,
    from: `"${user}" <sip:${user}@127.0.0.1>`,
  });
  let p: Participant | undefined;
  await until(() => {
    p = conference
      .listRooms()
      .flatMap((r) => r.participants())
      .find((x) => x.displayName === user);
    return p?.state === 'joined';
  }, `${user} joined`);
  return { dialog, p: p! };
}

const info = async (dialog: SessionDialog, contentType: string, body: string): Promise<number> =>
  (await dialog.request('INFO', { body, contentType })).status;

describe('DTMF by SIP INFO in the dialog', () => {
  it('*6 sent as two INFO application/dtmf-relay requests toggles self-mute, and again unmutes', async () => {
    const { dialog, p } = await join('keys', 'softphone');
    expect(p.muted).toBe(false);
    expect(await info(dialog, 'application/dtmf-relay', 'Signal=*\r\nDuration=160\r\n')).toBe(200);
    expect(await info(dialog, 'application/dtmf-relay', 'Signal=6\r\nDuration=160\r\n')).toBe(200);
    await until(() => p.muted, 'muted by *6');
    expect(await info(dialog, 'application/dtmf', '*')).toBe(200);
    expect(await info(dialog, 'application/dtmf', '6')).toBe(200);
    await until(() => !p.muted, 'unmuted by *6');
    await dialog.bye();
    await until(() => p.state === 'left', 'softphone left');
  });

  it('an INFO with a body we do not read gets 415; an empty INFO gets 200 and changes nothing', async () => {
    const { dialog, p } = await join('keys2', 'other');
    expect(await info(dialog, 'application/x-unknown', 'hello')).toBe(415);
    expect((await dialog.request('INFO')).status).toBe(200);
    expect(p.muted).toBe(false);
    await dialog.bye();
    await until(() => p.state === 'left', 'other left');
  });
});
