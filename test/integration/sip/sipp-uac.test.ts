import { SipError } from '../../../src/sip/errors';
import { TerminationReason } from '../../../src/sip/dialog/dialog-state';
import { SipStack } from '../../../src/sip/ua/sip-stack';
import { freePort, runSipp } from '../../support/sipp';

jest.setTimeout(90000);

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

const waitFor = async (cond: () => boolean, what: string, ms = 10000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('our UAC (dial-out) against SIPp UAS', () => {
  let stack: SipStack;
  beforeAll(async () => {
    stack = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: 0 } });
  });
  afterAll(() => stack.close());

  for (const [proto, flag] of [
    ['udp', 'u1'],
    ['tcp', 't1'],
  ] as const) {
    it(`INVITE → 180/200 → ACK, then our BYE, over ${proto.toUpperCase()}`, async () => {
      const port = await freePort();
      const sipp = runSipp({ scenario: 'uas', transport: flag, localPort: port, calls: 1, timeoutSec: 20 });
      await new Promise((r) => setTimeout(r, 500)); // let SIPp bind
      const progress: number[] = [];
      const uri = `sip:service@127.0.0.1:${port}${proto === 'tcp' ? ';transport=tcp' : ''}`;
      const dialog = await stack.invite(uri, { sdp: SDP, onProgress: (r) => progress.push(r.status) });
      expect(progress).toContain(180);
      expect(dialog.role).toBe('uac');
      expect(dialog.remoteTag).toBeTruthy();
      const res = await dialog.bye();
      expect(res?.status).toBe(200);
      expect(dialog.termination?.reason).toBe(TerminationReason.LocalBye);
      const r = await sipp;
      if (r.code !== 0) console.log(r.stdout.slice(-3000));
      expect(r.code).toBe(0);
      expect(r.successful).toBe(1);
    });
  }

  it('a rejected dial-out rejects with SipError carrying the status', async () => {
    const port = await freePort();
    // no SIPp listening on UDP: ICMP port unreachable is not reported by Node for UDP, so use a short Timer B
    const quick = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 }, timers: { T1: 20 } });
    try {
      const err = await quick.invite(`sip:nobody@127.0.0.1:${port}`, { sdp: SDP }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SipError);
      expect((err as SipError).status).toBe(408);
    } finally {
      await quick.close();
    }
  });

  it('dial-out survives 10% random packet loss (SIPp -lost 10)', async () => {
    const port = await freePort();
    const sipp = runSipp({
      scenario: 'uas',
      localPort: port,
      calls: 3,
      timeoutSec: 40,
      extraArgs: ['-lost', '10'],
    });
    await new Promise((r) => setTimeout(r, 500));
    let ok = 0;
    for (let i = 0; i < 3; i++) {
      const d = await stack.invite(`sip:service@127.0.0.1:${port}`, { sdp: SDP }).catch(() => undefined);
      if (d) {
        ok++;
        await d.bye();
      }
    }
    const r = await sipp;
    expect(r.killed).toBe(false);
    expect(ok).toBeGreaterThanOrEqual(2);
    await waitFor(() => stack.dialogCount === 0, 'dialogs to end');
  });
});
