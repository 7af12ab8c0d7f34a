import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Participant } from '../conference/participant/participant';
import { ParticipantKind } from '../conference/participant/participant-kind';
import type { ParticipantIdentity, SessionConnector } from '../conference/participant/participant-session';
import { AppError } from '../errors/app-error';
import type { MediaLegFactory } from '../media/media-leg';
import { WebRtcSession, type PageLink } from './webrtc-session';

/**
 * Joins one browser through the conference core like any participant: `connect` builds its WebRTC peer on the
 * room's router (send and receive transports on the worker's WebRtcServer); `establish` has nothing left to do
 * (the page connects its transports after the join answer).
 */
export class WebRtcConnector implements SessionConnector {
  readonly kind = ParticipantKind.WebRtc;
  session?: WebRtcSession;

  constructor(
    readonly identity: ParticipantIdentity,
    private readonly rtpCapabilities: types.RtpCapabilities,
    private readonly link: PageLink,
    readonly log: Logger,
  ) {}

  async connect(participant: Participant, legs: MediaLegFactory): Promise<WebRtcSession> {
    if (!legs.createWebRtcPeer) throw new AppError('RTC_UNAVAILABLE');
    // Its role is known by now (a browser gives its PIN up front): an attendee only listens and watches.
    const peer = await legs.createWebRtcPeer(participant.log.child({ component: 'webrtc' }), {
      audience: participant.role === 'attendee',
    });
    if (participant.hasLeft()) {
      peer.close();
      throw new AppError('CONF_JOIN_ABANDONED');
    }
    this.session = new WebRtcSession(participant, peer, this.link, this.rtpCapabilities);
    return this.session;
  }

  async establish(): Promise<void> {}
}
