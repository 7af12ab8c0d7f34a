/**
 * Ordinary hang-ups are not errors: many short calls with RTP both ways (SIPp playing a G.711 pcap), joining and
 * leaving rooms at the same time, leave not a single error-level line in the log — in forwarding rooms (mediasoup
 * Producers and Consumers come and go with every call: closed in the right order, never twice) and in mixed rooms
 * (audio terminated in the media threads).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { freePort, runSipp } from '../support/sipp';
import { ROOT } from '../support/parley-process';

jest.setTimeout(180_000);

const SCENARIO = path.join(ROOT, 'bench/scenarios/focus-uac-rtp.xml');

async function churn(parley: E2eParley): Promise<void> {
  const inf = path.join(parley.dir, 'rooms.csv');
  fs.writeFileSync(inf, ['SEQUENTIAL', 'h1', 'h2', 'h3', ''].join('\n'));
  const r = await runSipp({
    scenario: SCENARIO,
    remote: `127.0.0.1:${parley.sipPort}`,
    localPort: await freePort(),
    calls: 45,
    rate: 15,
    limit: 15,
    timeoutSec: 90,
    extraArgs: ['-inf', inf, '-d', '300'],
    cwd: parley.dir,
  });
  expect(r.successful).toBe(45);
  for (const room of ['h1', 'h2', 'h3']) await parley.waitParticipants(room, (l) => l.length === 0, 30_000);
  expect(parley.logs('participant joined')).toHaveLength(45);
}

function problems(parley: E2eParley): string[] {
  return parley.run.lines
    .filter((l) => Number(l.level) >= 50 || (Number(l.level) >= 40 && l.component === 'mediasoup'))
    .map((l) => String(l.msg));
}

test.each(['forward', 'mixer'])(
  '%s rooms: 45 calls with RTP joining and leaving log no error',
  async (audio) => {
    const parley = await startE2eParley({ conference: { audio, joinTones: false } });
    try {
      await churn(parley);
      await new Promise((r) => setTimeout(r, 500)); // late worker replies would show up here
      expect(problems(parley)).toEqual([]);
    } finally {
      await parley.stop();
    }
  },
);

test('300 short calls into one room at 50/s: every join succeeds while the room empties and refills', async () => {
  // The room's media is released whenever its last caller leaves and rebuilt by the next one: a join arriving
  // at that moment must get working media, never a 500 (it used to: "mixer room exists", 3-19 of 300).
  const parley = await startE2eParley({ conference: { joinTones: false } });
  try {
    const inf = path.join(parley.dir, 'one.csv');
    fs.writeFileSync(inf, ['SEQUENTIAL', 'churn', ''].join('\n'));
    const r = await runSipp({
      scenario: path.join(ROOT, 'bench/scenarios/focus-uac.xml'),
      remote: `127.0.0.1:${parley.sipPort}`,
      localPort: await freePort(),
      calls: 300,
      rate: 50,
      limit: 50,
      timeoutSec: 90,
      extraArgs: ['-inf', inf, '-d', '1'],
      cwd: parley.dir,
    });
    expect([r.code, r.successful, r.failed]).toEqual([0, 300, 0]);
    expect(parley.logs('participant joined')).toHaveLength(300);
    // the room really emptied and refilled under the calls (else the race was never run)
    expect(parley.logs('room media released').length).toBeGreaterThan(5);
    expect(problems(parley)).toEqual([]);
  } finally {
    await parley.stop();
  }
});
