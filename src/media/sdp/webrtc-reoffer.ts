import { parseSdp } from './parse-sdp';
import type { NegotiatedSession } from './negotiated-session';
import { SdpNegotiationError } from './sdp-negotiation-error';

/**
 * The answer to our re-offer of a WebRTC call on new transports (after its mediasoup worker died): the offer
 * restates the negotiated session (codecs, mids, header extensions, BUNDLE) with new ICE credentials and
 * candidates (an ICE restart, RFC 8839 §4.4.1.1.1) and the new transport's certificate fingerprint, which makes the
 * browser start a new DTLS association (RFC 8842 §5.5: a changed fingerprint is a new association). Our a=setup
 * stays the one we answered with, so the browser keeps its DTLS role and the new transport was connected with it.
 *
 * Accepted when every m-line we serve is still accepted (a non-zero port, RFC 3264 §6), the browser keeps the
 * opposite DTLS role (RFC 4145 §4.1: no a=setup in an answer means active) and its certificate is one it offered
 * before (mediasoup connects a transport once, with the fingerprints it was given). Throws SdpNegotiationError 488
 * otherwise: the caller then ends the call. What the session negotiated is unchanged (the caller keeps it).
 */
export function checkWebRtcReanswer(current: NegotiatedSession, answer: string): void {
  const theirs = parseSdp(answer);
  if (theirs.media.length !== current.media.length)
    throw new SdpNegotiationError(
      488,
      `answer has ${theirs.media.length} m-lines, the offer had ${current.media.length} (RFC 3264 §6)`,
    );
  for (const m of current.media) {
    if (!m.accepted) continue;
    const a = theirs.media[m.index]!;
    if (a.port === 0) throw new SdpNegotiationError(488, `m-line ${m.index} was refused in the answer`);
    const w = m.webRtc;
    if (!w) continue;
    const setup = a.dtls?.setup ?? 'active';
    const want = w.localSetup === 'passive' ? 'active' : 'passive';
    if (setup !== want)
      throw new SdpNegotiationError(
        488,
        `m-line ${m.index}: a=setup:${setup} where ${want} was kept (RFC 4145 §4.1)`,
      );
    const known = (f: { algorithm: string; value: string }): boolean =>
      w.dtlsParameters.fingerprints.some(
        (k) => k.algorithm === f.algorithm && k.value.toUpperCase() === f.value.toUpperCase(),
      );
    const fps = a.dtls?.fingerprints ?? [];
    if (fps.length > 0 && !fps.some(known))
      throw new SdpNegotiationError(
        488,
        `m-line ${m.index}: the answer's DTLS certificate is not the one offered`,
      );
  }
}
