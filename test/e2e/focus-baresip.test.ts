/**
 * A real softphone: baresip dials a room over UDP, TCP and TLS (verifying the server's certificate), talks with a second phone (SIPp signalling + an
 * RtpPeer), and hangs up with BYE when it quits. Needs `npm run build` first.
 */
import { startFocusSipp } from '../support/focus-sipp';
import { maxRxBitrate, runBaresip } from '../support/baresip';
import { startE2eParley, type E2eParley } from '../support/parley-e2e';
import { RtpPeer } from '../support/rtp-peer';

jest.setTimeout(90_000);

let parley: E2eParley;
const peers: RtpPeer[] = [];

beforeAll(async () => {
  // Forwarding (SFU) audio: these tests check the media path byte for byte; the mixer has its own tests.
  parley = await startE2eParley({ conference: { audio: 'forward' }, tls: true });
});

afterAll(async () => {
  for (const p of peers) p.close();
  await parley?.stop();
});

describe.each([
  ['udp', 'UDP'],
  ['tcp', 'TCP'],
  ['tls', 'TLS'],
] as const)('baresip over %s', (transport, apiTransport) => {
  test('joins, hears the other phone and is heard, hangs up cleanly', async () => {
    const room = `soft-${transport}`;
    const user = `alice${transport}`;
    const other = await RtpPeer.open();
    peers.push(other);
    const o = await startFocusSipp(parley, {
      scenario: 'uac-call.xml',
      room,
      keys: { rtp_port: other.port, pt: 0, enc: 'PCMU/8000' },
      pauseMs: 7000,
    });
    const [, otherPort] = await o.waitEvent('answer');
    other.send('127.0.0.1', Number(otherPort), 0);
    const phone = await runBaresip({
      dir: parley.dir,
      user,
      target: `sip:${room}@127.0.0.1:${transport === 'tls' ? parley.tls!.port : parley.sipPort}`,
      transport,
      ...(transport === 'tls' ? { cafile: parley.tls!.certFile } : {}),
      quitAfterSec: 5,
    });
    const ps = await parley
      .waitParticipants(room, (l) => l.some((p) => p.displayName === user && p.state === 'joined'))
      .catch(async (err: Error) => {
        throw new Error(
          `${err.message}\nbaresip: ${phone.output().slice(-3000)}\nSIPp: ${JSON.stringify(await o.done)}`,
        );
      });
    const me = ps.find((p) => p.displayName === user)!;
    expect(me).toMatchObject({ transport: apiTransport, codec: 'PCMU', srtp: false, onHold: false });
    expect(me.uri).toBe(`sip:${user}@127.0.0.1`);
    const r = await phone.done;
    expect(r.killed).toBe(false);
    expect(r.output).toMatch(/Call established/);
    expect(r.output).toMatch(/terminated \(duration: [45] secs\)/);
    // baresip heard the other phone (its rx bit rate: 64 kbit/s of PCMU) ...
    expect(maxRxBitrate(r.output)).toBeGreaterThan(30_000);
    // ... and the other phone heard baresip's tone: varying PCMU, not an echo of its own constant payload.
    expect(other.received.count).toBeGreaterThan(50);
    expect(other.received.marks.size).toBeGreaterThan(1);
    expect(other.received.marks.has(other.mark)).toBe(false);
    // The hang-up was baresip's BYE.
    await parley.waitParticipants(room, (l) => l.length === 1);
    const left = await parley.run.waitForLog((l) => l.msg === 'participant left' && l.roomId === room, 5000);
    expect(left.reason).toBe('remote-bye');
    other.stop();
    const ro = await o.done;
    expect({ code: ro.code, errors: ro.errors }).toEqual({ code: 0, errors: '' });
  });
});
