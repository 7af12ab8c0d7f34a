import { canonicalName, Headers } from '../../../../src/sip/message/headers';

describe('Headers (RFC 3261 §7.3)', () => {
  it('names are case-insensitive and compact forms expand (§7.3.3)', () => {
    const h = new Headers();
    h.append('v', 'SIP/2.0/UDP a;branch=z9hG4bK1');
    h.append('VIA', 'SIP/2.0/UDP b;branch=z9hG4bK2');
    h.append('i', 'abc@host');
    h.append('cAlL-iD', 'ignored-second');
    expect(h.getAll('Via')).toEqual(['SIP/2.0/UDP a;branch=z9hG4bK1', 'SIP/2.0/UDP b;branch=z9hG4bK2']);
    expect(h.get('call-id')).toBe('abc@host');
    expect(h.get('I')).toBe('abc@host');
    expect(h.entries()[0]).toEqual(['Via', 'SIP/2.0/UDP a;branch=z9hG4bK1']);
    expect(h.entries()[2]![0]).toBe('Call-ID');
    expect(h.has('via')).toBe(true);
    expect(h.has('Route')).toBe(false);
  });

  it.each([
    ['i', 'Call-ID'],
    ['m', 'Contact'],
    ['e', 'Content-Encoding'],
    ['l', 'Content-Length'],
    ['c', 'Content-Type'],
    ['f', 'From'],
    ['s', 'Subject'],
    ['k', 'Supported'],
    ['t', 'To'],
    ['v', 'Via'],
    ['o', 'Event'],
    ['r', 'Refer-To'],
    ['b', 'Referred-By'],
    ['u', 'Allow-Events'],
    ['x', 'Session-Expires'],
    ['a', 'Accept-Contact'],
    ['j', 'Reject-Contact'],
    ['d', 'Request-Disposition'],
    ['cseq', 'CSeq'],
    ['www-authenticate', 'WWW-Authenticate'],
    ['X-Custom-Thing', 'X-Custom-Thing'],
  ])('canonicalName(%s) = %s', (a, b) => {
    expect(canonicalName(a)).toBe(b);
    if (!b.startsWith('X-')) expect(canonicalName(a.toUpperCase())).toBe(b);
  });

  it('getList splits on top-level commas, aware of quotes and <>', () => {
    const h = new Headers();
    h.append('Contact', '"Watson, Thomas" <sip:t@example.org>, <sip:a,b@c>;q=0.5');
    h.append('Contact', 'sip:d@e');
    expect(h.getList('Contact')).toEqual([
      '"Watson, Thomas" <sip:t@example.org>',
      '<sip:a,b@c>;q=0.5',
      'sip:d@e',
    ]);
    expect(h.getAll('Contact')).toHaveLength(2);
  });

  it('set replaces in place, prepend inserts on top, remove deletes all', () => {
    const h = new Headers([
      ['Via', 'v1'],
      ['To', 't'],
      ['Via', 'v2'],
      ['From', 'f'],
    ]);
    h.prepend('Via', 'v0');
    expect(h.getAll('Via')).toEqual(['v0', 'v1', 'v2']);
    expect(h.entries()[0]).toEqual(['Via', 'v0']);
    h.set('via', 'only');
    expect(h.entries().map((e) => e[0])).toEqual(['Via', 'To', 'From']);
    expect(h.get('Via')).toBe('only');
    h.set('Route', ['<sip:r1;lr>', '<sip:r2;lr>']);
    expect(h.getAll('Route')).toEqual(['<sip:r1;lr>', '<sip:r2;lr>']);
    h.remove('ROUTE');
    expect(h.has('Route')).toBe(false);
    h.prepend('Max-Forwards', '70');
    expect(h.entries()[0]).toEqual(['Max-Forwards', '70']);
  });

  it('clone is independent and notifies changes by key', () => {
    const h = new Headers({ From: 'a', To: 'b' });
    const c = h.clone();
    c.set('From', 'z');
    expect(h.get('From')).toBe('a');
    const keys: string[] = [];
    h.onChange = (k) => keys.push(k);
    h.append('v', 'x');
    h.remove('f');
    expect(keys).toEqual(['via', 'from']);
  });

  it('refuses values with CR or LF (header injection)', () => {
    const h = new Headers();
    expect(() => h.set('Subject', 'hi\r\nVia: evil')).toThrow(TypeError);
    expect(() => h.append('Subject', 'x\ny')).toThrow(TypeError);
    expect(() => h.prepend('Via', 'x\r')).toThrow(TypeError);
    expect(h.size).toBe(0);
  });
});
