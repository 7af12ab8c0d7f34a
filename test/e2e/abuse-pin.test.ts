/**
 * Issue 14, abuse: PIN brute force across calls. The lobby gives each call three tries, so a guesser calls again;
 * with `security.pinFailuresPerSource: 4` the fourth wrong PIN from one address (over two calls) ends the lobby
 * without a fifth try, and the next call from that address gets 403 with the catalogue's reason at the INVITE.
 * Real phones (Node SIP stack, PIN by SIP INFO); nothing allow-listed.
 */
import { ERROR_CATALOGUE } from '../../src/errors/catalogue';
import { SipError } from '../../src/sip/errors';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { stopAndReport } from './conference-helpers';

jest.setTimeout(180_000);

let parley: E2eParley | undefined;
const phones: SipPhone[] = [];

beforeAll(async () => {
  parley = await startE2eParley({
    security: { pinFailuresPerSource: 4, pinFailureWindowSeconds: 600, pinLockoutSeconds: 600 },
    conference: { joinTones: false, rooms: [{ name: 'vault', pin: '1234' }] },
  });
});

afterAll(async () => {
  for (const p of phones) await p.close();
  await stopAndReport(parley, __filename);
});

async function dial(user: string): Promise<SipPhone> {
  const phone = await SipPhone.call({
    target: `sip:vault@127.0.0.1:${parley!.sipPort}`,
    user,
    codec: 'PCMU',
    tone: null,
  });
  phones.push(phone);
  return phone;
}

test('wrong PINs over calls lock the source out: the lobby stops taking tries, then the INVITE gets 403', async () => {
  const p = parley!;
  const first = await dial('guesser1');
  await first.info('1111#2222#3333#');
  await first.waitTerminated(30_000);
  expect(first.byeFromServer?.headers.get('Reason')).toMatch(/^SIP;cause=403\b/);

  // the 4th wrong PIN locks the source: the right PIN typed next is not even tried
  const second = await dial('guesser2');
  await second.info('4444#');
  await second.info('1234#').catch(() => []);
  await second.waitTerminated(30_000);
  expect(second.byeFromServer?.headers.get('Reason')).toMatch(/^SIP;cause=403\b/);
  expect(p.logs('wrong PIN')).toHaveLength(4);
  expect(p.logs('PIN entry locked out')).toHaveLength(1);
  expect((await p.participants('vault')).filter((x) => x.state === 'joined')).toEqual([]);

  // the next call: 403 at the INVITE, with the catalogue's reason
  const refused = await dial('guesser3').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(SipError);
  const locked = ERROR_CATALOGUE.SEC_PIN_LOCKED.sip;
  expect({ status: (refused as SipError).status, reason: (refused as SipError).reason }).toEqual(locked);
});
