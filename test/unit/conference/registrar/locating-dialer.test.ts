import pino from 'pino';
import { AppError } from '../../../../src/errors/app-error';
import { LocatingDialer, isUserName } from '../../../../src/conference/registrar/locating-dialer';
import { parseSource, reachableContact } from '../../../../src/conference/registrar/binding-table';
import type { Dialer, SessionConnector } from '../../../../src/conference/participant/participant-session';

/** A dialer that records what it was asked to call (the routing decision is what is under test). */
function recorder(name: string, calls: string[]): Dialer {
  return {
    dial(target: string): SessionConnector {
      calls.push(`${name} ${target}`);
      return { kind: 'sip' } as unknown as SessionConnector;
    },
  };
}

const log = pino({ level: 'silent' });

describe('LocatingDialer (dial-by-name)', () => {
  const calls: string[] = [];
  const bindings = new Map([
    ['alice', [{ contact: 'sip:alice@127.0.0.1:5070', source: 'UDP 127.0.0.1:5070' }]],
    // behind a NAT: the contact names a private address, the REGISTER came from elsewhere
    ['bob', [{ contact: 'sip:bob@192.168.1.20:5060', source: 'UDP 203.0.113.9:40000' }]],
    ['carol', [{ contact: 'sip:carol@[::1]:5090;transport=tcp', source: 'TCP [::1]:41000' }]],
  ]);
  const dialer = new LocatingDialer({
    dialer: recorder('allow-listed', calls),
    registered: recorder('registered', calls),
    bindings: { bindingsOf: (u) => bindings.get(u) ?? [] },
  });
  beforeEach(() => (calls.length = 0));

  it('passes SIP URIs to the allow-listed dialer untouched', () => {
    dialer.dial('sip:x@127.0.0.1', { roomName: 'r', log });
    expect(calls).toEqual(['allow-listed sip:x@127.0.0.1']);
  });

  it("dials a registered user's contact at the REGISTER's source address without the allow-list", () => {
    dialer.dial('alice', { roomName: 'r', log });
    dialer.dial('carol', { roomName: 'r', log });
    expect(calls).toEqual([
      'registered sip:alice@127.0.0.1:5070',
      'registered sip:carol@[::1]:5090;transport=tcp',
    ]);
  });

  it('calls a contact elsewhere than its REGISTER source at that source (NAT), never at the named host', () => {
    dialer.dial('bob', { roomName: 'r', log });
    expect(calls).toEqual(['registered sip:bob@203.0.113.9:40000']);
  });

  it('throws CONF_USER_NOT_REGISTERED for a user without bindings, and calls nobody', () => {
    expect(() => dialer.dial('dave', { roomName: 'r', log })).toThrow(AppError);
    try {
      dialer.dial('dave', { roomName: 'r', log });
    } catch (e) {
      expect((e as AppError).code).toBe('CONF_USER_NOT_REGISTERED');
    }
    expect(calls).toEqual([]);
  });

  it('tells names from URIs', () => {
    expect(isUserName('alice')).toBe(true);
    expect(isUserName('sip:alice@h')).toBe(false);
    expect(isUserName('alice@h')).toBe(false);
  });
});

describe('reachableContact (the registrar-side NAT fix)', () => {
  it('reads sources', () => {
    expect(parseSource('UDP 127.0.0.1:5070')).toEqual({ protocol: 'UDP', host: '127.0.0.1', port: 5070 });
    expect(parseSource('TLS [2001:DB8::1]:5061')).toEqual({
      protocol: 'TLS',
      host: '2001:db8::1',
      port: 5061,
    });
  });

  it('keeps a contact at its source, rewrites one elsewhere to the source address, port and transport', () => {
    expect(reachableContact('sip:a@127.0.0.1:5070;transport=udp', 'UDP 127.0.0.1:5070')).toBe(
      'sip:a@127.0.0.1:5070;transport=udp',
    );
    expect(reachableContact('sip:a@10.0.0.5:5060;transport=udp', 'UDP 198.51.100.7:61000')).toBe(
      'sip:a@198.51.100.7:61000',
    );
    expect(reachableContact('sip:a@10.0.0.5:5060', 'TCP 198.51.100.7:50123')).toBe(
      'sip:a@198.51.100.7:50123;transport=tcp',
    );
    expect(reachableContact('sip:a@10.0.0.5:5060', 'UDP [2001:db8::7]:5060')).toBe(
      'sip:a@[2001:db8::7]:5060',
    );
  });
});
