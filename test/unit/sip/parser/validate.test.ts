import { SipParseError } from '../../../../src/sip/errors';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message';
import { parseMessage } from '../../../../src/sip/parser/message-parser';
import { validateRequest, validateResponse } from '../../../../src/sip/parser/validate';

const REQ = [
  'REGISTER sip:registrar.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx',
  'Max-Forwards: 70',
  'To: <sip:u@example.com>',
  'From: <sip:u@example.com>;tag=1',
  'Call-ID: v1',
  'CSeq: 1 REGISTER',
  'Contact: <sip:u@192.0.2.1>;expires=60',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function req(text: string): SipRequest {
  return parseMessage(Buffer.from(text)) as SipRequest;
}

function fails(fn: () => void): SipParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    return e as SipParseError;
  }
  throw new Error('expected failure');
}

describe('validateRequest / validateResponse (§8.2, §16.3)', () => {
  it('accepts a sane request', () => {
    expect(() => validateRequest(req(REQ))).not.toThrow();
    expect(() =>
      validateRequest(req(REQ.replace('Contact: <sip:u@192.0.2.1>;expires=60', 'Contact: *'))),
    ).not.toThrow();
  });

  it.each([
    [
      'Bad Via',
      REQ.replace('Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx', 'Via: SIP/2.0/UDP 192.0.2.15;;,;,,'),
      false,
    ],
    [
      'Unterminated quoted string in To',
      REQ.replace('To: <sip:u@example.com>', 'To: "unterminated <sip:u@example.com>'),
      true,
    ],
    [
      'Bad From header',
      REQ.replace('From: <sip:u@example.com>;tag=1', 'From: Bell, Alexander <sip:a@b>;tag=1'),
      true,
    ],
    [
      'Bad Contact header',
      REQ.replace('Contact: <sip:u@192.0.2.1>;expires=60', 'Contact: sip:u@h?Route=%3Csip:x%3E'),
      true,
    ],
    [
      'Bad Expires header',
      REQ.replace('Content-Length: 0', 'Expires: 10000000000000000000\r\nContent-Length: 0'),
      true,
    ],
  ])('rejects %s', (reason, text, answerable) => {
    const e = fails(() => validateRequest(req(text as string)));
    expect(e.status).toBe(400);
    expect(e.reason).toContain(reason);
    expect(e.partial !== undefined).toBe(answerable);
  });

  it('checks Content-Length against the body and Content-Type presence on constructed messages', () => {
    const r = req(REQ);
    r.body = Buffer.from('abc');
    expect(fails(() => validateRequest(r)).reason).toBe('Content-Length mismatch');
    r.headers.remove('Content-Length');
    expect(fails(() => validateRequest(r)).reason).toBe('Missing Content-Type header');
    r.headers.set('Content-Type', 'text/plain');
    expect(() => validateRequest(r)).not.toThrow();
  });

  it('checks the CSeq method against the request method and Contact * outside REGISTER', () => {
    const r = req(REQ);
    r.method = 'OPTIONS';
    expect(fails(() => validateRequest(r)).reason).toBe('CSeq method does not match request method');
    const o = req(
      REQ.replace(/REGISTER/g, 'OPTIONS').replace('Contact: <sip:u@192.0.2.1>;expires=60', 'Contact: *'),
    );
    expect(fails(() => validateRequest(o)).reason).toBe('Bad Contact header');
  });

  it('validates responses', () => {
    const text = REQ.replace('REGISTER sip:registrar.example.com SIP/2.0', 'SIP/2.0 200 OK');
    const res = parseMessage(Buffer.from(text)) as SipResponse;
    expect(() => validateResponse(res)).not.toThrow();
    res.status = 1000;
    expect(fails(() => validateResponse(res)).status).toBe(0);
    const noTo = parseMessage(
      Buffer.from(text.replace('To: <sip:u@example.com>', 'To: <sip:u@example.com')),
    ) as SipResponse;
    expect(fails(() => validateResponse(noTo)).reason).toBe('Bad To header');
  });
});
