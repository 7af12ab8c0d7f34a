import path from 'node:path';
import type { SessionDialog } from '../../../src/sip/dialog/session-dialog';
import { SipStack } from '../../../src/sip/ua/sip-stack';
import { freePort, runSipp, type SippResult } from '../../support/sipp';

jest.setTimeout(90000);

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const FIX = path.join(__dirname, '../../fixtures/sipp');

function expectOk(r: SippResult, calls: number): void {
  if (r.code !== 0 || r.successful !== calls) console.log(r.stdout.slice(-4000), r.stderr.slice(-2000));
  expect(r.killed).toBe(false);
  expect(r.code).toBe(0);
  expect(r.successful).toBe(calls);
}

// TLS: the installed SIPp is built without OpenSSL ('To use a TLS transport you must compile SIPp with OpenSSL'),
// so TLS is proven stack-to-stack in stack-to-stack.test.ts.
describe('SIPp UAC against our UAS (RFC 3261 §13, §15, §18)', () => {
  let stack: SipStack;
  const dialogs: SessionDialog[] = [];
  const infos: string[] = [];
  let canceled = 0;
  /** Call-IDs of the INVITEs accepted (200), and how each settled: its ACK, a BYE before its ACK, or no ACK. */
  const accepted = new Set<string>();
  const settled = { ack: 0, byeBeforeAck: 0, ackTimeout: 0 };

  beforeAll(async () => {
    stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: 0 } });
    stack.onInvite((inv) => {
      if (inv.request.uri.user === 'ringforever') {
        inv.progress(180);
        inv.on('cancel', () => canceled++);
        return;
      }
      accepted.add(inv.request.callId);
      inv.accept({ sdp: SDP }).then(
        (d) => {
          settled.ack++;
          dialogs.push(d);
          d.on(
            'modify',
            (m) => void m.accept({ sdp: m.sdp?.includes('a=sendonly') ? SDP + 'a=recvonly\r\n' : SDP }),
          );
          d.on('info', (r) => {
            infos.push(r.body.toString());
            r.reply(200);
          });
        },
        (err: { status?: number }) => {
          if (err.status === 487) settled.byeBeforeAck++;
          else if (err.status === 408) settled.ackTimeout++;
        },
      );
    });
  });
  afterAll(() => stack.close());

  it('listening on port 0 exposes the bound ports', () => {
    expect(stack.ports.udp).toBeGreaterThan(0);
    expect(stack.ports.tcp).toBeGreaterThan(0);
  });

  it('completes INVITE/ACK/BYE calls over UDP', async () => {
    const r = await runSipp({
      scenario: 'uac',
      remote: `127.0.0.1:${stack.ports.udp}`,
      localPort: await freePort(),
      calls: 10,
      rate: 20,
    });
    expectOk(r, 10);
  });

  it('completes calls over TCP', async () => {
    const r = await runSipp({
      scenario: 'uac',
      remote: `127.0.0.1:${stack.ports.tcp}`,
      transport: 't1',
      localPort: await freePort(),
      calls: 5,
      rate: 10,
    });
    expectOk(r, 5);
  });

  it('survives 10% random packet loss over UDP thanks to retransmissions; no dialog is left waiting', async () => {
    const acceptedBefore = accepted.size;
    const before = { ...settled };
    const r = await runSipp({
      scenario: 'uac',
      remote: `127.0.0.1:${stack.ports.udp}`,
      localPort: await freePort(),
      calls: 20,
      rate: 10,
      timeoutSec: 60,
      extraArgs: ['-lost', '10'],
    });
    // Every accepted INVITE settles within 64*T1 (32 s, RFC 3261 §13.3.1.4): its ACK, a BYE that came before its
    // ACK (a lost ACK), or no ACK at all (our 200 retransmitted until then, the call ended with our BYE).
    const calls = accepted.size - acceptedBefore;
    const count = (): number =>
      settled.ack +
      settled.byeBeforeAck +
      settled.ackTimeout -
      before.ack -
      before.byeBeforeAck -
      before.ackTimeout;
    for (let i = 0; i < 400 && count() < calls; i++) await new Promise((res) => setTimeout(res, 100));
    const outcome = {
      ack: settled.ack - before.ack,
      byeBeforeAck: settled.byeBeforeAck - before.byeBeforeAck,
      ackTimeout: settled.ackTimeout - before.ackTimeout,
    };
    console.log(`-lost 10: ${r.successful} of 20 completed by SIPp; here ${JSON.stringify(outcome)}`);
    // SIPp's own scenario gives up on some losses it cannot recover from (e.g. a lost final 200 to BYE after its
    // retransmissions), but every call reached us (SIPp retransmits its INVITE) and most complete. 20 calls, not
    // 10: at roughly 85 % completed, "7 of 10" failed one run in twenty. (SIPp's -lost can also count a call as
    // completed whose ACK and BYE never reached us: seen twice in 12 runs, our 200 retransmitted 11 times.)
    expect(r.killed).toBe(false);
    expect(calls).toBe(20);
    expect(r.successful ?? 0).toBeGreaterThanOrEqual(12);
    expect(count()).toBe(calls);
    expect(outcome.ack + outcome.byeBeforeAck).toBeGreaterThanOrEqual(12);
  });

  it('CANCEL: 200 to the CANCEL, 487 to the INVITE, and the application is told', async () => {
    const before = canceled;
    const r = await runSipp({
      scenario: path.join(FIX, 'uac-cancel.xml'),
      remote: `127.0.0.1:${stack.ports.udp}`,
      localPort: await freePort(),
      service: 'ringforever',
      calls: 3,
      rate: 10,
    });
    expectOk(r, 3);
    expect(canceled - before).toBe(3);
  });

  it('OPTIONS: 200 with Allow, Accept and Supported', async () => {
    const r = await runSipp({
      scenario: path.join(FIX, 'uac-options.xml'),
      remote: `127.0.0.1:${stack.ports.udp}`,
      localPort: await freePort(),
      calls: 2,
      rate: 10,
    });
    expectOk(r, 2);
  });

  it('in-dialog re-INVITE (hold), UPDATE, INFO and BYE over TCP', async () => {
    const before = infos.length;
    const r = await runSipp({
      scenario: path.join(FIX, 'uac-reinvite-update-info.xml'),
      remote: `127.0.0.1:${stack.ports.tcp}`,
      transport: 't1',
      localPort: await freePort(),
      calls: 2,
      rate: 10,
    });
    expectOk(r, 2);
    expect(infos.slice(before)).toHaveLength(2);
    expect(infos[before]).toContain('Signal=5');
  });

  it('leaves no dialogs behind', async () => {
    // The last BYEs may still be in our transaction layer on a loaded machine; and under the 10 % loss run a 2xx
    // whose every ACK was lost keeps its dialog until the stack gives up after 64*T1 = 32 s and sends BYE
    // (RFC 3261 §13.3.1.4). Either way the stack must end with no dialog left.
    for (let i = 0; i < 400 && stack.dialogCount > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const open = dialogs.filter((d) => d.state !== 'terminated').map((d) => `${d.callId} ${d.state}`);
    expect({ open, count: stack.dialogCount }).toEqual({ open: [], count: 0 });
  });
});
