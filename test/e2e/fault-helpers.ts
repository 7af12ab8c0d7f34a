/**
 * Shared by the media-fault tests (fault-worker.test.ts, fault-thread.test.ts): three PCMU tone phones in one mixed
 * room that follow re-INVITEs, and the checks that nobody lost the call and everybody hears the others.
 */
import { sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { expectHearing } from './conference-helpers';

/** Tones (Hz): none a whole number of cycles per 20 ms (8.14, 12.26, 20.62). */
export const TONE = { a: 407, b: 613, c: 1031 } as const;
export const FREQS = [TONE.a, TONE.b, TONE.c];

/** Polls `pred` every 100 ms until it holds; throws after `timeoutMs` (a hang guard, not a measured threshold). */
export async function until(
  what: string,
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function dialThree(parley: E2eParley, room: string, phones: SipPhone[]): Promise<SipPhone[]> {
  for (const [user, tone] of [
    ['alice', TONE.a],
    ['bob', TONE.b],
    ['carol', TONE.c],
  ] as const) {
    phones.push(
      await SipPhone.call({
        target: `sip:${room}@127.0.0.1:${parley.sipPort}`,
        user,
        codec: 'PCMU',
        tone,
        followReinvites: true,
      }),
    );
  }
  await parley.waitParticipants(room, (ps) => ps.length === 3);
  return phones;
}

/** Each phone hears the other two and not itself (FFT medians over 200 ms blocks of the next 2.5 s it hears). */
export async function expectEveryoneHearsTheOthers(phones: SipPhone[], settleMs?: number): Promise<void> {
  const [a, b, c] = phones as [SipPhone, SipPhone, SipPhone];
  await expectHearing(
    FREQS,
    [
      [a, [TONE.b, TONE.c], [TONE.a], 'alice'],
      [b, [TONE.a, TONE.c], [TONE.b], 'bob'],
      [c, [TONE.a, TONE.b], [TONE.c], 'carol'],
    ],
    settleMs,
  );
}
