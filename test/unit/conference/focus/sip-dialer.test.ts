import {
  classifyDialFailure,
  DialOutError,
  DialResult,
  sameSdpVersion,
} from '../../../../src/conference/focus/sip-dialer';

describe('classifyDialFailure: what a final answer means for whoever asked', () => {
  test.each<[number, string, boolean, DialResult, number, string]>([
    [486, 'Busy Here', false, DialResult.Busy, 486, 'Busy Here'],
    [600, 'Busy Everywhere', false, DialResult.Busy, 600, 'Busy Everywhere'],
    [603, 'Decline', false, DialResult.Declined, 603, 'Decline'],
    [404, 'Not Found', false, DialResult.Failed, 404, 'Not Found'],
    [480, 'Temporarily Unavailable', false, DialResult.Failed, 480, 'Temporarily Unavailable'],
    [503, 'Transport error: ECONNREFUSED', false, DialResult.Failed, 503, 'Transport error: ECONNREFUSED'],
    // the asker gave up (participant left, room closed): our CANCEL's 487
    [487, 'Request Terminated', false, DialResult.Cancelled, 487, 'Request Terminated'],
    // the ring timer's CANCEL: reported as 408, not as the 487 it caused (RFC 3261 §21.4.9)
    [487, 'Request Terminated', true, DialResult.Timeout, 408, 'Request Timeout'],
    // the ring timer fired before any provisional: the INVITE transaction's own timeout (Timer B)
    [408, 'Request Timeout', true, DialResult.Timeout, 408, 'Request Timeout'],
    // a final answer that raced the timer is what it is
    [486, 'Busy Here', true, DialResult.Busy, 486, 'Busy Here'],
  ])('%i %s (timer fired: %s) → %s', (status, reason, timedOut, result, st, re) => {
    expect(classifyDialFailure(status, reason, timedOut)).toEqual({ result, status: st, reason: re });
  });
});

describe('DialOutError: the catalogue code and a message led by the result', () => {
  test('a timeout is CONF_DIAL_NO_ANSWER (HTTP 504) saying how long it rang', () => {
    const e = new DialOutError(
      'sip:a@b',
      { result: DialResult.Timeout, status: 408, reason: 'Request Timeout' },
      30_000,
    );
    expect([e.code, e.httpStatus, e.message, e.result, e.status]).toEqual([
      'CONF_DIAL_NO_ANSWER',
      504,
      'sip:a@b: timeout: no answer within 30 s (CANCEL sent)',
      'timeout',
      408,
    ]);
  });

  test('busy is CONF_DIAL_FAILED (HTTP 502) naming the status', () => {
    const e = new DialOutError('sip:a@b', { result: DialResult.Busy, status: 486, reason: 'Busy Here' }, 1);
    expect([e.code, e.httpStatus, e.message]).toEqual([
      'CONF_DIAL_FAILED',
      502,
      'sip:a@b: busy: 486 Busy Here',
    ]);
  });
});

describe('sameSdpVersion: a 2xx repeating the early answer of a 183 (RFC 3261 §13.2.1)', () => {
  const sdp = (version: number, port = 6000): string =>
    `v=0\r\no=callee 42 ${version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;
  test('same origin and version: the same answer', () => {
    expect(sameSdpVersion(sdp(1), sdp(1))).toBe(true);
  });
  test('a new version is a new answer to apply', () => {
    expect(sameSdpVersion(sdp(2, 7000), sdp(1))).toBe(false);
  });
  test('no origin line: only identical bodies are the same', () => {
    expect(sameSdpVersion('m=audio 1 RTP/AVP 0', 'm=audio 1 RTP/AVP 0')).toBe(true);
    expect(sameSdpVersion('m=audio 1 RTP/AVP 0', 'm=audio 2 RTP/AVP 0')).toBe(false);
  });
});
