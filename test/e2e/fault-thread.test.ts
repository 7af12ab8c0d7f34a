/**
 * A media thread dying during a 3-party call loses no call (issue 14). Three PCMU tone phones (407/613/1031 Hz) in
 * a mixed room hear each other; the thread hosting the room's mixer and the phones' sockets is made to throw an
 * uncaught exception (fault injection: the server runs with PARLEY_FAULT_INJECTION=1 and gets SIGUSR2, see
 * src/media/mixer/media-thread-pool.ts — there is no external way to crash one thread of a process). The pool
 * starts a replacement thread, the room's mixer is rebuilt there, and since the phones' sockets died with the old
 * thread each phone gets a re-INVITE with its new address, follows it, and hears the other two again (FFT on what
 * it hears after the recovery). No phone gets a BYE, the API lists the same three participants, and the process
 * goes on. With a browser (Chromium, 1031 Hz) and two phones: the browser's media lives on the room's router, not in
 * the thread, so it stays the same participant (no `ended`, no rejoin), re-attached to the rebuilt mixer; the phones
 * are re-INVITEd; the phones hear the browser and each other again and the browser hears the phones.
 * Needs `npm run build` (dist/ and dist/web/); run in scripts/loopback-only.sh.
 */
import type { TestBrowser } from '../support/browser';
import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { stopAndReport } from './conference-helpers';
import {
  dialThree,
  dialTwoAndBrowser,
  expectEveryoneHearsTheOthers,
  expectPageHearsPhones,
  expectPhonesHearBrowserAndEachOther,
  leaveAll,
  phoneHears,
  TONE,
  until,
} from './fault-helpers';

jest.setTimeout(120_000);

describe('media thread death during a mixed call', () => {
  let parley: E2eParley | undefined;
  const phones: SipPhone[] = [];

  afterAll(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await stopAndReport(parley, __filename);
  });

  it('rebuilds the mixer on a new thread and re-INVITEs every phone: no BYE, each hears the others again', async () => {
    parley = await startE2eParley({ env: { PARLEY_RTC_NUM_WORKERS: '1', PARLEY_FAULT_INJECTION: '1' } });
    const p = parley;
    await dialThree(p, 'fault', phones);
    await expectEveryoneHearsTheOthers(phones);
    const before = (await p.participants('fault')).map((x) => x.id).sort();
    const ports = phones.map((ph) => ph.reinvites.length);

    p.run.proc.kill('SIGUSR2');

    await until('media thread died', () => p.logs('media thread died').length > 0);
    await until('media fault recovered', () => p.logs('media fault recovered').length > 0);
    const recovered = p.logs('media fault recovered')[0]!;
    if (process.env.CONFERENCE_E2E_DEBUG) console.log('recovery', JSON.stringify(recovered));
    expect({
      recovery: recovered.recovery,
      renegotiated: recovered.renegotiated,
      ended: recovered.ended,
    }).toEqual({
      recovery: 'thread',
      renegotiated: 3,
      ended: 0,
    });

    await expectEveryoneHearsTheOthers(phones, 500);
    expect(phones.map((ph) => ph.byeFromServer === undefined)).toEqual([true, true, true]);
    // Each phone was offered a new address once (its old socket lived in the dead thread).
    expect(phones.map((ph, i) => ph.reinvites.length - ports[i]!)).toEqual([1, 1, 1]);
    expect((await p.participants('fault')).map((x) => x.id).sort()).toEqual(before);
    expect(p.run.proc.exitCode).toBeNull();
  });

  it('with a browser: it stays where it is (same participant), re-attached to the new mixer; everyone hears again', async () => {
    const p = await startE2eParley({
      env: { PARLEY_RTC_NUM_WORKERS: '1', PARLEY_FAULT_INJECTION: '1' },
      conference: { joinTones: false },
    });
    const browsers: TestBrowser[] = [];
    const own: SipPhone[] = [];
    try {
      const room = 'faultweb';
      const { web, webId, phoneIds } = await dialTwoAndBrowser(p, room, own, browsers);
      for (const ph of own) expect((await phoneHears(ph))[TONE.c]).toBeGreaterThan(-25);

      p.run.proc.kill('SIGUSR2');
      await until('media fault recovered', () => p.logs('media fault recovered').length > 0);
      const recovered = p.logs('media fault recovered')[0]!;
      // The browser kept (its media is on the router); both phones re-INVITEd (their sockets died with the thread).
      expect({
        recovery: recovered.recovery,
        kept: recovered.kept,
        renegotiated: recovered.renegotiated,
      }).toEqual({
        recovery: 'thread',
        kept: 1,
        renegotiated: 2,
      });
      expect(recovered.ended).toBe(0);

      await sleep(1000);
      await expectPhonesHearBrowserAndEachOther(own);
      await expectPageHearsPhones(web.page, phoneIds);
      // One audio consumer per phone on the page: the old taps' consumers went, each new tap is consumed once.
      const audio = (await web.page.evaluate('window.__parley.stats()')) as Array<{
        participantId: string;
        kind: string;
      }>;
      expect(
        audio
          .filter((c) => c.kind === 'audio')
          .map((c) => c.participantId)
          .sort(),
      ).toEqual([...phoneIds].sort());
      // The same three participants, the page never ended.
      expect((await p.participants(room)).map((x) => x.id).sort()).toEqual([...phoneIds, webId].sort());
      expect(await web.page.getByRole('button', { name: 'Leave' }).isVisible()).toBe(true);
      expect(own.map((ph) => ph.byeFromServer === undefined)).toEqual([true, true]);
    } finally {
      await leaveAll(browsers, own);
      await stopAndReport(p, __filename);
    }
  });
});
