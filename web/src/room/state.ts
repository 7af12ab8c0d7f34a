/** The room page's one store: everything the components render. The session (session.ts) is its only writer. */
import type { ChatMessage, PeerView } from '../../../src/protocol/rtc-protocol';
import type { ParticipantRoleName } from '../../../src/protocol/webinar-protocol';
import { Store } from '../common/store';

/** `waiting`: the join waits in a webinar's lobby (for the host to join, or to admit this person). */
export type Phase = 'form' | 'joining' | 'waiting' | 'in-room' | 'reconnecting' | 'left' | 'ended';

/** What this page receives from one other participant. */
export interface RemoteMedia {
  audio?: MediaStreamTrack;
  video?: { consumerId: string; track: MediaStreamTrack; layered: boolean };
}

export interface Me {
  id: string;
  displayName: string;
  /** host, panelist or attendee in a webinar (an attendee's unmute is refused: CONF_ATTENDEE_CANNOT_UNMUTE). */
  role: ParticipantRoleName;
  /** An attendee: listens only, its unmute button is disabled (a host promotes it to speak). */
  listenOnly: boolean;
  /** The mic is off (by this person or a moderator). */
  micMuted: boolean;
  /** A moderator muted this participant: unmuting is refused until they lift it. */
  mutedByModerator: boolean;
  camOff: boolean;
  /** No microphone or camera could be opened. */
  micMissing: boolean;
  camMissing: boolean;
  speaking: boolean;
}

export interface Devices {
  mics: { id: string; label: string }[];
  cams: { id: string; label: string }[];
  micId: string | null;
  camId: string | null;
}

export interface RoomState {
  room: string;
  roomDisplayName: string;
  phase: Phase;
  /** The join form: a PIN is needed (the server said so), and the last error. */
  pinRequired: boolean;
  formError: string | null;
  /** While `waiting`: what for (the server's `lobby` event). */
  waitingFor: 'host' | 'admission' | null;
  me: Me | null;
  /** Other participants by id, in join order (a webinar's attendees are not among them: `audience`). */
  peers: PeerView[];
  /** A webinar's audience: how many attendees listen, this page's person included if it is one; 0 elsewhere. */
  audience: number;
  remote: Record<string, RemoteMedia>;
  localVideo: MediaStream | null;
  devices: Devices;
  devicesOpen: boolean;
  chatOpen: boolean;
  chat: ChatMessage[];
  unread: number;
  attachmentMaxBytes: number;
  uploading: boolean;
  toast: { id: number; text: string } | null;
  ended: { reason: string; message: string } | null;
}

export function createRoomStore(room: string): Store<RoomState> {
  return new Store<RoomState>({
    room,
    roomDisplayName: room,
    phase: 'form',
    pinRequired: false,
    formError: null,
    waitingFor: null,
    me: null,
    peers: [],
    audience: 0,
    remote: {},
    localVideo: null,
    devices: { mics: [], cams: [], micId: null, camId: null },
    devicesOpen: false,
    chatOpen: false,
    chat: [],
    unread: 0,
    attachmentMaxBytes: 0,
    uploading: false,
    toast: null,
    ended: null,
  });
}
