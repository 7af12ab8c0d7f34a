import dgram from 'node:dgram';
import { once } from 'node:events';
import { SipStack } from '../../../../src/sip/ua/sip-stack';
import { summariseMessage, TRACE_MAX_BYTES, type MessageTrace } from '../../../../src/sip/ua/message-trace';

function options(port: number, callId: string, compact = false): Buffer {
  return Buffer.from(
    [
      'OPTIONS sip:parley@127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId};rport`,
      'Max-Forwards: 70',
      'From: <sip:probe@127.0.0.1>;tag=p1',
      'To: <sip:parley@127.0.0.1>',
      compact ? `i: ${callId}` : `Call-ID: ${callId}`,
      'CSeq: 7 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

describe('summariseMessage', () => {
  it('reads method and Call-ID of a request, compact form included', () => {
    expect(summariseMessage(options(5070, 'abc@h').toString())).toEqual({
      callId: 'abc@h',
      method: 'OPTIONS',
      status: null,
    });
    expect(summariseMessage(options(5070, 'xyz', true).toString()).callId).toBe('xyz');
  });

  it('reads status and the CSeq method of a response', () => {
    const text = 'SIP/2.0 486 Busy Here\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\n\r\n';
    expect(summariseMessage(text)).toEqual({ callId: 'c1', method: 'INVITE', status: 486 });
  });

  it('never reads headers out of the body, and survives garbage', () => {
    const text = 'MESSAGE sip:a@b SIP/2.0\r\nCSeq: 1 MESSAGE\r\n\r\nCall-ID: not-a-header';
    expect(summariseMessage(text).callId).toBeNull();
    expect(summariseMessage('\u0000\u0001 garbage')).toEqual({
      callId: null,
      method: '\u0000\u0001',
      status: null,
    });
  });
});

describe('SipStack.onTrace (a real stack on 127.0.0.1, a real UDP socket)', () => {
  let stack: SipStack;
  let sock: dgram.Socket;
  let port: number;

  beforeEach(async () => {
    stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, tryingDelayMs: 0 });
    sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    port = sock.address().port;
  });

  afterEach(async () => {
    sock.close();
    await stack.close();
  });

  const send = (b: Buffer): void => {
    sock.send(b, stack.ports.udp!, '127.0.0.1');
  };
  const reply = async (): Promise<string> => {
    const [msg] = (await once(sock, 'message')) as [Buffer];
    return msg.toString();
  };

  it('traces an OPTIONS received and its 200 sent, with method, status, Call-ID, addresses and the bytes', async () => {
    const traces: MessageTrace[] = [];
    const off = stack.onTrace((t) => traces.push(t));
    send(options(port, 'opt-1'));
    const answer = await reply();
    off();
    expect(traces.map((t) => [t.direction, t.method, t.status, t.callId])).toEqual([
      ['in', 'OPTIONS', null, 'opt-1'],
      ['out', 'OPTIONS', 200, 'opt-1'],
    ]);
    const [inbound, outbound] = traces as [MessageTrace, MessageTrace];
    expect(inbound.remote).toBe(`127.0.0.1:${port}`);
    expect(inbound.local).toBe(`127.0.0.1:${stack.ports.udp}`);
    expect(inbound.transport).toBe('UDP');
    expect(inbound.raw).toBe(options(port, 'opt-1').toString());
    expect(outbound.raw).toBe(answer);
    expect(outbound.remote).toBe(`127.0.0.1:${port}`);
    expect(outbound.at).toBeGreaterThanOrEqual(inbound.at);
  });

  it('traces an INVITE in, and the 100 and the final answer out (no INVITE listener: 480)', async () => {
    const traces: MessageTrace[] = [];
    const off = stack.onTrace((t) => traces.push(t));
    const invite = options(port, 'inv-1')
      .toString()
      .replace(/OPTIONS/g, 'INVITE')
      .replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nContact: <sip:probe@127.0.0.1>');
    send(Buffer.from(invite));
    const seen: string[] = [];
    while (!seen.some((m) => /^SIP\/2\.0 [2-6]/.test(m))) seen.push(await reply());
    off();
    const labels = traces.map((t) => `${t.direction} ${t.status ?? t.method} ${t.method} ${t.callId}`);
    expect(labels[0]).toBe('in INVITE INVITE inv-1');
    expect(labels).toContain('out 100 INVITE inv-1');
    expect(labels[labels.length - 1]).toBe('out 480 INVITE inv-1');
  });

  it('stops tracing when unsubscribed, and one listener throwing does not stop the others or the stack', async () => {
    const kept: MessageTrace[] = [];
    const offBad = stack.onTrace(() => {
      throw new Error('boom');
    });
    const off = stack.onTrace((t) => kept.push(t));
    send(options(port, 'opt-2'));
    await reply();
    expect(kept).toHaveLength(2);
    off();
    offBad();
    send(options(port, 'opt-3'));
    await reply();
    expect(kept).toHaveLength(2);
  });

  it('caps what it keeps of a large message', async () => {
    const traces: MessageTrace[] = [];
    const off = stack.onTrace((t) => traces.push(t));
    const big = options(port, 'opt-big')
      .toString()
      .replace('Content-Length: 0', `X-Padding: ${'a'.repeat(TRACE_MAX_BYTES)}\r\nContent-Length: 0`);
    send(Buffer.from(big));
    await reply();
    off();
    expect(traces[0]!.raw.length).toBeLessThan(TRACE_MAX_BYTES + 100);
    expect(traces[0]!.raw).toMatch(/more bytes not kept\]$/);
    expect(traces[0]!.callId).toBe('opt-big');
  });
});
