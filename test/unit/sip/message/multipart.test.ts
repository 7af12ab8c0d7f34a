import { SipParseError } from '../../../../src/sip/errors';
import { Headers } from '../../../../src/sip/message/headers';
import { buildMultipart, multipartBoundary, splitMultipart } from '../../../../src/sip/message/multipart';

describe('multipart bodies (RFC 2046 §5.1, RFC 5621)', () => {
  it('reads the boundary, quoted or not', () => {
    expect(multipartBoundary('multipart/mixed;boundary=abc')).toBe('abc');
    expect(multipartBoundary('multipart/mixed; boundary="a b:c"')).toBe('a b:c');
    expect(multipartBoundary('application/sdp')).toBeUndefined();
  });

  it('splits parts, ignoring preamble and epilogue, keeping binary bodies', () => {
    const body = Buffer.concat([
      Buffer.from('preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1\r\n'),
      Buffer.from('Content-Type: application/octet-stream\r\nContent-ID:\r\n <x@y>\r\n\r\n'),
      Buffer.from([0, 1, 2, 13, 10, 255]),
      Buffer.from('\r\n--b1\r\n\r\nno headers\r\n--b1--\r\nepilogue'),
    ]);
    const parts = splitMultipart(body, 'multipart/mixed;boundary=b1');
    expect(parts).toHaveLength(3);
    expect(parts[0]!.headers.get('content-type')).toBe('application/sdp');
    expect(parts[0]!.body.toString()).toBe('v=0\r\n');
    expect(parts[1]!.headers.get('Content-ID')).toBe('<x@y>');
    expect(parts[1]!.body.equals(Buffer.from([0, 1, 2, 13, 10, 255]))).toBe(true);
    expect(parts[2]!.headers.size).toBe(0);
    expect(parts[2]!.body.toString()).toBe('no headers');
  });

  it('build → split round trip', () => {
    const p1 = { headers: new Headers({ 'Content-Type': 'application/sdp' }), body: Buffer.from('v=0\r\n') };
    const p2 = {
      headers: new Headers({ 'Content-Type': 'application/resource-lists+xml' }),
      body: Buffer.from('<x/>'),
    };
    const { body, contentType } = buildMultipart([p1, p2], 'boundary1');
    expect(contentType).toBe('multipart/mixed;boundary=boundary1');
    const parts = splitMultipart(body, contentType);
    expect(parts.map((p) => p.body.toString())).toEqual(['v=0\r\n', '<x/>']);
    expect(parts[1]!.headers.get('Content-Type')).toBe('application/resource-lists+xml');
  });

  it('rejects missing boundaries and unterminated bodies', () => {
    expect(() => splitMultipart(Buffer.from('x'), 'multipart/mixed')).toThrow(SipParseError);
    expect(() => splitMultipart(Buffer.from('nothing here'), 'multipart/mixed;boundary=q')).toThrow(
      'Multipart boundary not found',
    );
    expect(() => splitMultipart(Buffer.from('--q\r\nabc'), 'multipart/mixed;boundary=q')).toThrow(
      'Unterminated multipart body',
    );
  });
});
