import { Headers } from '../message/headers';
import { NameAddr } from '../message/name-addr';
import type { SipUri } from '../message/uri';

/** What a dialog (INVITE session or subscription) knows to build a request within it. */
export interface InDialogRequestParams {
  method: string;
  remoteTarget: SipUri;
  routeSet: readonly string[];
  localUri: NameAddr;
  localTag: string;
  remoteUri: NameAddr;
  remoteTag: string;
  callId: string;
  /** The CSeq number; called once the Request-URI and Route are known. */
  nextSeq: () => number;
  /** Set when the request carries a Contact. */
  contact?: string;
}

/**
 * RFC 3261 §12.2.1.1: the Request-URI, Route (loose or strict routing), Max-Forwards, From/To with tags, Call-ID,
 * CSeq and (optionally) Contact of a request within a dialog.
 */
export function inDialogRequest(p: InDialogRequestParams): { uri: SipUri; headers: Headers } {
  const h = new Headers();
  let uri: SipUri;
  const routes = p.routeSet;
  if (routes.length > 0 && !NameAddr.parse(routes[0]!).uri.params.has('lr')) {
    // strict routing: "the UAC MUST place the first URI from the route set into the Request-URI ... and add
    // the remote target as the last value in the Route header field"
    uri = NameAddr.parse(routes[0]!).uri.clone();
    uri.headers.clear();
    for (let i = 1; i < routes.length; i++) h.append('Route', routes[i]!);
    h.append('Route', `<${p.remoteTarget.toString()}>`);
  } else {
    uri = p.remoteTarget.clone();
    for (const r of routes) h.append('Route', r);
  }
  h.set('Max-Forwards', '70');
  const from = p.localUri.clone();
  from.tag = p.localTag;
  const to = p.remoteUri.clone();
  to.tag = p.remoteTag;
  h.set('From', from.toString());
  h.set('To', to.toString());
  h.set('Call-ID', p.callId);
  // "Requests within a dialog MUST contain strictly monotonically increasing and contiguous CSeq sequence numbers"
  h.set('CSeq', `${p.nextSeq()} ${p.method}`);
  if (p.contact !== undefined) h.set('Contact', p.contact);
  return { uri, headers: h };
}
