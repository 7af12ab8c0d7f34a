/**
 * A mediasoup worker killed (SIGKILL) during a 3-party call loses no call (issue 14). Three PCMU tone phones
 * (407/613/1031 Hz) in a mixed room hear each other; the room's only worker (PARLEY_RTC_NUM_WORKERS=1; its pid
 * from the log line 'mediasoup worker started') is killed; the pool starts a replacement, the room gets a new
 * router and mixer on it, and each phone hears the other two again (FFT on what it hears after the recovery). No
 * phone gets a BYE, the API lists the same three participants, and the phones' media address is kept: their audio
 * terminates in the room's media thread, which the worker's death does not touch, so no re-INVITE is needed.
 * With a browser in the room (Chromium, a 1031 Hz tone as microphone) and two phones: the browser's transports
 * lived on the dead worker, so the server ends its session with `media-failed` (a server-pushed `ended`) and the
 * page joins again by itself, getting new transports on the new router (a new participant id); the phones keep
 * their calls (no BYE) and hear the browser again, and the browser hears the phones.
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

describe('mediasoup worker death during a mixed call', () => {
  let parley: E2eParley | undefined;
  const phones: SipPhone[] = [];

  afterAll(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await stopAndReport(parley, __filename);
  });

  it('re-homes every phone on a new worker: no BYE, same participants, each hears the others again', async () => {
    parley = await startE2eParley({ env: { PARLEY_RTC_NUM_WORKERS: '1' } });
    const p = parley;
    await dialThree(p, 'fault', phones);
    await expectEveryoneHearsTheOthers(phones);
    const before = (await p.participants('fault')).map((x) => x.id).sort();

    const started = p.logs('mediasoup worker started');
    const pid = Number(started[started.length - 1]?.workerPid);
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    process.kill(pid, 'SIGKILL');

    await until('mediasoup worker replaced', () => p.logs('mediasoup worker replaced').length > 0);
    await until('media fault recovered', () => p.logs('media fault recovered').length > 0);
    const recovered = p.logs('media fault recovered')[0]!;
    if (process.env.CONFERENCE_E2E_DEBUG) console.log('recovery', JSON.stringify(recovered));
    // Phones mixed in their thread keep their legs: nobody ended, nobody needed a new address.
    expect({ kept: recovered.kept, renegotiated: recovered.renegotiated, ended: recovered.ended }).toEqual({
      kept: 3,
      renegotiated: 0,
      ended: 0,
    });

    await expectEveryoneHearsTheOthers(phones, 500);
    expect(phones.map((ph) => ph.byeFromServer === undefined)).toEqual([true, true, true]);
    expect(phones.map((ph) => ph.reinvites.length)).toEqual([0, 0, 0]);
    expect((await p.participants('fault')).map((x) => x.id).sort()).toEqual(before);
    expect(p.run.proc.exitCode).toBeNull();
  });

  it('with a browser: the page rejoins on the new worker by itself; the phones keep their calls and hear it again', async () => {
    const p = await startE2eParley({
      env: { PARLEY_RTC_NUM_WORKERS: '1' },
      conference: { joinTones: false },
    });
    const browsers: TestBrowser[] = [];
    const own: SipPhone[] = [];
    try {
      const room = 'faultweb';
      const { web, webId: firstId, phoneIds } = await dialTwoAndBrowser(p, room, own, browsers);
      for (const ph of own) expect((await phoneHears(ph))[TONE.c]).toBeGreaterThan(-25);

      const started = p.logs('mediasoup worker started');
      process.kill(Number(started[started.length - 1]?.workerPid), 'SIGKILL');
      await until('media fault recovered', () => p.logs('media fault recovered').length > 0);
      const recovered = p.logs('media fault recovered')[0]!;
      // The phones stay (kept where they are, or re-INVITEd when the browser's consumers held their audio on the
      // dead router); the browser's session has ended (its transports went with the worker), to come back by itself.
      expect({
        phones: Number(recovered.kept) + Number(recovered.renegotiated),
        ended: recovered.ended,
      }).toEqual({ phones: 2, ended: 0 });

      // The page joins again by itself (a new participant, on the new router).
      const after = await p.waitParticipants(
        room,
        (l) => l.length === 3 && l.some((x) => !phoneIds.includes(x.id)) && !l.some((x) => x.id === firstId),
        30000,
      );
      const webId = after.find((x) => !phoneIds.includes(x.id))!.id;
      expect(
        after
          .filter((x) => phoneIds.includes(x.id))
          .map((x) => x.id)
          .sort(),
      ).toEqual([...phoneIds].sort());
      await until('the page is back in the room', async () =>
        web.page.getByRole('button', { name: 'Leave' }).isVisible(),
      );
      await sleep(1000);
      await expectPhonesHearBrowserAndEachOther(own);
      await expectPageHearsPhones(web.page, phoneIds);
      expect(own.map((ph) => ph.byeFromServer === undefined)).toEqual([true, true]);
      expect(webId).not.toBe(firstId);
    } finally {
      await leaveAll(browsers, own);
      await stopAndReport(p, __filename);
    }
  });
});
