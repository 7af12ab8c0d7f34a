/**
 * Issue 14, abuse: per-source caps with a scanner that hides its User-Agent. INVITEs without SDP (delayed offer:
 * what svwar sends, and what used to be a free "200 OK" and a new room each) count like any call: a source creates
 * at most `maxRoomsPerSourcePerMinute` rooms on demand, and has at most `maxSetupsPerSource` calls in setup, then
 * gets the catalogue's 503 (before any port or thread is taken); another source is not affected.
 */
import dgram from 'node:dgram';
import { ERROR_CATALOGUE } from '../../src/errors/catalogue';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { stopAndReport } from './conference-helpers';

jest.setTimeout(180_000);

let parley: E2eParley | undefined;

beforeAll(async () => {
  parley = await startE2eParley({
    security: { maxRoomsPerSourcePerMinute: 3, maxSetupsPerSource: 4, maxCallsPerSource: 8 },
    conference: { joinTones: false },
  });
});

afterAll(async () => {
  await stopAndReport(parley, __filename);
});

/**
 * A bare UDP user agent on `ip` that sends INVITEs without SDP (never ACKs a 2xx: the call stays in setup until the
 * server gives up) and reads the first final answer of each.
 */
class RawInviter {
  private readonly finals = new Map<string, (statusLine: string) => void>();
  private n = 0;

  private constructor(
    private readonly sock: dgram.Socket,
    readonly ip: string,
  ) {
    sock.on('message', (data) => {
      const text = data.toString();
      const status = /^SIP\/2\.0 (\d{3})/.exec(text);
      const callId = /\r\nCall-ID: *([^\r\n]+)/i.exec(text)?.[1];
      if (!status || !callId || Number(status[1]) < 200) return;
      const done = this.finals.get(callId);
      this.finals.delete(callId);
      done?.(text.split('\r\n')[0]!);
    });
  }

  static async open(ip: string): Promise<RawInviter> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, ip, resolve));
    return new RawInviter(sock, ip);
  }

  invite(sipPort: number, room: string): Promise<string> {
    const { port } = this.sock.address();
    const id = `${Date.now()}-${++this.n}`;
    const callId = `${id}@${this.ip}`;
    const msg =
      `INVITE sip:${room}@127.0.0.1:${sipPort} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${this.ip}:${port};branch=z9hG4bK${id};rport\r\n` +
      `From: <sip:${id}@${this.ip}>;tag=t${id}\r\nTo: <sip:${room}@127.0.0.1>\r\n` +
      `Call-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContact: <sip:x@${this.ip}:${port}>\r\nMax-Forwards: 70\r\n` +
      `User-Agent: Yealink SIP-T46S 66.86.0.15\r\nContent-Length: 0\r\n\r\n`;
    return new Promise((resolve) => {
      this.finals.set(callId, resolve);
      this.sock.send(msg, sipPort, '127.0.0.1');
    });
  }

  close(): void {
    this.sock.close();
  }
}

const SETUPS = ERROR_CATALOGUE.SEC_TOO_MANY_SETUPS.sip;
const ROOMS = ERROR_CATALOGUE.SEC_ROOM_CREATION_LIMIT.sip;

test('an INVITE scan without SDP creates at most maxRoomsPerSourcePerMinute rooms', async () => {
  const p = parley!;
  const scanner = await RawInviter.open('127.0.0.2');
  try {
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await scanner.invite(p.sipPort, `ext${100 + i}`));
    expect(answers).toEqual([
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
      'SIP/2.0 200 OK',
      ...Array(3).fill(`SIP/2.0 ${ROOMS.status} ${ROOMS.reason}`),
    ]);
    const rooms = await p.api<{ rooms: Array<{ id: string }> }>('/api/rooms');
    expect(
      rooms.body.rooms
        .map((r) => r.id)
        .filter((id) => id.startsWith('ext'))
        .sort(),
    ).toEqual(['ext100', 'ext101', 'ext102']);
  } finally {
    scanner.close();
  }
});

test('calls in setup per source are capped (503) while another source still gets in', async () => {
  const p = parley!;
  const a = await RawInviter.open('127.0.0.3');
  const b = await RawInviter.open('127.0.0.4');
  try {
    const answers: string[] = [];
    // ext100 exists already (previous test): no room creation involved
    for (let i = 0; i < 6; i++) answers.push(await a.invite(p.sipPort, 'ext100'));
    expect(answers).toEqual([
      ...Array(4).fill('SIP/2.0 200 OK'),
      ...Array(2).fill(`SIP/2.0 ${SETUPS.status} ${SETUPS.reason}`),
    ]);
    expect(await b.invite(p.sipPort, 'ext100')).toBe('SIP/2.0 200 OK');
  } finally {
    a.close();
    b.close();
  }
});
