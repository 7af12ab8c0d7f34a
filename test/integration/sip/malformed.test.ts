/**
 * Malformed SIP against a real SipStack on 127.0.0.1 (UDP and TCP), raw bytes on real sockets.
 * RFC 3261 §8.2 / §21.4.1: a malformed request whose top Via reads is answered 400 with a reason naming the problem,
 * echoing the readable Via/From/To/Call-ID/CSeq (§8.2.6); without a readable Via there is nowhere to answer
 * (§18.2.2): dropped and counted. §18.3: over UDP a request without Content-Length has the rest of the datagram as
 * its body; over TCP Content-Length is mandatory: 400, then the connection closes.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import { SipParseError } from '../../../src/sip/errors';
import { SipResponse } from '../../../src/sip/message/sip-message';
import { parseMessage } from '../../../src/sip/parser/message-parser';
import { SipStack } from '../../../src/sip/ua/sip-stack';

jest.setTimeout(60000);

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

/** A request's lines; `drop` removes headers by name, `set` replaces/adds them. */
function request(
  method: string,
  via: string,
  opts: { drop?: string[]; set?: Record<string, string>; callId?: string } = {},
): string[] {
  const h: Array<[string, string]> = [
    ['Via', via],
    ['Max-Forwards', '70'],
    ['From', '"Probe" <sip:probe@127.0.0.1>;tag=p1'],
    ['To', '<sip:conf@127.0.0.1>'],
    ['Call-ID', opts.callId ?? `mal-${Math.random().toString(36).slice(2)}`],
    ['CSeq', `1 ${method}`],
  ];
  const out = h.filter(([n]) => !(opts.drop ?? []).includes(n));
  for (const [n, v] of Object.entries(opts.set ?? {})) {
    const i = out.findIndex(([m]) => m === n);
    if (i >= 0) out[i] = [n, v];
    else out.push([n, v]);
  }
  return [`${method} sip:conf@127.0.0.1 SIP/2.0`, ...out.map(([n, v]) => `${n}: ${v}`)];
}

const withCl = (lines: string[], body = ''): Buffer =>
  Buffer.from(lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body);

interface UdpPeer {
  sock: dgram.Socket;
  port: number;
  via: (branch: string) => string;
  next: (ms?: number) => Promise<Buffer | undefined>;
  drain: () => void;
}

async function udpPeer(): Promise<UdpPeer> {
  const sock = dgram.createSocket('udp4');
  const queue: Buffer[] = [];
  let waiter: ((b: Buffer) => void) | undefined;
  sock.on('message', (b) => (waiter ? (waiter(b), (waiter = undefined)) : queue.push(b)));
  await new Promise<void>((r) => sock.bind({ address: '127.0.0.1', port: 0 }, () => r()));
  const port = sock.address().port;
  return {
    sock,
    port,
    via: (branch) => `SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${branch};rport`,
    next: (ms = 2000) =>
      queue.length
        ? Promise.resolve(queue.shift())
        : new Promise((resolve) => {
            const t = setTimeout(() => {
              waiter = undefined;
              resolve(undefined);
            }, ms);
            waiter = (b) => {
              clearTimeout(t);
              resolve(b);
            };
          }),
    drain: () => void queue.splice(0),
  };
}

/**
 * Parses a reply. A 400 for a request that lacked (or had unreadable) From/To/Call-ID/CSeq cannot echo it, so our
 * own parser then reports exactly that header missing — and nothing else.
 */
function parseReply(buf: Buffer, lacking?: string): SipResponse {
  try {
    const m = parseMessage(buf);
    expect(m).toBeInstanceOf(SipResponse);
    return m as SipResponse;
  } catch (e) {
    if (lacking !== undefined && e instanceof SipParseError && e.reason === `Missing ${lacking} header`) {
      const text = buf.toString('utf8');
      const status = Number(/^SIP\/2\.0 (\d{3}) /.exec(text)?.[1]);
      const reason = /^SIP\/2\.0 \d{3} (.*)\r\n/.exec(text)?.[1] ?? '';
      const res = new SipResponse(status, reason);
      for (const line of text.split('\r\n\r\n')[0]!.split('\r\n').slice(1)) {
        const c = line.indexOf(':');
        res.headers.append(line.slice(0, c), line.slice(c + 1).trim());
      }
      return res;
    }
    throw e;
  }
}

describe('malformed SIP over real sockets (RFC 3261 §8.2, §18.3, §21.4.1)', () => {
  let stack: SipStack;
  const invites: Array<{ sdp: string | undefined; body: string }> = [];
  beforeAll(async () => {
    stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: 0 } });
    stack.onInvite((inv) => {
      invites.push({ sdp: inv.sdp, body: inv.request.body.toString() });
      inv.reject(486);
    });
  });
  afterAll(() => stack.close());

  describe('UDP: each malformed case gets its exact 400 reason, with the readable headers echoed', () => {
    const cases: Array<[string, (via: string) => Buffer, string | undefined]> = [
      ['Missing CSeq header', (via) => withCl(request('OPTIONS', via, { drop: ['CSeq'] })), 'CSeq'],
      ['Bad CSeq', (via) => withCl(request('OPTIONS', via, { set: { CSeq: 'one OPTIONS' } })), 'CSeq'],
      [
        'Bad CSeq',
        (via) => withCl(request('OPTIONS', via, { set: { CSeq: '99999999999 OPTIONS' } })),
        'CSeq',
      ],
      ['Missing Call-ID header', (via) => withCl(request('OPTIONS', via, { drop: ['Call-ID'] })), 'Call-ID'],
      ['Missing From header', (via) => withCl(request('OPTIONS', via, { drop: ['From'] })), 'From'],
      ['Missing To header', (via) => withCl(request('OPTIONS', via, { drop: ['To'] })), 'To'],
      [
        'Unterminated quoted string in From',
        (via) => withCl(request('INVITE', via, { set: { From: '"Bob <sip:bob@127.0.0.1>;tag=b1' } })),
        'From',
      ],
      [
        'Unterminated quoted string in To',
        (via) => withCl(request('OPTIONS', via, { set: { To: '"Conf <sip:conf@127.0.0.1>' } })),
        'To',
      ],
      [
        'CSeq method does not match request method',
        (via) => withCl(request('OPTIONS', via, { set: { CSeq: '1 INVITE' } })),
        undefined,
      ],
      [
        'Content-Length mismatch',
        (via) => Buffer.from(request('OPTIONS', via).join('\r\n') + '\r\nContent-Length: 500\r\n\r\nshort'),
        undefined,
      ],
    ];

    it.each(cases)('400 %s', async (reason, build, lacking) => {
      const peer = await udpPeer();
      const before = stack.transport.malformed.answered;
      peer.sock.send(build(peer.via('m')), stack.ports.udp!, '127.0.0.1');
      const raw = await peer.next();
      expect(raw).toBeDefined();
      const res = parseReply(raw!, lacking);
      expect(res.status).toBe(400);
      expect(res.reason).toBe(reason);
      // §8.2.6.2: the Via is echoed, with received/rport filled in (RFC 3581 §4)
      expect(res.topVia.branch).toBe('z9hG4bK-m');
      expect(res.topVia.rport).toBe(peer.port);
      if (lacking !== 'From') expect(res.from.tag).toBe('p1');
      if (lacking !== 'To') expect(res.to.tag).toBeDefined(); // §8.2.6.2: To tag added
      if (lacking !== 'Call-ID') expect(res.callId).toMatch(/^mal-/);
      if (lacking !== 'CSeq') expect(res.cseq.seq).toBe(1);
      for (const h of ['Via', 'From', 'To', 'Call-ID', 'CSeq'])
        expect(res.headers.has(h)).toBe(h !== lacking);
      expect(stack.transport.malformed.answered).toBe(before + 1);
      peer.sock.close();
    });

    it('no readable Via, a malformed response, an ACK: dropped (nowhere or nothing to answer) and counted', async () => {
      const peer = await udpPeer();
      const before = stack.transport.malformed.dropped;
      const noVia = withCl(request('OPTIONS', 'x', { drop: ['Via', 'CSeq'] }));
      const badVia = withCl(request('OPTIONS', 'SIP/2.0/UDP ;;;', { drop: ['CSeq'] }));
      const badResponse = Buffer.from(
        `SIP/2.0 200 OK\r\nVia: ${peer.via('r')}\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n`,
      );
      const badAck = withCl(request('ACK', peer.via('a'), { drop: ['Call-ID'] }));
      for (const b of [noVia, badVia, badResponse, badAck]) peer.sock.send(b, stack.ports.udp!, '127.0.0.1');
      expect(await peer.next(700)).toBeUndefined();
      expect(stack.transport.malformed.dropped).toBe(before + 4);
      peer.sock.close();
    });
  });

  describe('UDP without Content-Length: the body runs to the end of the datagram (§18.3)', () => {
    it('OPTIONS is answered 200 by a Server header without a version', async () => {
      const peer = await udpPeer();
      const lines = request('OPTIONS', peer.via('o'));
      peer.sock.send(Buffer.from(lines.join('\r\n') + '\r\n\r\n'), stack.ports.udp!, '127.0.0.1');
      const res = parseMessage((await peer.next())!) as SipResponse;
      expect(res.status).toBe(200);
      expect(res.headers.get('Server')).toBe('Parley');
      peer.sock.close();
    });

    it('INVITE reaches the application with its whole SDP body', async () => {
      const peer = await udpPeer();
      const lines = request('INVITE', peer.via('i'), {
        set: { 'Content-Type': 'application/sdp', Contact: `<sip:probe@127.0.0.1:${peer.port}>` },
      });
      peer.sock.send(Buffer.from(lines.join('\r\n') + '\r\n\r\n' + SDP), stack.ports.udp!, '127.0.0.1');
      const statuses: number[] = [];
      for (let i = 0; i < 3 && !statuses.includes(486); i++) {
        const b = await peer.next();
        if (b) statuses.push((parseMessage(b) as SipResponse).status);
      }
      expect(statuses).toContain(486);
      expect(invites.at(-1)).toEqual({ sdp: SDP, body: SDP });
      peer.sock.close();
    });
  });

  describe('TCP', () => {
    function connect(): Promise<{ sock: net.Socket; data: () => string; closed: Promise<void> }> {
      return new Promise((resolve) => {
        let buf = '';
        const sock = net.connect({ host: '127.0.0.1', port: stack.ports.tcp! }, () =>
          resolve({ sock, data: () => buf, closed }),
        );
        const closed = new Promise<void>((r) => sock.on('close', () => r()));
        sock.on('data', (d) => (buf += d.toString()));
        sock.on('error', () => undefined);
      });
    }
    const tcpVia = 'SIP/2.0/TCP client.invalid:9;branch=z9hG4bK-t';

    it('§18.3: no Content-Length on a stream → 400 Missing Content-Length header, then the connection closes', async () => {
      const c = await connect();
      // a good request first, in the same segment: it is framed and answered before the broken one
      const good = withCl(request('OPTIONS', tcpVia + '1', { callId: 'tcp-good' }));
      const bad = Buffer.from(
        request('OPTIONS', tcpVia + '2', { callId: 'tcp-nocl' }).join('\r\n') + '\r\n\r\n',
      );
      c.sock.write(Buffer.concat([good, bad]));
      await c.closed;
      const replies = c
        .data()
        .split(/(?=SIP\/2\.0 )/)
        .map((t) => parseMessage(Buffer.from(t)) as SipResponse);
      expect(replies.map((r) => `${r.status} ${r.reason} ${r.callId}`)).toEqual([
        '200 OK tcp-good',
        '400 Missing Content-Length header tcp-nocl',
      ]);
      // §18.2.1: the sent-by host differs from the source: received is added
      expect(replies[1]!.topVia.received).toBe('127.0.0.1');
    });

    it('a framed request with a bad CSeq → 400 Bad CSeq on the connection, which stays open', async () => {
      const c = await connect();
      c.sock.write(withCl(request('OPTIONS', tcpVia + '3', { set: { CSeq: 'x OPTIONS' } })));
      c.sock.write(withCl(request('OPTIONS', tcpVia + '4', { callId: 'tcp-after' })));
      for (let i = 0; i < 50 && c.data().split('SIP/2.0 ').length < 3; i++)
        await new Promise((r) => setTimeout(r, 50));
      const [first, second] = c
        .data()
        .split(/(?=SIP\/2\.0 )/)
        .map((t) => parseReply(Buffer.from(t), 'CSeq'));
      expect(`${first!.status} ${first!.reason}`).toBe('400 Bad CSeq');
      expect(`${second!.status} ${second!.callId}`).toBe('200 tcp-after');
      c.sock.destroy();
    });
  });

  it('keeps serving after 1,000 random malformed datagrams; every reply is a well-formed 4xx/5xx', async () => {
    const peer = await udpPeer();
    const seed = 20261114;
    const valid = withCl(request('INVITE', peer.via('f'), { callId: 'fuzz' }), SDP);
    const mutation = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 600 }).map((a) => Buffer.from(a)),
      fc
        .tuple(fc.nat(valid.length - 1), fc.nat(valid.length), fc.uint8Array({ maxLength: 8 }))
        .map(([at, len, ins]) =>
          Buffer.concat([
            valid.subarray(0, at),
            Buffer.from(ins),
            valid.subarray(Math.min(valid.length, at + len)),
          ]),
        ),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
    );
    const samples = fc.sample(mutation, { numRuns: 1000, seed });
    let sent = 0;
    for (const s of samples) {
      // never send a valid INVITE by accident: a bad CSeq keeps each one a malformed request at best
      const b = Buffer.from(s.toString('latin1').replace('CSeq: 1 INVITE', 'CSeq: 1 BYE'), 'latin1');
      peer.sock.send(b, stack.ports.udp!, '127.0.0.1');
      if (++sent % 100 === 0) await new Promise((r) => setTimeout(r, 20)); // stay under the socket buffers
    }
    await new Promise((r) => setTimeout(r, 500));
    const replies: Buffer[] = [];
    for (let b = await peer.next(200); b; b = await peer.next(200)) replies.push(b);
    for (const r of replies) {
      const text = r.toString('latin1');
      expect(text).toMatch(/^SIP\/2\.0 [45]\d\d [\x20-\x7e]+\r\n/);
      const missing = ['From', 'To', 'Call-ID', 'CSeq'].find((h) => !new RegExp(`\r\n${h}:`, 'i').test(text));
      expect(parseReply(r, missing).topVia).toBeDefined();
    }
    peer.drain();
    const ok = request('OPTIONS', peer.via('after'), { callId: 'after-fuzz' });
    peer.sock.send(withCl(ok), stack.ports.udp!, '127.0.0.1');
    let res: SipResponse | undefined;
    for (let b = await peer.next(); b && !res; b = await peer.next()) {
      const m = parseMessage(b) as SipResponse;
      if (m.callId === 'after-fuzz') res = m;
    }
    expect(res?.status).toBe(200);
    expect(stack.transport.malformed.answered + stack.transport.malformed.dropped).toBeGreaterThan(500);
    peer.sock.close();
  });
});

describe('Server / User-Agent product token', () => {
  it('advertisedVersion set → Parley/<version>', async () => {
    const stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, advertisedVersion: '9.8.7' });
    const peer = await udpPeer();
    peer.sock.send(withCl(request('OPTIONS', peer.via('v'))), stack.ports.udp!, '127.0.0.1');
    const res = parseMessage((await peer.next())!) as SipResponse;
    expect(res.headers.get('Server')).toBe('Parley/9.8.7');
    peer.sock.close();
    await stack.close();
  });
});
