import { TrunkConfigError, TrunkTable, type TrunkSettings } from '../../../../src/conference/focus/trunk';
import { configSchema } from '../../../../src/config/schema';
import { SipUri } from '../../../../src/sip/message/uri';

const trunk = (over: Partial<TrunkSettings> & Pick<TrunkSettings, 'name' | 'match'>): TrunkSettings => ({
  proxy: null,
  username: null,
  password: null,
  fromUser: null,
  fromDomain: null,
  ringTimeoutSeconds: null,
  ...over,
});

const uri = (s: string): SipUri => SipUri.parse(s);

describe('TrunkTable: which trunk carries a dial-out and how', () => {
  const table = TrunkTable.compile(
    [
      trunk({
        name: 'carrier',
        match: ['+1*@sip.carrier.example', '/0\\d+@sip\\.carrier\\.example/'],
        proxy: 'sip:sbc.carrier.example:5070',
        username: 'acct',
        password: 's3cret',
        fromUser: '+15551230000',
        ringTimeoutSeconds: 20,
      }),
      trunk({ name: 'pbx', match: ['*@pbx.example'], proxy: 'sip:10.0.0.1;lr;transport=tcp' }),
    ],
    45,
  );

  test('a target matching a trunk gets its proxy as a loose-routing pre-loaded Route (RFC 3261 §8.1.2), credentials, From, timeout', () => {
    expect(table.routeFor(uri('sip:+15557654321@sip.carrier.example'))).toEqual({
      trunk: 'carrier',
      route: ['<sip:sbc.carrier.example:5070;lr>'],
      auth: { username: 'acct', password: 's3cret' },
      from: '<sip:+15551230000@sip.carrier.example>',
      ringTimeoutMs: 20_000,
    });
    // the regex form, anchored
    expect(table.routeFor(uri('sip:0123@sip.carrier.example')).trunk).toBe('carrier');
    expect(table.routeFor(uri('sip:0123@sip.carrier.example.evil')).trunk).toBeNull();
  });

  test('the first matching trunk wins; an lr proxy keeps its parameters; no credentials, default From and timeout', () => {
    expect(table.routeFor(uri('sip:alice@PBX.example:5080'))).toEqual({
      trunk: 'pbx',
      route: ['<sip:10.0.0.1;lr;transport=tcp>'],
      ringTimeoutMs: 45_000,
    });
  });

  test('a target no trunk matches is called directly with the global ring timeout', () => {
    expect(table.routeFor(uri('sip:bob@127.0.0.1:5099'))).toEqual({
      trunk: null,
      route: [],
      ringTimeoutMs: 45_000,
    });
    expect(TrunkTable.direct(60).routeFor(uri('sip:x@y')).ringTimeoutMs).toBe(60_000);
  });

  test('fromDomain replaces the target host in From; a user needing escapes is escaped (RFC 3261 §25.1)', () => {
    const t = TrunkTable.compile(
      [trunk({ name: 't', match: ['*@h.example'], fromUser: 'Front Desk', fromDomain: 'acct.example' })],
      60,
    );
    expect(t.routeFor(uri('sip:x@h.example')).from).toBe('<sip:Front%20Desk@acct.example>');
  });

  test.each<[string, Partial<TrunkSettings>, string]>([
    ['an unparsable proxy', { proxy: 'sip:' }, 'sip.dialOut.trunks[1].proxy'],
    ['a tel: proxy', { proxy: 'tel:+1555' }, 'sip.dialOut.trunks[1].proxy'],
    ['a proxy with header fields', { proxy: 'sip:p.example?Route=x' }, 'sip.dialOut.trunks[1].proxy'],
    ['a password without a user', { password: 'x' }, 'sip.dialOut.trunks[1].username'],
    ['a user without a password', { username: 'x' }, 'sip.dialOut.trunks[1].password'],
    ['a pattern that does not compile', { match: ['*@ok', '/(/'] }, 'sip.dialOut.trunks[1].match[1]'],
    ['a name used twice', { name: 'a' }, 'sip.dialOut.trunks[1].name'],
  ])('%s stops the start naming the key', (_what, bad, key) => {
    let err: unknown;
    try {
      TrunkTable.compile(
        [trunk({ name: 'a', match: ['*@a'] }), trunk({ name: 'b', match: ['*@b'], ...bad })],
        60,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrunkConfigError);
    expect((err as TrunkConfigError).key).toBe(key);
    expect((err as Error).message.startsWith(`${key}: `)).toBe(true);
  });
});

describe('config: sip.dialOut', () => {
  test('defaults: 60 s ring timeout, no trunks', () => {
    expect(configSchema.parse({}).sip.dialOut).toEqual({ ringTimeoutSeconds: 60, trunks: [] });
  });

  test('a trunk gets its defaults', () => {
    const c = configSchema.parse({ sip: { dialOut: { trunks: [{ name: 't', match: ['*@x'] }] } } });
    expect(c.sip.dialOut.trunks[0]).toEqual(trunk({ name: 't', match: ['*@x'] }));
  });

  test.each<[string, unknown, string]>([
    [
      'a proxy that is no SIP URI',
      { name: 't', match: ['*@x'], proxy: 'http://x' },
      'sip.dialOut.trunks.0.proxy',
    ],
    ['a trunk without patterns', { name: 't', match: [] }, 'sip.dialOut.trunks.0.match'],
    ['a bad pattern', { name: 't', match: ['/(/'] }, 'sip.dialOut.trunks.0.match.0'],
    ['half the credentials', { name: 't', match: ['*@x'], username: 'u' }, 'sip.dialOut.trunks.0.password'],
    ['an unknown key', { name: 't', match: ['*@x'], outboundProxy: 'sip:x' }, 'sip.dialOut.trunks.0'],
  ])('%s is refused at its key', (_what, t, key) => {
    const r = configSchema.safeParse({ sip: { dialOut: { trunks: [t] } } });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues.map((i) => i.path.join('.'))).toContain(key);
  });

  test('two trunks of one name are refused', () => {
    const r = configSchema.safeParse({
      sip: {
        dialOut: {
          trunks: [
            { name: 't', match: ['*@x'] },
            { name: 't', match: ['*@y'] },
          ],
        },
      },
    });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues[0]!.path.join('.')).toBe('sip.dialOut.trunks');
  });
});
