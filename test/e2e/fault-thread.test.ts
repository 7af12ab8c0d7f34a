/**
 * A media thread dying during a 3-party call loses no call (issue 14). Three PCMU tone phones (407/613/1031 Hz) in
 * a mixed room hear each other; the thread hosting the room's mixer and the phones' sockets is made to throw an
 * uncaught exception (fault injection: the server runs with PARLEY_FAULT_INJECTION=1 and gets SIGUSR2, see
 * src/media/mixer/media-thread-pool.ts — there is no external way to crash one thread of a process). The pool
 * starts a replacement thread, the room's mixer is rebuilt there, and since the phones' sockets died with the old
 * thread each phone gets a re-INVITE with its new address, follows it, and hears the other two again (FFT on what
 * it hears after the recovery). No phone gets a BYE, the API lists the same three participants, and the process
 * goes on. Needs `npx tsc -p tsconfig.build.json` (dist/); run in scripts/loopback-only.sh.
 */
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import type { SipPhone } from '../support/sip-phone';
import { stopAndReport } from './conference-helpers';
import { dialThree, expectEveryoneHearsTheOthers, until } from './fault-helpers';

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
});
