/**
 * The conference focus against real SIPp callers: RTP both ways, delayed offer, hold/resume (re-INVITE and UPDATE),
 * address change. The phones' media is an RtpPeer (a UDP socket in this process) whose port SIPp puts in its SDP,
 * so every packet is counted exactly. Needs `npm run build` first (the server runs from dist/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { receivedStatuses, startFocusSipp } from '../support/focus-sipp';
import { sleep, startE2eParley, type ApiParticipant, type E2eParley } from '../support/parley-e2e';
import { rtpPeers, type RtpPeer } from '../support/rtp-peer';

jest.setTimeout(90_000);

let parley: E2eParley;
const { peer, closeAll: closePeers } = rtpPeers();

/** Polls until `cond()` or fails with `what`. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  // Forwarding (SFU) audio: these tests check the media path byte for byte; the mixer has its own tests.
  parley = await startE2eParley({ conference: { audio: 'forward' } });
});

afterAll(async () => {
  closePeers();
  await parley?.stop();
});

test('a SIPp caller playing a PCMA pcap joins; a second phone receives that audio', async () => {
  // SIPp's built-in uac_pcap scenario plays pcap/g711a.pcap (PCMA, 8 s) relative to its working directory.
  fs.mkdirSync(path.join(parley.dir, 'pcap'), { recursive: true });
  for (const f of ['g711a.pcap', 'dtmf_2833_1.pcap'])
    fs.copyFileSync(path.join('/usr/share/sip-tester', f), path.join(parley.dir, 'pcap', f));
  const listener = await peer();
  const b = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'pcap',
    keys: { rtp_port: listener.port, pt: 8, enc: 'PCMA/8000' },
    pauseMs: 14000,
  });
  await b.waitEvent('answer');
  const a = await startFocusSipp(parley, { scenario: 'uac_pcap', room: 'pcap', timeoutSec: 30 });
  const ps = await parley.waitParticipants('pcap', (l) => l.length === 2);
  expect(ps.map((p) => p.codec)).toEqual(['PCMA', 'PCMA']);
  expect(ps.every((p) => p.transport === 'UDP' && !p.srtp && !p.onHold)).toBe(true);
  // The pcap's RTP, forwarded by the focus to the listening phone, as PCMA (payload type 8).
  await until('the pcap audio at the second phone', () => listener.received.count >= 100, 12000);
  expect([...listener.received.payloadTypes]).toContain(8);
  const ra = await a.done;
  expect({ code: ra.code, errors: ra.errors }).toEqual({ code: 0, errors: '' });
  // 100 Trying at once (RFC 3261 §17.2.1), then 200 to the INVITE and to the BYE.
  expect(receivedStatuses(ra.messages)).toEqual([100, 200, 200]);
  const rb = await b.done;
  expect({ code: rb.code, errors: rb.errors }).toEqual({ code: 0, errors: '' });
  await parley.waitParticipants('pcap', (l) => l.length === 0);
});

test('two phones in a room hear each other (RTP both ways, symmetric)', async () => {
  const pa = await peer();
  const pb = await peer();
  const common = { scenario: 'uac-call.xml', room: 'duo', pauseMs: 5000 };
  const a = await startFocusSipp(parley, { ...common, keys: { rtp_port: pa.port, pt: 0, enc: 'PCMU/8000' } });
  const b = await startFocusSipp(parley, { ...common, keys: { rtp_port: pb.port, pt: 0, enc: 'PCMU/8000' } });
  const [, portA] = await a.waitEvent('answer');
  const [, portB] = await b.waitEvent('answer');
  expect(portA).not.toEqual(portB);
  pa.send('127.0.0.1', Number(portA), 0);
  pb.send('127.0.0.1', Number(portB), 0);
  const ps = await parley.waitParticipants(
    'duo',
    (l) => l.length === 2 && l.every((p) => p.state === 'joined'),
  );
  expect(ps.map((p) => [p.codec, p.transport])).toEqual([
    ['PCMU', 'UDP'],
    ['PCMU', 'UDP'],
  ]);
  await until('RTP at both phones', () => pa.received.count >= 50 && pb.received.count >= 50);
  // Each hears the other's stream (its payload), as one stream, from the port the focus announced to it
  // (symmetric RTP, RFC 4961).
  expect([...pa.received.marks]).toEqual([pb.mark]);
  expect([...pb.received.marks]).toEqual([pa.mark]);
  expect(pa.received.ssrcs.size).toBe(1);
  expect([...pa.received.sources]).toEqual([`127.0.0.1:${portA}`]);
  expect([...pb.received.sources]).toEqual([`127.0.0.1:${portB}`]);
  expect([...pa.received.payloadTypes]).toEqual([0]);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  pa.stop();
  pb.stop();
  expect([ra.code, rb.code, ra.errors, rb.errors]).toEqual([0, 0, '', '']);
  await parley.waitParticipants('duo', (l) => l.length === 0);
});

test('delayed offer: INVITE without SDP, our offer in the 200, the answer in the ACK; media flows', async () => {
  const other = await peer();
  const phone = await peer();
  const o = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'late',
    keys: { rtp_port: other.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 6000,
  });
  const [, otherPort] = await o.waitEvent('answer');
  other.send('127.0.0.1', Number(otherPort), 0);
  const d = await startFocusSipp(parley, {
    scenario: 'uac-delayed-offer.xml',
    room: 'late',
    keys: { rtp_port: phone.port },
    pauseMs: 3000,
  });
  const offer = await d.waitEvent('offer');
  // Our offer lists PCMU (0) among its payload types (the scenario checked a=rtpmap:0 PCMU/8000 too).
  expect(offer.slice(2)).toContain('0');
  phone.send('127.0.0.1', Number(offer[1]), 0);
  const ps = await parley.waitParticipants(
    'late',
    (l) => l.length === 2 && l.every((p) => p.state === 'joined'),
  );
  expect(ps.map((p) => p.codec)).toEqual(['PCMU', 'PCMU']);
  await until(
    'RTP both ways after the ACK answer',
    () => phone.received.count >= 40 && other.received.count >= 40,
  );
  expect([...phone.received.marks]).toEqual([other.mark]);
  expect([...other.received.marks]).toEqual([phone.mark]);
  const rd = await d.done;
  expect({ code: rd.code, errors: rd.errors }).toEqual({ code: 0, errors: '' });
  const ro = await o.done;
  other.stop();
  phone.stop();
  expect(ro.code).toBe(0);
});

interface HoldWatch {
  /** the distinct onHold values, in order */
  seen: boolean[];
  /** RTP packets the phone received between two samples that both showed it on hold / not on hold */
  whileHeld: number;
  whileActive: number;
  /** the same for what `other` received (the held phone's audio) */
  otherWhileHeld: number;
  otherWhileActive: number;
}

/** Samples participant `index` of `room` (and the RTP counters of `phone` and `other`) until `run` settles. */
async function watchHold(
  room: string,
  index: number,
  run: Promise<unknown>,
  phone?: RtpPeer,
  other?: RtpPeer,
): Promise<HoldWatch> {
  const w: HoldWatch = { seen: [], whileHeld: 0, whileActive: 0, otherWhileHeld: 0, otherWhileActive: 0 };
  let done = false;
  void run.finally(() => (done = true));
  let prev: { held: boolean; count: number; otherCount: number } | undefined;
  while (!done) {
    const ps: ApiParticipant[] = await parley.participants(room);
    const held = ps[index]?.onHold;
    const count = phone?.received.count ?? 0;
    const otherCount = other?.received.count ?? 0;
    if (held !== undefined) {
      if (w.seen[w.seen.length - 1] !== held) w.seen.push(held);
      if (prev && prev.held === held) {
        if (held) {
          w.whileHeld += count - prev.count;
          w.otherWhileHeld += otherCount - prev.otherCount;
        } else {
          w.whileActive += count - prev.count;
          w.otherWhileActive += otherCount - prev.otherCount;
        }
      }
      prev = { held, count, otherCount };
    } else prev = undefined;
    await sleep(40);
  }
  return w;
}

test('hold and resume by re-INVITE: a=sendonly and c=0.0.0.0 put the call on hold; no media either way while held', async () => {
  const other = await peer();
  const phone = await peer();
  const o = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'hold',
    keys: { rtp_port: other.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 12000,
  });
  const [, otherPort] = await o.waitEvent('answer');
  other.send('127.0.0.1', Number(otherPort), 0);
  await parley.waitParticipants('hold', (l) => l.length === 1);
  const h = await startFocusSipp(parley, {
    scenario: 'uac-hold.xml',
    room: 'hold',
    keys: { rtp_port: phone.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 1500,
  });
  const [, port] = await h.waitEvent('answer');
  phone.send('127.0.0.1', Number(port), 0);
  const w = await watchHold('hold', 1, h.done, phone, other);
  const r = await h.done;
  phone.stop();
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  const ev = h.events();
  // RFC 3264 §6.1: the answer to a=sendonly is a=recvonly
  expect(ev.map((e) => [e[0], e[3]])).toEqual([
    ['answer', 'sendrecv'],
    ['hold', 'recvonly'],
    ['resume', 'sendrecv'],
    ['hold0', 'recvonly'],
    ['resume0', 'sendrecv'],
  ]);
  // Same leg, same port all along (a direction change is not a new leg).
  expect(new Set(ev.map((e) => e[1])).size).toBe(1);
  expect(w.seen).toEqual([false, true, false, true, false]);
  // RFC 3264 §8.4: a phone that holds us is sent no media (the consumer is paused); in-flight packets aside.
  expect(w.whileHeld).toBeLessThanOrEqual(4);
  expect(w.whileActive).toBeGreaterThan(50);
  // ... and its own media (music on hold, say) does not reach the room while it holds (paused producer).
  expect(w.otherWhileHeld).toBeLessThanOrEqual(4);
  expect(w.otherWhileActive).toBeGreaterThan(50);
  await o.done;
  other.stop();
});

test('UPDATE (RFC 3311) mid-call: hold then resume; API follows', async () => {
  const phone = await peer();
  const u = await startFocusSipp(parley, {
    scenario: 'uac-update.xml',
    room: 'upd',
    keys: { rtp_port: phone.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 1500,
  });
  const [, port] = await u.waitEvent('answer');
  phone.send('127.0.0.1', Number(port), 0);
  const w = await watchHold('upd', 0, u.done);
  const r = await u.done;
  phone.stop();
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(receivedStatuses(r.messages).filter((st) => st >= 200)).toEqual([200, 200, 200, 200]);
  expect(receivedStatuses(r.messages)[0]).toBe(100);
  expect(u.events().map((e) => [e[0], e[3]])).toEqual([
    ['answer', 'sendrecv'],
    ['hold', 'recvonly'],
    ['resume', 'sendrecv'],
  ]);
  expect(w.seen).toEqual([false, true, false]);
});

test('address change: a re-INVITE with a new port moves the media there', async () => {
  const other = await peer();
  const first = await peer();
  const second = await peer();
  const o = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'move',
    keys: { rtp_port: other.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 9000,
  });
  const [, otherPort] = await o.waitEvent('answer');
  other.send('127.0.0.1', Number(otherPort), 0);
  const m = await startFocusSipp(parley, {
    scenario: 'uac-move.xml',
    room: 'move',
    keys: { rtp_port: first.port, rtp_port2: second.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 2500,
  });
  const [, port] = await m.waitEvent('answer');
  first.send('127.0.0.1', Number(port), 0);
  await until('media at the first address', () => first.received.count >= 20);
  expect(second.received.count).toBe(0);
  // The phone moves: it stops using its old address before its re-INVITE (sent 2.5 s after the ACK).
  first.stop();
  expect(m.events().length).toBe(1);
  const moved = await m.waitEvent('moved');
  expect(moved[1]).toBe(port); // same leg, same focus port
  const firstAtMove = first.received.count;
  // The focus sends to the new SDP address at once, before the phone sends anything from there ...
  await until('media at the new address', () => second.received.count >= 20);
  expect([...second.received.marks]).toEqual([other.mark]);
  // ... and the phone's media from its new address reaches the other phone.
  other.reset();
  second.send('127.0.0.1', Number(port), 0);
  await until('the moved phone heard by the other', () => other.received.count >= 20);
  expect([...other.received.marks]).toEqual([second.mark]);
  // Nothing more went to the old address (a packet or two in flight at the switch aside).
  expect(first.received.count - firstAtMove).toBeLessThanOrEqual(2);
  const r = await m.done;
  second.stop();
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  await o.done;
  other.stop();
});

test('a SIPp caller over TCP joins with transport TCP and exchanges RTP', async () => {
  const phone = await peer();
  const other = await peer();
  const o = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'tcp',
    keys: { rtp_port: other.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 4000,
  });
  const [, otherPort] = await o.waitEvent('answer');
  other.send('127.0.0.1', Number(otherPort), 0);
  const t = await startFocusSipp(parley, {
    scenario: 'uac-call.xml',
    room: 'tcp',
    transport: 't1',
    keys: { rtp_port: phone.port, pt: 0, enc: 'PCMU/8000' },
    pauseMs: 2500,
  });
  const [, port] = await t.waitEvent('answer');
  phone.send('127.0.0.1', Number(port), 0);
  const ps = await parley.waitParticipants('tcp', (l) => l.length === 2);
  expect(ps.map((p) => p.transport).sort()).toEqual(['TCP', 'UDP']);
  await until('RTP both ways', () => phone.received.count >= 30 && other.received.count >= 30);
  expect([...phone.received.marks]).toEqual([other.mark]);
  expect([...other.received.marks]).toEqual([phone.mark]);
  const r = await t.done;
  phone.stop();
  expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: '' });
  expect(r.messages).toMatch(/TCP message sent/);
  await o.done;
  other.stop();
});
