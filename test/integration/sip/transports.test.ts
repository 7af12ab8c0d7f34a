import dgram from 'node:dgram';
import net from 'node:net';
import WebSocket from 'ws';
import { parseMessage } from '../../../src/sip/parser/message-parser';
import { SipRequest, SipResponse } from '../../../src/sip/message/sip-message';
import { TerminationReason } from '../../../src/sip/dialog/dialog-state';
import type { SessionDialog } from '../../../src/sip/dialog/session-dialog';
import { SipStack } from '../../../src/sip/ua/sip-stack';

jest.setTimeout(30000);

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

function msg(lines: string[], body = ''): string {
  return lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body;
}

function options(via: string, callId = 'c1'): string {
  return msg([
    'OPTIONS sip:conf@127.0.0.1 SIP/2.0',
    `Via: ${via}`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=p1',
    'To: <sip:conf@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
  ]);
}

/** a UDP socket collecting what it receives */
async function udpPeer(): Promise<{
  sock: dgram.Socket;
  port: number;
  next: (ms?: number) => Promise<Buffer | undefined>;
}> {
  const sock = dgram.createSocket('udp4');
  const queue: Buffer[] = [];
  let waiter: ((b: Buffer) => void) | undefined;
  sock.on('message', (b) => (waiter ? (waiter(b), (waiter = undefined)) : queue.push(b)));
  await new Promise<void>((r) => sock.bind({ address: '127.0.0.1', port: 0 }, () => r()));
  const next = (ms = 2000): Promise<Buffer | undefined> =>
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
        });
  return { sock, port: sock.address().port, next };
}

describe('transports (RFC 3261 §18, RFC 3581, RFC 7118)', () => {
  let stack: SipStack;
  const dialogs: SessionDialog[] = [];
  beforeAll(async () => {
    stack = await SipStack.create({
      listen: { ip: '127.0.0.1', udp: 0, tcp: 0, ws: 0 },
      idleTimeoutMs: 1500,
    });
    stack.onInvite(
      (inv) =>
        void inv.accept({ sdp: SDP }).then(
          (d) => dialogs.push(d),
          () => undefined,
        ),
    );
  });
  afterAll(() => stack.close());

  describe('UDP', () => {
    it('RFC 3581: rport without value → response to the source port with received and rport filled in', async () => {
      const peer = await udpPeer();
      // the Via claims port 9: the response must still come back to the real source port
      peer.sock.send(
        options('SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-r1;rport', 'udp-1'),
        stack.ports.udp!,
        '127.0.0.1',
      );
      const res = parseMessage((await peer.next())!) as SipResponse;
      expect(res.status).toBe(200);
      expect(res.topVia.rport).toBe(peer.port);
      expect(res.topVia.received).toBe('127.0.0.1');
      peer.sock.close();
    });

    it('§18.2.1: a sent-by host that differs from the source gets received=', async () => {
      const peer = await udpPeer();
      peer.sock.send(
        options(`SIP/2.0/UDP client.invalid:${peer.port};branch=z9hG4bK-r2`, 'udp-2'),
        stack.ports.udp!,
        '127.0.0.1',
      );
      const res = parseMessage((await peer.next())!) as SipResponse;
      expect(res.topVia.received).toBe('127.0.0.1');
      peer.sock.close();
    });

    it('a malformed request that can be answered gets 400; garbage is dropped; the stack keeps working', async () => {
      const peer = await udpPeer();
      const bad = msg([
        'OPTIONS sip:conf@127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-bad`,
        'Max-Forwards: 70',
        'From: <sip:probe@127.0.0.1>;tag=p1',
        'To: <sip:conf@127.0.0.1>',
        'Call-ID: bad1',
        'CSeq: 1 INVITE', // does not match the method
      ]);
      peer.sock.send(bad, stack.ports.udp!, '127.0.0.1');
      const res = parseMessage((await peer.next())!) as SipResponse;
      expect(res.status).toBe(400);
      peer.sock.send(Buffer.from('\x00\x01garbage\r\n\r\n'), stack.ports.udp!, '127.0.0.1');
      expect(await peer.next(500)).toBeUndefined();
      peer.sock.send(
        options(`SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-after`, 'udp-3'),
        stack.ports.udp!,
        '127.0.0.1',
      );
      expect((parseMessage((await peer.next())!) as SipResponse).status).toBe(200);
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
    const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
      const end = Date.now() + ms;
      while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    };

    it('responses go back over the same connection; CRLFCRLF keep-alive gets a CRLF pong (RFC 5626 §3.5.1)', async () => {
      const c = await connect();
      c.sock.write(options('SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-t1', 'tcp1'));
      await until(() => c.data().includes('SIP/2.0 200'));
      expect(c.data()).toMatch(/^SIP\/2\.0 200/);
      const len = c.data().length;
      c.sock.write('\r\n\r\n');
      await until(() => c.data().length > len);
      expect(c.data().slice(len)).toBe('\r\n');
      c.sock.destroy();
    });

    it('a stream with broken framing is closed', async () => {
      const c = await connect();
      c.sock.write(
        'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-x\r\nCall-ID: nolen\r\n\r\n',
      );
      await expect(
        Promise.race([c.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 3000))]),
      ).resolves.toBe('closed');
    });

    it('idle connections are closed after idleTimeoutMs', async () => {
      const c = await connect();
      const t0 = Date.now();
      await c.closed;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    });
  });

  describe('WebSocket (RFC 7118)', () => {
    const url = (): string => `ws://127.0.0.1:${stack.ports.ws}`;

    it('refuses a handshake without the sip subprotocol', async () => {
      const ws = new WebSocket(url());
      const outcome = await new Promise<string>((resolve) => {
        ws.on('open', () => resolve('open'));
        ws.on('error', () => resolve('refused'));
        ws.on('unexpected-response', () => resolve('refused'));
      });
      expect(outcome).toBe('refused');
      ws.terminate();
    });

    it('a call over WS: INVITE/200/ACK, and our BYE travels over the client connection', async () => {
      const ws = new WebSocket(url(), 'sip');
      const received: Array<SipRequest | SipResponse> = [];
      let wake: (() => void) | undefined;
      ws.on('message', (d: Buffer) => {
        received.push(parseMessage(Buffer.from(d)));
        wake?.();
      });
      await new Promise<void>((r) => ws.on('open', () => r()));
      expect(ws.protocol).toBe('sip');
      const waitMsg = async (
        pred: (m: SipRequest | SipResponse) => boolean,
      ): Promise<SipRequest | SipResponse> => {
        for (;;) {
          const m = received.find(pred);
          if (m) return m;
          await new Promise<void>((r) => {
            const t = setTimeout(r, 3000);
            wake = () => {
              clearTimeout(t);
              r();
            };
          });
        }
      };
      const via = 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws1';
      const common = ['Max-Forwards: 70', 'From: <sip:web@example.invalid>;tag=w1', 'Call-ID: ws-call-1'];
      ws.send(
        msg(
          [
            'INVITE sip:conf@127.0.0.1 SIP/2.0',
            `Via: ${via}`,
            ...common,
            'To: <sip:conf@127.0.0.1>',
            'CSeq: 1 INVITE',
            'Contact: <sip:web@df7jal23ls0d.invalid;transport=ws>',
            'Content-Type: application/sdp',
          ],
          SDP,
        ),
      );
      const ok = (await waitMsg((m) => m instanceof SipResponse && m.status === 200)) as SipResponse;
      expect(ok.topVia.received).toBe('127.0.0.1');
      expect(ok.headers.get('Contact')).toContain('transport=ws');
      const n = dialogs.length;
      ws.send(
        msg([
          'ACK sip:conf@127.0.0.1 SIP/2.0',
          'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws2',
          ...common,
          `To: ${ok.headers.get('To')}`,
          'CSeq: 1 ACK',
        ]),
      );
      const end = Date.now() + 3000;
      while (dialogs.length === n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      const d = dialogs[dialogs.length - 1]!;
      expect(d.protocol).toBe('WS');
      void d.bye();
      const bye = (await waitMsg((m) => m instanceof SipRequest && m.method === 'BYE')) as SipRequest;
      expect(bye.uri.host).toBe('df7jal23ls0d.invalid');
      expect(d.termination?.reason).toBe(TerminationReason.LocalBye);
      ws.close();
    });
  });

  describe('secure WebSocket (WSS, development certificate)', () => {
    it('answers OPTIONS over wss with the sip subprotocol', async () => {
      const secure = await SipStack.create({ listen: { ip: '127.0.0.1', wss: 0 } });
      try {
        const ws = new WebSocket(`wss://127.0.0.1:${secure.ports.wss}`, 'sip', { rejectUnauthorized: false });
        await new Promise<void>((r) => ws.on('open', () => r()));
        const reply = new Promise<SipResponse>((r) =>
          ws.on('message', (d: Buffer) => r(parseMessage(Buffer.from(d)) as SipResponse)),
        );
        ws.send(options('SIP/2.0/WSS abc.invalid;branch=z9hG4bK-wss1', 'wss-1'));
        const res = await reply;
        expect(res.status).toBe(200);
        expect(res.topVia.received).toBe('127.0.0.1');
        ws.close();
      } finally {
        await secure.close();
      }
    });
  });
});
