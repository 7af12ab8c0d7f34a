import type { ChatMessage } from '../../protocol/rtc-protocol';

/** Body types a MESSAGE to the room may carry (the Accept of our 415, RFC 3428 §7 / RFC 3261 §21.4.13). */
export const CHAT_ACCEPT = 'text/plain';

/** Largest MESSAGE body taken into the chat (bytes); larger ones get 413. RFC 3428 §7 leaves the limit to us. */
export const SIP_CHAT_MAX_BYTES = 8192;

/** The text of a MESSAGE body, or the refusal to answer with. */
export type ChatBodyResult =
  | { ok: true; text: string }
  | { ok: false; status: 400 | 413 | 415; reason: string; headers?: Record<string, string> };

/** Charsets we decode (text/plain defaults to US-ASCII, RFC 2046 §4.1.2; UTF-8 is its superset). */
const DECODERS: Record<string, BufferEncoding> = {
  'utf-8': 'utf8',
  utf8: 'utf8',
  'us-ascii': 'utf8',
  ascii: 'utf8',
  'iso-8859-1': 'latin1',
  latin1: 'latin1',
};

/**
 * Reads a MESSAGE body for the room chat. Liberal in what it takes: `text/plain` with or without a charset (UTF-8,
 * US-ASCII or ISO-8859-1; case and spaces as they come). Anything else is refused with 415 and `Accept: text/plain`
 * (RFC 3428 §7: "the UAS MUST respond with a 415 ... if it does not understand the body"), a body over `maxBytes` with
 * 413 (RFC 3261 §21.4.11), an empty or blank one with 400. Pure: the caller answers.
 */
export function readChatBody(
  contentType: string | undefined,
  body: Buffer,
  maxBytes = SIP_CHAT_MAX_BYTES,
): ChatBodyResult {
  const [type = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim());
  if (type.toLowerCase() !== 'text/plain')
    return {
      ok: false,
      status: 415,
      reason: 'Unsupported Media Type',
      headers: { Accept: CHAT_ACCEPT },
    };
  let encoding: BufferEncoding = 'utf8';
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    const dec = DECODERS[charset];
    if (!dec)
      return {
        ok: false,
        status: 415,
        reason: `Unsupported charset ${charset.slice(0, 40)}`,
        headers: { Accept: `${CHAT_ACCEPT};charset=UTF-8` },
      };
    encoding = dec;
  }
  if (body.length > maxBytes)
    return { ok: false, status: 413, reason: `Message body over ${maxBytes} bytes` };
  const text = body.toString(encoding);
  if (text.trim() === '') return { ok: false, status: 400, reason: 'Empty message' };
  return { ok: true, text };
}

/**
 * The text/plain body a SIP participant receives for a chat message: the sender's name, then the text (a phone
 * shows the MESSAGE's From, which is always the conference, so the name travels in the body). An attachment is
 * named, not sent: a phone cannot fetch it.
 */
export function chatMessageBody(m: Pick<ChatMessage, 'fromName' | 'text' | 'attachment'>): string {
  const lines: string[] = [];
  if (m.text) lines.push(`${m.fromName}: ${m.text}`);
  if (m.attachment) lines.push(`${m.fromName} sent a file: ${m.attachment.name}`);
  return lines.join('\n');
}

/** The parts of a SIP URI a sender is recognised by (a `SipUri` is one). */
export interface AddressParts {
  user?: string | undefined;
  host: string;
}

/**
 * Whether a MESSAGE's From names the same address as a participant's (its INVITE's From): the user part exactly
 * (RFC 3261 §19.1.4: case-sensitive), the host case-insensitively; ports and parameters are not compared (a phone's
 * From rarely carries its port, and SIPp's does). From is not authenticated: this says who claims to speak, not who
 * does; a room that must know gets the registrar's digest check.
 */
export function sameAddress(a: AddressParts, b: AddressParts): boolean {
  return (a.user ?? '') === (b.user ?? '') && a.host.toLowerCase() === b.host.toLowerCase();
}
