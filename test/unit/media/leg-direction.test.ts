/**
 * What a phone sends reaches the room by direction: audio only while the phone also receives (on hold its
 * music-on-hold stays out, RFC 3264 §8.4), video whenever it sends (a camera-only line is shown).
 */
import { producerFlows } from '../../../src/media/mediasoup/leg-direction';

test.each([
  ['audio', true, true, true],
  ['audio', true, false, false], // hold: a=sendonly from the phone
  ['audio', false, true, false],
  ['video', true, true, true],
  ['video', true, false, true], // camera only: a=sendonly video beside sendrecv audio
  ['video', false, true, false],
  ['video', false, false, false],
] as const)('%s, phone sends %s, receives %s → flows %s', (kind, phoneSends, phoneReceives, flows) => {
  expect(producerFlows({ kind, phoneSends, phoneReceives })).toBe(flows);
});
