/**
 * A mediasoup worker killed (SIGKILL) during a 3-party call loses no call (issue 14). Three PCMU tone phones
 * (407/613/1031 Hz) in a mixed room hear each other; the room's only worker (PARLEY_RTC_NUM_WORKERS=1; its pid
 * from the log line 'mediasoup worker started') is killed; the pool starts a replacement, the room gets a new
 * router and mixer on it, and each phone hears the other two again (FFT on what it hears after the recovery). No
 * phone gets a BYE, the API lists the same three participants, and the phones' media address is kept: their audio
 * terminates in the room's media thread, which the worker's death does not touch, so no re-INVITE is needed.
 * Needs `npx tsc -p tsconfig.build.json` (dist/); run in scripts/loopback-only.sh.
 */
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { stopAndReport } from './conference-helpers';
import { dialThree, expectEveryoneHearsTheOthers, until } from './fault-helpers';

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
});
