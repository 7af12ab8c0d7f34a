import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';

/** RFC 4575 §5: the namespace of conference-info documents. */
export const CONFERENCE_INFO_NS = 'urn:ietf:params:xml:ns:conference-info';
/** RFC 4575 §4.2 / §6: the body type of the conference event package. */
export const CONFERENCE_INFO_TYPE = 'application/conference-info+xml';

/** RFC 4575 §5.6.3: endpoint `status` values (the schema's endpoint-status-type). */
export enum EndpointStatus {
  Pending = 'pending',
  DialingOut = 'dialing-out',
  DialingIn = 'dialing-in',
  Alerting = 'alerting',
  OnHold = 'on-hold',
  Connected = 'connected',
  MutedViaFocus = 'muted-via-focus',
  Disconnecting = 'disconnecting',
  Disconnected = 'disconnected',
}

/** RFC 4575 §5.6.4: how the endpoint joined. */
export enum JoiningMethod {
  DialedIn = 'dialed-in',
  DialedOut = 'dialed-out',
  FocusOwner = 'focus-owner',
}

/** RFC 4575 §5.6.6: how the endpoint left. */
export enum DisconnectionMethod {
  Departed = 'departed',
  Booted = 'booted',
  Failed = 'failed',
  Busy = 'busy',
}

/** RFC 4575 §5.6.5: the media stream status as the focus sees it for the endpoint. */
export type MediaStatus = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** RFC 4575 §5.6.2 execution-type: when, why, by whom. */
export interface Execution {
  when: Date;
  reason?: string;
  by?: string;
}

/** RFC 4575 §5.6.5: one media stream of an endpoint. */
export interface EndpointMedia {
  /** unique within the endpoint */
  id: string;
  type: 'audio' | 'video';
  /** the conference's `available-media` entry it belongs to */
  label?: string;
  /** the stream's SSRC, when known */
  srcId?: string;
  status: MediaStatus;
}

export interface EndpointInfo {
  entity: string;
  displayText?: string;
  status: EndpointStatus;
  joiningMethod?: JoiningMethod;
  joiningInfo?: Execution;
  disconnectionMethod?: DisconnectionMethod;
  disconnectionInfo?: Execution;
  media: EndpointMedia[];
  /** RFC 4575 §5.6: `state` of the element in a partial document (default full) */
  state?: 'full' | 'partial' | 'deleted';
}

/** RFC 4575 §5.6: a user (a participant; several endpoints when one URI called in more than once). */
export interface UserInfo {
  entity: string;
  displayText?: string;
  /** RFC 4575 §5.6.1 roles `entry` values: `participant`, `moderator`, ... */
  roles: string[];
  endpoints: EndpointInfo[];
  state?: 'full' | 'partial' | 'deleted';
}

export interface ConferenceDescription {
  displayText: string;
  subject?: string;
  maximumUserCount?: number;
  /** RFC 4575 §5.3.1 conf-uris: how to join (the SIP URI, a web page) */
  confUris: Array<{ uri: string; displayText?: string; purpose?: string }>;
  /** RFC 4575 §5.3.4 available-media */
  availableMedia: Array<{
    label: string;
    type: 'audio' | 'video';
    displayText?: string;
    status?: MediaStatus;
  }>;
}

export interface ConferenceStateInfo {
  userCount: number;
  active: boolean;
  locked: boolean;
}

/** A whole conference (RFC 4575 §5.1), the input of a full document. */
export interface ConferenceInfoState {
  /** the conference URI (`sip:<room>@<host>`) */
  entity: string;
  description: ConferenceDescription;
  state: ConferenceStateInfo;
  users: UserInfo[];
}

/** What changed since the last document (RFC 4575 §4.6 partial notification). */
export interface ConferenceInfoChange {
  entity: string;
  description?: ConferenceDescription;
  state?: ConferenceStateInfo;
  /** users to replace (`state="full"`) or remove (`state="deleted"`), or with `state="partial"` endpoint changes */
  users: UserInfo[];
}

/**
 * XML 1.0 (§2.2 Char) forbids most control characters: a caller's display name is caller-supplied text and may
 * carry them. They are dropped rather than let the serializer throw or write an ill-formed document.
 */
function xmlText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/g, (c, i, str) => {
    // keep well-formed surrogate pairs, drop lone halves
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = (str as string).charCodeAt((i as number) + 1);
      return next >= 0xdc00 && next <= 0xdfff ? c : '';
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      const prev = (str as string).charCodeAt((i as number) - 1);
      return prev >= 0xd800 && prev <= 0xdbff ? c : '';
    }
    return '';
  });
}

function text(parent: XMLBuilder, name: string, value: string | undefined): void {
  if (value !== undefined) parent.ele(name).txt(xmlText(value));
}

function execution(parent: XMLBuilder, name: string, e: Execution | undefined): void {
  if (!e) return;
  // RFC 4575 §5.6.2 / schema execution-type: when, reason, by in this order
  const x = parent.ele(name);
  x.ele('when').txt(e.when.toISOString());
  text(x, 'reason', e.reason);
  text(x, 'by', e.by);
}

function description(root: XMLBuilder, d: ConferenceDescription): void {
  // the schema's sequence order: display-text, subject, free-text, keywords, conf-uris, service-uris,
  // maximum-user-count, available-media
  const x = root.ele('conference-description');
  text(x, 'display-text', d.displayText);
  text(x, 'subject', d.subject);
  if (d.confUris.length > 0) {
    const uris = x.ele('conf-uris');
    for (const u of d.confUris) {
      const e = uris.ele('entry');
      text(e, 'uri', u.uri);
      text(e, 'display-text', u.displayText);
      text(e, 'purpose', u.purpose);
    }
  }
  if (d.maximumUserCount !== undefined) x.ele('maximum-user-count').txt(String(d.maximumUserCount));
  if (d.availableMedia.length > 0) {
    const media = x.ele('available-media');
    for (const m of d.availableMedia) {
      const e = media.ele('entry', { label: m.label });
      text(e, 'display-text', m.displayText);
      text(e, 'type', m.type);
      text(e, 'status', m.status);
    }
  }
}

function conferenceState(root: XMLBuilder, s: ConferenceStateInfo): void {
  const x = root.ele('conference-state');
  x.ele('user-count').txt(String(s.userCount));
  x.ele('active').txt(String(s.active));
  x.ele('locked').txt(String(s.locked));
}

function endpoint(parent: XMLBuilder, ep: EndpointInfo): void {
  const x = parent.ele('endpoint', { entity: xmlText(ep.entity), ...(ep.state ? { state: ep.state } : {}) });
  // the schema's sequence: display-text, referred, status, joining-method, joining-info, disconnection-method,
  // disconnection-info, media*, call-info
  text(x, 'display-text', ep.displayText);
  x.ele('status').txt(ep.status);
  text(x, 'joining-method', ep.joiningMethod);
  execution(x, 'joining-info', ep.joiningInfo);
  text(x, 'disconnection-method', ep.disconnectionMethod);
  execution(x, 'disconnection-info', ep.disconnectionInfo);
  for (const m of ep.media) {
    const e = x.ele('media', { id: m.id });
    text(e, 'type', m.type);
    text(e, 'label', m.label);
    text(e, 'src-id', m.srcId);
    text(e, 'status', m.status);
  }
}

function user(parent: XMLBuilder, u: UserInfo): void {
  const x = parent.ele('user', { entity: xmlText(u.entity), ...(u.state ? { state: u.state } : {}) });
  // display-text, associated-aors, roles, languages, cascaded-focus, endpoint*
  text(x, 'display-text', u.displayText);
  if (u.roles.length > 0) {
    const roles = x.ele('roles');
    for (const r of u.roles) roles.ele('entry').txt(xmlText(r));
  }
  for (const ep of u.endpoints) endpoint(x, ep);
}

function documentRoot(entity: string, state: 'full' | 'partial', version: number): XMLBuilder {
  return create({ version: '1.0', encoding: 'UTF-8' }).ele(CONFERENCE_INFO_NS, 'conference-info', {
    entity: xmlText(entity),
    state,
    version: String(version),
  });
}

/**
 * RFC 4575 §4.6: a full document (`state="full"`): everything about the conference. The first NOTIFY of a
 * subscription carries one; later ones may too. `version` is the subscription's counter (RFC 4575 §4.6: one more for
 * each document sent in that subscription, so the subscriber can tell a lost or reordered one).
 */
export function buildFullConferenceInfo(info: ConferenceInfoState, version: number): string {
  const root = documentRoot(info.entity, 'full', version);
  description(root, info.description);
  conferenceState(root, info.state);
  const users = root.ele('users');
  for (const u of info.users) user(users, u);
  return root.end({ prettyPrint: true });
}

/**
 * RFC 4575 §4.6: a partial document (`state="partial"`): only what changed. A `user` element without `state` (or
 * `full`) replaces everything known of that user; `deleted` removes it. `users` gets `state="partial"`: the users
 * not mentioned are unchanged.
 */
export function buildPartialConferenceInfo(change: ConferenceInfoChange, version: number): string {
  const root = documentRoot(change.entity, 'partial', version);
  if (change.description) description(root, change.description);
  if (change.state) conferenceState(root, change.state);
  if (change.users.length > 0) {
    const users = root.ele('users', { state: 'partial' });
    for (const u of change.users) user(users, u);
  }
  return root.end({ prettyPrint: true });
}
