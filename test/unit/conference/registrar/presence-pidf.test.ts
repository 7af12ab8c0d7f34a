import { AvailabilityState, type UserAvailability } from '../../../../src/conference/registrar/availability';
import { pidfDocument } from '../../../../src/conference/registrar/presence';
import { validateXml } from '../../../fixtures/rfc4575/validate';
import path from 'node:path';

const PIDF_XSD = path.resolve(__dirname, '../../../fixtures/rfc3863/pidf.xsd');

function user(state: AvailabilityState, o: Partial<UserAvailability> = {}): UserAvailability {
  return {
    user: '+1~alice',
    state,
    registered: state !== AvailabilityState.Offline,
    contacts: [],
    calls: [],
    ...o,
  };
}

const contact = {
  uri: 'sip:alice@127.0.0.1:5070;transport=udp',
  q: 0.5,
  expiresInSeconds: 100,
  registeredAt: '2026-01-01T00:00:00.000Z',
  source: 'UDP 127.0.0.1:5070',
  userAgent: null,
};

describe('PIDF documents (RFC 3863) of a user’s availability', () => {
  it.each([
    ['offline', user(AvailabilityState.Offline), 'closed', 'offline'],
    ['available', user(AvailabilityState.Available, { contacts: [contact] }), 'open', 'available'],
    [
      'in a call',
      user(AvailabilityState.InCall, {
        contacts: [contact],
        calls: [{ roomId: 'standup', participantId: 'p1', displayName: 'alice' }],
      }),
      'open',
      'in a call: standup',
    ],
  ])('%s: valid against the RFC 3863 schema, basic %s', (_name, a, basic, note) => {
    const xml = pidfDocument('sip:+1~alice@127.0.0.1', a);
    const v = validateXml(xml, PIDF_XSD);
    expect(v).toEqual({ ok: true, errors: '' });
    expect(xml).toContain(`<basic>${basic}</basic>`);
    expect(xml).toContain(`<note>${note}</note>`);
    if (a.contacts.length > 0) expect(xml).toContain('priority="0.5"');
  });

  it('the schema check is real: a document with another basic value fails it', () => {
    const bad = pidfDocument('sip:a@h', user(AvailabilityState.Available)).replace('>open<', '>busy<');
    expect(validateXml(bad, PIDF_XSD).ok).toBe(false);
  });
});
