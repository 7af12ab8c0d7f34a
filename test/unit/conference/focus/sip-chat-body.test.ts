import {
  chatMessageBody,
  readChatBody,
  sameAddress,
  SIP_CHAT_MAX_BYTES,
} from '../../../../src/conference/focus/sip-chat-body';
import { SipUri } from '../../../../src/sip/message/uri';

describe('readChatBody: what a MESSAGE may bring into the room chat (RFC 3428 §7)', () => {
  test.each<[string | undefined, Buffer, string]>([
    ['text/plain', Buffer.from('hello'), 'hello'],
    ['Text/Plain', Buffer.from('hello'), 'hello'],
    ['text/plain;charset=UTF-8', Buffer.from('héllo ☎'), 'héllo ☎'],
    ['text/plain ; charset="utf-8"', Buffer.from('quoted'), 'quoted'],
    ['text/plain; format=flowed; charset=us-ascii', Buffer.from('ascii'), 'ascii'],
    ['text/plain;charset=ISO-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'café'],
  ])('%s is taken', (type, body, text) => {
    expect(readChatBody(type, body)).toEqual({ ok: true, text });
  });

  test.each<[string | undefined]>([
    ['text/html'],
    ['message/cpim'],
    ['application/im-iscomposing+xml'],
    [undefined],
  ])('the UAS MUST answer 415 to a body it does not understand (%s), with Accept', (type) => {
    expect(readChatBody(type, Buffer.from('<b>x</b>'))).toEqual({
      ok: false,
      status: 415,
      reason: 'Unsupported Media Type',
      headers: { Accept: 'text/plain' },
    });
  });

  test('an unknown charset is 415 naming it, with the Accept we take', () => {
    const r = readChatBody('text/plain;charset=koi8-r', Buffer.from('x'));
    expect(r).toEqual({
      ok: false,
      status: 415,
      reason: 'Unsupported charset koi8-r',
      headers: { Accept: 'text/plain;charset=UTF-8' },
    });
  });

  test('a body over the limit is 413; at the limit it is taken', () => {
    expect(readChatBody('text/plain', Buffer.alloc(SIP_CHAT_MAX_BYTES + 1, 'a'))).toMatchObject({
      ok: false,
      status: 413,
    });
    expect(readChatBody('text/plain', Buffer.alloc(SIP_CHAT_MAX_BYTES, 'a')).ok).toBe(true);
    expect(readChatBody('text/plain', Buffer.alloc(11, 'a'), 10)).toMatchObject({ status: 413 });
  });

  test('an empty or blank body is 400', () => {
    expect(readChatBody('text/plain', Buffer.alloc(0))).toEqual({
      ok: false,
      status: 400,
      reason: 'Empty message',
    });
    expect(readChatBody('text/plain', Buffer.from(' \r\n\t'))).toMatchObject({ status: 400 });
  });
});

describe('chatMessageBody: what a phone receives', () => {
  test("the sender's name leads the text", () => {
    expect(chatMessageBody({ fromName: 'Alice', text: 'hi all' })).toBe('Alice: hi all');
  });

  test('an attachment is named, not sent', () => {
    const attachment = { id: 'a', name: 'slides.pdf', size: 3, contentType: 'application/pdf', url: '/x' };
    expect(chatMessageBody({ fromName: 'Bob', text: '', attachment })).toBe('Bob sent a file: slides.pdf');
    expect(chatMessageBody({ fromName: 'Bob', text: 'see', attachment })).toBe(
      'Bob: see\nBob sent a file: slides.pdf',
    );
  });
});

describe('sameAddress: a MESSAGE From against a participant', () => {
  const u = (s: string): SipUri => SipUri.parse(s);
  test('user exact, host any case, ports and parameters ignored', () => {
    expect(sameAddress(u('sip:alice@Example.COM'), u('sip:alice@example.com:5070;transport=tcp'))).toBe(true);
    expect(sameAddress(u('sip:Alice@example.com'), u('sip:alice@example.com'))).toBe(false);
    expect(sameAddress(u('sip:alice@example.com'), u('sip:alice@example.org'))).toBe(false);
    expect(sameAddress(u('sip:example.com'), u('sip:example.com'))).toBe(true);
    expect(sameAddress(u('sip:alice@example.com'), u('sip:example.com'))).toBe(false);
  });
});
