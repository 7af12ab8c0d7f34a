import { SipParseError } from '../../../../src/sip/errors';
import { Headers } from '../../../../src/sip/message/headers';
import { BRANCH_MAGIC_COOKIE, newBranch, newCallId, newTag } from '../../../../src/sip/message/ids';
import { createResponse } from '../../../../src/sip/message/response-factory';
import { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message';
import { reasonPhrase } from '../../../../src/sip/message/status-codes';
import { SipUri } from '../../../../src/sip/message/uri';
import { parseMessage } from '../../../../src/sip/parser/message-parser';

const SDP =
  'v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

function invite(): SipRequest {
  const h = new Headers();
  h.append('Via', 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds');
  h.append('Via', 'SIP/2.0/UDP p1.example.com;branch=z9hG4bKa, SIP/2.0/TCP p2.example.com;branch=z9hG4bKb');
  h.append('Max-Forwards', '70');
  h.append('To', 'Bob <sip:bob@biloxi.com>');
  h.append('From', 'Alice <sip:alice@atlanta.com>;tag=1928301774');
  h.append('Call-ID', 'a84b4c76e66710@pc33.atlanta.com');
  h.append('CSeq', '314159 INVITE');
  h.append('Contact', '<sip:alice@pc33.atlanta.com>');
  h.append('Record-Route', '<sip:p1.example.com;lr>');
  h.append('Timestamp', '54');
  h.append('Content-Type', 'application/sdp');
  return new SipRequest('INVITE', SipUri.parse('sip:bob@biloxi.com'), h, Buffer.from(SDP));
}

describe('SipMessage (RFC 3261 §7)', () => {
  it('exposes structured views of the mandatory headers', () => {
    const r = invite();
    expect(r.callId).toBe('a84b4c76e66710@pc33.atlanta.com');
    expect(r.cseq).toEqual({ seq: 314159, method: 'INVITE' });
    expect(r.from.tag).toBe('1928301774');
    expect(r.to.uri.user).toBe('bob');
    expect(r.vias.map((v) => v.host)).toEqual(['pc33.atlanta.com', 'p1.example.com', 'p2.example.com']);
    expect(r.topVia.branch).toBe('z9hG4bK776asdhds');
    expect(r.contact[0]!.uri.host).toBe('pc33.atlanta.com');
    expect(r.contentType).toBe('application/sdp');
    expect(r.maxForwards).toBe(70);
    expect(r.isRequest()).toBe(true);
  });

  it('caches parsed objects and keeps them live (mutations are serialized)', () => {
    const r = invite();
    expect(r.topVia).toBe(r.topVia);
    r.topVia.received = '192.0.2.1';
    r.topVia.rport = 5062;
    r.to.tag = 'xyz';
    r.cseq.seq = 314160;
    const text = r.toString();
    expect(text).toContain(
      'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5062\r\n',
    );
    expect(text).toContain('To: Bob <sip:bob@biloxi.com>;tag=xyz\r\n');
    expect(text).toContain('CSeq: 314160 INVITE\r\n');
    expect(r.headers.get('To')).toBe('Bob <sip:bob@biloxi.com>;tag=xyz');
    // multi-via line split into one line per via after write-back, order kept
    expect(r.headers.getAll('Via')).toHaveLength(3);
    expect(parseMessage(r.toBuffer()).topVia.received).toBe('192.0.2.1');
  });

  it('drops caches when headers change', () => {
    const r = invite();
    expect(r.vias).toHaveLength(3);
    r.headers.prepend('Via', 'SIP/2.0/TCP new.example.com;branch=z9hG4bKnew');
    expect(r.vias).toHaveLength(4);
    expect(r.topVia.host).toBe('new.example.com');
    r.headers.remove('Via');
    expect(r.vias).toHaveLength(0);
    expect(() => r.topVia).toThrow('Missing Via header');
    expect(r.from.tag).toBe('1928301774');
    r.headers.set('From', '<sip:x@y>;tag=2');
    expect(r.from.tag).toBe('2');
  });

  it('toBuffer always writes a correct Content-Length with CRLF line ends', () => {
    const r = invite();
    r.headers.set('Content-Length', '9999');
    const buf = r.toBuffer();
    const text = buf.toString();
    expect(text).toContain(`Content-Length: ${Buffer.byteLength(SDP)}\r\n`);
    expect(text).not.toContain('9999');
    expect(text.startsWith('INVITE sip:bob@biloxi.com SIP/2.0\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\n' + SDP)).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    const empty = new SipResponse(200, undefined, new Headers({ 'Call-ID': 'x' }));
    expect(empty.toString()).toBe('SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n');
  });

  it('missing headers throw SipParseError with a useful reason', () => {
    const r = new SipRequest('OPTIONS', SipUri.parse('sip:a@b'));
    expect(() => r.callId).toThrow('Missing Call-ID header');
    expect(() => r.cseq).toThrow(SipParseError);
    expect(r.contact).toEqual([]);
    expect(r.contentType).toBeUndefined();
    expect(r.maxForwards).toBeUndefined();
    r.headers.set('CSeq', '1x OPTIONS');
    expect(() => r.cseq).toThrow('Bad CSeq');
    r.headers.set('Contact', '*');
    expect(r.isContactStar).toBe(true);
    expect(r.contact).toEqual([]);
  });

  it('clone is independent', () => {
    const r = invite();
    r.topVia.received = '1.1.1.1';
    const c = r.clone();
    c.topVia.branch = 'z9hG4bKother';
    c.uri.user = 'carol';
    expect(r.topVia.branch).toBe('z9hG4bK776asdhds');
    expect(c.topVia.received).toBe('1.1.1.1');
    expect(r.uri.user).toBe('bob');
  });
});

describe('createResponse (§8.2.6)', () => {
  it('copies Via (all, in order), From, To, Call-ID, CSeq and adds a To tag', () => {
    const req = invite();
    req.topVia.received = '192.0.2.7'; // set by the transport, must appear in the response (§18.2.1)
    const res = createResponse(req, 180);
    expect(res.status).toBe(180);
    expect(res.reason).toBe('Ringing');
    expect(res.headers.getAll('Via')).toEqual([
      'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.7',
      'SIP/2.0/UDP p1.example.com;branch=z9hG4bKa',
      'SIP/2.0/TCP p2.example.com;branch=z9hG4bKb',
    ]);
    expect(res.from.tag).toBe('1928301774');
    expect(res.callId).toBe(req.callId);
    expect(res.cseq).toEqual({ seq: 314159, method: 'INVITE' });
    expect(res.to.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(res.headers.has('Record-Route')).toBe(false);
    expect(res.headers.has('Timestamp')).toBe(false);
  });

  it('100 Trying gets no To tag but copies Timestamp (§8.2.6.1)', () => {
    const res = createResponse(invite(), 100);
    expect(res.to.tag).toBeUndefined();
    expect(res.headers.get('Timestamp')).toBe('54');
  });

  it('keeps an existing To tag, uses opts.toTag, copies Record-Route when asked, sets body', () => {
    const req = invite();
    const r1 = createResponse(req, 200, 'Fine', {
      toTag: 'mytag',
      recordRoute: true,
      body: Buffer.from('v=0\r\n'),
      contentType: 'application/sdp',
      headers: { Allow: 'INVITE, ACK', Supported: ['timer', 'replaces'] },
    });
    expect(r1.reason).toBe('Fine');
    expect(r1.to.tag).toBe('mytag');
    expect(r1.headers.getAll('Record-Route')).toEqual(['<sip:p1.example.com;lr>']);
    expect(r1.headers.getAll('Supported')).toEqual(['timer', 'replaces']);
    expect(r1.contentType).toBe('application/sdp');
    expect(r1.toString()).toContain('Content-Length: 5\r\n');
    req.headers.set('To', 'Bob <sip:bob@biloxi.com>;tag=existing');
    expect(createResponse(req, 486, undefined, { toTag: 'new' }).to.tag).toBe('existing');
  });
});

describe('ids and status codes', () => {
  it('newBranch carries the magic cookie (§8.1.1.7); tags and Call-IDs are unique', () => {
    expect(newBranch().startsWith(BRANCH_MAGIC_COOKIE)).toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(newTag());
    expect(seen.size).toBe(1000);
    expect(newCallId('example.com')).toMatch(/^[0-9a-f]{32}@example\.com$/);
    expect(newCallId()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reasonPhrase knows codes and falls back to the class (§21)', () => {
    expect(reasonPhrase(486)).toBe('Busy Here');
    expect(reasonPhrase(481)).toBe('Call/Transaction Does Not Exist');
    expect(reasonPhrase(499)).toBe('Bad Request');
    expect(reasonPhrase(699)).toBe('Busy Everywhere');
    expect(new SipResponse(404).reason).toBe('Not Found');
  });
});

describe('write-back of parsed headers', () => {
  const raw = (r: SipRequest): string => r.toString();

  it('leaves untouched headers byte-identical after access (no re-serialization)', () => {
    const text = [
      'OPTIONS sip:a@b SIP/2.0',
      'Via: SIP/2.0/UDP h1 ; branch=z9hG4bK1,SIP/2.0/UDP h2;branch=z9hG4bK2',
      'From: sip:a@b;tag=1',
      'To: "B" <sip:b@c>',
      'Call-ID: x',
      'CSeq: 01 OPTIONS',
      'Contact: <sip:a@h1>;expires=60',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const r = parseMessage(Buffer.from(text)) as SipRequest;
    void r.vias;
    void r.from.tag;
    void r.to.uri.host;
    void r.contact;
    expect(r.cseq.seq).toBe(1);
    expect(raw(r)).toBe(text);
    expect(r.headers.get('CSeq')).toBe('01 OPTIONS');
  });

  it.each([
    [
      'via param',
      (r: SipRequest) => r.vias[1]!.params.set('received', '10.0.0.2'),
      'branch=z9hG4bK2;received=10.0.0.2',
    ],
    ['via host', (r: SipRequest) => (r.topVia.host = 'h9'), 'Via: SIP/2.0/UDP h9;branch=z9hG4bK1'],
    ['via list', (r: SipRequest) => r.vias.shift(), 'Via: SIP/2.0/UDP h2;branch=z9hG4bK2\r\nFrom'],
    [
      'from uri param',
      (r: SipRequest) => r.from.uri.params.set('user', 'phone'),
      'From: <sip:a@b;user=phone>;tag=1',
    ],
    ['from uri user', (r: SipRequest) => (r.from.uri.user = 'z'), 'From: <sip:z@b>;tag=1'],
    ['to display name', (r: SipRequest) => (r.to.displayName = 'Carol'), 'To: Carol <sip:b@c>'],
    ['from param delete', (r: SipRequest) => r.from.params.delete('tag'), 'From: <sip:a@b>\r\n'],
    [
      'contact param',
      (r: SipRequest) => r.contact[0]!.params.set('expires', '0'),
      'Contact: <sip:a@h1>;expires=0',
    ],
    ['cseq', (r: SipRequest) => (r.cseq.seq = 2), 'CSeq: 2 OPTIONS'],
  ])('reflects a change of %s', (_name, mutate, expected) => {
    const r = parseMessage(
      Buffer.from(
        'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/UDP h2;branch=z9hG4bK2\r\n' +
          'From: sip:a@b;tag=1\r\nTo: "B" <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContact: <sip:a@h1>;expires=60\r\n\r\n',
      ),
    ) as SipRequest;
    mutate(r);
    expect(raw(r)).toContain(expected);
    // and a second serialization is stable
    expect(raw(r)).toBe(raw(r));
  });
});
