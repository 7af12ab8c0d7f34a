/**
 * The SIP adapter of the conference (Focus, SipCall, SipDialer) against a second instance of our own SIP stack
 * acting as the phone, over loopback UDP. Media is faked behind MediaLegFactory (legs with ports, no sockets), so
 * this drives the real offer/answer: joining by INVITE, CANCEL during media setup, a move to a room on another
 * media thread by re-INVITE (accepted and refused), and dial-out (answered and busy).
 */
import { AppError } from '../../../src/errors/app-error';
import { Conference } from '../../../src/conference/conference';
import { Focus } from '../../../src/conference/focus/focus';
import { SipDialer } from '../../../src/conference/focus/sip-dialer';
import type { Participant } from '../../../src/conference/participant/participant';
import { RoomManager } from '../../../src/conference/room/room-manager';
import type { CreateLegOptions, MediaLeg, MediaLegEvents, MixerLegInfo } from '../../../src/media/media-leg';
import type { MediaLegFactory } from '../../../src/media/media-leg';
import { ROOM_MEDIA_CODECS } from '../../../src/media/mediasoup/media-codecs';
import type { AcceptedMedia } from '../../../src/media/sdp';
import type { SessionDialog } from '../../../src/sip/dialog/session-dialog';
import { SipError } from '../../../src/sip/errors';
import { SipStack } from '../../../src/sip/ua/sip-stack';
import { TypedEmitter } from '../../../src/util/typed-emitter';
import { conferenceConfig, Deferred, fakePrompts, FakeMediaProvider, FakeThread, log } from './fakes';

jest.setTimeout(20_000);

let nextPort = 41000;

/** A leg with ports and the negotiation it was given, terminating in a (fake) media thread. */
class FakeSdpLeg extends TypedEmitter<MediaLegEvents> implements MediaLeg {
  readonly kind = 'audio' as const;
  readonly localPort = (nextPort += 2);
  readonly localRtcpPort = this.localPort + 1;
  closed = false;

  constructor(
    private readonly threadIndex: number,
    public negotiated: AcceptedMedia | undefined,
  ) {
    super(log);
  }

  get mixerLeg(): MixerLegInfo | undefined {
    const m = this.negotiated;
    if (!m) return undefined;
    return {
      legId: `leg-${this.localPort}`,
      threadIndex: this.threadIndex,
      codec: 'PCMU',
      payloadType: m.codec.payloadType,
      sends: m.phoneSends,
      receives: m.phoneReceives,
    };
  }

  async update(media: AcceptedMedia): Promise<void> {
    this.negotiated = media;
  }

  async setSource(): Promise<void> {}

  async acquireProducer(): Promise<undefined> {
    return undefined;
  }

  releaseProducer(): void {}

  async setInactivityTimeout(): Promise<void> {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.safeEmit('closed');
  }
}

/** Every leg built, in order; while `legGate` is set, leg creation waits for it (slow media setup). */
const allLegs: FakeSdpLeg[] = [];
let legGate: Promise<void> | undefined;

class FakeLegFactory implements MediaLegFactory {
  readonly codecs = ROOM_MEDIA_CODECS;
  readonly legs: FakeSdpLeg[] = [];

  constructor(readonly threadIndex: number) {}

  async create(o: CreateLegOptions): Promise<MediaLeg> {
    const leg = new FakeSdpLeg(this.threadIndex, o.media);
    this.legs.push(leg);
    allLegs.push(leg);
    await legGate;
    return leg;
  }
}

const phoneSdp = (port: number): string =>
  'v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n` +
  'a=fmtp:101 0-16\r\na=sendrecv\r\n';

/** The phone's answer to an offer of ours: the same formats, its own port and origin. */
const echoAnswer = (offer: string, port: number): string =>
  offer
    .replace(/^o=.*$/m, 'o=phone 1 2 IN IP4 127.0.0.1')
    .replace(/^m=audio \d+/m, `m=audio ${port}`)
    .replace(/^a=rtcp:.*\r\n/m, '');

const mPort = (sdp: string | undefined): number => Number(/^m=audio (\d+)/m.exec(sdp ?? '')?.[1]);

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let server: SipStack;
let phone: SipStack;
let conference: Conference;
let rooms: RoomManager;
const factories = new Map<string, FakeLegFactory>();
const admitted: string[] = [];

beforeAll(async () => {
  server = await SipStack.create({
    listen: { ip: '127.0.0.1', udp: 0 },
    contactUser: 'parley',
    tryingDelayMs: 0,
  });
  phone = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, contactUser: 'phone' });
  // Rooms named blue* live on media thread 1, every other room on thread 0.
  const media = new FakeMediaProvider([new FakeThread(0), new FakeThread(1)]);
  media.threadOf = (room) => media.threads[room.startsWith('blue') ? 1 : 0]!;
  media.legsFor = (id, thread) => {
    const f = new FakeLegFactory(thread.index);
    factories.set(id.split('#')[0]!, f);
    return f;
  };
  rooms = new RoomManager(conferenceConfig({ joinTones: false }), media, log);
  const settings = { announcedIp: '127.0.0.1', rtpTimeoutMs: 0 };
  conference = new Conference({
    rooms,
    prompts: fakePrompts,
    joinTones: false,
    dialer: new SipDialer({ sip: server, ...settings, ringTimeoutMs: 5000 }),
    log,
  });
  conference.observer.on('participantAdmitted', (p) => admitted.push(p.displayName));
  new Focus({ sip: server, conference, ...settings, log });
});

afterAll(async () => {
  conference.close();
  rooms.close();
  await phone.close();
  await server.close();
});

/** The phone calls `room`; resolves with its dialog and the participant once joined. */
async function call(room: string, user: string): Promise<{ dialog: SessionDialog; p: Participant }> {
  const dialog = await phone.invite(`sip:${room}@127.0.0.1:${server.ports.udp}`, {
    sdp: phoneSdp(30000),
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

describe('joining by INVITE', () => {
  it('the phone gets our answer on the room leg; the participant joins the mix', async () => {
    const { dialog, p } = await call('red', 'alice');
    const leg = factories.get('red')!.legs.at(-1)!;
    expect(mPort(dialog.remoteSdp?.toString())).toBe(leg.localPort);
    expect(p.codec).toBe('PCMU');
    expect(p.session!.legs).toEqual([leg]);
    await dialog.bye();
    await until(() => p.state === 'left', 'alice left');
    expect(p.leaveReason).toBe('remote-bye');
    expect(leg.closed).toBe(true);
  });

  it('a CANCEL while the media is being set up: 487, never admitted, the late leg closed', async () => {
    const gate = new Deferred();
    legGate = gate.promise;
    const before = allLegs.length;
    const cancel = new AbortController();
    const inviting = phone
      .invite(`sip:slow@127.0.0.1:${server.ports.udp}`, {
        sdp: phoneSdp(30000),
        from: '"late" <sip:late@127.0.0.1>',
        signal: cancel.signal,
      })
      .catch((e: unknown) => e);
    await until(() => allLegs.length > before, 'media setup to start');
    cancel.abort();
    const err = await inviting;
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).status).toBe(487);
    legGate = undefined;
    gate.resolve();
    const leg = allLegs.at(-1)!;
    await until(() => leg.closed, 'the late leg to close');
    expect(admitted).not.toContain('late');
  });
});

describe('moving by re-INVITE', () => {
  it('to a room on another media thread: new legs there, offered in a re-INVITE, the old ones closed', async () => {
    const { dialog, p } = await call('red', 'bob');
    const offers: string[] = [];
    dialog.on('modify', (m) => {
      offers.push(m.sdp ?? '');
      void m.accept({ sdp: echoAnswer(m.sdp ?? '', 30004) });
    });
    const oldLeg = p.session!.legs[0] as unknown as FakeSdpLeg;
    await conference.move(p.id, 'blue');
    const newLeg = factories.get('blue')!.legs.at(-1)!;
    expect(offers).toHaveLength(1);
    expect(mPort(offers[0])).toBe(newLeg.localPort);
    expect(offers[0]).toMatch(/^a=rtpmap:0 PCMU\/8000/m);
    expect(p.session!.legs).toEqual([newLeg]);
    expect(oldLeg.closed).toBe(true);
    expect(newLeg.negotiated?.remote.port).toBe(30004);
    expect(conference.locate(p.id).room.id).toBe('blue');
    await dialog.bye();
  });

  it('refused by the phone (488): CONF_MOVE_FAILED, the call stays on its legs in its room', async () => {
    const { dialog, p } = await call('red', 'carol');
    dialog.on('modify', (m) => m.reject(488));
    const leg = p.session!.legs[0] as unknown as FakeSdpLeg;
    const err = await conference.move(p.id, 'blue2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('CONF_MOVE_FAILED');
    expect(p.session!.legs).toEqual([leg]);
    expect(leg.closed).toBe(false);
    expect(p.state).toBe('joined');
    expect(conference.locate(p.id).room.id).toBe('red');
    expect(factories.get('blue2')!.legs.every((l) => l.closed)).toBe(true);
    await dialog.bye();
  });

  it('to a room on the same media thread: no re-INVITE, the audio is re-attached', async () => {
    const { dialog, p } = await call('red', 'dave');
    let reinvites = 0;
    dialog.on('modify', () => reinvites++);
    const leg = p.session!.legs[0];
    await conference.move(p.id, 'green');
    expect(reinvites).toBe(0);
    expect(p.session!.legs).toEqual([leg]);
    expect(conference.locate(p.id).room.id).toBe('green');
    await dialog.bye();
  });
});

describe('dial-out', () => {
  it('INVITE with our offer, the answer from the 2xx applied, the callee joins the room', async () => {
    const invites: string[] = [];
    const onInvite = phone.onInvite((inv) => {
      invites.push(inv.sdp ?? '');
      void inv.accept({ sdp: phoneSdp(30010) });
    });
    try {
      const p = await conference.dialOut('red', `sip:erin@127.0.0.1:${phone.ports.udp}`);
      expect(p.state).toBe('joined');
      expect(p.displayName).toBe('erin');
      expect(p.codec).toBe('PCMU');
      const leg = p.session!.legs[0] as unknown as FakeSdpLeg;
      expect(mPort(invites[0])).toBe(leg.localPort);
      expect(leg.negotiated?.remote.port).toBe(30010);
      conference.kick(p.id);
    } finally {
      onInvite.removeAllListeners('invite');
    }
  });

  it('a busy callee (486): CONF_DIAL_FAILED, and it is gone from the room', async () => {
    const onInvite = phone.onInvite((inv) => inv.reject(486));
    try {
      const err = await conference.dialOut('red', `sip:frank@127.0.0.1:${phone.ports.udp}`).catch((e) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CONF_DIAL_FAILED');
      expect((err as AppError).message).toMatch(/486/);
      expect(
        conference
          .getRoom('red')
          .participants()
          .some((p) => p.displayName === 'frank'),
      ).toBe(false);
    } finally {
      onInvite.removeAllListeners('invite');
    }
  });

  it('a target that is not a SIP URI: CONF_DIAL_BAD_TARGET', async () => {
    const err = await conference.dialOut('red', 'mailto:x@example.com').catch((e) => e);
    expect((err as AppError).code).toBe('CONF_DIAL_BAD_TARGET');
  });
});
