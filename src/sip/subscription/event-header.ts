import { SipParseError } from '../errors';
import { isToken, parseParams, unquote } from '../message/grammar';

/** RFC 6665 §8.2.1 (§7.2.1): `Event: <package>[.<template>];id=<token>`. */
export interface EventHeader {
  /** the event package (and template) as written: `conference`, `refer`, `presence.winfo` */
  type: string;
  /** the `id` parameter that tells subscriptions of one dialog apart (RFC 6665 §4.1.2.1) */
  id?: string;
}

/** Parses an Event header value; throws SipParseError(400) when it is not `token *(;param)`. */
export function parseEventHeader(value: string): EventHeader {
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim();
  if (!isToken(type)) throw new SipParseError(400, 'Bad Event header');
  const params = new Map<string, string | null>();
  if (semi >= 0) parseParams(value.slice(semi), params, 'Event');
  const id = params.get('id');
  return { type, ...(id ? { id: unquote(id) } : {}) };
}

/** The Event header value for a subscription (RFC 6665 §8.2.1: the NOTIFY carries the SUBSCRIBE's id). */
export function formatEventHeader(e: EventHeader): string {
  return e.id !== undefined ? `${e.type};id=${e.id}` : e.type;
}
