/**
 * Availability: which of our users is registered and who is in which call. The registrar is the real one (over an
 * in-memory SQLite store, REGISTERs applied through its binding table); the conference is reduced to what
 * Availability reads of it — the rooms with their participants' URIs, and the observer's join/leave events.
 */
import pino from 'pino';
import { Availability, AvailabilityState } from '../../../../src/conference/registrar/availability';
import { Registrar } from '../../../../src/conference/registrar/registrar';
import type { Conference, ConferenceObserverEvents } from '../../../../src/conference/conference';
import type { Participant } from '../../../../src/conference/participant/participant';
import type { Room } from '../../../../src/conference/room/room';
import type { IncomingRequest } from '../../../../src/sip/ua/incoming-request';
import { SqliteStore } from '../../../../src/storage/sqlite/sqlite-store';
import { TypedEmitter } from '../../../../src/util/typed-emitter';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2026-06-01T10:00:00.000Z');

describe('Availability', () => {
  let store: SqliteStore;
  let registrar: Registrar;
  let availability: Availability;
  const observer = new TypedEmitter<ConferenceObserverEvents>();
  const rooms: Array<{ id: string; people: Array<{ id: string; uri: string; displayName: string }> }> = [];
  const known = new Set(['alice', 'bob', 'carol']);

  beforeEach(() => {
    store = SqliteStore.open({ file: ':memory:' });
    registrar = new Registrar({
      sip: {
        routeMethod: (_m: string, _h: (r: IncomingRequest) => void) => undefined,
        request: () => new Promise(() => undefined),
      },
      authenticator: { check: () => Promise.resolve({ ok: true, user: 'x' }) },
      knowsUser: (u) => known.has(u),
      isOurDomain: (h) => h === 'parley.example',
      store: store.registrations,
      policy: {
        minExpiresSeconds: 60,
        maxExpiresSeconds: 3600,
        defaultExpiresSeconds: 600,
        maxContactsPerUser: 5,
        keepAliveSeconds: 0,
      },
      log,
      now: () => T0,
    });
    const conference = {
      observer,
      listRooms: () => rooms.map((r) => ({ id: r.id, participants: () => r.people }) as unknown as Room),
    } as unknown as Pick<Conference, 'listRooms' | 'observer'>;
    availability = new Availability({
      registrar,
      conference,
      isOurDomain: (h) => h === 'parley.example',
      knowsUser: (u) => known.has(u),
      log,
    });
    rooms.length = 0;
    // alice registered from her desk phone
    store.registrations.replaceUser('alice', [
      {
        username: 'alice',
        contact: 'sip:alice@192.0.2.10:5060',
        q: null,
        callId: 'c',
        cseq: 1,
        expiresAt: new Date(T0 + 300_000).toISOString(),
        registeredAt: new Date(T0).toISOString(),
        source: 'UDP 192.0.2.10:5060',
        userAgent: 'desk',
      },
    ]);
  });

  afterEach(() => {
    availability.close();
    registrar.close();
    store.close();
  });

  it('registered and in no room: available; unknown to the registrar: offline', () => {
    expect(availability.of('alice')).toMatchObject({
      state: AvailabilityState.Available,
      registered: true,
      calls: [],
    });
    expect(availability.of('bob')).toMatchObject({
      state: AvailabilityState.Offline,
      registered: false,
      contacts: [],
    });
  });

  it('in a call when a participant is at one of her contacts (the dial-out) or is user@our domain (her call in)', () => {
    rooms.push({
      id: 'standup',
      people: [{ id: 'p1', uri: 'sip:alice@192.0.2.10:5060;transport=udp', displayName: 'alice' }],
    });
    rooms.push({ id: 'board', people: [{ id: 'p2', uri: 'sip:bob@parley.example', displayName: 'Bob' }] });
    expect(availability.of('alice')).toMatchObject({
      state: AvailabilityState.InCall,
      calls: [{ roomId: 'standup', participantId: 'p1', displayName: 'alice' }],
    });
    // bob is not registered but called in from our domain
    expect(availability.of('bob')).toMatchObject({ state: AvailabilityState.InCall, registered: false });
    expect(availability.list().map((u) => [u.user, u.state])).toEqual([
      ['alice', 'in-call'],
      ['bob', 'in-call'],
    ]);
  });

  it('behind a NAT: the participant dialled at her REGISTER source is her too', () => {
    store.registrations.replaceUser('carol', [
      {
        username: 'carol',
        contact: 'sip:carol@10.0.0.7:5060',
        q: null,
        callId: 'c2',
        cseq: 1,
        expiresAt: new Date(T0 + 300_000).toISOString(),
        registeredAt: new Date(T0).toISOString(),
        source: 'UDP 198.51.100.4:40000',
        userAgent: null,
      },
    ]);
    rooms.push({
      id: 'standup',
      people: [{ id: 'p9', uri: 'sip:carol@198.51.100.4:40000', displayName: 'carol' }],
    });
    expect(availability.of('carol')).toMatchObject({ state: 'in-call', calls: [{ participantId: 'p9' }] });
  });

  it('a stranger calling from our domain (no such account) is nobody', () => {
    rooms.push({
      id: 'standup',
      people: [{ id: 'p3', uri: 'sip:sipp@parley.example', displayName: 'sipp' }],
    });
    expect(availability.list().map((u) => u.user)).toEqual(['alice']);
  });

  it('tells watchers when a participant of theirs joins or leaves', () => {
    const changed: string[] = [];
    availability.on('changed', (u) => changed.push(u));
    const p = { id: 'p1', uri: 'sip:alice@192.0.2.10:5060', displayName: 'alice' } as unknown as Participant;
    observer.emit('participantJoined', p, {} as Room);
    observer.emit('participantLeft', p, 'bye' as never, {} as Room);
    expect(changed).toEqual(['alice', 'alice']);
  });

  it('reads the registrations once for many joins, and again after a registration changed', () => {
    const changed: string[] = [];
    availability.on('changed', (u) => changed.push(u));
    const reads = jest.spyOn(registrar, 'list');
    const bob = { id: 'p2', uri: 'sip:bob@192.0.2.20:5060', displayName: 'bob' } as unknown as Participant;
    for (let i = 0; i < 5; i++) observer.emit('participantJoined', bob, {} as Room);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(changed).toEqual([]); // bob is not registered yet: nobody's availability changed
    // bob registers from that phone: the index is rebuilt and his joins now concern him
    store.registrations.replaceUser('bob', [
      {
        username: 'bob',
        contact: 'sip:bob@192.0.2.20:5060',
        q: null,
        callId: 'b',
        cseq: 1,
        expiresAt: new Date(T0 + 300_000).toISOString(),
        registeredAt: new Date(T0).toISOString(),
        source: 'UDP 192.0.2.20:5060',
        userAgent: 'desk',
      },
    ]);
    registrar.emit('changed', 'bob');
    observer.emit('participantJoined', bob, {} as Room);
    observer.emit('participantLeft', bob, 'bye' as never, {} as Room);
    expect(reads).toHaveBeenCalledTimes(2);
    expect(changed).toEqual(['bob', 'bob', 'bob']);
  });
});
