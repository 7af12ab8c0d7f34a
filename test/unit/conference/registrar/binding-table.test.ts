import {
  applyRegister,
  contactKey,
  orderBindings,
  remainingSeconds,
  type Binding,
  type RegisterInput,
} from '../../../../src/conference/registrar/binding-table';

const policy = {
  minExpiresSeconds: 60,
  maxExpiresSeconds: 3600,
  defaultExpiresSeconds: 1800,
  maxContactsPerUser: 3,
};
const T0 = 1_800_000_000_000;

function req(o: Partial<RegisterInput> = {}): RegisterInput {
  return {
    callId: 'call-1',
    cseq: 1,
    contacts: [{ uri: 'sip:alice@127.0.0.1:5070' }],
    source: 'UDP 127.0.0.1:5070',
    userAgent: 'test',
    ...o,
  };
}

function bindingsOf(r: ReturnType<typeof applyRegister>): Binding[] {
  if (!r.ok) throw new Error(`expected ok, got ${r.status} ${r.reason}`);
  return r.bindings;
}

describe('registrar bindings (RFC 3261 §10.3)', () => {
  it('adds a contact with the default expiry when neither Expires nor expires= is given (step 7)', () => {
    const b = bindingsOf(applyRegister([], req(), policy, T0));
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ contact: 'sip:alice@127.0.0.1:5070', callId: 'call-1', cseq: 1, q: null });
    expect(remainingSeconds(b[0]!, T0)).toBe(1800);
  });

  it('the expires contact parameter wins over the Expires header (step 7)', () => {
    const b = bindingsOf(
      applyRegister(
        [],
        req({ expires: 600, contacts: [{ uri: 'sip:a@h', expires: 120 }, { uri: 'sip:b@h' }] }),
        policy,
        T0,
      ),
    );
    const byContact = Object.fromEntries(b.map((x) => [x.contact, remainingSeconds(x, T0)]));
    expect(byContact).toEqual({ 'sip:a@h': 120, 'sip:b@h': 600 });
  });

  it('MAY reject a too-brief interval with 423 and Min-Expires (§10.2.8, §10.3 step 7)', () => {
    const r = applyRegister([], req({ expires: 30 }), policy, T0);
    expect(r).toEqual({ ok: false, status: 423, reason: 'Interval Too Brief', minExpires: 60 });
  });

  it('shortens an interval above the maximum (step 7: "MAY shorten")', () => {
    const b = bindingsOf(applyRegister([], req({ expires: 86400 }), policy, T0));
    expect(remainingSeconds(b[0]!, T0)).toBe(3600);
  });

  it('keeps several contacts per user, best q first, then the most recent', () => {
    let b = bindingsOf(
      applyRegister(
        [],
        req({
          contacts: [
            { uri: 'sip:low@h', q: 0.1 },
            { uri: 'sip:high@h', q: 0.9 },
          ],
        }),
        policy,
        T0,
      ),
    );
    b = bindingsOf(
      applyRegister(b, req({ callId: 'call-2', contacts: [{ uri: 'sip:none@h' }] }), policy, T0 + 1000),
    );
    expect(b.map((x) => x.contact)).toEqual(['sip:none@h', 'sip:high@h', 'sip:low@h']);
  });

  it('refreshes a binding with a higher CSeq on the same Call-ID (step 7)', () => {
    const b1 = bindingsOf(applyRegister([], req({ expires: 600 }), policy, T0));
    const b2 = bindingsOf(applyRegister(b1, req({ cseq: 2, expires: 900 }), policy, T0 + 100_000));
    expect(b2).toHaveLength(1);
    expect(b2[0]!.cseq).toBe(2);
    expect(remainingSeconds(b2[0]!, T0 + 100_000)).toBe(900);
  });

  it('fails the whole request on a same-Call-ID CSeq that is not higher: "the update MUST be aborted" (step 7)', () => {
    const b1 = bindingsOf(applyRegister([], req({ cseq: 5 }), policy, T0));
    const r = applyRegister(
      b1,
      req({ cseq: 5, contacts: [{ uri: 'sip:new@h' }, { uri: 'sip:alice@127.0.0.1:5070' }] }),
      policy,
      T0,
    );
    expect(r).toMatchObject({ ok: false, status: 500 });
    // and a lower one too
    expect(applyRegister(b1, req({ cseq: 4 }), policy, T0)).toMatchObject({ ok: false });
  });

  it('lets another Call-ID take a binding over whatever its CSeq (step 7)', () => {
    const b1 = bindingsOf(applyRegister([], req({ cseq: 50 }), policy, T0));
    const b2 = bindingsOf(applyRegister(b1, req({ callId: 'other', cseq: 1 }), policy, T0));
    expect(b2).toMatchObject([{ callId: 'other', cseq: 1 }]);
  });

  it('removes one contact with expires=0 and leaves the others', () => {
    const b1 = bindingsOf(
      applyRegister([], req({ contacts: [{ uri: 'sip:a@h' }, { uri: 'sip:b@h' }] }), policy, T0),
    );
    const b2 = bindingsOf(
      applyRegister(b1, req({ cseq: 2, contacts: [{ uri: 'sip:a@h', expires: 0 }] }), policy, T0),
    );
    expect(b2.map((x) => x.contact)).toEqual(['sip:b@h']);
  });

  it('removes all with Contact: * and Expires: 0, and refuses * without Expires: 0 (§10.2.2, step 6)', () => {
    const b1 = bindingsOf(
      applyRegister([], req({ contacts: [{ uri: 'sip:a@h' }, { uri: 'sip:b@h' }] }), policy, T0),
    );
    expect(applyRegister(b1, req({ cseq: 2, contacts: '*' }), policy, T0)).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(applyRegister(b1, req({ cseq: 2, contacts: '*', expires: 60 }), policy, T0)).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(bindingsOf(applyRegister(b1, req({ cseq: 2, contacts: '*', expires: 0 }), policy, T0))).toEqual(
      [],
    );
    // the wildcard with an old CSeq on the bindings' Call-ID fails
    expect(applyRegister(b1, req({ cseq: 1, contacts: '*', expires: 0 }), policy, T0)).toMatchObject({
      ok: false,
      status: 500,
    });
  });

  it('answers a REGISTER without Contact with the current bindings and changes nothing (§10.2.3)', () => {
    const b1 = bindingsOf(applyRegister([], req(), policy, T0));
    const r = applyRegister(b1, req({ callId: 'q', contacts: [] }), policy, T0 + 5000);
    expect(r).toEqual({ ok: true, bindings: b1, changed: false });
  });

  it('forgets bindings that have expired, even before the sweeper ran', () => {
    const b1 = bindingsOf(applyRegister([], req({ expires: 60 }), policy, T0));
    const r = applyRegister(b1, req({ callId: 'q', contacts: [] }), policy, T0 + 60_000);
    expect(r).toEqual({ ok: true, bindings: [], changed: false });
  });

  it('refuses more contacts than maxContactsPerUser with 403, committing none', () => {
    const four = ['a', 'b', 'c', 'd'].map((u) => ({ uri: `sip:${u}@h` }));
    expect(applyRegister([], req({ contacts: four }), policy, T0)).toMatchObject({ ok: false, status: 403 });
  });

  it('refuses the same contact twice in one request', () => {
    const r = applyRegister([], req({ contacts: [{ uri: 'sip:a@H' }, { uri: 'sip:a@h' }] }), policy, T0);
    expect(r).toMatchObject({ ok: false, status: 400, reason: 'Duplicate Contact' });
  });

  it('compares contact URIs by §19.1.4: host case-insensitively, user and port exactly, unknown params ignored', () => {
    expect(contactKey('sip:alice@EXAMPLE.com:5070;ob')).toBe(contactKey('sip:alice@example.com:5070'));
    expect(contactKey('sip:alice@example.com:5070')).not.toBe(contactKey('sip:Alice@example.com:5070'));
    expect(contactKey('sip:alice@example.com')).not.toBe(contactKey('sip:alice@example.com:5060'));
    expect(contactKey('sip:a@h;transport=TCP')).toBe(contactKey('sip:a@h;transport=tcp'));
    expect(contactKey('sip:a@h;transport=tcp')).not.toBe(contactKey('sip:a@h'));
  });

  it('orders by q then recency', () => {
    const mk = (contact: string, q: number | null, registeredAt: number): Binding => ({
      contact,
      q,
      registeredAt,
      callId: 'c',
      cseq: 1,
      expiresAt: T0 + 1,
      source: 's',
      userAgent: null,
    });
    expect(
      orderBindings([mk('old', 0.5, 1), mk('new', 0.5, 2), mk('best', null, 0)]).map((b) => b.contact),
    ).toEqual(['best', 'new', 'old']);
  });
});
