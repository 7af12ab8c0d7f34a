import { SipParseError } from '../../../../src/sip/errors';
import { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message';
import { parseMessage } from '../../../../src/sip/parser/message-parser';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));

const SDP =
  'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
function invite(extra: string[] = [], body = SDP, cl: number | null = Buffer.byteLength(body)): Buffer {
  return crlf([
    'INVITE sip:bob@biloxi.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.com>',
    'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@pc33.atlanta.com>',
    'Content-Type: application/sdp',
    ...(cl === null ? [] : [`Content-Length: ${cl}`]),
    ...extra,
    '',
    body,
  ]);
}

function parseError(data: Buffer): SipParseError {
  try {
    parseMessage(data);
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    return e as SipParseError;
  }
  throw new Error('expected a SipParseError');
}

describe('parseMessage (RFC 3261 §7)', () => {
  it('parses a request with body; round trip is byte-identical', () => {
    const data = invite();
    const m = parseMessage(data);
    expect(m).toBeInstanceOf(SipRequest);
    const r = m as SipRequest;
    expect(r.method).toBe('INVITE');
    expect(r.uri.toString()).toBe('sip:bob@biloxi.com');
    expect(r.body.toString()).toBe(SDP);
    expect(r.toBuffer().equals(data)).toBe(true);
  });

  it('parses a response with empty body and an empty reason phrase (RFC 4475 §3.1.1.13)', () => {
    const m = parseMessage(
      crlf([
        'SIP/2.0 100 ',
        'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe',
        'Call-ID: noreason.asndj203insdf99223ndf',
        'CSeq: 35 INVITE',
        'From: <sip:user@example.com>;tag=39ansfi3',
        'To: <sip:user@example.edu>;tag=902jndnke3',
        'Content-Length: 0',
        '',
        '',
      ]),
    ) as SipResponse;
    expect(m).toBeInstanceOf(SipResponse);
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
    expect(m.body.length).toBe(0);
  });

  it('keeps UTF-8 reason phrases (RFC 4475 §3.1.1.12)', () => {
    const m = parseMessage(
      crlf([
        'SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое',
        'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923',
        'Call-ID: unreason.1234ksdfak3j2erwedfsASdf',
        'CSeq: 35 INVITE',
        'From: sip:user@example.com;tag=11141343',
        'To: sip:user@example.edu;tag=2229',
        'Content-Length: 0',
        '',
        '',
      ]),
    ) as SipResponse;
    expect(m.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(m.toString()).toContain('SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое\r\n');
  });

  it('unfolds continuation lines and handles compact, mixed-case names and spaces before the colon', () => {
    const m = parseMessage(
      crlf([
        'OPTIONS sip:x@example.com SIP/2.0',
        'v: SIP/2.0/UDP',
        '  192.0.2.2;branch=z9hG4bK390skdjuw',
        'TO :',
        ' sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n',
        'f: <sip:a@b>',
        '\t;tag=98asjd8',
        'i: ws.1@192.0.2.1',
        'cseq: 0009',
        '  OPTIONS',
        'MaX-fOrWaRdS: 0068',
        'NewFangledHeader:   newfangled value',
        ' continued newfangled value',
        'l: 0',
        '',
        '',
      ]),
    );
    expect(m.topVia.host).toBe('192.0.2.2');
    expect(m.to.tag).toBe('1918181833n');
    expect(m.from.tag).toBe('98asjd8');
    expect(m.callId).toBe('ws.1@192.0.2.1');
    expect(m.cseq).toEqual({ seq: 9, method: 'OPTIONS' });
    expect(m.maxForwards).toBe(68);
    expect(m.headers.get('newfangledheader')).toBe('newfangled value continued newfangled value');
    expect(m.headers.entries().map((e) => e[0])).toEqual([
      'Via',
      'To',
      'From',
      'Call-ID',
      'CSeq',
      'Max-Forwards',
      'NewFangledHeader',
      'Content-Length',
    ]);
  });

  it('ignores CRLFs before the start line (§7.5) and tolerates bare LF line ends', () => {
    const lf = Buffer.from('\r\n\r\n' + invite([], '', 0).toString().replace(/\r\n/g, '\n'));
    const m = parseMessage(lf) as SipRequest;
    expect(m.method).toBe('INVITE');
    expect(m.callId).toBe('a84b4c76e66710@pc33.atlanta.com');
  });

  it('Content-Length: discards extra datagram bytes (§18.3), takes the rest when absent', () => {
    const extra = Buffer.concat([invite(), Buffer.from('GARBAGE')]);
    expect(parseMessage(extra).body.toString()).toBe(SDP);
    const noCl = parseMessage(invite([], SDP, null));
    expect(noCl.body.toString()).toBe(SDP);
    expect(noCl.toString()).toContain(`Content-Length: ${Buffer.byteLength(SDP)}\r\n`);
  });

  it('accepts extension methods and IPv6 Request-URIs', () => {
    const m = parseMessage(
      crlf([
        'NEWMETHOD sip:[2001:db8::10]:5070 SIP/2.0',
        'Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111;received=[2001:db8::9:255]',
        'To: <sip:[2001:db8::10]:5070>',
        'From: <sip:user@[2001:db8::9:1]>;tag=x',
        'Call-ID: ipv6',
        'CSeq: 1 NEWMETHOD',
        '',
        '',
      ]),
    ) as SipRequest;
    expect(m.method).toBe('NEWMETHOD');
    expect(m.uri.host).toBe('[2001:db8::10]');
    expect(m.topVia.received).toBe('[2001:db8::9:255]');
  });

  describe('errors', () => {
    it.each([
      [
        'Missing Call-ID header',
        invite()
          .toString()
          .replace(/Call-ID:.*\r\n/, ''),
      ],
      [
        'Missing Via header',
        invite()
          .toString()
          .replace(/Via:.*\r\n/, ''),
      ],
      [
        'Missing From header',
        invite()
          .toString()
          .replace(/From:.*\r\n/, ''),
      ],
      ['Bad CSeq', invite().toString().replace('CSeq: 314159 INVITE', 'CSeq: 36893488147419103232 INVITE')],
      ['Bad CSeq', invite().toString().replace('CSeq: 314159 INVITE', 'CSeq: 314159')],
      ['CSeq method does not match', invite().toString().replace('CSeq: 314159 INVITE', 'CSeq: 314159 ACK')],
      [
        'Bad Content-Length',
        invite()
          .toString()
          .replace(/Content-Length: \d+/, 'Content-Length: -999'),
      ],
      [
        'Content-Length mismatch',
        invite()
          .toString()
          .replace(/Content-Length: \d+/, 'Content-Length: 9999'),
      ],
      ['Bad Max-Forwards', invite().toString().replace('Max-Forwards: 70', 'Max-Forwards: 300')],
      ['Multiple Call-ID headers', invite().toString().replace('Call-ID:', 'Call-ID: other\r\nCall-ID:')],
      [
        'Bad Request-URI',
        invite().toString().replace('INVITE sip:bob@biloxi.com', 'INVITE <sip:bob@biloxi.com>'),
      ],
      [
        'Bad Request-URI',
        invite().toString().replace('INVITE sip:bob@biloxi.com', 'INVITE  sip:bob@biloxi.com'),
      ],
      ['Bad SIP version', invite().toString().replace('SIP/2.0\r\n', 'SIP/2.0  \r\n')],
      ['Bad header line', invite().toString().replace('Max-Forwards: 70', 'Max-Forwards 70')],
    ])('400 %s, with a partial request to answer when the top Via is readable', (reason, text) => {
      const err = parseError(Buffer.from(text));
      expect(err.status).toBe(400);
      expect(err.reason).toContain(reason);
      // §18.2.2: answerable whenever the top Via can be read; the echo keeps only the readable headers (§8.2.6)
      if (reason !== 'Missing Via header') {
        expect(err.partial).toBeInstanceOf(SipRequest);
        expect(err.partial!.vias.length).toBeGreaterThan(0);
        if (!/Call-ID/.test(reason)) expect(err.partial!.callId.length).toBeGreaterThan(0);
        if (/CSeq/.test(reason) && !/method/.test(reason))
          expect(err.partial!.headers.has('CSeq')).toBe(false);
      } else expect(err.partial).toBeUndefined();
    });

    it('505 for an unknown SIP version, with partial (RFC 4475 §3.1.2.16)', () => {
      const err = parseError(Buffer.from(invite().toString().replace('SIP/2.0\r\n', 'SIP/7.0\r\n')));
      expect(err.status).toBe(505);
      expect(err.partial?.method).toBe('INVITE');
    });

    it('416 for an unknown Request-URI scheme (RFC 4475 §3.3.2)', () => {
      const err = parseError(
        Buffer.from(
          invite()
            .toString()
            .replace('INVITE sip:bob@biloxi.com', 'INVITE nobodyKnowsThisScheme:totallyopaquecontent'),
        ),
      );
      expect(err.status).toBe(416);
      expect(err.partial).toBeDefined();
    });

    it('status 0 for garbage and broken responses', () => {
      expect(parseError(Buffer.from('hello world\r\n\r\n')).status).toBe(0);
      expect(parseError(Buffer.from('\r\n\r\n')).status).toBe(0);
      expect(parseError(Buffer.alloc(0)).status).toBe(0);
      expect(parseError(Buffer.from([0xff, 0xfe, 0x00, 0x20, 0x41])).status).toBe(0);
      const bigcode =
        'SIP/2.0 4294967301 better not break the receiver\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n\r\n';
      expect(parseError(Buffer.from(bigcode)).status).toBe(0);
      const resNoCallId =
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n\r\n';
      const e = parseError(Buffer.from(resNoCallId));
      expect(e.status).toBe(0);
      expect(e.reason).toBe('Missing Call-ID header');
      expect(parseError(Buffer.from(bigcode.replace('SIP/2.0 4294967301', 'SIP/3.0 200'))).status).toBe(0);
    });

    it('limits: message size (413) and header count', () => {
      const big = invite([], 'x'.repeat(70000));
      const e = parseError(big);
      expect(e.status).toBe(413);
      expect(e.partial).toBeDefined();
      const many = invite(Array.from({ length: 300 }, (_, i) => `X-H${i}: ${i}`));
      expect(() => parseMessage(many, { maxHeaders: 256 })).toThrow('Too many headers');
      expect(parseMessage(many, { maxHeaders: 400 }).headers.get('X-H299')).toBe('299');
    });

    it('never throws anything but SipParseError on random input', () => {
      let seed = 12345;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      const base = invite();
      for (let i = 0; i < 2000; i++) {
        const b = Buffer.from(base);
        const n = 1 + Math.floor(rnd() * 8);
        for (let j = 0; j < n; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        try {
          const m = parseMessage(b.subarray(0, Math.floor(rnd() * b.length) + 1));
          void m.toBuffer();
        } catch (e) {
          expect(e).toBeInstanceOf(SipParseError);
        }
      }
    });
  });
});

describe('line ends', () => {
  it('bare-LF headers with a CRLF body split at the first empty line', () => {
    const body = 'v=0\r\n\r\nx=1\r\n';
    const text =
      'MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:c@d>;tag=1\nTo: <sip:a@b>\n' +
      `Call-ID: lf\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: ${body.length}\n\n${body}`;
    const m = parseMessage(Buffer.from(text));
    expect(m.body.toString()).toBe(body);
    expect(m.toString()).toContain('Call-ID: lf\r\n');
  });
});
