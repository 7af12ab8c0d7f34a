import { SipParseError } from '../../../../src/sip/errors';
import { parseMessage } from '../../../../src/sip/parser/message-parser';
import { StreamFramer } from '../../../../src/sip/parser/stream-framer';

function msg(callId: string, body = ''): Buffer {
  return Buffer.from(
    [
      'OPTIONS sip:a@example.com SIP/2.0',
      'Via: SIP/2.0/TCP h;branch=z9hG4bK' + callId,
      'To: <sip:a@example.com>',
      'From: <sip:b@example.com>;tag=1',
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      'Content-Type: text/plain',
      `l: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}

describe('StreamFramer (RFC 3261 §18.3, RFC 5626 §3.5.1)', () => {
  it('frames back-to-back messages by Content-Length', () => {
    const f = new StreamFramer();
    const all = Buffer.concat([msg('one', 'hello'), msg('two'), msg('three', 'xyz\r\n\r\nabc')]);
    const out = f.push(all);
    expect(out.pings).toBe(0);
    expect(out.messages.map((m) => parseMessage(m).callId)).toEqual(['one', 'two', 'three']);
    expect(parseMessage(out.messages[2]!).body.toString()).toBe('xyz\r\n\r\nabc');
    expect(f.buffered).toBe(0);
  });

  it('reassembles messages split at every byte', () => {
    const f = new StreamFramer();
    const all = Buffer.concat([msg('a', 'body-a'), Buffer.from('\r\n\r\n'), msg('b', 'body-b')]);
    const got: string[] = [];
    let pings = 0;
    for (let i = 0; i < all.length; i++) {
      const out = f.push(all.subarray(i, i + 1));
      pings += out.pings;
      for (const m of out.messages) got.push(parseMessage(m).body.toString());
    }
    expect(got).toEqual(['body-a', 'body-b']);
    expect(pings).toBe(1);
  });

  it('counts double-CRLF pings and skips single-CRLF pongs', () => {
    const f = new StreamFramer();
    expect(f.push(Buffer.from('\r\n\r\n\r\n\r\n'))).toEqual({ messages: [], pings: 2 });
    expect(f.push(Buffer.from('\r\n'))).toEqual({ messages: [], pings: 0 }); // maybe half a ping: waits
    const out = f.push(msg('x'));
    expect(out.pings).toBe(0);
    expect(out.messages).toHaveLength(1);
  });

  it('throws when Content-Length is missing or bad (mandatory on streams, §18.3)', () => {
    const noCl = Buffer.from(
      msg('x')
        .toString()
        .replace(/l: 0\r\n/, ''),
    );
    expect(() => new StreamFramer().push(noCl)).toThrow('Missing Content-Length header');
    const bad = Buffer.from(msg('x').toString().replace(/l: 0/, 'Content-Length: abc'));
    expect(() => new StreamFramer().push(bad)).toThrow(SipParseError);
  });

  it('enforces the size limit on headers and on declared bodies', () => {
    const f = new StreamFramer({ maxMessageBytes: 1000 });
    expect(() => f.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nX: ' + 'y'.repeat(2000)))).toThrow(
      'Message too large',
    );
    const g = new StreamFramer({ maxMessageBytes: 1000 });
    const big = Buffer.from(msg('x').toString().replace('l: 0', 'l: 5000'));
    expect(() => g.push(big)).toThrow('Message too large');
  });

  it('waits for the full body', () => {
    const f = new StreamFramer();
    const m = msg('w', '0123456789');
    expect(f.push(m.subarray(0, m.length - 3)).messages).toHaveLength(0);
    const out = f.push(m.subarray(m.length - 3));
    expect(out.messages).toHaveLength(1);
    expect(out.messages[0]!.equals(m)).toBe(true);
  });
});
