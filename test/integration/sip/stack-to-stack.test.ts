import { DigestServer } from '../../../src/sip/auth/digest';
import { SipError } from '../../../src/sip/errors';
import type { SessionDialog } from '../../../src/sip/dialog/session-dialog';
import { TerminationReason } from '../../../src/sip/dialog/dialog-state';
import { digestAuthHook } from '../../../src/sip/ua/digest-auth';
import type { IncomingInvite } from '../../../src/sip/ua/incoming-invite';
import { SipStack } from '../../../src/sip/ua/sip-stack';

jest.setTimeout(60000);

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const SDP2 = SDP.replace('40000', '40002');

const waitFor = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const nextEvent = <T>(register: (cb: (v: T) => void) => void): Promise<T> =>
  new Promise((resolve) => register(resolve));

describe('two stacks over real sockets', () => {
  let server: SipStack;
  let client: SipStack;
  let lastInvite: IncomingInvite | undefined;
  const serverDialogs: SessionDialog[] = [];

  beforeAll(async () => {
    const digest = new DigestServer({ realm: 'parley', secret: 'a-secret-of-at-least-16-bytes' });
    const auth = digestAuthHook(digest, (u) => (u === 'alice' ? 'wonderland' : undefined));
    server = await SipStack.create({
      listen: { ip: '127.0.0.1', udp: 0, tcp: 0, tls: 0 },
      contactParams: ';isfocus',
      // only the 'secure' room asks for credentials
      authenticate: (req) => (req.uri.user === 'secure' ? auth(req) : undefined),
    });
    client = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0, tcp: 0, tls: 0 } });
    server.onInvite((inv) => {
      lastInvite = inv;
      void inv.accept({ sdp: SDP }).then(
        (d) => serverDialogs.push(d),
        () => undefined,
      );
    });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
    await server.close(); // idempotent
  });

  /** dials and waits until the server side has seen the ACK */
  async function call(
    uri: string,
    opts: Parameters<SipStack['invite']>[1] = {},
  ): Promise<[SessionDialog, SessionDialog]> {
    const n = serverDialogs.length;
    const d = await client.invite(uri, { sdp: SDP, ...opts });
    await waitFor(() => serverDialogs.length > n, 'the server dialog');
    return [d, serverDialogs[serverDialogs.length - 1]!];
  }

  it('a call over TLS: INVITE/200/ACK, re-INVITE from the caller, BYE from the focus', async () => {
    const [d, serverSide] = await call(`sip:room1@127.0.0.1:${server.ports.tls};transport=tls`);
    expect(d.protocol).toBe('TLS');
    expect(lastInvite!.flow.protocol).toBe('TLS');
    // the focus' Contact carries ;isfocus (RFC 4579)
    expect(d.remoteTarget.params.get('transport')).toBe('tls');
    const modified = nextEvent<string | undefined>((cb) =>
      serverSide.once('modify', (m) => {
        cb(m.sdp);
        void m.accept({ sdp: SDP2 });
      }),
    );
    const res = await d.reinvite(SDP2);
    expect(await modified).toBe(SDP2);
    expect(res.body.toString()).toBe(SDP2);
    const ended = nextEvent<{ reason: TerminationReason }>((cb) => d.once('terminated', cb));
    await serverSide.bye();
    expect((await ended).reason).toBe(TerminationReason.RemoteBye);
  });

  it('the Contact of the focus carries the configured ;isfocus param (RFC 4579)', async () => {
    const [d, s] = await call(`sip:room2@127.0.0.1:${server.ports.udp}`);
    const contact = nextEvent<string>((cb) =>
      d.once('modify', (m) => {
        cb(m.request.headers.get('Contact') ?? '');
        void m.accept();
      }),
    );
    await s.reinvite(SDP2);
    expect(await contact).toMatch(/^<sip:127\.0\.0\.1:\d+>;isfocus$/);
    await d.bye();
  });

  it('digest: a challenged INVITE is retried with credentials and succeeds; wrong ones fail with 401', async () => {
    const d = await client.invite(`sip:secure@127.0.0.1:${server.ports.udp}`, {
      sdp: SDP,
      auth: { username: 'alice', password: 'wonderland' },
    });
    expect(d.localSeq).toBe(2); // CSeq 1 challenged, CSeq 2 authorized
    await d.bye();
    const err = await client
      .invite(`sip:secure@127.0.0.1:${server.ports.udp}`, {
        sdp: SDP,
        auth: { username: 'alice', password: 'nope' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).status).toBe(401);
  });

  it('re-INVITE glare: both sides re-INVITE at once and both get 491 (§14.1/§14.2)', async () => {
    const [d, s] = await call(`sip:room3@127.0.0.1:${server.ports.udp}`);
    const [a, b] = await Promise.allSettled([d.reinvite(SDP2), s.reinvite(SDP2)]);
    const statuses = [a, b].map((r) => (r.status === 'rejected' ? (r.reason as SipError).status : 200));
    // each INVITE arrived while the receiver's own INVITE was pending
    expect(statuses).toEqual([491, 491]);
    expect(d.terminated).toBe(false);
    // after the glare, a retry succeeds
    const ok = await d.reinvite(SDP2);
    expect(ok.status).toBe(200);
    await d.bye();
  });

  it('CANCEL from our UAC: the promise rejects with 487 and the UAS sees "cancel"', async () => {
    const ringer = await SipStack.create({ listen: { ip: '127.0.0.1', udp: 0 } });
    const canceled = nextEvent<void>((cb) =>
      ringer.onInvite((inv) => {
        inv.progress(180);
        inv.on('cancel', () => cb());
      }),
    );
    const ac = new AbortController();
    const p = client.invite(`sip:x@127.0.0.1:${ringer.ports.udp}`, {
      sdp: SDP,
      signal: ac.signal,
      onProgress: (r) => r.status === 180 && ac.abort(),
    });
    await expect(p).rejects.toMatchObject({ status: 487 });
    await canceled;
    await ringer.close();
  });

  it('OPTIONS ping outside a dialog', async () => {
    const res = await client.request(`sip:127.0.0.1:${server.ports.tcp};transport=tcp`, 'OPTIONS');
    expect(res.status).toBe(200);
    expect(res.headers.get('Allow')).toContain('UPDATE');
  });
});
