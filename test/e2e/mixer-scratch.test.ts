import { startE2eParley, sleep, type E2eParley } from '../support/parley-e2e';
import { SipPhone } from '../support/sip-phone';
import { startBaresipTonePhone } from '../support/baresip-tone-phone';
import { toneLevels, rmsDb, slice } from '../support/tone-analysis';

jest.setTimeout(90_000);
let parley: E2eParley;
const phones: SipPhone[] = [];
beforeAll(async () => {
  parley = await startE2eParley({ conference: {} });
});
afterAll(async () => {
  for (const p of phones) await p.close();
  await parley?.stop();
});

test('scratch', async () => {
  const target = `sip:tones@127.0.0.1:${parley.sipPort}`;
  const a = await SipPhone.call({ target, user: 'a', codec: 'PCMU', tone: 450 });
  phones.push(a);
  const tb = Date.now();
  const b = await startBaresipTonePhone({ dir: parley.dir, target, user: 'b', codec: 'G722', tone: 750, quitAfterSec: 10 });
  const c = await startBaresipTonePhone({ dir: parley.dir, target, user: 'c', codec: 'opus', tone: 1150, quitAfterSec: 10 });
  await parley.waitParticipants('tones', (l) => l.filter((p) => p.state === 'joined').length === 3);
  console.log(JSON.stringify((await parley.participants('tones'))));
  const tj = Date.now();
  await sleep(4000);
  const t0 = Date.now();
  await a.rfc4733('*6');
  const F = [450, 750, 1150];
  await sleep(1000); console.log(JSON.stringify(await parley.participants("tones"))); await b.done; await c.done; console.log(c.output().match(/(SIP\/2.0 200|INVITE sip)[^]*?a=sendrecv/g)?.join("\n"));
  console.log(c.output().match(/audio=[^)]*\)/g)?.slice(-3)); console.log(JSON.stringify(await parley.participants("tones")));
  for (const p of [b, c]) { const w = p.recording(); console.log(w.rate, w.channels, w.pcm.length / w.rate, (tj-tb)/1000, (t0-tb)/1000);
    for (let s = 0; s < w.pcm.length / w.rate; s += 1) console.log(s, toneLevels(slice(w.pcm, w.rate, s, s + 1), w.rate, F)); }
});
