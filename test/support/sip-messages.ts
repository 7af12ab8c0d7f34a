import { parseMessage } from '../../src/sip/parser/message-parser';
import { SipRequest, SipResponse } from '../../src/sip/message/sip-message';

/** Builds a request from lines (CRLF added, Content-Length computed). */
export function req(lines: string[], body = ''): SipRequest {
  const text = lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body;
  const m = parseMessage(Buffer.from(text));
  if (!(m instanceof SipRequest)) throw new Error('not a request');
  return m;
}

export function res(lines: string[], body = ''): SipResponse {
  const text = lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body;
  const m = parseMessage(Buffer.from(text));
  if (!(m instanceof SipResponse)) throw new Error('not a response');
  return m;
}

export function invite(
  opts: {
    branch?: string;
    callId?: string;
    cseq?: number;
    toTag?: string;
    method?: string;
    body?: string;
    extra?: string[];
  } = {},
): SipRequest {
  const method = opts.method ?? 'INVITE';
  return req(
    [
      `${method} sip:conf@127.0.0.1:5060 SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${opts.branch ?? 'z9hG4bK-1'}`,
      'Max-Forwards: 70',
      'From: <sip:alice@127.0.0.1>;tag=a1',
      `To: <sip:conf@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
      `Call-ID: ${opts.callId ?? 'call-1'}`,
      `CSeq: ${opts.cseq ?? 1} ${method}`,
      'Contact: <sip:alice@127.0.0.1:5070>',
      ...(opts.body ? ['Content-Type: application/sdp'] : []),
      ...(opts.extra ?? []),
    ],
    opts.body ?? '',
  );
}

/** a response to `r` with the given status (copies Via/From/To/Call-ID/CSeq; adds to-tag if given) */
export function responseTo(r: SipRequest, status: number, toTag?: string, extra: string[] = []): SipResponse {
  const to = r.headers.get('To')!;
  return res([
    `SIP/2.0 ${status} X`,
    ...r.headers.getAll('Via').map((v) => `Via: ${v}`),
    `From: ${r.headers.get('From')}`,
    `To: ${toTag && !to.includes('tag=') ? `${to};tag=${toTag}` : to}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.headers.get('CSeq')}`,
    ...extra,
  ]);
}
