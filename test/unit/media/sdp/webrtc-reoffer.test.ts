/**
 * The browser's answer to our re-offer of a WebRTC call after a media fault (src/media/sdp/webrtc-reoffer.ts): the
 * new transports were connected with the browser's DTLS role and certificate, so the answer must keep both and
 * accept every m-line we serve. The answers are Chrome's offer turned into its answer (a=setup:active).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { checkWebRtcReanswer, negotiate, SdpNegotiationError } from '../../../../src/media/sdp';
import { localCaps } from './sdp-test-helpers';

const OFFER = readFileSync(
  join(__dirname, '../../../fixtures/sdp/webrtc/chrome-120-audio.sdp'),
  'utf8',
).replace(/\r?\n/g, '\r\n');
const FP = '7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08';
const current = negotiate(
  OFFER,
  localCaps({ webRtc: { headerExtensions: mediasoup.getSupportedRtpCapabilities().headerExtensions ?? [] } }),
);
const answer = OFFER.replace('a=setup:actpass', 'a=setup:active');

function refusal(sdp: string): string {
  try {
    checkWebRtcReanswer(current, sdp);
  } catch (err) {
    expect(err).toBeInstanceOf(SdpNegotiationError);
    expect((err as SdpNegotiationError).status).toBe(488);
    return (err as Error).message;
  }
  return 'accepted';
}

it('we answered passive: the call was kept as it was (the browser the DTLS client)', () => {
  const m = current.media[0]!;
  expect(m.accepted && m.webRtc?.localSetup).toBe('passive');
});

it('accepts the browser keeping its role (active, or no a=setup: RFC 4145 §4.1) and its certificate', () => {
  expect(refusal(answer)).toBe('accepted');
  expect(refusal(answer.replace('a=setup:active\r\n', ''))).toBe('accepted');
  // hex case is not significant (RFC 8122 §5)
  expect(refusal(answer.replace(FP, FP.toLowerCase()))).toBe('accepted');
});

it('refuses a swapped DTLS role, another certificate, a refused m-line or another m-line count', () => {
  expect(refusal(answer.replace('a=setup:active', 'a=setup:passive'))).toMatch(
    /a=setup:passive where active/,
  );
  expect(refusal(answer.replace(FP, FP.replace('7B:8B', '00:00')))).toMatch(
    /certificate is not the one offered/,
  );
  expect(refusal(answer.replace(/^m=audio \d+/m, 'm=audio 0'))).toMatch(/m-line 0 was refused/);
  expect(refusal(`${answer}m=video 0 UDP/TLS/RTP/SAVPF 96\r\n`)).toMatch(
    /answer has 2 m-lines, the offer had 1/,
  );
});
