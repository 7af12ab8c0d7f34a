import { SipStack } from '../../../src/sip/ua/sip-stack';
import { freePort, runSipp } from '../../support/sipp';

jest.setTimeout(120000);

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const RATE = Number(process.env.SIP_LOAD_RATE ?? 300);
const CALLS = Number(process.env.SIP_LOAD_CALLS ?? 1500);

// Bounded load on loopback: SIPp places CALLS calls at RATE calls/s (INVITE/100/200/ACK/BYE/200 each).
describe('load: SIPp UAC at a few hundred calls/s against our UAS (UDP)', () => {
  it(`completes ${CALLS} calls at ${RATE} cps without failures or leaks`, async () => {
    const stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 } });
    let invites = 0;
    stack.onInvite((inv) => {
      invites++;
      void inv.accept({ sdp: SDP }).catch(() => undefined);
    });
    try {
      const t0 = Date.now();
      const r = await runSipp({
        scenario: 'uac',
        remote: `127.0.0.1:${stack.ports.udp}`,
        localPort: await freePort(),
        calls: CALLS,
        rate: RATE,
        limit: 500,
        timeoutSec: 60,
      });
      const secs = (Date.now() - t0) / 1000;
      console.log(`load: ${r.successful} ok, ${r.failed} failed, ${secs.toFixed(1)} s wall`);
      if (r.code !== 0) console.log(r.stdout.slice(-3000));
      expect(r.killed).toBe(false);
      expect(r.failed).toBe(0);
      expect(r.successful).toBe(CALLS);
      expect(invites).toBe(CALLS);
      for (let i = 0; i < 100 && stack.dialogCount > 0; i++) await new Promise((res) => setTimeout(res, 50));
      expect(stack.dialogCount).toBe(0);
    } finally {
      await stack.close();
    }
  });
});
